from __future__ import annotations

import factory

from accounts.models import OrganisationKind, Role, User
from marketplace.models import Tenant
from tests.factories.accounts import MembershipFactory, OrganisationFactory, UserFactory
from tests.factories.base import ModelFactory


class TenantFactory(ModelFactory):
    class Meta:
        model = Tenant

    organisation = factory.SubFactory(
        OrganisationFactory,
        kind=OrganisationKind.MUNICIPALITY,
        slug=factory.Sequence(lambda n: f"kommune-{n}"),
        name=factory.Sequence(lambda n: f"Kommune {n}"),
    )
    population = 10_000


def admin_of(tenant: Tenant, **user_fields: object) -> User:
    """A municipal administrator of `tenant`."""
    user = UserFactory(**user_fields)
    MembershipFactory(user=user, role=Role.MUNICIPAL_ADMIN, organisation=tenant.organisation)
    return user


def clinician_of(tenant: Tenant, **user_fields: object) -> User:
    user = UserFactory(**user_fields)
    MembershipFactory(user=user, role=Role.CLINICIAN, organisation=tenant.organisation)
    return user
