"""The public keys a key-based client signs its assertions with (private_key_jwt).

A release registers them inline (a JWK Set) or as a `jwks_url` that Torget
fetches. SMART Backend Services has clients sign with RS384 or ES384 and
servers accept both; RS256 and ES256 are what most OAuth libraries default to,
so those four are accepted and nothing else. EdDSA is left out: SMART does not
name it, and every algorithm accepted here is one more the authorization
server must verify.

Keys are parsed with joserfc, the JOSE library Authlib's authorization server
verifies client assertions with, so a set that passes here is one the token
endpoint can use.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from torget.errors import DomainError, Invalid

MAX_KEYS = 10
MAX_DOCUMENT_BYTES = 64 * 1024
MAX_URL_LENGTH = 2000
# alg → (kty, crv): an ES algorithm fixes its curve (RFC 7518 §3.4).
ALGORITHMS: dict[str, tuple[str, str | None]] = {
    "RS256": ("RSA", None),
    "RS384": ("RSA", None),
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
}
CURVES = ("P-256", "P-384")
# NIST SP 800-131A: RSA below 2048 bits is no longer acceptable for signatures;
# above 8192 a key buys no security but makes every verification slow.
RSA_BITS = (2048, 8192)
_PUBLIC_MEMBERS = {"RSA": ("n", "e"), "EC": ("crv", "x", "y")}
# RFC 7518 §6.2.2, §6.3.2, §6.4: the members only a private or secret key has.
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
_JWKS_MEDIA_TYPES = ("application/json", "application/jwk-set+json")
_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


class JwksUnavailable(DomainError):
    """The key set at a client's `jwks_url` could not be fetched.

    502: the fault is the app's server, which Torget reached as a gateway.
    """

    status = 502
    title = _l("The app's key set could not be fetched")


class _Refused(Exception):
    """One key's problem, as the message the vendor reads."""


def validate_jwk_set(data: object) -> dict[str, Any]:
    """A JWK Set of 1 to 10 public signing keys, with only the members Torget uses.

    Refuses private and symmetric keys, unknown algorithms, weak RSA keys,
    curves other than P-256 and P-384, missing or repeated `kid`s and sets
    over 64 KiB. Fields are named within the set, each key's problem on its
    index (`keys.2`); a problem of the whole set has no field, so a caller
    merging it under a prefix (`jwks.`) places it on the set itself.
    """
    try:
        size = len(json.dumps(data, separators=(",", ":")).encode())
    except (TypeError, ValueError, RecursionError):
        size = None
    if size is None or not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise Invalid(_('A key set is a JSON object with a "keys" list (RFC 7517).'))
    if size > MAX_DOCUMENT_BYTES:
        raise Invalid(_("A key set is at most %(n)d KiB.", n=MAX_DOCUMENT_BYTES // 1024))
    keys = data["keys"]
    if not 1 <= len(keys) <= MAX_KEYS:
        raise Invalid(_("A key set holds 1 to %(n)d keys.", n=MAX_KEYS), field="keys")
    fields: dict[str, list[str]] = {}
    public: list[dict[str, str]] = []
    for index, key in enumerate(keys):
        try:
            normalized = _public_key(key)
            if any(k["kid"] == normalized["kid"] for k in public):
                # The token endpoint picks a key by the assertion's kid.
                raise _Refused(_("Another key in this set has the same kid."))
        except _Refused as refused:
            fields[f"keys.{index}"] = [str(refused)]
        else:
            public.append(normalized)
    if fields:
        raise Invalid(fields=fields)
    return {"keys": public}


def _public_key(key: object) -> dict[str, str]:
    if not isinstance(key, dict):
        raise _Refused(_("Each key is a JSON object (a JWK)."))
    if any(member in key for member in _PRIVATE_MEMBERS):
        raise _Refused(
            _(
                "This is a private or secret key. Never share it: make a new key pair "
                "and register only its public key."
            )
        )
    kty = key.get("kty")
    if not isinstance(kty, str) or kty not in _PUBLIC_MEMBERS:
        raise _Refused(_("Only RSA and EC public keys are accepted."))
    kid = key.get("kid")
    if not isinstance(kid, str) or not kid:
        raise _Refused(_("Each key needs a kid (key ID)."))
    if "use" in key and key["use"] != "sig":
        raise _Refused(_('A client\'s key is for signatures: its "use" is "sig".'))
    key_ops = key.get("key_ops", ["verify"])
    if not isinstance(key_ops, list) or any(op != "verify" for op in key_ops):
        raise _Refused(_('A public signing key\'s "key_ops" is ["verify"].'))
    alg = key.get("alg")
    if alg is not None and (not isinstance(alg, str) or alg not in ALGORITHMS):
        raise _Refused(_("Use one of the algorithms %(algs)s.", algs=", ".join(ALGORITHMS)))
    if kty == "EC" and key.get("crv") not in CURVES:
        raise _Refused(_("Use the curve P-256 or P-384."))
    if alg is not None and ALGORITHMS[alg] != (kty, key.get("crv") if kty == "EC" else None):
        raise _Refused(_("The algorithm %(alg)s does not fit this key.", alg=alg))
    members = {name: key.get(name) for name in _PUBLIC_MEMBERS[kty]}
    try:
        # cryptography checks the numbers: an EC point on its curve, an odd modulus.
        parsed = (RSAKey if kty == "RSA" else ECKey).import_key({"kty": kty, **members})
    except (JoseError, ValueError, TypeError, KeyError):
        raise _Refused(_("This is not a valid %(kty)s public key.", kty=kty)) from None
    if kty == "RSA" and not RSA_BITS[0] <= parsed.public_key.key_size <= RSA_BITS[1]:
        raise _Refused(
            _("An RSA key has %(min)d to %(max)d bits.", min=RSA_BITS[0], max=RSA_BITS[1])
        )
    normalized = {"kty": kty, "kid": kid}
    if "use" in key:
        normalized["use"] = "sig"
    if alg is not None:
        normalized["alg"] = alg
    return normalized | members


def validate_jwks_url(url: str, *, allow_insecure_loopback: bool = False) -> str:
    """`url` if its shape is that of a JWK Set URL Torget may fetch; else `Invalid`.

    Where its host points is checked at every fetch, since DNS answers change.
    """
    parts = _split(url)
    if parts is None or parts.scheme not in {"https", "http"} or not parts.hostname:
        raise Invalid(
            _("Enter the https address of the key set, such as https://app.example/jwks.json."),
            field="jwks_url",
        )
    try:
        parts.port  # noqa: B018 - reading it is the check
    except ValueError:
        raise Invalid(_("The port of this address is not valid."), field="jwks_url") from None
    if parts.scheme == "http" and not (
        allow_insecure_loopback and parts.hostname in _LOOPBACK_HOSTS
    ):
        # Keys fetched in clear text could be swapped on the way.
        raise Invalid(_("The key set must be served over https."), field="jwks_url")
    return url


def _split(url: object) -> SplitResult | None:
    """`url` split, when it is printable ASCII with no user name and no fragment."""
    if not isinstance(url, str) or len(url) > MAX_URL_LENGTH or "#" in url:
        return None
    if not url.isascii() or not url.isprintable() or " " in url or "\\" in url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # an unbalanced [ in the host
        return None
    # `https://good.example@evil.example/` goes to evil.example.
    return None if "@" in parts.netloc else parts


@dataclass(frozen=True)
class _Fetched:
    jwks: dict[str, Any]
    at: float


class JwksFetcher:
    """Fetches and caches the key sets of clients that registered a `jwks_url`.

    One per process (the factory makes it). A set is kept `ttl` seconds; a
    client that rotated its keys signs with a kid Torget has not seen, so the
    token endpoint asks again with `force_refresh`, which goes to the network
    at most once per `min_refresh_interval` per URL: an unknown kid in a flood
    of assertions must not become a flood of fetches.

    Only public addresses are fetched (no SSRF into Torget's own network);
    `allow_insecure_loopback` (development and test) also allows http and
    loopback addresses, for a vendor's app running on the same machine.
    """

    def __init__(
        self,
        *,
        allow_insecure_loopback: bool = False,
        timeout: float = 5.0,
        ttl: float = 600.0,
        min_refresh_interval: float = 60.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.allow_insecure_loopback = allow_insecure_loopback
        self.timeout = timeout
        self.ttl = ttl
        self.min_refresh_interval = min_refresh_interval
        # The trust store for https; the system's unless an operator brings a CA.
        self.tls = tls or ssl.create_default_context()
        self._lock = threading.Lock()
        self._cache: dict[str, _Fetched] = {}
        self._attempts: dict[str, float] = {}

    def get(self, url: str, *, force_refresh: bool = False) -> dict[str, Any]:
        """The validated key set at `url`, from the cache while it is fresh.

        Raises `Invalid` (field `jwks_url`) for an address or a document that
        will never do, and `JwksUnavailable` when the fetch failed.
        """
        validate_jwks_url(url, allow_insecure_loopback=self.allow_insecure_loopback)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(url)
            if cached and not force_refresh and now - cached.at < self.ttl:
                return cached.jwks
            last = self._attempts.get(url)
            if last is not None and now - last < self.min_refresh_interval:
                if cached:
                    return cached.jwks
                raise JwksUnavailable(
                    _("The key set could not be fetched a moment ago; try again in a minute.")
                )
            # Claimed before fetching, so concurrent requests do not all go out.
            self._attempts[url] = now
        jwks = self._fetch(url)
        with self._lock:
            self._cache[url] = _Fetched(jwks, time.monotonic())
        return jwks

    def _fetch(self, url: str) -> dict[str, Any]:
        parts = urlsplit(url)
        tls = self.tls if parts.scheme == "https" else None
        port = parts.port or (443 if tls else 80)
        address = self._public_address(parts.hostname or "", port)
        deadline = time.monotonic() + self.timeout
        connection = _PinnedConnection(
            parts.hostname or "", port, address=address, deadline=deadline, tls=tls
        )
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request(
                "GET", target, headers={"Accept": "application/jwk-set+json, application/json"}
            )
            response = connection.getresponse()
            try:
                body = _read_document(response)
            finally:
                response.close()  # the connection may have handed its socket over to it
        except (OSError, http.client.HTTPException):
            raise JwksUnavailable(
                _("The app's server did not answer in time, or the connection failed.")
            ) from None
        finally:
            connection.close()
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: [[[[...]]]] nested too deep
            raise Invalid(_("The key set at this address is not JSON."), field="jwks_url") from None
        try:
            return validate_jwk_set(document)
        except Invalid as invalid:
            # The vendor reads the first problem; fixing it shows the next.
            reasons = [m for messages in invalid.fields.values() for m in messages]
            reason = reasons[0] if reasons else str(invalid)
            raise Invalid(
                _("The key set at this address is not valid: %(reason)s", reason=reason),
                field="jwks_url",
            ) from None

    def _public_address(self, host: str, port: int) -> str:
        """An address of `host` to connect to; every address it has must be public."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise JwksUnavailable(_("The host of the key set address was not found.")) from None
        addresses = [str(info[4][0]) for info in infos]
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%")[0])  # drop an IPv6 zone
            if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
                ip = ip.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
            if ip.is_loopback and self.allow_insecure_loopback:
                continue
            # Private, loopback, link-local (the cloud metadata service at
            # 169.254.169.254), shared, reserved: none is a vendor's server.
            if not ip.is_global or ip.is_multicast:
                raise Invalid(
                    _("The key set address leads to a private network; use a public address."),
                    field="jwks_url",
                )
        return addresses[0]


def _read_document(response: http.client.HTTPResponse) -> bytes:
    if 300 <= response.status < 400:
        # Never followed: a redirect could lead to another host, or a private one.
        raise JwksUnavailable(
            _("The key set address redirects elsewhere: register the final address.")
        )
    if response.status != 200:
        raise JwksUnavailable(
            _("The app's server answered HTTP %(status)d for its key set.", status=response.status)
        )
    media_type = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
    if media_type not in _JWKS_MEDIA_TYPES:
        raise Invalid(
            _("The key set must be served as application/json or application/jwk-set+json."),
            field="jwks_url",
        )
    too_large = Invalid(
        _("A key set is at most %(n)d KiB.", n=MAX_DOCUMENT_BYTES // 1024), field="jwks_url"
    )
    declared = response.getheader("Content-Length")
    if declared and declared.isdigit() and int(declared) > MAX_DOCUMENT_BYTES:
        raise too_large
    # One byte past the limit tells "too large" from "exactly at the limit".
    body = response.read(MAX_DOCUMENT_BYTES + 1)
    if len(body) > MAX_DOCUMENT_BYTES:
        raise too_large
    return body


class _PinnedConnection(http.client.HTTPConnection):
    """HTTP(S) to the address that was checked, with one deadline for everything.

    Connecting to the checked address, not whatever DNS answers a moment later,
    closes DNS rebinding. A socket timeout bounds each read, not the sum, so a
    server sending a byte a second could hold a worker for minutes; every read
    here ends by the deadline.
    """

    def __init__(
        self, host: str, port: int, *, address: str, deadline: float, tls: ssl.SSLContext | None
    ) -> None:
        super().__init__(host, port)
        self.address = address
        self.deadline = deadline
        self.tls = tls
        # The Host header leaves out the port when it is the scheme's own.
        self.default_port = 443 if tls else 80

    def connect(self) -> None:
        sock = socket.create_connection(
            (self.address, self.port), timeout=_remaining(self.deadline)
        )
        if self.tls is not None:
            # Certificate and host name are checked against the name, not the address.
            sock = self.tls.wrap_socket(sock, server_hostname=self.host)
        self.sock = _DeadlineSocket(sock, self.deadline)


class _DeadlineSocket:
    """A socket whose every read waits at most until one deadline.

    http.client reads through `makefile()` and may close the connection while
    the response is still being read (a `Connection: close` answer): the
    socket closes when both it and its files are closed, as a socket's own
    makefile() arranges.
    """

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline
        self._open_files = 0
        self._closed = False

    def makefile(self, mode: str, *args: object, **kwargs: object) -> io.BufferedReader:
        self._open_files += 1
        return io.BufferedReader(_DeadlineReader(self))

    def recv_into(self, buffer: Any) -> int:
        self._sock.settimeout(_remaining(self._deadline))
        return self._sock.recv_into(buffer)

    def file_closed(self) -> None:
        self._open_files -= 1
        self._close_when_unused()

    def close(self) -> None:
        self._closed = True
        self._close_when_unused()

    def _close_when_unused(self) -> None:
        if self._closed and not self._open_files:
            self._sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _DeadlineReader(io.RawIOBase):
    def __init__(self, sock: _DeadlineSocket) -> None:
        self._owner = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._owner.recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            self._owner.file_closed()
        super().close()


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the key set took too long")
    return left
