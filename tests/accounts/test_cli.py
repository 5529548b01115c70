from __future__ import annotations

import sqlalchemy as sa

from accounts.models import Membership, Role, User
from tests.factories.accounts import UserFactory
from tests.factories.marketplace import TenantFactory
from torget.db import db


def _users() -> list[User]:
    return list(db.session.scalars(sa.select(User)))


def test_user_create_reads_the_password_from_stdin(runner):
    result = runner.invoke(
        args=[
            "user",
            "create",
            "Ny.Bruker@Example.no",
            "--name",
            "Ny Bruker",
            "--hpr",
            "1234567",
            "--password-stdin",
        ],
        input="a-long-enough-password\n",
    )
    assert result.exit_code == 0, result.output
    assert "a-long-enough-password" not in result.output
    (user,) = _users()
    assert (user.email, user.hpr_number) == ("ny.bruker@example.no", "1234567")


def test_user_create_prompts_for_the_password_twice(runner):
    result = runner.invoke(
        args=["user", "create", "kari@example.no", "--name", "Kari"],
        input="a-long-enough-password\na-long-enough-password\n",
    )
    assert result.exit_code == 0, result.output
    assert len(_users()) == 1


def test_user_create_explains_bad_input_and_writes_nothing(runner):
    result = runner.invoke(
        args=["user", "create", "kari@example.no", "--name", "Kari", "--password-stdin"],
        input="short\n",
    )
    assert result.exit_code != 0
    assert "password" in result.output
    assert _users() == []


def test_user_create_refuses_a_duplicate_email_in_other_case(runner):
    UserFactory(email="kari@example.no")
    db.session.commit()  # the command rolls its own unit back; keep ours apart
    result = runner.invoke(
        args=["user", "create", "KARI@example.no", "--name", "Kari", "--password-stdin"],
        input="a-long-enough-password\n",
    )
    assert result.exit_code != 0
    assert len(_users()) == 1


def test_user_grant_gives_a_role_in_a_municipality(runner):
    user = UserFactory()
    tenant = TenantFactory()
    result = runner.invoke(
        args=["user", "grant", user.email, "municipal_admin", "--org", tenant.slug]
    )
    assert result.exit_code == 0, result.output
    membership = db.session.scalar(sa.select(Membership))
    assert (membership.role, membership.organisation_id) == (
        Role.MUNICIPAL_ADMIN,
        tenant.organisation_id,
    )


def test_user_grant_refuses_what_does_not_fit(runner):
    user = UserFactory()
    tenant = TenantFactory()
    db.session.commit()  # the command rolls its own unit back; keep ours apart
    for args in (
        ["user", "grant", "nobody@example.no", "operator"],
        ["user", "grant", user.email, "clinician"],
        ["user", "grant", user.email, "clinician", "--org", "no-such-place"],
        ["user", "grant", user.email, "operator", "--org", tenant.slug],
        ["user", "grant", user.email, "king"],
    ):
        result = runner.invoke(args=args)
        assert result.exit_code != 0, args
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Membership)) == 0
