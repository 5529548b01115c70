from __future__ import annotations

import factory

from accounts.models import OrganisationKind
from marketplace.models import Tenant
from tests.factories.accounts import OrganisationFactory
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
