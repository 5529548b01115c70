"""Demo catalog: four fictional vendors, the two FKJ pilots and two more apps.

Everything goes through the services, so the demo has the history a real
registry would: drafts, submissions, reviews with findings, and decisions with
reasons. Between them the releases are in every state. Idempotent: an app that
exists is left as it is.

The demo vendor user (`vendor@torget.example`) is a member of all four vendors,
so one sign-in shows the whole portal; the demo reviewer decides.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app

from accounts import organisations, users
from accounts.models import OrganisationKind, Role, User
from catalog import applications, criteria, files, releases, reviews, vendors
from catalog.applications import Listing
from catalog.models import Application, Criterion, Outcome, ReleaseState, Vendor
from catalog.releases import ReleaseInput
from torget.db import db, utcnow

S = ReleaseState


@dataclass(frozen=True)
class DemoVendor:
    slug: str
    name: str
    organisation_number: str
    website: str
    verified: bool


@dataclass(frozen=True)
class DemoRelease:
    version: str
    scopes: str
    state: ReleaseState
    reason: str = ""
    notes: str = "Rettelser og forbedringer."


@dataclass(frozen=True)
class DemoApp:
    vendor: str
    slug: str
    client_type: str
    listing: Listing
    releases: tuple[DemoRelease, ...]
    launch_modes: tuple[str, ...] = ("ehr", "standalone")
    data_use: str = ""
    # The folder of examples/ a demo Torget serves the app from (torget/pilot_apps.py);
    # None: the app lives at https://<slug>.example, which nothing answers.
    served_from: str | None = None


def pilot_launch_url(base_url: str, folder: str) -> str:
    return f"{base_url}/examples/{folder}/launch.html"


def pilot_redirect_uri(base_url: str, folder: str) -> str:
    return f"{base_url}/examples/{folder}/index.html"


VENDORS = (
    DemoVendor("nordlys-helse", "Nordlys Helse AS", "987654325", "https://nordlys.example", True),
    DemoVendor("fjordkode", "Fjordkode AS", "914778271", "https://fjordkode.example", True),
    DemoVendor(
        "medisinsk-innsikt", "Medisinsk Innsikt AS", "923609016", "https://innsikt.example", True
    ),
    DemoVendor("kommunedata", "Kommunedata AS", "911111128", "https://kommunedata.example", False),
)

_NEWS2_BASE = "launch openid fhirUser patient/Patient.r patient/Observation.rs?category=vital-signs"
_OVERSIKT_BASE = (
    "launch launch/patient openid fhirUser patient/Patient.r patient/EpisodeOfCare.rs "
    "patient/CarePlan.rs patient/ServiceRequest.rs patient/Organization.rs "
    "patient/Practitioner.rs"
)
_MEDS = (
    "launch openid fhirUser patient/Patient.r patient/MedicationStatement.rs "
    "patient/MedicationRequest.rs patient/Medication.r"
)
_STATS = "system/Encounter.rs system/EpisodeOfCare.rs system/Observation.rs?category=vital-signs"

APPS = (
    DemoApp(
        vendor="nordlys-helse",
        slug="news2-varsel",
        client_type="public",
        listing=Listing(
            name="NEWS2 Varsel",
            summary_nb="Regner ut NEWS2 fra vitale målinger og varsler tidlig ved forverring.",
            summary_en="Scores NEWS2 from vital signs and warns early of a deteriorating patient.",
            description_nb=(
                "NEWS2 Varsel henter siste respirasjonsfrekvens, oksygenmetning, "
                "oksygentilførsel, blodtrykk, puls, bevissthet og temperatur for pasienten, "
                "regner ut NEWS2-skåren etter Royal College of Physicians og viser anbefalt "
                "klinisk respons. Et pilotprosjekt i Felles kommunal journal."
            ),
            description_en=(
                "NEWS2 Varsel reads the patient's latest respiratory rate, oxygen saturation, "
                "supplemental oxygen, blood pressure, pulse, consciousness and temperature, "
                "scores NEWS2 per the Royal College of Physicians, and shows the recommended "
                "clinical response. A pilot of Felles kommunal journal."
            ),
            category="clinical_decision_support",
            audience="clinician",
            support_url="https://nordlys.example/news2/hjelp",
            privacy_url="https://nordlys.example/personvern",
            price_model="per_inhabitant",
            price_nok="2.50",
        ),
        releases=(
            DemoRelease("1.0.0", _NEWS2_BASE, S.SUPERSEDED, notes="Første utgave."),
            DemoRelease("1.1.0", _NEWS2_BASE + " launch/patient", S.CERTIFIED),
            DemoRelease(
                "1.2.0",
                _NEWS2_BASE + " launch/patient patient/Observation.c?category=survey",
                S.SUBMITTED,
                notes="Lagrer NEWS2-skåren som en observasjon i journalen.",
            ),
            DemoRelease(
                "2.0.0-beta.1", _NEWS2_BASE + " launch/patient patient/Condition.rs", S.DRAFT
            ),
        ),
        data_use=(
            "Leser pasientens vitale målinger og navn for å regne ut NEWS2. Fra versjon 1.2 "
            "skriver appen skåren tilbake som en observasjon. Ingen data lagres hos Nordlys."
        ),
        served_from="news2",
    ),
    DemoApp(
        vendor="fjordkode",
        slug="tjenesteoversikt",
        # A browser app with PKCE: a page cannot keep a secret.
        client_type="public",
        listing=Listing(
            name="Tjenesteoversikt",
            summary_nb="Én oversikt over de kommunale tjenestene pasienten mottar.",
            summary_en="One view of the municipal services a patient receives.",
            description_nb=(
                "Viser hjemmetjenester, sykehjem, fysioterapi, helsestasjon og fastlege for "
                "pasienten, på tvers av tjenestene, fra behandlingsforløp, planer og "
                "henvisninger. Et pilotprosjekt i Felles kommunal journal."
            ),
            description_en=(
                "Shows home care, nursing home, physiotherapy, health station and GP for the "
                "patient across the services, from episodes of care, care plans and service "
                "requests. A pilot of Felles kommunal journal."
            ),
            category="care_coordination",
            audience="clinician",
            support_url="https://fjordkode.example/support",
            privacy_url="https://fjordkode.example/personvern",
            price_model="fixed",
            price_nok="45000",
        ),
        releases=(
            DemoRelease("1.0.0", _OVERSIKT_BASE, S.CERTIFIED, notes="Første utgave."),
            DemoRelease("1.1.0", _OVERSIKT_BASE + " patient/Encounter.rs", S.IN_REVIEW),
        ),
        data_use=(
            "Leser pasientens behandlingsforløp, planer og henvisninger for å vise hvilke "
            "tjenester pasienten får. Skriver ingenting."
        ),
        served_from="tjenesteoversikt",
    ),
    DemoApp(
        vendor="medisinsk-innsikt",
        slug="legemiddelliste",
        client_type="public",
        listing=Listing(
            name="Legemiddelliste",
            summary_nb="Pasientens legemidler på ett sted, med forskrivninger og bruk.",
            summary_en="The patient's medications in one place, prescriptions and use.",
            description_nb="Viser legemiddelbruk og forskrivninger for pasienten i konteksten.",
            description_en="Shows medication use and prescriptions for the patient in context.",
            category="medication",
            audience="clinician",
            support_url="https://innsikt.example/hjelp",
            privacy_url="https://innsikt.example/personvern",
            price_model="per_use",
            price_nok="3.00",
            usage_unit="launch",
        ),
        releases=(
            DemoRelease(
                "0.9.0",
                _MEDS,
                S.REJECTED,
                reason="DPIA-en mangler vurdering av lagring av logger hos underleverandør.",
            ),
            DemoRelease(
                "1.0.0",
                _MEDS,
                S.SUSPENDED,
                reason="Penetrasjonstesten er over ett år gammel. Send ny rapport.",
            ),
        ),
        data_use="Leser legemiddelbruk og forskrivninger for pasienten. Skriver ingenting.",
    ),
    DemoApp(
        vendor="kommunedata",
        slug="kommunestatistikk",
        client_type="backend",
        listing=Listing(
            name="Kommunestatistikk",
            summary_nb="Bakgrunnstjeneste som lager styringsstatistikk for helse og omsorg.",
            summary_en="A backend service that builds management statistics for health and care.",
            description_nb=(
                "Henter pasientkontakter, behandlingsforløp og vitale målinger uten bruker, "
                "og lager anonymisert statistikk per tjeneste og måned."
            ),
            description_en=(
                "Reads encounters, episodes of care and vital signs without a user, and "
                "builds anonymised statistics per service and month."
            ),
            category="analytics",
            audience="backend",
            support_url="https://kommunedata.example/support",
            privacy_url="https://kommunedata.example/personvern",
            price_model="basis_usage",
            price_nok="600000",
            usage_unit="active_user_month",
            basis_share_percent=50,
        ),
        releases=(
            DemoRelease(
                "1.0.0",
                _STATS,
                S.REVOKED,
                reason="Statistikken kunne identifisere pasienter i små kommuner.",
            ),
            DemoRelease("1.1.0", _STATS, S.CERTIFIED),
        ),
        launch_modes=(),
        data_use=(
            "Leser pasientkontakter, behandlingsforløp og vitale målinger og lagrer bare "
            "aggregerte tall med minst ti personer per celle."
        ),
    ),
)


def _pdf(title: str) -> bytes:
    """A small, valid one-page PDF saying what it stands in for."""
    text = title.encode("latin-1", "replace")
    stream = b"BT /F1 14 Tf 72 720 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _vendor(demo: DemoVendor, member: User, operator: User) -> Vendor:
    organisation = organisations.find_by_slug(demo.slug)
    if organisation is None:
        organisation = organisations.create_organisation(
            slug=demo.slug,
            name=demo.name,
            organisation_number=demo.organisation_number,
            kind=OrganisationKind.VENDOR,
        )
    vendor = db.session.query(Vendor).filter_by(organisation_id=organisation.id).one_or_none()
    if vendor is None:
        vendor = Vendor(
            organisation=organisation,
            contact_email=f"post@{demo.website.split('//')[1]}",
            security_email=f"sikkerhet@{demo.website.split('//')[1]}",
            website=demo.website,
        )
        db.session.add(vendor)
        db.session.flush()  # generate vendor.id for its apps
    users.grant_role(member, Role.VENDOR_MEMBER, organisation)
    if demo.verified and not vendor.is_verified:
        vendors.verify(vendor, by=operator)
    return vendor


def _demo_jwks() -> dict[str, object]:
    """The backend service's public key; its private key is kept for the examples."""
    path = Path(current_app.config["TORGET"].instance_path) / "demo" / "kommunestatistikk.pem"
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    else:
        key = ec.generate_private_key(ec.SECP384R1())
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
    from joserfc.jwk import ECKey

    public = ECKey.import_key(key.public_key()).as_dict(private=False)
    return {"keys": [{**public, "kid": "kommunestatistikk-2026", "alg": "ES384", "use": "sig"}]}


def _release_input(demo_app: DemoApp, demo: DemoRelease) -> ReleaseInput:
    backend = demo_app.client_type == "backend"
    host = f"https://{demo_app.slug}.example"
    launch, redirect = f"{host}/launch", f"{host}/callback"
    if demo_app.served_from is not None:
        base = current_app.config["TORGET"].base_url
        launch = pilot_launch_url(base, demo_app.served_from)
        redirect = pilot_redirect_uri(base, demo_app.served_from)
    return ReleaseInput(
        launch_url=None if backend else launch,
        redirect_uris=None if backend else [redirect],
        jwks=_demo_jwks() if backend else None,
        scopes=demo.scopes,
        launch_modes=list(demo_app.launch_modes),
        release_notes=demo.notes,
        data_use_statement=demo_app.data_use,
    )


def _evidence(release: object, member: User, all_criteria: list[Criterion]) -> None:
    today = utcnow().date()
    for criterion in all_criteria:
        if not criterion.mandatory:
            continue
        stored = files.store_document(_pdf(f"{criterion.code}: demo evidence"), "demo.pdf")
        # Pen tests and accessibility reports expire: one demo document expires soon.
        expires = today + dt.timedelta(days=20 if criterion.code == "OPS" else 365)
        releases.add_evidence(
            release,  # type: ignore[arg-type]
            criterion,
            stored,
            filename=f"{criterion.code.lower()}.pdf",
            issued_on=today - dt.timedelta(days=30),
            expires_on=expires,
            by=member,
        )


def _advance(
    release: object, demo: DemoRelease, member: User, reviewer: User, all_criteria: list
) -> None:
    target = demo.state
    if target == S.DRAFT:
        return
    releases.submit(release, by=member)  # type: ignore[arg-type]
    if target == S.SUBMITTED:
        return
    reviews.start(release, by=reviewer)  # type: ignore[arg-type]
    for criterion in all_criteria:
        outcome = Outcome.PASSED if criterion.mandatory else Outcome.NOT_APPLICABLE
        if target == S.REJECTED and criterion.code == "DPIA":
            outcome = Outcome.FAILED
        comment = demo.reason if outcome == Outcome.FAILED else "OK"
        reviews.record_check(release, criterion, outcome, comment, by=reviewer)  # type: ignore[arg-type]
    if target == S.IN_REVIEW:
        return
    if target == S.REJECTED:
        reviews.reject(release, by=reviewer, reason=demo.reason)  # type: ignore[arg-type]
        return
    reviews.certify(release, by=reviewer, comment="Alle krav er oppfylt.")  # type: ignore[arg-type]
    if target == S.SUSPENDED:
        reviews.suspend(release, by=reviewer, reason=demo.reason)  # type: ignore[arg-type]
    elif target == S.REVOKED:
        reviews.revoke(release, by=reviewer, reason=demo.reason)  # type: ignore[arg-type]


def load(*, vendor_email: str, reviewer_email: str, operator_email: str) -> int:
    """Create the demo vendors, apps and releases that do not exist; return apps created."""
    criteria.seed()
    member = users.get_by_email(vendor_email)
    reviewer = users.get_by_email(reviewer_email)
    operator = users.get_by_email(operator_email)
    by_slug = {d.slug: _vendor(d, member, operator) for d in VENDORS}
    all_criteria = criteria.active()
    created = 0
    for demo_app in APPS:
        if db.session.query(Application).filter_by(slug=demo_app.slug).one_or_none():
            continue
        application = applications.create(
            by_slug[demo_app.vendor], slug=demo_app.slug, listing=demo_app.listing, by=member
        )
        for demo in demo_app.releases:
            release = releases.create_draft(
                application,
                ReleaseInput(version=demo.version, client_type=demo_app.client_type),
                by=member,
            )
            releases.update_draft(release, _release_input(demo_app, demo), by=member)
            _evidence(release, member, all_criteria)
            _advance(release, demo, member, reviewer, all_criteria)
        created += 1
    return created
