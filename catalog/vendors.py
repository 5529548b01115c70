"""Vendors: sign-up, profile, verification, members and invitations."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select, update

from accounts import organisations, users
from accounts.models import Membership, Organisation, OrganisationKind, Role, User
from catalog.models import Vendor, VendorInvitation
from catalog.urls import check_web_url
from torget import tokens
from torget.db import add_unique, db, utcnow
from torget.errors import Conflict, FieldErrors, Forbidden, Invalid, NotFound

INVITATION_DAYS = 7
INVITATION_PREFIX = "torget_inv_"


@dataclass(frozen=True)
class VendorProfile:
    """What a vendor tells about itself; the organisation number is fixed at sign-up."""

    contact_email: str
    security_email: str
    website: str


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: VendorInvitation
    token: str
    """The secret part of the link. It exists only here: show it once."""


@dataclass(frozen=True)
class NewAccount:
    """A person without an account who signs up a vendor or accepts an invitation."""

    display_name: str
    email: str
    password: str


def slugify(name: str) -> str:
    """A URL-safe slug from a name: "Nordlys Helse AS" -> "nordlys-helse-as"."""
    folded = name.casefold().replace("æ", "ae").replace("ø", "o").replace("å", "a")
    ascii_only = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()
    words = "".join(c if c.isalnum() else " " for c in ascii_only).split()
    return "-".join(words)[:63].strip("-")


def _check_profile(profile: VendorProfile, errors: FieldErrors) -> VendorProfile:
    emails = {}
    for field in ("contact_email", "security_email"):
        try:
            emails[field] = users.normalise_email(getattr(profile, field))
        except Invalid as error:
            errors.add(field, error.detail or "")
    website = check_web_url(profile.website, "website", errors)
    return VendorProfile(
        contact_email=emails.get("contact_email", ""),
        security_email=emails.get("security_email", ""),
        website=website,
    )


def sign_up(signer: User, *, name: str, organisation_number: str, profile: VendorProfile) -> Vendor:
    """Register a vendor and make the signer its first member."""
    errors = FieldErrors()
    name = (name or "").strip()
    errors.check(1 <= len(name) <= 200, "name", _("A name is 1 to 200 characters."))
    try:
        number = organisations.normalise_organisation_number(organisation_number)
    except Invalid as error:
        errors.merge(error)
    profile = _check_profile(profile, errors)
    slug = slugify(name)
    errors.check(bool(slug) or not name, "name", _("The name needs letters or digits."))
    errors.raise_if_any()
    if organisations.find_by_number(number) is not None:
        raise Conflict(
            _("An organisation with this organisation number is registered already."),
            field="organisation_number",
        )
    organisation = organisations.create_organisation(
        slug=_free_slug(slug), name=name, organisation_number=number, kind=OrganisationKind.VENDOR
    )
    vendor = Vendor(
        organisation=organisation,
        contact_email=profile.contact_email,
        security_email=profile.security_email,
        website=profile.website,
    )
    add_unique(vendor, _("This organisation is a vendor already."))
    users.grant_role(signer, Role.VENDOR_MEMBER, organisation)
    return vendor


def sign_up_with_account(
    account: NewAccount, *, name: str, organisation_number: str, profile: VendorProfile
) -> tuple[Vendor, User]:
    """A new person registers their vendor: their account and the vendor in one transaction.

    Any refusal (a taken email, a weak password, a bad organisation number)
    raises before the request commits, so neither is left half made.
    """
    signer = users.create_user(
        email=account.email, display_name=account.display_name, password=account.password
    )
    vendor = sign_up(signer, name=name, organisation_number=organisation_number, profile=profile)
    return vendor, signer


def _free_slug(slug: str) -> str:
    """The slug, or the slug with a number when another organisation has it."""
    candidate, n = slug, 1
    while organisations.find_by_slug(candidate) is not None:
        n += 1
        candidate = f"{slug[:60]}-{n}"
    return candidate


def update_profile(vendor: Vendor, profile: VendorProfile) -> Vendor:
    errors = FieldErrors()
    profile = _check_profile(profile, errors)
    errors.raise_if_any()
    vendor.contact_email = profile.contact_email
    vendor.security_email = profile.security_email
    vendor.website = profile.website
    return vendor


def get_by_slug(slug: str) -> Vendor:
    vendor = db.session.scalar(
        select(Vendor).join(Vendor.organisation).where(Organisation.slug == slug)
    )
    if vendor is None:
        raise NotFound(_("No vendor is called %(slug)s.", slug=slug))
    return vendor


def list_vendors() -> list[Vendor]:
    return list(db.session.scalars(select(Vendor)).unique())


def vendors_of(user: User) -> list[Vendor]:
    """The vendors `user` is a member of."""
    organisation_ids = [m.organisation_id for m in user.memberships if m.role == Role.VENDOR_MEMBER]
    if not organisation_ids:
        return []
    return list(
        db.session.scalars(select(Vendor).where(Vendor.organisation_id.in_(organisation_ids)))
    )


def is_member(user: User | None, vendor: Vendor) -> bool:
    return user is not None and any(
        m.role == Role.VENDOR_MEMBER and m.organisation_id == vendor.organisation_id
        for m in user.memberships
    )


def require_member(user: User, vendor: Vendor) -> None:
    if not is_member(user, vendor):
        raise Forbidden(_("You are not a member of %(vendor)s.", vendor=vendor.name))


def require_reader(user: User, vendor: Vendor) -> None:
    """Members read their vendor's apps, releases and evidence; so do reviewers
    (they certify them) and operators (they verify vendors). Nobody else does."""
    if is_member(user, vendor) or any(
        m.role in {Role.REVIEWER, Role.OPERATOR} for m in user.memberships
    ):
        return
    raise Forbidden(_("You are not a member of %(vendor)s.", vendor=vendor.name))


def members(vendor: Vendor) -> list[User]:
    return sorted(
        db.session.scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(
                Membership.organisation_id == vendor.organisation_id,
                Membership.role == Role.VENDOR_MEMBER,
            )
        ),
        key=lambda u: u.display_name.casefold(),
    )


def verify(vendor: Vendor, *, by: User) -> Vendor:
    """An operator confirms the vendor is who it says (Brønnøysund, a signed agreement)."""
    if vendor.verified_at is not None:
        raise Conflict(_("The vendor is verified already."))
    vendor.verified_at = utcnow()
    vendor.verified_by_id = by.id
    return vendor


def invite(vendor: Vendor, email: str, *, by: User) -> IssuedInvitation:
    require_member(by, vendor)
    address = users.normalise_email(email)
    existing = users.find_by_email(address)
    if existing is not None and is_member(existing, vendor):
        raise Conflict(_("%(email)s is a member already.", email=address), field="email")
    token = INVITATION_PREFIX + tokens.new()
    now = utcnow()
    invitation = VendorInvitation(
        vendor=vendor,
        email=address,
        token_hash=tokens.digest(token),
        invited_by_id=by.id,
        created_at=now,
        expires_at=now + dt.timedelta(days=INVITATION_DAYS),
    )
    db.session.add(invitation)
    db.session.flush()  # generate invitation.id for the page that shows the link
    return IssuedInvitation(invitation=invitation, token=token)


def find_invitation(token: str) -> VendorInvitation:
    """The open invitation behind a link; NotFound for a wrong, used or expired one."""
    invitation = db.session.scalar(
        select(VendorInvitation).where(VendorInvitation.token_hash == tokens.digest(token or ""))
    )
    if invitation is None or not _is_open(invitation, utcnow()):
        raise NotFound(_("This invitation is not valid: it may be used, revoked or expired."))
    return invitation


def _is_open(invitation: VendorInvitation, now: dt.datetime) -> bool:
    return (
        invitation.accepted_at is None
        and invitation.revoked_at is None
        and invitation.expires_at > now
    )


def accept_invitation(token: str, user: User) -> Vendor:
    """Make `user` a member. The link works once, before it expires, for its address."""
    invitation = find_invitation(token)
    if invitation.email != user.email:
        raise Forbidden(
            _(
                "This invitation is for %(email)s. Sign in with that address.",
                email=invitation.email,
            )
        )
    now = utcnow()
    # Single use even when two requests race: only one UPDATE finds it open.
    claimed = db.session.execute(
        update(VendorInvitation)
        .where(
            VendorInvitation.id == invitation.id,
            VendorInvitation.accepted_at.is_(None),
            VendorInvitation.revoked_at.is_(None),
        )
        .values(accepted_at=now, accepted_by_id=user.id)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise NotFound(_("This invitation is not valid: it may be used, revoked or expired."))
    db.session.expire(invitation)
    users.grant_role(user, Role.VENDOR_MEMBER, invitation.vendor.organisation)
    return invitation.vendor


def accept_invitation_with_account(
    token: str, *, display_name: str, password: str
) -> tuple[Vendor, User]:
    """A person without an account accepts: the account gets the invited address.

    The link is the proof of the address: it was given to that person alone.
    """
    invitation = find_invitation(token)
    user = users.create_user(email=invitation.email, display_name=display_name, password=password)
    return accept_invitation(token, user), user


def open_invitations(vendor: Vendor) -> list[VendorInvitation]:
    now = utcnow()
    rows = db.session.scalars(
        select(VendorInvitation)
        .where(VendorInvitation.vendor_id == vendor.id)
        .order_by(VendorInvitation.created_at.desc())
    )
    return [i for i in rows if _is_open(i, now)]


def revoke_invitation(vendor: Vendor, invitation_id: int, *, by: User) -> None:
    require_member(by, vendor)
    invitation = db.session.get(VendorInvitation, invitation_id)
    if invitation is None or invitation.vendor_id != vendor.id:
        raise NotFound(_("No such invitation."))
    if invitation.revoked_at is None and invitation.accepted_at is None:
        invitation.revoked_at = utcnow()
