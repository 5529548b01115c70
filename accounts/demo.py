"""Demo users: one for each role, so every part of Torget can be tried.

Loaded by `torget demo load` after the municipalities exist. Idempotent:
users and memberships are found by their natural keys and left as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from accounts import organisations, users
from accounts.models import OrganisationKind, Role

DEMO_PASSWORD = "torget-demo-2026"  # noqa: S105 - printed for the demo; never in production


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    role: Role
    organisation: str | None
    hpr_number: str | None = None


DEMO_VENDOR = {
    "slug": "nordlys-helse",
    "name": "Nordlys Helse AS",
    "organisation_number": "987654325",
    "kind": OrganisationKind.VENDOR,
}

DEMO_USERS = (
    DemoUser("operator@torget.example", "Ola Drift", Role.OPERATOR, None),
    DemoUser("reviewer@torget.example", "Randi Revisor", Role.REVIEWER, None),
    DemoUser("vendor@torget.example", "Vilde Leverandør", Role.VENDOR_MEMBER, "nordlys-helse"),
    DemoUser("admin.oslo@torget.example", "Anders Admin", Role.MUNICIPAL_ADMIN, "oslo"),
    DemoUser("admin.bergen@torget.example", "Berit Admin", Role.MUNICIPAL_ADMIN, "bergen"),
    DemoUser("lege.oslo@torget.example", "Kari Nordmann", Role.CLINICIAN, "oslo", "9144900"),
    DemoUser(
        "sykepleier.bergen@torget.example", "Nils Sykepleier", Role.CLINICIAN, "bergen", "4158261"
    ),
)


def load() -> list[DemoUser]:
    """Create the demo vendor organisation and the demo users; return the users."""
    if organisations.find_by_number(DEMO_VENDOR["organisation_number"]) is None:
        organisations.create_organisation(**DEMO_VENDOR)
    for demo in DEMO_USERS:
        user = users.find_by_email(demo.email) or users.create_user(
            email=demo.email,
            display_name=demo.name,
            password=DEMO_PASSWORD,
            hpr_number=demo.hpr_number,
        )
        organisation = organisations.get_by_slug(demo.organisation) if demo.organisation else None
        users.grant_role(user, demo.role, organisation)
    return list(DEMO_USERS)
