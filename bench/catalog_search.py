"""Throughput and latency of the catalog search at 10, 1 000 and 10 000 certified apps.

    .venv/bin/python bench/catalog_search.py [--apps 10 1000 10000] [--seconds 10]
        [--concurrency 8] [--workers 2]

For each size, a fresh SQLite instance in a temporary directory is migrated
and filled with that many certified apps (names, summaries and descriptions
in bokmål and English, vendors, categories, price models, scopes), written
straight through the tables in one transaction; a tenth as many unlisted apps
(drafts, suspended) and superseded releases come on top, as in a real
catalog. Then gunicorn (deploy/gunicorn.conf.py) serves it, and each measured
address is driven from `--concurrency` threads with keep-alive connections for
`--seconds`, as bench/http_endpoints.py does. Prints one Markdown table.

Set DATABASE_URL to a PostgreSQL server database to measure PostgreSQL (its
full-text search) instead: each size gets a database of its own beside it,
created and dropped here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import random
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from http_endpoints import BIN, ROOT, free_port, run, wait_ready

from accounts.models import Organisation
from catalog.models import Application, Release, Vendor

# Addresses measured: the front page as it opens (every listed app, by name),
# the page with words, the API with words and a facet, and the API with a
# facet and no words (every listed app goes through the facets).
FRONT = "/"
PAGE = "/?q=fallrisiko"
API = "/api/v1/apps?q=demens&category=care_coordination"
API_NO_WORDS = "/api/v1/apps?data=Observation&sort=newest"

# Topic: name, what it is about (bokmål, English), category, audience, scopes.
TOPICS = (
    ("Vital", "vitale målinger", "vital signs", "clinical_decision_support", "clinician",
     "launch openid fhirUser patient/Patient.r patient/Observation.rs?category=vital-signs"),
    ("Fall", "fallrisiko hos eldre", "fall risk in older people", "clinical_decision_support",
     "clinician", "launch openid patient/Observation.rs patient/Condition.rs"),
    ("Medisin", "legemiddelbruk og forskrivninger", "medication use and prescriptions",
     "medication", "clinician",
     "launch openid patient/MedicationStatement.rs patient/MedicationRequest.rs"),
    ("Omsorg", "kommunale tjenester og vedtak", "municipal services and decisions",
     "care_coordination", "clinician", "launch patient/EpisodeOfCare.rs patient/CarePlan.rs"),
    ("Demens", "kognitiv svikt og demens", "cognitive decline and dementia",
     "care_coordination", "clinician", "launch patient/Condition.rs patient/CarePlan.rs"),
    ("Sår", "sårbehandling og sårbilder", "wound care and wound photos", "documentation",
     "clinician", "launch patient/Observation.crs patient/DocumentReference.crs"),
    ("Ernæring", "ernæring og vekt", "nutrition and weight", "clinical_decision_support",
     "clinician", "launch patient/Observation.rs patient/Patient.r"),
    ("Vaksine", "vaksinasjon", "vaccination", "administration", "clinician",
     "launch patient/Immunization.rs patient/Patient.r"),
    ("Trygg", "trygghetsalarm og sensorer", "safety alarms and sensors", "welfare_technology",
     "patient", "launch/patient patient/Observation.c patient/Flag.rs"),
    ("Melding", "meldinger mellom pasient og tjeneste", "messages between patient and service",
     "patient_communication", "patient", "launch/patient patient/Communication.crs"),
    ("Time", "timeavtaler", "appointments", "administration", "patient",
     "launch/patient patient/Appointment.crs"),
    ("Lab", "laboratoriesvar", "laboratory results", "clinical_decision_support", "clinician",
     "launch patient/Observation.rs?category=laboratory patient/DiagnosticReport.rs"),
    ("Statistikk", "styringsdata", "management statistics", "analytics", "backend",
     "system/Encounter.rs system/EpisodeOfCare.rs system/Observation.rs"),
    ("Rehab", "rehabilitering og fysioterapi", "rehabilitation and physiotherapy",
     "care_coordination", "clinician", "launch patient/CarePlan.rs patient/Goal.crs"),
)  # fmt: skip
# What the app does: name part, bokmål verb, English verb.
KINDS = (
    ("Varsel", "varsler om", "warns of"),
    ("Oversikt", "gir oversikt over", "gives an overview of"),
    ("Plan", "planlegger arbeidet med", "plans the work on"),
    ("Logg", "dokumenterer", "documents"),
    ("Innsikt", "analyserer", "analyses"),
    ("Assistent", "hjelper med", "helps with"),
    ("Kompass", "veileder om", "guides on"),
    ("Sjekk", "sjekker", "checks"),
)
PLACES = ("Nord", "Sør", "Vest", "Øst", "Fjord", "Fjell", "Kyst", "Bygd", "By", "Øy")
VENDOR_WORDS = (
    ("Nordlys", "Fjord", "Fjell", "Kyst", "Bre", "Elv", "Skog", "Vidde", "Polar", "Tinde"),
    ("Helse", "Kode", "Data", "Omsorg", "Teknologi", "Innsikt", "Digital", "Medisin"),
)
PRICES = (
    ("free", None, None, None),
    ("fixed", 4_500_000, None, None),
    ("per_inhabitant", 250, None, None),
    ("per_use", 300, "launch", None),
    ("basis_usage", 60_000_000, "active_user_month", 50),
)


def _organisation_number(n: int) -> str:
    """Nine digits, unique per n (the benchmark needs no valid check digit)."""
    return f"{900_000_000 + n}"


def generate(engine: sa.Engine, apps: int, seed: int = 2026) -> None:
    """`apps` certified apps, plus unlisted ones and older releases, in one transaction."""
    rnd = random.Random(seed)  # noqa: S311 - repeatable test data, not a secret
    now = dt.datetime.now(dt.UTC)
    names = [f"{a} {b} AS" for a in VENDOR_WORDS[0] for b in VENDOR_WORDS[1]]
    vendor_names = names[: max(3, min(len(names), apps // 25))]
    unlisted = max(1, apps // 10)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(Organisation),
            [
                {
                    "slug": f"bench-vendor-{i}",
                    "name": name,
                    "organisation_number": _organisation_number(i),
                    "kind": "vendor",
                    "created_at": now,
                }
                for i, name in enumerate(vendor_names)
            ],
        )
        organisations = connection.execute(
            sa.select(Organisation.id).where(Organisation.slug.like("bench-vendor-%"))
        ).scalars()
        connection.execute(
            sa.insert(Vendor),
            [
                {
                    "organisation_id": organisation_id,
                    "contact_email": "kontakt@vendor.example",
                    "security_email": "security@vendor.example",
                    "website": "https://vendor.example",
                    "verified_at": now if rnd.random() < 0.7 else None,
                    "created_at": now,
                }
                for organisation_id in organisations
            ],
        )
        vendor_ids = list(connection.execute(sa.select(Vendor.id)).scalars())

        rows, plans = [], []
        for i in range(apps + unlisted):
            stem, about_nb, about_en, category, audience, scopes = rnd.choice(TOPICS)
            kind, verb_nb, verb_en = rnd.choice(KINDS)
            place = rnd.choice(PLACES)
            model, price, unit, share = rnd.choice(PRICES)
            name = f"{stem} {kind} {place}"
            rows.append(
                {
                    "vendor_id": rnd.choice(vendor_ids),
                    "slug": f"bench-app-{i}",
                    "name": name,
                    "summary_nb": f"{name} {verb_nb} {about_nb}.",
                    "summary_en": f"{name} {verb_en} {about_en}.",
                    "description_nb": (
                        f"{name} {verb_nb} {about_nb} for pasienten i konteksten. Appen er "
                        f"laget for helse- og omsorgstjenesten i kommunen, og viser det "
                        f"viktigste først. Utviklet sammen med kommuner i region {place}."
                    ),
                    "description_en": (
                        f"{name} {verb_en} {about_en} for the patient in context. The app is "
                        f"made for the municipal health and care services, and shows what "
                        f"matters first. Developed with municipalities in the {place} region."
                    ),
                    "category": category,
                    "audience": audience,
                    "support_url": "https://vendor.example/support",
                    "privacy_url": "https://vendor.example/privacy",
                    "price_model": model,
                    "price_ore": price,
                    "usage_unit": unit,
                    "basis_share_percent": share,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            certified_at = now - dt.timedelta(minutes=rnd.randrange(2 * 365 * 24 * 60))
            plans.append((i < apps, scopes, certified_at))
        connection.execute(sa.insert(Application), rows)
        ids = dict(
            connection.execute(
                sa.select(Application.slug, Application.id).where(
                    Application.slug.like("bench-app-%")
                )
            ).all()
        )

        releases = []
        for i, (listed, scopes, certified_at) in enumerate(plans):
            base = {
                "application_id": ids[f"bench-app-{i}"],
                "client_type": "public",
                "launch_url": "https://app.example/launch",
                "redirect_uris": ["https://app.example/callback"],
                "scopes": scopes,
                "launch_modes": ["ehr"],
                "fhir_version": "R4",
                "release_notes": "",
                "data_use_statement": "Leser bare det appen viser. Skriver ingenting.",
                "created_at": certified_at,
                "updated_at": certified_at,
            }
            if listed:
                releases.append(
                    {**base, "version": "2.0.0", "state": "certified", "certified_at": certified_at}
                )
                if i % 5 == 0:
                    earlier = certified_at - dt.timedelta(days=90)
                    releases.append(
                        {**base, "version": "1.0.0", "state": "superseded", "certified_at": earlier}
                    )
            else:
                state = "draft" if i % 2 else "suspended"
                releases.append({**base, "version": "1.0.0", "state": state, "certified_at": None})
        connection.execute(sa.insert(Release), releases)


@contextmanager
def database(scratch: Path, apps: int) -> Iterator[str]:
    """A fresh database URL for one size: SQLite in `scratch`, or beside DATABASE_URL."""
    server = os.environ.get("DATABASE_URL")
    if not server:
        yield f"sqlite:///{scratch / 'torget.db'}"
        return
    name = f"torget_bench_{apps}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield str(sa.make_url(server).set(database=name))
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def matches(port: int, path: str) -> int:
    """How many apps the API finds for `path` (its total), for the table."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    api_path = path if path.startswith("/api/") else "/api/v1/apps" + path[1:]
    connection.request("GET", api_path)
    total = json.loads(connection.getresponse().read())["total"]
    connection.close()
    return total


def measure(apps: int, args: argparse.Namespace) -> list[str]:
    with (
        tempfile.TemporaryDirectory(prefix="torget-bench-") as scratch,
        database(Path(scratch), apps) as url,
    ):
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "TORGET_ENV": "development",
            "TORGET_INSTANCE_PATH": scratch,
            "TORGET_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": str(args.workers),
            "PROMETHEUS_MULTIPROC_DIR": str(Path(scratch) / "prometheus"),
            "LOG_LEVEL": "WARNING",
        }
        subprocess.run([BIN / "torget", "db", "upgrade"], env=env, check=True, capture_output=True)
        engine = sa.create_engine(url)
        generate(engine, apps)
        engine.dispose()
        server = subprocess.Popen(
            [BIN / "gunicorn", "-c", "deploy/gunicorn.conf.py", "torget.app:create_app()"],
            cwd=ROOT,
            env=env,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_ready(port, server)
            rows = []
            for path in (FRONT, PAGE, API, API_NO_WORDS):
                found = matches(port, path)
                row = run(port, path, {}, args.seconds, args.concurrency)
                rows.append(f"| {apps:,} | {found:,} {row}")
                print(rows[-1], flush=True)
            return rows
        finally:
            server.terminate()
            server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apps", type=int, nargs="+", default=[10, 1_000, 10_000])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    database_kind = os.environ.get("DATABASE_URL", "sqlite").split(":")[0]
    print(
        f"gunicorn workers={args.workers}, concurrency={args.concurrency}, "
        f"{args.seconds:g} s per address, database={database_kind}\n"
    )
    print("| Certified apps | Found | Address | req/s | p50 ms | p95 ms | p99 ms | errors |")
    print("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |", flush=True)
    for apps in args.apps:
        measure(apps, args)


if __name__ == "__main__":
    main()
