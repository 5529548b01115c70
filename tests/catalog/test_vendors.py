"""Vendors: sign-up, profile, verification, invitations."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from accounts.models import Organisation, OrganisationKind, Role
from catalog import vendors
from catalog.models import Vendor, VendorInvitation
from catalog.vendors import VendorProfile
from tests.factories.accounts import MembershipFactory, OrganisationFactory, UserFactory
from tests.factories.catalog import VendorFactory, member_of, reviewer
from torget.db import db, utcnow
from torget.errors import Conflict, Forbidden, Invalid, NotFound

PROFILE = VendorProfile(
    contact_email="Post@Nordlys.example",
    security_email="security@nordlys.example",
    website="https://nordlys.example",
)


def _count(model: type) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_sign_up_creates_vendor_and_makes_signer_member(db_session) -> None:
    signer = UserFactory()
    vendor = vendors.sign_up(
        signer, name="Nordlys Helse AS", organisation_number="987 654 325", profile=PROFILE
    )
    assert vendor.slug == "nordlys-helse-as"
    assert vendor.organisation_number == "987654325"
    assert vendor.contact_email == "post@nordlys.example"
    assert not vendor.is_verified
    assert vendors.is_member(signer, vendor)
    assert vendors.members(vendor) == [signer]
    assert vendors.vendors_of(signer) == [vendor]


def test_sign_up_reports_every_bad_field_and_writes_nothing(db_session) -> None:
    before = (_count(Organisation), _count(Vendor))
    with pytest.raises(Invalid) as caught:
        vendors.sign_up(
            UserFactory(),
            name="",
            organisation_number="987654321",  # wrong check digit
            profile=VendorProfile(
                contact_email="not-an-email",
                security_email="a@" + "b" * 260 + ".no",
                website="http://vendor.example",  # http off localhost
            ),
        )
    assert set(caught.value.fields) == {
        "name",
        "organisation_number",
        "contact_email",
        "security_email",
        "website",
    }
    assert (_count(Organisation), _count(Vendor)) == before


def test_an_organisation_number_signs_up_once(db_session) -> None:
    vendors.sign_up(UserFactory(), name="A AS", organisation_number="987654325", profile=PROFILE)
    with pytest.raises(Conflict):
        vendors.sign_up(
            UserFactory(), name="B AS", organisation_number="987654325", profile=PROFILE
        )


def test_same_name_gets_a_free_slug(db_session) -> None:
    first = vendors.sign_up(
        UserFactory(), name="Helse AS", organisation_number="987654325", profile=PROFILE
    )
    second = vendors.sign_up(
        UserFactory(), name="Helse AS", organisation_number="914778271", profile=PROFILE
    )
    assert (first.slug, second.slug) == ("helse-as", "helse-as-2")


def test_slugify_folds_norwegian_letters() -> None:
    assert vendors.slugify("Bærum Ørje Åsane & Co.") == "baerum-orje-asane-co"
    assert vendors.slugify("<script>") == "script"
    assert vendors.slugify("!!!") == ""


def test_verify_once(db_session) -> None:
    vendor = VendorFactory()
    operator = UserFactory()
    vendors.verify(vendor, by=operator)
    assert vendor.is_verified
    assert vendor.verified_by_id == operator.id
    with pytest.raises(Conflict):
        vendors.verify(vendor, by=operator)


def test_invitation_is_single_use_and_bound_to_its_address(db_session) -> None:
    vendor = VendorFactory()
    inviter = member_of(vendor)
    issued = vendors.invite(vendor, "Ny@Example.no", by=inviter)
    assert issued.token.startswith("torget_inv_")
    assert issued.invitation.token_hash != issued.token  # only a hash is stored

    stranger = UserFactory(email="other@example.no")
    with pytest.raises(Forbidden):
        vendors.accept_invitation(issued.token, stranger)

    invitee = UserFactory(email="ny@example.no")
    assert vendors.accept_invitation(issued.token, invitee) == vendor
    assert vendors.is_member(invitee, vendor)
    with pytest.raises(NotFound):
        vendors.accept_invitation(issued.token, invitee)


def test_expired_or_revoked_invitation_is_refused(db_session) -> None:
    vendor = VendorFactory()
    inviter = member_of(vendor)
    invitee = UserFactory(email="ny@example.no")
    expired = vendors.invite(vendor, invitee.email, by=inviter)
    expired.invitation.expires_at = utcnow() - dt.timedelta(seconds=1)
    with pytest.raises(NotFound):
        vendors.accept_invitation(expired.token, invitee)

    revoked = vendors.invite(vendor, invitee.email, by=inviter)
    vendors.revoke_invitation(vendor, revoked.invitation.id, by=inviter)
    with pytest.raises(NotFound):
        vendors.accept_invitation(revoked.token, invitee)
    with pytest.raises(NotFound):
        vendors.accept_invitation("torget_inv_guess", invitee)
    assert not vendors.is_member(invitee, vendor)


def test_only_members_invite(db_session) -> None:
    vendor = VendorFactory()
    with pytest.raises(Forbidden):
        vendors.invite(vendor, "x@example.no", by=UserFactory())
    member = member_of(vendor, email="m@example.no")
    with pytest.raises(Conflict):
        vendors.invite(vendor, "M@example.no", by=member)
    assert _count(VendorInvitation) == 0


def test_profile_update_validates(db_session) -> None:
    vendor = VendorFactory()
    with pytest.raises(Invalid) as caught:
        vendors.update_profile(vendor, VendorProfile("", "x@y.no", "javascript:alert(1)"))
    assert set(caught.value.fields) == {"contact_email", "website"}
    vendors.update_profile(vendor, PROFILE)
    assert vendor.website == "https://nordlys.example"


def test_member_role_is_vendor_member(db_session) -> None:
    signer = UserFactory()
    vendor = vendors.sign_up(signer, name="X AS", organisation_number="987654325", profile=PROFILE)
    (membership,) = [m for m in signer.memberships if m.organisation_id == vendor.organisation_id]
    assert membership.role == Role.VENDOR_MEMBER


def test_members_reviewers_and_operators_read_a_vendor_nobody_else(db_session) -> None:
    vendor = VendorFactory()
    other_vendor_member = member_of(VendorFactory())
    municipal_admin = UserFactory()
    MembershipFactory(
        user=municipal_admin,
        role=Role.MUNICIPAL_ADMIN,
        organisation=OrganisationFactory(kind=OrganisationKind.MUNICIPALITY),
    )
    for allowed in (member_of(vendor), reviewer(), MembershipFactory(role=Role.OPERATOR).user):
        vendors.require_reader(allowed, vendor)
    for refused in (UserFactory(), other_vendor_member, municipal_admin):
        with pytest.raises(Forbidden):
            vendors.require_reader(refused, vendor)
