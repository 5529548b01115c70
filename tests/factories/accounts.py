from __future__ import annotations

import factory

from accounts.models import Membership, Organisation, OrganisationKind, Role, User
from accounts.passwords import hash_password
from tests.factories.base import ModelFactory

PASSWORD = "correct-horse-battery"
# Hashed once: Argon2 is slow on purpose, and most tests need many users.
PASSWORD_HASH = hash_password(PASSWORD)


def _organisation_number(n: int) -> str:
    """A valid organisation number: eight digits and their mod-11 check digit."""
    while True:
        body = f"{80000000 + n:08d}"
        weights = (3, 2, 7, 6, 5, 4, 3, 2)
        remainder = sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11
        check = 0 if remainder == 0 else 11 - remainder
        if check != 10:
            return body + str(check)
        n += 100_000


class OrganisationFactory(ModelFactory):
    class Meta:
        model = Organisation

    slug = factory.Sequence(lambda n: f"org-{n}")
    name = factory.Sequence(lambda n: f"Organisasjon {n} AS")
    organisation_number = factory.Sequence(_organisation_number)
    kind = OrganisationKind.VENDOR


class UserFactory(ModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.no")
    display_name = factory.Sequence(lambda n: f"Bruker {n}")
    password_hash = PASSWORD_HASH


class MembershipFactory(ModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    role = Role.OPERATOR
    organisation = None
