"""The OAuth redirect URIs a release registers: their shape, checked once at registration.

The authorization server compares a request's `redirect_uri` with the
registered ones by exact string (RFC 9700 §2.1, §4.1), so nothing here
normalises: what the vendor registers is what must come back, byte for byte.
What is checked is that a registered URI cannot itself be the hole: no
wildcard, no fragment (RFC 6749 §3.1.2), no userinfo that makes a host look
like another, and TLS everywhere except the vendor's own machine.

Private-use schemes (`com.example.app:/callback`, RFC 8252 §7.1) are refused.
They exist for native apps; Torget's apps are web apps launched from the EPJ.
SMART App Launch 2.x leaves registration to the EHR and does not require
them (national profiles such as Germany's ISiK do); accepting one means
trusting whichever app on a device claimed the scheme, so it waits for a
release type that needs it.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

from flask_babel import gettext as _

from torget.errors import Invalid

MAX_LENGTH = 2000
MAX_COUNT = 10
# RFC 8252 §7.3 names the IP literals; `localhost` is what development
# servers print, so it is accepted too.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# RFC 1123 host names, in ASCII (an IDN host is registered in its xn-- form).
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")
# Printable ASCII but the space, minus the backslash: browsers read `\` as `/`
# in https URLs, so the URI a browser follows would differ from the registered one.
_ALLOWED_CHARACTERS = re.compile(r"[!-\[\]-~]*")


def validate_redirect_uri(uri: str) -> str:
    """`uri` if it is an acceptable redirect URI; otherwise `Invalid` on `redirect_uri`."""
    problem = _problem(uri)
    if problem is not None:
        raise Invalid(problem, field="redirect_uri")
    return uri


def validate_redirect_uris(uris: object) -> list[str]:
    """1 to 10 distinct acceptable redirect URIs, in the order given.

    Every bad one is reported at once, each on its own index
    (`redirect_uris.2`), so the vendor fixes the whole list in one go.
    """
    if not isinstance(uris, list) or not 1 <= len(uris) <= MAX_COUNT:
        raise Invalid(_("Register 1 to %(n)d redirect URIs.", n=MAX_COUNT), field="redirect_uris")
    fields: dict[str, list[str]] = {}
    seen: set[str] = set()
    for index, uri in enumerate(uris):
        problem = _problem(uri)
        if problem is None:
            if uri in seen:
                problem = _("This redirect URI is already in the list.")
            seen.add(uri)
        if problem is not None:
            fields[f"redirect_uris.{index}"] = [problem]
    if fields:
        raise Invalid(fields=fields)
    return list(uris)


def _problem(uri: object) -> str | None:
    """Why `uri` cannot be registered, or None when it can."""
    if not isinstance(uri, str) or not uri:
        return _("Enter an absolute https URI, such as https://app.example/callback.")
    if len(uri) > MAX_LENGTH:
        return _("A redirect URI is at most %(n)d characters.", n=MAX_LENGTH)
    if not _ALLOWED_CHARACTERS.fullmatch(uri):
        return _(
            "A redirect URI has no spaces, backslashes, control or non-ASCII characters; "
            "percent-encode them."
        )
    if "#" in uri:
        # RFC 6749 §3.1.2: the code would land in a fragment the app's page scripts read.
        return _("A redirect URI has no fragment (#...).")
    try:
        parts = urlsplit(uri)
    except ValueError:  # an unbalanced [ in the host
        return _("The host of this redirect URI is not a valid host name or address.")
    scheme = parts.scheme.lower()
    if scheme and scheme not in {"http", "https"}:
        return _("Custom URI schemes for native apps are not accepted: use an https address.")
    if not scheme or not parts.netloc:
        return _("Enter an absolute https URI, such as https://app.example/callback.")
    if "@" in parts.netloc:
        # `https://good.example@evil.example/` goes to evil.example.
        return _("A redirect URI has no user name or password before the host.")
    if "*" in parts.netloc or "*" in parts.path:
        return _("A redirect URI has no wildcards (*): register each address in full.")
    return _host_problem(parts) or _port_problem(parts, scheme)


def _host_problem(parts: SplitResult) -> str | None:
    host = parts.hostname or ""
    if not host:
        return _("A redirect URI names a host, such as https://app.example/callback.")
    if parts.netloc.startswith("[") or ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return _("The host of this redirect URI is not a valid host name or address.")
        return None
    last_label = host.rstrip(".").rpartition(".")[2]
    if last_label.isdigit() or last_label.startswith("0x"):
        # WHATWG URL: such a host is an IPv4 address, and browsers read
        # `2130706433` or `0x7f.1` as 127.0.0.1; only the dotted quad is plain.
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return _("The host of this redirect URI is not a valid host name or address.")
        return None
    if not _HOST_NAME.fullmatch(host):
        return _("The host of this redirect URI is not a valid host name or address.")
    return None


def _port_problem(parts: SplitResult, scheme: str) -> str | None:
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        return _("The port of this redirect URI is not a number from 1 to 65535.")
    if scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        # RFC 9700 §4.1 / RFC 8252 §8.3: a code sent in clear text can be read on
        # the way; only a loopback address never leaves the user's machine.
        return _("Use https: plain http is accepted only for localhost, 127.0.0.1 and [::1].")
    return None
