"""Users and their roles: create, find, grant."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import select

from accounts import passwords
from accounts.models import ROLE_ORGANISATION_KIND, Membership, Organisation, Role, User
from torget.db import add_unique, db
from torget.errors import Invalid, NotFound

MAX_EMAIL_LENGTH = 254  # RFC 5321's limit on a forward path
HPR_NUMBER = re.compile(r"^\d{4,9}$")


def normalise_email(raw: str) -> str:
    """The stored form of an address: validated, lower-cased, at most 254 characters."""
    email = (raw or "").strip()
    if not email:
        raise Invalid(_("Enter an email address."), field="email")
    if len(email) > MAX_EMAIL_LENGTH:
        raise Invalid(_("An email address is at most 254 characters."), field="email")
    try:
        checked = validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        raise Invalid(_("This is not a valid email address."), field="email") from None
    # Lower-cased whole: addresses are unique regardless of case.
    return checked.normalized.lower()


def check_password(password: str, *, email: str = "") -> None:
    if len(password) < passwords.MIN_LENGTH:
        raise Invalid(
            _("A password is at least %(n)d characters.", n=passwords.MIN_LENGTH), field="password"
        )
    if len(password) > passwords.MAX_LENGTH:
        raise Invalid(
            _("A password is at most %(n)d characters.", n=passwords.MAX_LENGTH), field="password"
        )
    if email and password.strip().lower() == email.lower():
        raise Invalid(_("The password must not be the email address."), field="password")


def find_by_email(email: str) -> User | None:
    try:
        normalised = normalise_email(email)
    except Invalid:
        return None
    return db.session.scalar(select(User).where(User.email == normalised))


def get_by_email(email: str) -> User:
    user = find_by_email(email)
    if user is None:
        raise NotFound(_("No user has the address %(email)s.", email=email))
    return user


def create_user(
    *, email: str, display_name: str, password: str, hpr_number: str | None = None
) -> User:
    """A new active user with no roles. Raises Invalid or Conflict (email taken)."""
    email = normalise_email(email)
    display_name = (display_name or "").strip()
    if not 1 <= len(display_name) <= 200:
        raise Invalid(_("A name is 1 to 200 characters."), field="display_name")
    hpr_number = (hpr_number or "").strip() or None
    if hpr_number is not None and not HPR_NUMBER.match(hpr_number):
        raise Invalid(_("An HPR number is 4 to 9 digits."), field="hpr_number")
    check_password(password, email=email)
    user = User(
        email=email,
        display_name=display_name,
        hpr_number=hpr_number,
        password_hash=passwords.hash_password(password),
    )
    add_unique(user, _("A user with this email address exists."))
    return user


def grant_role(user: User, role: Role, organisation: Organisation | None = None) -> Membership:
    """Give `user` the role, in `organisation` when the role is held in one.

    Granting a role the user already holds returns the existing membership.
    """
    expected_kind = ROLE_ORGANISATION_KIND[role]
    if expected_kind is None and organisation is not None:
        raise Invalid(_("This role is not held in an organisation."), field="organisation")
    if expected_kind is not None and (organisation is None or organisation.kind != expected_kind):
        raise Invalid(
            _("This role is held in an organisation of kind %(kind)s.", kind=expected_kind.value),
            field="organisation",
        )
    organisation_id = organisation.id if organisation else None
    for membership in user.memberships:
        if membership.role == role and membership.organisation_id == organisation_id:
            return membership
    membership = Membership(user_id=user.id, role=role, organisation=organisation)
    add_unique(membership, _("The user already has this role."))
    db.session.expire(user, ["memberships"])  # reload the list with the new role in it
    return membership
