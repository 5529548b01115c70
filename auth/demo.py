"""The first dozen demo patients of each municipality, with their encounters.

Every person here is invented. The fødselsnumre are synthetic: they have the
real shape (birth date, individual number, two mod-11 check digits) so the
picker and the apps can check them, and so any of them could by chance be a
real person's number; they must never leave a demo or test system. The
gateway's generator (gateway/synthetic.py) makes them FHIR resources, with
more patients beside them, and `torget demo load` stores them.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from marketplace import enablements
from marketplace.demo import FKJ_MUNICIPALITIES, SANDBOX
from marketplace.models import Tenant
from marketplace.tenants import find_by_slug

PATIENTS_PER_TENANT = 12
# Encounters are dated back from a fixed day, not today, so every load writes the same rows;
# they start between 07:00 and 14:45 UTC, the services' working day.
ANCHOR = dt.datetime(2026, 11, 2, 7, tzinfo=dt.UTC)

FEMALE = (
    "Kari", "Ingrid", "Anne", "Solveig", "Astrid", "Marit", "Randi", "Liv", "Bjørg", "Turid",
    "Sigrid", "Åse", "Berit", "Hilde", "Anne-Marie", "Ragnhild", "Gerd", "Torill", "Eli", "Nora",
)  # fmt: skip
MALE = (
    "Ola", "Per", "Jan", "Bjørn", "Knut", "Arne", "Terje", "Svein", "Odd", "Håkon",
    "Lars", "Nils", "Einar", "Øyvind", "Kjell", "Tor", "Harald", "Geir", "Magnus", "Ivar",
)  # fmt: skip
FAMILY = (
    "Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Kristiansen",
    "Jensen", "Karlsen", "Berg", "Haugen", "Hagen", "Dahl", "Halvorsen", "Lund", "Sørensen",
    "Ødegård", "Aasen", "Bakken", "Strand", "Solberg", "Moen", "Lie", "Myhre", "Åsheim",
    "Kvalheim", "Brekke", "Eide", "Vik",
)  # fmt: skip
# What a municipality's services record as encounters, and whether one can last for weeks.
ENCOUNTER_KINDS = (
    ("Hjemmesykepleie, besøk", False),
    ("Legekonsultasjon hos fastlege", False),
    ("Korttidsopphold på sykehjem", True),
    ("Langtidsopphold på sykehjem", True),
    ("Fysioterapi, hjemmebesøk", False),
    ("Legevakt", False),
    ("Hverdagsrehabilitering", True),
)

# The weights of a fødselsnummer's two check digits, over the digits before each.
_K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


@dataclass(frozen=True)
class DemoEncounter:
    id: str
    description: str
    status: str
    start: dt.datetime


@dataclass(frozen=True)
class DemoPatient:
    id: str
    name: str
    birth_date: dt.date
    gender: str
    identifier: str
    encounters: tuple[DemoEncounter, ...]


def _check_digit(digits: str, weights: tuple[int, ...]) -> int | None:
    """The mod-11 check digit over `digits`; None where the rule allows none (a remainder of 1)."""
    check = (11 - sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11) % 11
    return None if check == 10 else check


def fodselsnummer(birth_date: dt.date, individual: int) -> str | None:
    """The fødselsnummer of a birth date and individual number; None if it has no check digits.

    Individual numbers 000-499 belong to births 1900-1999; the last of their
    three digits is even for women and odd for men.
    """
    digits = birth_date.strftime("%d%m%y") + f"{individual:03d}"
    k1 = _check_digit(digits, _K1_WEIGHTS)
    if k1 is None:
        return None
    k2 = _check_digit(digits + str(k1), _K2_WEIGHTS)
    if k2 is None:
        return None
    return f"{digits}{k1}{k2}"


def random_birth_date(rng: random.Random) -> dt.date:
    # Mostly the old: home care and nursing homes are who the picker serves most.
    year = rng.randint(1928, 1955) if rng.random() < 0.7 else rng.randint(1956, 1999)
    return dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365))


def random_identifier(rng: random.Random, birth_date: dt.date, gender: str) -> str:
    parity = 0 if gender == "female" else 1
    while True:
        # A 1900s birth: individual numbers 000-499, the last digit's parity the gender.
        individual = rng.randrange(0, 250) * 2 + parity
        number = fodselsnummer(birth_date, individual)
        if number is not None:
            return number


def random_encounters(rng: random.Random, patient_id: str) -> tuple[DemoEncounter, ...]:
    """One to three encounters, oldest first; only the newest can still be going on."""
    starts = sorted(
        ANCHOR
        - dt.timedelta(days=rng.randint(1, 365))
        + dt.timedelta(hours=rng.randint(0, 7), minutes=rng.choice((0, 15, 30, 45)))
        for _n in range(rng.randint(1, 3))
    )
    found = []
    for n, start in enumerate(starts, start=1):
        description, ongoing = rng.choice(ENCOUNTER_KINDS)
        status = "in-progress" if ongoing and n == len(starts) else "finished"
        encounter_id = f"enc-{patient_id.removeprefix('pas-')}-{n}"
        found.append(DemoEncounter(encounter_id, description, status, start))
    return tuple(found)


def patients_for(slug: str) -> list[DemoPatient]:
    """The demo patients of the municipality `slug`: the same every time (seeded by it)."""
    rng = random.Random(f"patients/{slug}")  # noqa: S311 - demo data, not a secret
    patients = []
    for n in range(1, PATIENTS_PER_TENANT + 1):
        gender = rng.choice(("female", "male"))
        given = rng.choice(FEMALE if gender == "female" else MALE)
        birth_date = random_birth_date(rng)
        patient_id = f"pas-{slug}-{n:03d}"
        patients.append(
            DemoPatient(
                id=patient_id,
                name=f"{given} {rng.choice(FAMILY)}",
                birth_date=birth_date,
                gender=gender,
                identifier=random_identifier(rng, birth_date, gender),
                encounters=random_encounters(rng, patient_id),
            )
        )
    return patients


def demo_tenants() -> list[Tenant]:
    """The demo municipalities and the sandbox tenant, those of them that exist."""
    slugs = [slug for slug, _name, _number, _population in FKJ_MUNICIPALITIES]
    slugs += [SANDBOX[0], enablements.sandbox_tenant_slug()]
    found = (find_by_slug(slug) for slug in dict.fromkeys(slugs))
    return [tenant for tenant in found if tenant is not None]
