"""OAuth client credentials per app and environment: client ids and secrets.

A client exists per app and environment: the sandbox one from the first
submission (a vendor tests before certification), the production one from the
first certification. What a client may do comes from its release; only secrets
live here. Secrets are shown once and stored as SHA-256 hashes: they carry 256
random bits, so a slow hash would add nothing but latency to every token call.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass

from flask import g, has_request_context
from flask_babel import gettext as _
from sqlalchemy import bindparam, select
from sqlalchemy.orm import defaultload, lazyload

from accounts.models import User
from catalog import vendors
from catalog.models import (
    Application,
    Client,
    ClientSecret,
    ClientType,
    Environment,
    Release,
    ReleaseState,
)
from catalog.semver import Version
from torget import tokens
from torget.db import db, utcnow
from torget.errors import Conflict, Invalid, NotFound

SECRET_PREFIX = "torget_cs_"  # noqa: S105 - a prefix, not a secret
MAX_GRACE_DAYS = 30
DEFAULT_GRACE_DAYS = 7

# The release each environment's client runs: the sandbox tries what was
# submitted; production runs what was certified.
_ENVIRONMENT_STATES = {
    Environment.SANDBOX: {
        ReleaseState.SUBMITTED,
        ReleaseState.IN_REVIEW,
        ReleaseState.CERTIFIED,
        ReleaseState.SUPERSEDED,
    },
    Environment.PRODUCTION: {ReleaseState.CERTIFIED},
}


# What the authorization server reads on every token request: a client's and a
# release's own columns and the app's, not the secrets, evidence, checks and
# screenshots the vendor and review pages show (each of those is a query more).
LEAN_RELEASE = (
    lazyload(Release.evidence),
    lazyload(Release.checks),
    defaultload(Release.application).lazyload(Application.screenshots),
)
LEAN_CLIENT = (
    lazyload(Client.secrets),
    defaultload(Client.application).lazyload(Application.screenshots),
)
# Asked on every token and introspection: built once with bound parameters, since
# a statement built per call costs more in its cache key than the database spends.
_CLIENT_BY_ID = (
    select(Client).where(Client.client_id == bindparam("client_id")).options(*LEAN_CLIENT)
)
_RELEASES_OF = (
    select(Release)
    .where(Release.application_id == bindparam("application_id"))
    .options(*LEAN_RELEASE)
)


@dataclass(frozen=True)
class IssuedSecret:
    secret: ClientSecret
    value: str
    """The whole secret. It exists only in this object: show it once."""


def ensure_client(application: Application, environment: Environment) -> Client:
    """The app's client in `environment`, created on first need."""
    client = find_client(application, environment)
    if client is None:
        suffix = "sbx" if environment == Environment.SANDBOX else "prod"
        client = Client(
            application=application,
            environment=environment,
            client_id=f"{application.slug}-{suffix}-{secrets.token_hex(4)}",
        )
        db.session.add(client)
        db.session.flush()  # generate client.id: secrets refer to it
    return client


def find_client(application: Application, environment: Environment) -> Client | None:
    return db.session.scalar(
        select(Client).where(
            Client.application_id == application.id, Client.environment == environment
        )
    )


def clients_of(application: Application) -> list[Client]:
    return list(
        db.session.scalars(
            select(Client).where(Client.application_id == application.id).order_by(Client.id)
        )
    )


def find_by_client_id(client_id: str) -> Client | None:
    """The client with this id. Within a request it is looked up once: the token
    endpoint asks for it from the assertion check, the client loader and the
    launch policy, and a client row never changes after it is made."""
    found: dict[str, Client | None] = (
        g.setdefault("torget_clients", {}) if has_request_context() else {}
    )
    if client_id not in found:
        found[client_id] = db.session.scalar(_CLIENT_BY_ID, {"client_id": client_id})
    return found[client_id]


def get_client(client_id: str) -> Client:
    client = find_by_client_id(client_id)
    if client is None:
        raise NotFound(_("No client has the id %(id)s.", id=client_id))
    return client


def current_release(client: Client) -> Release | None:
    """The newest release this client runs in its environment, if any."""
    states = _ENVIRONMENT_STATES[client.environment]
    candidates = [
        r
        for r in db.session.scalars(_RELEASES_OF, {"application_id": client.application_id})
        if r.state in states
    ]
    return max(candidates, key=lambda r: Version(r.version), default=None)


def _require_secret_client(client: Client) -> None:
    release = current_release(client)
    if release is None or release.client_type != ClientType.CONFIDENTIAL_SECRET:
        raise Conflict(_("Only a confidential client with a secret has secrets."))


def create_secret(client: Client, *, by: User) -> IssuedSecret:
    """A new secret, beside any that are live (the first, or an extra for a second server)."""
    vendors.require_member(by, client.application.vendor)
    _require_secret_client(client)
    value = SECRET_PREFIX + tokens.new()
    secret = ClientSecret(
        client_pk=client.id,
        secret_hash=tokens.digest(value),
        prefix=value[len(SECRET_PREFIX) :][:8],
        created_by_id=by.id,
    )
    db.session.add(secret)
    db.session.flush()  # generate secret.id for the page that shows it once
    db.session.expire(client, ["secrets"])
    return IssuedSecret(secret=secret, value=value)


def rotate_secret(
    client: Client, *, by: User, grace_days: int = DEFAULT_GRACE_DAYS
) -> IssuedSecret:
    """A new secret; the live ones keep working for `grace_days`, then stop."""
    if not 0 <= grace_days <= MAX_GRACE_DAYS:
        raise Invalid(
            _("The grace period is 0 to %(n)d days.", n=MAX_GRACE_DAYS), field="grace_days"
        )
    issued = create_secret(client, by=by)
    ends = utcnow() + dt.timedelta(days=grace_days)
    now = utcnow()
    for secret in client.secrets:
        if secret.id != issued.secret.id and secret.is_live(now):
            secret.expires_at = min(secret.expires_at or ends, ends)
    return issued


def revoke_secret(client: Client, secret_id: int, *, by: User) -> ClientSecret:
    vendors.require_member(by, client.application.vendor)
    secret = next((s for s in client.secrets if s.id == secret_id), None)
    if secret is None:
        raise NotFound(_("The client has no such secret."))
    if secret.revoked_at is None:
        secret.revoked_at = utcnow()
    return secret


def authenticate(client_id: str, value: str) -> Client | None:
    """The client whose live secret `value` is, or None. For the token endpoint."""
    secret = authenticate_secret(client_id, value)
    return secret.client if secret else None


def authenticate_secret(client_id: str, value: str) -> ClientSecret | None:
    """The live secret of `client_id` whose value is `value`, or None.

    The authorization server keeps which secret a token came from: revoking
    that secret makes the token inactive.
    """
    secret = db.session.scalar(
        select(ClientSecret).where(ClientSecret.secret_hash == tokens.digest(value or ""))
    )
    if secret is None or not secret.is_live(utcnow()):
        return None
    # The hash lookup found the row; the id comparison is constant-time anyway.
    if not hmac.compare_digest(secret.client.client_id.encode(), (client_id or "").encode()):
        return None
    return secret
