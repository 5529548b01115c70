"""Personal API tokens: shown once, stored as a hash, revocable, always expiring."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import bindparam, select, update

from accounts.models import ApiToken, Membership, Role, User
from torget import tokens
from torget.db import bookkeeping, db, utcnow
from torget.errors import Invalid, NotFound

PREFIX = "torget_pat_"
MAX_DAYS = 365


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str
    """The whole token. It exists only in this object: show it once."""


def issue(user: User, *, name: str, expires_in_days: int) -> IssuedToken:
    name = (name or "").strip()
    if not 1 <= len(name) <= 100:
        raise Invalid(_("A token name is 1 to 100 characters."), field="name")
    if not 1 <= expires_in_days <= MAX_DAYS:
        raise Invalid(_("A token lives 1 to %(n)d days.", n=MAX_DAYS), field="expires_in_days")
    body = tokens.new()
    secret = PREFIX + body
    now = utcnow()
    token = ApiToken(
        user=user,
        name=name,
        token_hash=tokens.digest(secret),
        prefix=body[:8],
        created_at=now,
        expires_at=now + dt.timedelta(days=expires_in_days),
    )
    db.session.add(token)
    db.session.flush()  # generate token.id: the caller shows it with the secret
    return IssuedToken(token=token, secret=secret)


def list_for(user: User) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())
        )
    )


def revoke(user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens. Another user's token is NotFound."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(_("You have no token with this id."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token


def authenticate(secret: str) -> User | None:
    """The user a live token belongs to, or None for an unknown, revoked or expired token."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == tokens.digest(secret)))
    now = utcnow()
    if token is None or not token.is_live(now) or not token.user.is_active:
        return None
    _note_use(token.id, token.last_used_at, now)
    return token.user


# Built once (see auth.status): the token, its user, and whether they hold one of the roles.
_LIVE_WITH_ROLE = (
    select(
        ApiToken.id,
        ApiToken.revoked_at,
        ApiToken.expires_at,
        ApiToken.last_used_at,
        User.is_active,
        select(Membership.id)
        .where(
            Membership.user_id == ApiToken.user_id,
            Membership.role.in_(bindparam("roles", expanding=True)),
        )
        .exists()
        .label("holds_role"),
    )
    .join(User, User.id == ApiToken.user_id)
    .where(ApiToken.token_hash == bindparam("digest"))
)


def authenticate_role(secret: str, roles: Collection[Role]) -> bool:
    """Whether `secret` is a live token of an active user who holds one of `roles` somewhere.

    `authenticate` and `has_role` in one statement of plain columns: resource
    servers ask it at every introspection.
    """
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return False
    digest = tokens.digest(secret)
    row = (
        db.session.connection().execute(_LIVE_WITH_ROLE, {"digest": digest, "roles": roles}).first()
    )
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now or not row.is_active:
        return False
    if not row.holds_role:
        return False  # a refusal: nothing written but its audit
    _note_use(row.id, row.last_used_at, now)
    return True


def _note_use(token_id: int, last_used_at: dt.datetime | None, now: dt.datetime) -> None:
    # Written at most once a minute: an API client should not cost a write per call.
    if last_used_at is None or now - last_used_at >= dt.timedelta(minutes=1):
        bookkeeping(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
