"""The gateway's own credential at the platform's FHIR server (upstream mode).

Either a static bearer token (FHIR_UPSTREAM_TOKEN), for a platform that
issues long-lived system credentials; or SMART Backend Services: the gateway
is a backend client of the platform's authorization server, signs a client
assertion with its private key (private_key_jwt, RFC 7523) and takes a
`client_credentials` token per municipality's base, renewed a minute before
it expires and at once when the platform refuses it (a revocation, a key
rotation on the platform's side). Tokens and assertions are never logged.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from flask_babel import gettext as _

from torget.config import Config, ConfigError
from torget.errors import DomainError

log = logging.getLogger(__name__)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME_SECONDS = 240  # SMART: at most five minutes ahead
RENEW_BEFORE_SECONDS = 60  # a token is renewed this long before it expires
MAX_ANSWER_BYTES = 64 * 1024


class PlatformCredentialFailed(DomainError):
    """The platform gave the gateway no token: the client hears 502, as for any platform failure."""

    status = 502


class PlatformCredential(Protocol):
    renewable: bool

    def bearer(self, base: str) -> str:
        """The token to send to the platform's FHIR base `base`."""
        ...

    def forget(self, base: str) -> None:
        """The platform refused the token for `base`: take a new one next time."""
        ...


@dataclass(frozen=True)
class StaticToken:
    token: str
    renewable = False

    def bearer(self, base: str) -> str:
        return self.token

    def forget(self, base: str) -> None:
        pass  # nothing to renew it with


def signing_algorithm(private_key: Any) -> str:
    """The SMART algorithm for a key: ES384 for a P-384 key, RS384 for RSA (ValueError else)."""
    if (
        isinstance(private_key, ec.EllipticCurvePrivateKey)
        and private_key.curve.name == "secp384r1"
    ):
        return "ES384"
    if isinstance(private_key, rsa.RSAPrivateKey) and private_key.key_size >= 2048:
        return "RS384"
    raise ValueError("expected an EC P-384 or an RSA (2048 bits or more) private key")


def load_private_key(pem: str) -> Any:
    """The private key of a PEM text, checked to fit `signing_algorithm` (ValueError else)."""
    key = load_pem_private_key(pem.encode(), password=None)
    signing_algorithm(key)
    return key


@dataclass(frozen=True)
class _Token:
    value: str
    renew_at: float  # time.monotonic()


class BackendServicesToken:
    """client_credentials tokens from the platform's token endpoint, one per FHIR base."""

    renewable = True

    def __init__(
        self, token_url: str, client_id: str, private_key_pem: str, kid: str, scope: str,
        timeout: float,
    ) -> None:  # fmt: skip
        self.token_url = token_url
        self.client_id = client_id
        self.kid = kid
        self.scope = scope
        self.timeout = timeout
        self._key = load_private_key(private_key_pem)
        self._algorithm = signing_algorithm(self._key)
        self._tokens: dict[str, _Token] = {}
        self._lock = threading.Lock()

    def bearer(self, base: str) -> str:
        held = self._tokens.get(base)
        if held is not None and time.monotonic() < held.renew_at:
            return held.value
        with self._lock:  # one request for a new token per worker, not one per thread
            held = self._tokens.get(base)
            if held is None or time.monotonic() >= held.renew_at:
                held = self._request(base)
                self._tokens[base] = held
            return held.value

    def forget(self, base: str) -> None:
        with self._lock:
            self._tokens.pop(base, None)

    def _assertion(self) -> str:
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.token_url,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECONDS,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(
            claims, self._key, algorithm=self._algorithm, headers={"kid": self.kid, "typ": "JWT"}
        )

    def _request(self, base: str) -> _Token:
        form = {
            "grant_type": "client_credentials",
            "scope": self.scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self._assertion(),
            "resource": base,  # RFC 8707: the municipality's base, where it is one of several
        }
        request = urllib.request.Request(  # noqa: S310 - the configured http(s) token URL
            self.token_url,
            data=urlencode(form).encode(),
            headers={"Accept": "application/json"},
            method="POST",
        )
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                raw = response.read(MAX_ANSWER_BYTES + 1)
        except urllib.error.HTTPError as refused:
            # The status only: the body may echo what was sent.
            log.warning("the platform refused the gateway a token: %d", refused.code)
            raise self._failed() from None
        except (OSError, ValueError) as failure:
            log.warning("the platform's token endpoint did not answer: %s", type(failure).__name__)
            raise self._failed() from None
        try:
            answer = json.loads(raw) if len(raw) <= MAX_ANSWER_BYTES else None
        except (ValueError, RecursionError):
            answer = None
        token = answer.get("access_token") if isinstance(answer, dict) else None
        lifetime = answer.get("expires_in", 300) if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token or not isinstance(lifetime, int | float):
            log.warning("the platform's token endpoint answered without a token")
            raise self._failed()
        # A minute before it expires; a token shorter-lived than two minutes at half its life.
        renew_in = max(float(lifetime) - RENEW_BEFORE_SECONDS, float(lifetime) / 2)
        return _Token(token, started + renew_in)

    @staticmethod
    def _failed() -> PlatformCredentialFailed:
        return PlatformCredentialFailed(_("The gateway could not get a token from the platform."))


def from_config(config: Config) -> PlatformCredential:
    """The credential the settings name (torget.config checked that they name one whole)."""
    if not config.fhir_upstream_token_url:
        return StaticToken(config.fhir_upstream_token)
    try:
        return BackendServicesToken(
            config.fhir_upstream_token_url,
            config.fhir_upstream_client_id,
            config.fhir_upstream_private_key,
            config.fhir_upstream_key_id,
            config.fhir_upstream_scope,
            timeout=config.fhir_upstream_timeout_seconds,
        )
    except (ValueError, TypeError):
        raise ConfigError(
            "FHIR_UPSTREAM_PRIVATE_KEY must be an unencrypted PEM private key: "
            "EC P-384 (ES384) or RSA of 2048 bits or more (RS384)."
        ) from None
