"""Catalog factories: a vendor, an app, a complete draft release, criteria, evidence."""

from __future__ import annotations

import datetime as dt
import hashlib

import factory

from accounts.models import OrganisationKind, Role, User
from catalog.models import (
    Application,
    Audience,
    Category,
    ClientType,
    Criterion,
    Evidence,
    PriceModel,
    Release,
    ReleaseState,
    Vendor,
)
from tests.factories.accounts import MembershipFactory, OrganisationFactory, UserFactory
from tests.factories.base import ModelFactory
from torget.db import utcnow


class VendorFactory(ModelFactory):
    class Meta:
        model = Vendor

    organisation = factory.SubFactory(
        OrganisationFactory,
        kind=OrganisationKind.VENDOR,
        slug=factory.Sequence(lambda n: f"vendor-{n}"),
        name=factory.Sequence(lambda n: f"Leverandør {n} AS"),
    )
    contact_email = factory.Sequence(lambda n: f"kontakt{n}@vendor.example")
    security_email = factory.Sequence(lambda n: f"security{n}@vendor.example")
    website = "https://vendor.example"


class ApplicationFactory(ModelFactory):
    class Meta:
        model = Application

    vendor = factory.SubFactory(VendorFactory)
    slug = factory.Sequence(lambda n: f"app-{n}")
    name = factory.Sequence(lambda n: f"App {n}")
    summary_nb = "Kort om appen."
    summary_en = "The app in short."
    description_nb = "Lang beskrivelse."
    description_en = "Long description."
    category = Category.CLINICAL_DECISION_SUPPORT
    audience = Audience.CLINICIAN
    support_url = "https://vendor.example/support"
    privacy_url = "https://vendor.example/privacy"
    price_model = PriceModel.FREE


class ReleaseFactory(ModelFactory):
    """A draft with every launch field filled in (evidence aside)."""

    class Meta:
        model = Release

    application = factory.SubFactory(ApplicationFactory)
    version = factory.Sequence(lambda n: f"1.{n}.0")
    state = ReleaseState.DRAFT
    client_type = ClientType.PUBLIC
    launch_url = "https://app.example/launch"
    redirect_uris = factory.LazyFunction(lambda: ["https://app.example/callback"])
    scopes = "launch openid fhirUser patient/Observation.rs patient/Patient.r"
    launch_modes = factory.LazyFunction(lambda: ["ehr", "standalone"])
    release_notes = "Første utgave."
    data_use_statement = "Leser vitale målinger for pasienten i konteksten. Skriver ingenting."


class CriterionFactory(ModelFactory):
    class Meta:
        model = Criterion

    code = factory.Sequence(lambda n: f"CRIT-{n}")
    title_nb = factory.Sequence(lambda n: f"Krav {n}")
    title_en = factory.Sequence(lambda n: f"Criterion {n}")
    guidance_nb = "Veiledning."
    guidance_en = "Guidance."
    evidence_nb = "Dokumentasjon."
    evidence_en = "Documentation."
    mandatory = True


class EvidenceFactory(ModelFactory):
    class Meta:
        model = Evidence

    release = factory.SubFactory(ReleaseFactory)
    criterion = factory.SubFactory(CriterionFactory)
    filename = "rapport.pdf"
    content_type = "application/pdf"
    sha256 = factory.Sequence(lambda n: hashlib.sha256(str(n).encode()).hexdigest())
    size = 1234
    issued_on = factory.LazyFunction(lambda: utcnow().date() - dt.timedelta(days=30))
    expires_on = None


def member_of(vendor: Vendor, **user_fields: object) -> User:
    """A user who is a member of `vendor`."""
    user = UserFactory(**user_fields)
    MembershipFactory(user=user, role=Role.VENDOR_MEMBER, organisation=vendor.organisation)
    return user


def reviewer(**user_fields: object) -> User:
    user = UserFactory(**user_fields)
    MembershipFactory(user=user, role=Role.REVIEWER, organisation=None)
    return user
