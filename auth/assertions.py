"""Client authentication by a signed assertion: private_key_jwt (RFC 7523 §2.2).

Confidential apps with a key and SMART Backend Services authenticate at the
token endpoint with a short-lived JWT signed by their private key (SMART App
Launch 2.2, "Client Authentication: Asymmetric"). It is checked against the
public keys the client's current release registered, inline or at its
`jwks_url`, and each `jti` is spent once. The authorization server calls this
from its own client auth method; nothing here knows Authlib.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey
from joserfc.jws import CompactSignature, JWSRegistry
from sqlalchemy import delete, select

from auth.models import UsedAssertion
from catalog import credentials
from catalog.keys import JwksFetcher, JwksUnavailable
from catalog.models import Client, Release
from torget import tokens
from torget.db import db, insert_once, utcnow
from torget.errors import Invalid, NotFound

MAX_ASSERTION_LENGTH = 8 * 1024
MAX_JTI_LENGTH = 255
CLOCK_SKEW = dt.timedelta(seconds=30)
# SMART: "no more than five minutes in the future".
MAX_LIFETIME = dt.timedelta(minutes=5)
# alg → (kty, crv). SMART has servers accept RS384 and ES384; the rest are the
# common library defaults and their stronger siblings. No HS*: a client's
# public key must never become an HMAC secret. No "none".
ALGORITHMS: dict[str, tuple[str, str | None]] = {
    "RS384": ("RSA", None),
    "ES384": ("EC", "P-384"),
    "RS256": ("RSA", None),
    "ES256": ("EC", "P-256"),
    "RS512": ("RSA", None),
    "ES512": ("EC", "P-521"),
    "PS384": ("RSA", None),
}
# A spent jti must outlive every moment its assertion is still accepted
# (exp + CLOCK_SKEW); past that margin the row guards nothing.
_PURGE_AFTER = dt.timedelta(minutes=1)
_PURGE_BATCH = 100
# Each worker purges at most this often.
_PURGE_EVERY = dt.timedelta(seconds=30)
_last_purge: dt.datetime | None = None


class AssertionRefused(Exception):
    """Why the assertion fails; the message is safe to show the client (no key material)."""


class _Registry(JWSRegistry):
    # joserfc allows a 512-byte header, too small for a header carrying a long
    # `jku`; the whole assertion is bounded by MAX_ASSERTION_LENGTH instead.
    max_header_length = MAX_ASSERTION_LENGTH


def verify_client_assertion(
    assertion: str, *, client_id: str | None, token_endpoint: str, now: dt.datetime | None = None
) -> tuple[Client, Release]:
    """The client that signed `assertion` and the release it runs, after the `jti` was spent.

    Raises `AssertionRefused` and writes nothing when anything is wrong;
    a replayed assertion is refused without a second row.
    """
    now = now or utcnow()
    signed = _parse(assertion)
    header = signed.headers()
    alg = _check_header(header)
    claims = _claims(signed)
    issuer = _check_identity(claims, client_id)
    jti, expires_at = _check_validity(claims, token_endpoint=token_endpoint, now=now)
    client, release = _key_client(issuer)
    jku = header.get("jku")
    if jku is not None and jku != release.jwks_url:
        # Never fetched: the keys are the ones the certified release registered.
        raise AssertionRefused(
            _("The jku in the assertion's header is not the key set URL the app registered.")
        )
    key = _signing_key(release, kid=header["kid"], alg=alg)
    try:
        valid = jws.validate_compact(
            signed, key, registry=_Registry(algorithms=[alg], strict_check_header=False)
        )
    except JoseError:
        valid = False
    if not valid:
        raise AssertionRefused(_("The assertion's signature does not verify."))
    _spend(client, jti=jti, expires_at=expires_at, now=now)
    return client, release


def _parse(assertion: str) -> CompactSignature:
    # A compact JWS is ASCII; the length check bounds all work that follows.
    if len(assertion) > MAX_ASSERTION_LENGTH:
        raise AssertionRefused(
            _("The client assertion is longer than %(n)d bytes.", n=MAX_ASSERTION_LENGTH)
        )
    not_a_jwt = AssertionRefused(_("The client assertion is not a signed JWT."))
    if not assertion.isascii():
        raise not_a_jwt
    try:
        signed = jws.extract_compact(assertion.encode(), registry=_Registry())
    except (JoseError, ValueError, TypeError):
        raise not_a_jwt from None
    if not isinstance(signed.headers(), dict):
        raise not_a_jwt
    return signed


def _check_header(header: dict[str, Any]) -> str:
    """The header's alg, when the header is one Torget accepts."""
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALGORITHMS:
        raise AssertionRefused(
            _("The assertion's alg must be one of %(algs)s.", algs=", ".join(ALGORITHMS))
        )
    typ = header.get("typ")
    if typ is not None and not (isinstance(typ, str) and typ.lower() == "jwt"):
        raise AssertionRefused(_('The assertion\'s typ, when present, must be "JWT".'))
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        # SMART: the kid names the key, so a client can rotate keys.
        raise AssertionRefused(_("The assertion's header needs the kid of the key that signed it."))
    if "crit" in header:
        # RFC 7515 §4.1.11: extensions the recipient does not understand make it invalid.
        raise AssertionRefused(_("The assertion's header has critical extensions (crit)."))
    return alg


def _claims(signed: CompactSignature) -> dict[str, Any]:
    """The claims, unverified: only the signature check makes them trustworthy."""
    try:
        claims = json.loads(signed.payload)
    except (ValueError, TypeError, RecursionError):
        claims = None
    if not isinstance(claims, dict):
        raise AssertionRefused(_("The client assertion is not a signed JWT."))
    return claims


def _check_identity(claims: dict[str, Any], client_id: str | None) -> str:
    """The client the assertion claims to come from (RFC 7523 §3: iss and sub)."""
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer or claims.get("sub") != issuer:
        raise AssertionRefused(_("The assertion's iss and sub must both be the client_id."))
    if client_id is not None and client_id != issuer:
        raise AssertionRefused(_("The client_id is not the assertion's iss and sub."))
    return issuer


def _check_validity(
    claims: dict[str, Any], *, token_endpoint: str, now: dt.datetime
) -> tuple[str, dt.datetime]:
    """The jti and the expiry, when the assertion is meant for here and now."""
    audience = claims.get("aud")
    if token_endpoint not in (audience if isinstance(audience, list) else [audience]):
        raise AssertionRefused(
            _("The assertion's aud must be the token endpoint, %(url)s.", url=token_endpoint)
        )
    at = now.timestamp()
    skew = CLOCK_SKEW.total_seconds()
    expires = _numeric_date(claims, "exp")
    if expires is None:
        raise AssertionRefused(_("The assertion needs an exp."))
    if expires <= at - skew:
        raise AssertionRefused(_("The assertion has expired."))
    if expires > at + (MAX_LIFETIME + CLOCK_SKEW).total_seconds():
        raise AssertionRefused(
            _("The assertion's exp is more than %(n)d minutes ahead.", n=MAX_LIFETIME.seconds // 60)
        )
    for name in ("iat", "nbf"):
        value = _numeric_date(claims, name)
        if value is not None and value > at + skew:
            raise AssertionRefused(_("The assertion's %(claim)s is in the future.", claim=name))
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 1 <= len(jti) <= MAX_JTI_LENGTH:
        raise AssertionRefused(
            _("The assertion needs a jti of 1 to %(n)d characters.", n=MAX_JTI_LENGTH)
        )
    return jti, dt.datetime.fromtimestamp(expires, dt.UTC)


def _numeric_date(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    # JSON parses NaN and 1e400 (infinity): neither compares as a time should.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AssertionRefused(
            _("The assertion's %(claim)s must be a number of seconds since 1970.", claim=name)
        )
    return float(value)


def _key_client(client_id: str) -> tuple[Client, Release]:
    """The client and the release it runs, when that release authenticates with keys."""
    try:
        client = credentials.get_client(client_id)
    except NotFound:
        raise AssertionRefused(_("The assertion's iss is not a client of this server.")) from None
    release = credentials.current_release(client)
    if release is None:
        raise AssertionRefused(_("The client has no release it may run now."))
    if not release.client_type.uses_keys:
        raise AssertionRefused(_("This client does not authenticate with a key."))
    return client, release


def _signing_key(release: Release, *, kid: str, alg: str) -> RSAKey | ECKey:
    """The registered public key named `kid` that fits `alg`.

    A client that rotated its keys signs with a kid the cached set lacks: the
    set at its URL is fetched again once (the fetcher rate-limits that).
    """
    if release.jwks or not release.jwks_url:
        jwks = release.jwks or {"keys": []}
        key = _select(jwks, kid=kid, alg=alg)
    else:
        key = _select(_fetch(release.jwks_url), kid=kid, alg=alg)
        if key is None:
            key = _select(_fetch(release.jwks_url, force_refresh=True), kid=kid, alg=alg)
    if key is None:
        raise AssertionRefused(
            _("No key the app registered has the kid %(kid)s for %(alg)s.", kid=kid, alg=alg)
        )
    return key


def _fetch(url: str, *, force_refresh: bool = False) -> dict[str, Any]:
    fetcher: JwksFetcher = current_app.extensions["torget_jwks"]
    try:
        return fetcher.get(url, force_refresh=force_refresh)
    except (JwksUnavailable, Invalid) as failed:
        raise AssertionRefused(
            _("The app's key set could not be used: %(reason)s", reason=str(failed))
        ) from None


def _select(jwks: dict[str, Any], *, kid: str, alg: str) -> RSAKey | ECKey | None:
    kty, crv = ALGORITHMS[alg]
    for jwk in jwks.get("keys", []):
        # The key type (and an EC key's curve) must be the alg's: an RSA key is
        # never tried with an EC algorithm, nor a P-256 key with ES384.
        if (
            jwk.get("kid") != kid
            or jwk.get("kty") != kty
            or jwk.get("alg", alg) != alg
            or (crv is not None and jwk.get("crv") != crv)
        ):
            continue
        try:
            return (RSAKey if kty == "RSA" else ECKey).import_key(jwk)
        except (JoseError, ValueError, TypeError):
            return None
    return None


def _spend(client: Client, *, jti: str, expires_at: dt.datetime, now: dt.datetime) -> None:
    """Record the jti; a second use of it by the same client is a replay.

    The unique constraint decides, so two nodes racing with one assertion
    cannot both accept it.
    """
    if not insert_once(
        UsedAssertion,
        client_id=client.client_id,
        jti_hash=tokens.digest(jti),
        expires_at=expires_at,
    ):
        raise AssertionRefused(_("This assertion was used before: it is a replay."))
    global _last_purge
    if _last_purge is not None and abs(now - _last_purge) < _PURGE_EVERY:
        return  # purged a moment ago: a statement less on the token endpoint's hot path
    _last_purge = now
    stale = (
        select(UsedAssertion.id)
        .where(UsedAssertion.expires_at < now - _PURGE_AFTER)
        .limit(_PURGE_BATCH)
        # PostgreSQL: concurrent requests purge different rows instead of
        # waiting on (or deadlocking over) the same ones.
        .with_for_update(skip_locked=True)
    )
    db.session.execute(
        delete(UsedAssertion).where(UsedAssertion.id.in_(stale)),
        # Nothing loaded in this session is stale: only long-expired rows go.
        execution_options={"synchronize_session": False},
    )
