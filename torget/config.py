"""Configuration, read once from the environment into a typed object.

No other module reads `os.environ`. Each setting has a named variable, a
coercer and a default (documented in the README's configuration table).
Production refuses to start without its secrets.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

ENVIRONMENTS = ("production", "development", "test")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# Requests allowed per fixed window (seconds), by rate limit name (torget.ratelimit).
DEFAULT_RATE_LIMITS: Mapping[str, tuple[int, int]] = MappingProxyType(
    {
        "token": (600, 60),
        "authorize": (120, 60),
        "login": (10, 60),
        "introspect": (3000, 60),
        "launch": (120, 60),
    }
)
# The database keeps an hour of windows (torget.ratelimit), so no window is longer.
LONGEST_RATE_WINDOW = 3600


class ConfigError(RuntimeError):
    """The environment does not describe a runnable Torget."""


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected a boolean (1/0, true/false), got {value!r}")


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError(f"expected a positive whole number, got {value!r}")
    return number


def _count(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(f"expected a whole number, 0 or more, got {value!r}")
    return number


def _choice(options: tuple[str, ...]) -> Callable[[str], str]:
    def coerce(value: str) -> str:
        if value not in options:
            raise ValueError(f"expected one of {', '.join(options)}, got {value!r}")
        return value

    return coerce


def _rate_limits(value: str) -> Mapping[str, tuple[int, int]] | None:
    """`off`, or `name=requests/seconds` items, comma-separated, over the defaults."""
    if value.strip().lower() == "off":
        return None
    limits = dict(DEFAULT_RATE_LIMITS)
    given: set[str] = set()
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, equals, spec = (text.strip() for text in item.partition("="))
        requests, slash, seconds = (text.strip() for text in spec.partition("/"))
        if not (equals and slash and requests.isdigit() and seconds.isdigit()):
            raise ValueError(f"expected off or name=requests/seconds items, got {item!r}")
        if name not in DEFAULT_RATE_LIMITS:
            known = ", ".join(DEFAULT_RATE_LIMITS)
            raise ValueError(f"unknown rate limit {name!r} (known: {known})")
        if name in given:
            raise ValueError(f"rate limit {name!r} is given twice")
        given.add(name)
        limit, per = int(requests), int(seconds)
        if limit <= 0 or not 0 < per <= LONGEST_RATE_WINDOW:
            raise ValueError(
                f"{item!r}: requests must be at least 1 and seconds between 1 and "
                f"{LONGEST_RATE_WINDOW}"
            )
        limits[name] = (limit, per)
    return MappingProxyType(limits)


def _base_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"expected an http(s) URL, got {value!r}")
    return value.rstrip("/")


@dataclass(frozen=True)
class Config:
    """Every setting Torget reads. Field metadata names the variable."""

    env: str = "production"
    secret_key: str = ""
    database_url: str = ""
    base_url: str = "http://127.0.0.1:5000"
    redis_url: str = ""
    log_level: str = "INFO"
    demo: bool = False
    instance_path: str = ""
    max_body_bytes: int = 1_048_576
    session_idle_minutes: int = 60
    session_max_hours: int = 12
    login_max_failures: int = 5
    metrics_multiproc_dir: str = ""
    upload_dir: str = ""
    # The municipality where sandbox clients (releases not yet certified) may launch.
    sandbox_tenant: str = "sandkasse"
    # Encrypts the authorization server's signing keys at rest (urlsafe base64 of 32 bytes).
    key_encryption_key: str = ""
    # The platform's FHIR server the gateway forwards to, `{tenant}` standing for the
    # municipality's slug; empty: the embedded store.
    fhir_upstream_url: str = ""
    # The gateway's own bearer token at that server (a system credential).
    fhir_upstream_token: str = field(default="", repr=False)
    # Or SMART Backend Services: the gateway takes its own tokens at the platform's
    # token endpoint as this client, signing with this key (PEM) named by this kid.
    fhir_upstream_token_url: str = ""
    fhir_upstream_client_id: str = ""
    fhir_upstream_private_key: str = field(default="", repr=False)
    fhir_upstream_key_id: str = ""
    fhir_upstream_scope: str = "system/*.cruds"
    fhir_upstream_timeout_seconds: int = 10
    # How many reverse proxies in front append to X-Forwarded-For: the client's
    # address is read that many entries from the end. 0: REMOTE_ADDR as it comes.
    proxy_hops: int = 0
    # Requests per window for each rate-limited endpoint; None: no rate limits.
    rate_limits: Mapping[str, tuple[int, int]] | None = field(
        default_factory=lambda: DEFAULT_RATE_LIMITS
    )

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")


def _upstream_url(value: str) -> str:
    value = value.strip().rstrip("/")
    if value and not value.startswith(("https://", "http://")):
        raise ValueError(f"expected an http(s) URL, got {value!r}")
    return value


# variable name, field, coercer
_VARIABLES: tuple[tuple[str, str, Callable[[str], Any]], ...] = (
    ("TORGET_ENV", "env", _choice(ENVIRONMENTS)),
    ("SECRET_KEY", "secret_key", str),
    ("DATABASE_URL", "database_url", str),
    ("TORGET_BASE_URL", "base_url", _base_url),
    ("REDIS_URL", "redis_url", str),
    ("LOG_LEVEL", "log_level", lambda v: _choice(LOG_LEVELS)(v.upper())),
    ("TORGET_DEMO", "demo", _bool),
    ("TORGET_INSTANCE_PATH", "instance_path", str),
    ("TORGET_MAX_BODY_BYTES", "max_body_bytes", _positive_int),
    ("TORGET_SESSION_IDLE_MINUTES", "session_idle_minutes", _positive_int),
    ("TORGET_SESSION_MAX_HOURS", "session_max_hours", _positive_int),
    ("TORGET_LOGIN_MAX_FAILURES", "login_max_failures", _positive_int),
    ("PROMETHEUS_MULTIPROC_DIR", "metrics_multiproc_dir", str),
    ("TORGET_UPLOAD_DIR", "upload_dir", str),
    ("TORGET_SANDBOX_TENANT", "sandbox_tenant", str),
    ("TORGET_KEY_ENCRYPTION_KEY", "key_encryption_key", str),
    ("TORGET_RATE_LIMITS", "rate_limits", _rate_limits),
    ("FHIR_UPSTREAM_URL", "fhir_upstream_url", _upstream_url),
    ("FHIR_UPSTREAM_TOKEN", "fhir_upstream_token", str),
    ("FHIR_UPSTREAM_TIMEOUT_SECONDS", "fhir_upstream_timeout_seconds", _positive_int),
    ("FHIR_UPSTREAM_TOKEN_URL", "fhir_upstream_token_url", _upstream_url),
    ("FHIR_UPSTREAM_CLIENT_ID", "fhir_upstream_client_id", str),
    ("FHIR_UPSTREAM_PRIVATE_KEY", "fhir_upstream_private_key", str),
    ("FHIR_UPSTREAM_KEY_ID", "fhir_upstream_key_id", str),
    ("FHIR_UPSTREAM_SCOPE", "fhir_upstream_scope", str),
    ("TORGET_PROXY_HOPS", "proxy_hops", _count),
)

DEFAULT_INSTANCE_PATH = Path.cwd() / "instance"


def load(environ: Mapping[str, str] | None = None, **overrides: Any) -> Config:
    """Read the configuration from `environ` (default: the process environment).

    `overrides` (field names) win over the environment; tests use them.
    Raises ConfigError naming the variable when a value does not parse or a
    secret is missing outside development.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for variable, field_name, coerce in _VARIABLES:
        raw = environ.get(variable)
        if raw is None or raw == "":
            continue
        try:
            values[field_name] = coerce(raw)
        except ValueError as exc:
            raise ConfigError(f"{variable}: {exc}") from None
    known = {f.name for f in fields(Config)}
    unknown = set(overrides) - known
    if unknown:
        raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
    config = replace(Config(), **values, **overrides)
    return _complete(config)


def _complete(config: Config) -> Config:
    instance = Path(config.instance_path or DEFAULT_INSTANCE_PATH)
    changes: dict[str, Any] = {"instance_path": str(instance)}
    if not config.upload_dir:
        changes["upload_dir"] = str(instance / "uploads")
    if not config.database_url:
        changes["database_url"] = f"sqlite:///{instance / 'torget.db'}"
    if not config.secret_key:
        if config.env == "production":
            raise ConfigError(
                "SECRET_KEY is not set. Production refuses to start without it: "
                "set SECRET_KEY to a long random value (e.g. `python -c "
                "'import secrets; print(secrets.token_urlsafe(48))'`), or set "
                "TORGET_ENV=development for a local instance."
            )
        changes["secret_key"] = _development_secret(
            instance, "secret_key", lambda: secrets.token_urlsafe(48)
        )
    elif config.is_production and len(config.secret_key) < 32:
        raise ConfigError("SECRET_KEY is too short: production needs at least 32 characters.")
    if not config.key_encryption_key:
        if config.env == "production":
            raise ConfigError(
                "TORGET_KEY_ENCRYPTION_KEY is not set. Production refuses to start without it: "
                "it encrypts the token signing keys. Set it to `python -c 'import base64, os; "
                "print(base64.urlsafe_b64encode(os.urandom(32)).decode())'`."
            )
        changes["key_encryption_key"] = _development_secret(
            instance,
            "key_encryption_key",
            lambda: base64.urlsafe_b64encode(os.urandom(32)).decode(),
        )
    elif not _is_32_bytes(config.key_encryption_key):
        raise ConfigError("TORGET_KEY_ENCRYPTION_KEY must be urlsafe base64 of 32 bytes.")
    _check_platform_credential(config)
    return replace(config, **changes)


def _check_platform_credential(config: Config) -> None:
    """The gateway's credential at the platform: a static token, or all Backend Services needs."""
    if not config.fhir_upstream_token_url:
        return
    if config.fhir_upstream_token:
        raise ConfigError(
            "Set FHIR_UPSTREAM_TOKEN or FHIR_UPSTREAM_TOKEN_URL, not both: the gateway either "
            "sends a static token or takes its own."
        )
    needed = {
        "FHIR_UPSTREAM_URL": config.fhir_upstream_url,
        "FHIR_UPSTREAM_CLIENT_ID": config.fhir_upstream_client_id,
        "FHIR_UPSTREAM_PRIVATE_KEY": config.fhir_upstream_private_key,
        "FHIR_UPSTREAM_KEY_ID": config.fhir_upstream_key_id,
    }
    missing = [name for name, value in needed.items() if not value]
    if missing:
        raise ConfigError(f"FHIR_UPSTREAM_TOKEN_URL needs {', '.join(missing)} as well.")
    # The key itself is read where it is used (gateway.platform_token), at start-up.


def new_key_encryption_key() -> str:
    """A fresh value for TORGET_KEY_ENCRYPTION_KEY."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def _is_32_bytes(text: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(text.encode())) == 32
    except (ValueError, binascii.Error):
        return False


def _development_secret(instance: Path, name: str, make: Callable[[], str]) -> str:
    """A random key kept under instance/, so every worker and restart shares it."""
    path = instance / name
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = make()
    # Created 0600 with O_EXCL: two workers starting at once cannot both write.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
