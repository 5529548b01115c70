"""Web addresses a vendor gives: websites, support and privacy pages, launch URLs."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask_babel import gettext as _

from torget.errors import FieldErrors

MAX_URL_LENGTH = 2000
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


def is_loopback(host: str | None) -> bool:
    return (host or "").lower() in LOOPBACK_HOSTS


def check_web_url(value: str | None, field: str, errors: FieldErrors) -> str:
    """An absolute https URL (http only on this machine, for development).

    Adds a message to `errors` and returns "" when the address is not one.
    """
    url = (value or "").strip()
    if not url:
        errors.add(field, _("Enter a web address."))
        return ""
    message = _("Enter a full https:// address (http:// only for localhost).")
    if len(url) > MAX_URL_LENGTH or any(c.isspace() or ord(c) < 32 for c in url):
        errors.add(field, message)
        return ""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        errors.add(field, message)
        return ""
    secure = parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname))
    if not secure or not parts.hostname or "@" in parts.netloc:
        errors.add(field, message)
        return ""
    return url
