from __future__ import annotations

import pytest
import sqlalchemy as sa

from accounts import users
from accounts.models import Membership, OrganisationKind, Role, User
from tests.factories.accounts import OrganisationFactory, UserFactory
from tests.factories.marketplace import TenantFactory
from torget.db import db
from torget.errors import Conflict, Invalid

GOOD = {"display_name": "Kari Nordmann", "password": "a-long-enough-password"}


def _count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(User))


def test_create_user_stores_a_lower_cased_email_and_an_argon2_hash(app, db_session):
    with app.test_request_context():
        user = users.create_user(email="  Kari.Nordmann@Example.NO ", **GOOD)
    assert user.email == "kari.nordmann@example.no"
    assert user.password_hash.startswith("$argon2id$")
    assert GOOD["password"] not in user.password_hash


def test_emails_differing_only_in_case_are_one_user(app, db_session):
    with app.test_request_context():
        users.create_user(email="ola@example.no", **GOOD)
        with pytest.raises(Conflict):
            users.create_user(email="OLA@EXAMPLE.NO", **GOOD)
    assert _count() == 1


@pytest.mark.parametrize(
    ("email", "password", "name", "hpr", "field"),
    [
        ("", "a-long-enough-password", "Kari", None, "email"),
        ("not-an-email", "a-long-enough-password", "Kari", None, "email"),
        ("a" * 250 + "@example.no", "a-long-enough-password", "Kari", None, "email"),
        ("x@example.no'; DROP TABLE user;--", "a-long-enough-password", "Kari", None, "email"),
        ("kari@example.no", "short", "Kari", None, "password"),
        ("kari@example.no", "x" * 257, "Kari", None, "password"),
        ("kari@example.no", "kari@example.no", "Kari", None, "password"),
        ("kari@example.no", "a-long-enough-password", "", None, "display_name"),
        ("kari@example.no", "a-long-enough-password", "   ", None, "display_name"),
        ("kari@example.no", "a-long-enough-password", "K" * 201, None, "display_name"),
        ("kari@example.no", "a-long-enough-password", "Kari", "12ab", "hpr_number"),
        ("kari@example.no", "a-long-enough-password", "Kari", "1234567890", "hpr_number"),
    ],
)
def test_create_user_refuses_bad_input_and_writes_nothing(
    app, db_session, email, password, name, hpr, field
):
    with app.test_request_context(), pytest.raises(Invalid) as refused:
        users.create_user(email=email, display_name=name, password=password, hpr_number=hpr)
    assert field in refused.value.fields
    assert _count() == 0


def test_grant_role_checks_the_kind_of_organisation(app, db_session):
    user = UserFactory()
    vendor = OrganisationFactory(kind=OrganisationKind.VENDOR)
    tenant = TenantFactory()
    with app.test_request_context():
        with pytest.raises(Invalid):
            users.grant_role(user, Role.MUNICIPAL_ADMIN, vendor)
        with pytest.raises(Invalid):
            users.grant_role(user, Role.VENDOR_MEMBER, tenant.organisation)
        with pytest.raises(Invalid):
            users.grant_role(user, Role.OPERATOR, vendor)
        with pytest.raises(Invalid):
            users.grant_role(user, Role.CLINICIAN, None)
        users.grant_role(user, Role.CLINICIAN, tenant.organisation)
        again = users.grant_role(user, Role.CLINICIAN, tenant.organisation)
    assert again.role == Role.CLINICIAN
    memberships = db.session.scalars(sa.select(Membership).where(Membership.user_id == user.id))
    assert [(m.role, m.organisation_id) for m in memberships] == [
        (Role.CLINICIAN, tenant.organisation_id)
    ]


def test_the_database_refuses_a_global_role_tied_to_an_organisation(app, db_session):
    # The check constraint stands behind the service rule.
    user = UserFactory()
    vendor = OrganisationFactory()
    db.session.add(Membership(user_id=user.id, role=Role.OPERATOR, organisation_id=vendor.id))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
