"""Demo tenants: the ten FKJ municipalities and a sandbox; their enablements and usage.

Populations are the approximate figures in the design notes; organisation
numbers are the municipalities' own. Idempotent: existing tenants are kept.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from sqlalchemy import select

from accounts import organisations
from accounts.models import Role, User
from catalog import releases
from catalog.models import Application
from marketplace import enablements, tenants, terms, usage
from marketplace.models import (
    Enablement,
    EnablementEventKind,
    EnablementState,
    ExitStep,
    JointMember,
    JointProposal,
    Tenant,
    TermsAcceptance,
)
from torget.db import db, utcnow
from torget.errors import FieldErrors

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


# The municipality where apps under test (sandbox clients) launch; not an FKJ partner.
SANDBOX = ("sandkasse", "Sandkasse kommune (test)", "990000018", 0)


@dataclass(frozen=True)
class DemoEnablement:
    tenant: str
    app: str
    version: str  # the release it is pinned to
    scopes: str
    roles: tuple[str, ...] = ("clinician",)
    disabled: bool = False


_NEWS2 = "launch openid fhirUser patient/Patient.r patient/Observation.rs?category=vital-signs"
_OVERSIKT = (
    "launch launch/patient openid fhirUser patient/Patient.r patient/EpisodeOfCare.rs "
    "patient/CarePlan.rs patient/ServiceRequest.rs patient/Organization.rs patient/Practitioner.rs"
)

# Oslo stays on NEWS2 Varsel 1.0.0: 1.1.0 asks for launch/patient, not yet approved
# (a pending re-consent). Bodø's Legemiddelliste release was suspended after it
# was enabled (stopped). Stavanger disabled Tjenesteoversikt.
ENABLEMENTS = (
    DemoEnablement("oslo", "news2-varsel", "1.0.0", _NEWS2),
    DemoEnablement("oslo", "tjenesteoversikt", "1.0.0", _OVERSIKT),
    DemoEnablement("bergen", "news2-varsel", "1.1.0", _NEWS2 + " launch/patient"),
    DemoEnablement(
        "bergen", "tjenesteoversikt", "1.0.0", "launch openid fhirUser patient/EpisodeOfCare.rs"
    ),
    DemoEnablement(
        "bodo", "legemiddelliste", "1.0.0", "launch openid fhirUser patient/MedicationStatement.rs"
    ),
    DemoEnablement(
        "trondheim",
        "kommunestatistikk",
        "1.1.0",
        "system/Observation.rs?category=vital-signs system/EpisodeOfCare.rs",
        roles=(),
    ),
    DemoEnablement("stavanger", "tjenesteoversikt", "1.0.0", _OVERSIKT, disabled=True),
)
USAGE_DAYS = 30


def load_sandbox() -> int:
    """The sandbox municipality; 1 when it was created now."""
    slug, name, number, population = SANDBOX
    if organisations.find_by_number(number) is not None:
        return 0
    tenants.create_tenant(slug=slug, name=name, organisation_number=number, population=population)
    return 1


def load_enablements() -> int:
    """The demo enablements and a month of usage; return how many enablements were created.

    Written as the history would have left them (pinned to the release of the
    day), so the pages show a pending re-consent, a stopped and a disabled app.
    """
    created = 0
    for demo in ENABLEMENTS:
        tenant = tenants.get_by_slug(demo.tenant)
        application = db.session.scalar(select(Application).where(Application.slug == demo.app))
        if application is None or enablements.find(tenant, application) is not None:
            continue
        release = releases.get_for_app(application, demo.version)
        # The same rule as an admin's approval: never more than the release registered.
        errors = FieldErrors()
        approved, roles = enablements.check_access(
            release, enablements.Access(demo.scopes.split(), list(demo.roles)), errors
        )
        errors.raise_if_any()
        admin = _admin_of(tenant)
        enablement = Enablement(
            tenant=tenant,
            application=application,
            release=release,
            state=EnablementState.ACTIVE,
            approved_scopes=approved,
            roles=roles,
            enabled_by_id=admin.id if admin else None,
        )
        db.session.add(enablement)
        db.session.flush()  # generate enablement.id for its history
        db.session.add(
            TermsAcceptance(
                enablement_id=enablement.id,
                terms_version=terms.VERSION,
                terms_sha256=terms.sha256(),
                accepted_by_id=admin.id if admin else None,
            )
        )
        enablements.record(enablement, EnablementEventKind.ENABLED, admin)
        if demo.disabled:
            enablement.state = EnablementState.DISABLED
            enablements.record(
                enablement,
                EnablementEventKind.DISABLED,
                admin,
                exit_step=ExitStep.DATA_DELETED,
                exit_confirmed_by="Kundeservice, leverandøren",
            )
        else:
            _usage(tenant, application)
        created += 1
    return created


def _admin_of(tenant: Tenant) -> User | None:
    return next((m.user for m in tenants.members(tenant) if m.role == Role.MUNICIPAL_ADMIN), None)


def _usage(tenant: Tenant, application: Application) -> None:
    """A month of launches, seeded by the pair, so every load makes the same figures."""
    rng = random.Random(f"{tenant.slug}/{application.slug}")  # noqa: S311 - demo figures
    clinicians = max(3, tenant.population // 20_000)
    today = utcnow().replace(hour=10, minute=0, second=0, microsecond=0)
    for back in range(USAGE_DAYS, 0, -1):
        at = today - dt.timedelta(days=back)
        if at.weekday() >= 5 and rng.random() < 0.7:
            continue  # quieter weekends
        for _launch in range(rng.randint(1, clinicians)):
            user = f"Practitioner/demo-{rng.randint(1, clinicians)}"
            usage.record_launch(tenant, application, user, at)
            usage.record_token(tenant, application, at)


# Three smaller municipalities consider Tjenesteoversikt together; none has decided yet.
JOINT = ("Helsesamarbeid i nord og vest", "tjenesteoversikt", ("bodo", "hammerfest", "vinje"))


def load_joint() -> int:
    """The demo joint proposal (1 when created now)."""
    name, app_slug, members = JOINT
    if db.session.scalar(select(JointProposal).where(JointProposal.name == name)):
        return 0
    application = db.session.scalar(select(Application).where(Application.slug == app_slug))
    release = releases.current_certified(application) if application else None
    if release is None:
        return 0
    proposer = _admin_of(tenants.get_by_slug(members[0]))
    db.session.add(
        JointProposal(
            application=application,
            release=release,
            scopes="launch openid fhirUser patient/EpisodeOfCare.rs patient/CarePlan.rs",
            roles=["clinician"],
            name=name,
            proposed_by_id=proposer.id if proposer else None,
            members=[JointMember(tenant=tenants.get_by_slug(slug)) for slug in members],
        )
    )
    return 1
