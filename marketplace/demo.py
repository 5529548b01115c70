"""The ten municipalities that worked on Felles kommunal journal (demo tenants).

Populations are the approximate figures in the design notes; organisation
numbers are the municipalities' own. Idempotent: existing tenants are kept.
"""

from __future__ import annotations

from accounts import organisations
from marketplace import tenants

FKJ_MUNICIPALITIES = (
    # slug, name, organisation number, population
    ("oslo", "Oslo kommune", "958935420", 717_000),
    ("bergen", "Bergen kommune", "964338531", 292_000),
    ("trondheim", "Trondheim kommune", "942110464", 215_000),
    ("stavanger", "Stavanger kommune", "964965226", 149_000),
    ("baerum", "Bærum kommune", "935478715", 131_000),
    ("kristiansand", "Kristiansand kommune", "963296746", 117_000),
    ("bodo", "Bodø kommune", "972418013", 53_000),
    ("ringsaker", "Ringsaker kommune", "970169717", 35_000),
    ("hammerfest", "Hammerfest kommune", "964830533", 11_000),
    ("vinje", "Vinje kommune", "964964076", 3_800),
)


def load() -> int:
    """Create the FKJ municipalities that do not exist yet; return how many were created."""
    created = 0
    for slug, name, number, population in FKJ_MUNICIPALITIES:
        if organisations.find_by_number(number) is None:
            tenants.create_tenant(
                slug=slug, name=name, organisation_number=number, population=population
            )
            created += 1
    return created
