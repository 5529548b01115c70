"""Upstream mode: the gateway enforces and audits, and a second Torget serves the data.

The platform is `live_torget`: gunicorn on a database of its own with the
demo data (Oslo's synthetic patients in its embedded store) and a backend
service with `system/*.cruds` whose token is the gateway's system
credential. The gateway under test is an app of its own, configured with
FHIR_UPSTREAM_URL pointing at the platform, on the test's database, where
the apps and their tokens live; the requests go through the Flask test
client. The same enforcement as the embedded store's (tests/gateway):
compartments, scope queries, includes, paging, writes, the audit.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from sqlalchemy import create_engine, func, select

from auth import demo as auth_demo
from auth import issuing, keys, patients, status
from auth.models import AuthEvent
from catalog.models import ClientType
from gateway import backends, synthetic
from gateway.models import AccessEvent
from gateway.platform_token import BackendServicesToken, StaticToken
from gateway.upstream import UpstreamBackend
from marketplace.tenants import find_by_slug
from tests.auth.smart import keyed_client, smart_app
from tests.conftest import make_app
from tests.factories.marketplace import TenantFactory
from tests.gateway.conftest import backend_in, issue_for
from tests.smart.live import REQUEST_TIMEOUT_S, LiveTorget, LiveUrls, free_port, torget_setup
from torget.db import db

TENANT = "oslo"
# Two of Oslo's demo patients with vital signs to read (the demo data: gateway/synthetic.py).
KARI, OTHER = [
    p
    for p in auth_demo.patients_for(TENANT)
    if synthetic.trajectory_of(TENANT, p.id) in {"stable", "deteriorating"}
][:2]
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass(frozen=True)
class Platform:
    client_id: str
    kid: str
    key: str = field(repr=False)  # PEM


def make_platform_client(urls: LiveUrls) -> Platform:
    """The gateway's own client at the platform: a backend service with every system scope."""
    tenant = find_by_slug(TENANT)
    assert tenant is not None  # the demo data
    keyed = keyed_client(
        ClientType.BACKEND, "system/*.cruds", tenant=tenant, launch_url=None, launch_modes=[]
    )
    pem = keyed.private_key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return Platform(keyed.app.client_id, keyed.kid, pem.decode())


pytestmark = torget_setup(make_platform_client)


def _assertion(live_torget: LiveTorget, platform: Platform) -> str:
    """A client assertion of the gateway's client at the platform (private_key_jwt)."""
    now = int(time.time())
    return jwt.encode(
        {
            "iss": platform.client_id,
            "sub": platform.client_id,
            "aud": f"{live_torget.public_url}/oauth/token",
            "iat": now,
            "exp": now + 240,
            "jti": uuid.uuid4().hex,
        },
        platform.key,
        algorithm="ES384",
        headers={"kid": platform.kid},
    )


@pytest.fixture(scope="module")
def platform_token(live_torget: LiveTorget, request: pytest.FixtureRequest) -> str:
    platform: Platform = live_torget.database.results[make_platform_client]
    assertion = _assertion(live_torget, platform)
    answer = requests.post(
        f"{live_torget.base_url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "scope": "system/*.cruds",
            "resource": f"{live_torget.public_url}/fhir/{TENANT}",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
        timeout=REQUEST_TIMEOUT_S,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


@pytest.fixture(scope="module")
def app(
    migrated_database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    live_torget: LiveTorget,
    platform_token: str,
) -> Iterator[Flask]:
    """The gateway under test: upstream mode, pointed at the platform."""
    gateway = make_app(
        migrated_database_url,
        Path(tmp_path_factory.mktemp("upstream-gateway")),
        fhir_upstream_url=f"{live_torget.public_url}/fhir/{{tenant}}",
        fhir_upstream_token=platform_token,
    )
    yield gateway
    with gateway.app_context():
        db.engine.dispose()


@pytest.fixture
def oslo(db_session: None) -> Iterator[object]:
    keys.ensure_current()
    issuing.forget_signer()
    status.forget_keys()
    yield TenantFactory(organisation__slug=TENANT, organisation__name="Oslo kommune")
    issuing.forget_signer()
    status.forget_keys()


def token(tenant: object, scope: str, patient: str | None = None) -> dict[str, str]:
    access = issue_for(smart_app(registered=scope, tenant=tenant), scope, patient=patient)
    return {"Authorization": f"Bearer {access}"}


def bundle_ids(response: object) -> list[str]:
    body = response.get_json(force=True)  # type: ignore[attr-defined]
    assert body["resourceType"] == "Bundle", body
    return [
        f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in body.get("entry", [])
        if e["search"]["mode"] != "outcome"
    ]


def subjects(response: object) -> set[str]:
    body = response.get_json(force=True)  # type: ignore[attr-defined]
    return {
        e["resource"].get("subject", {}).get("reference", "")
        for e in body.get("entry", [])
        if e["resource"]["resourceType"] == "Observation"
    }


# --- reading ---------------------------------------------------------------------------------


def test_a_read_goes_upstream_and_comes_back_on_the_gateways_base(
    client, oslo, live_torget: LiveTorget
) -> None:
    response = client.get(
        f"/fhir/{TENANT}/Patient/{KARI.id}", headers=token(oslo, "user/Patient.rs")
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json(force=True)
    assert (body["resourceType"], body["id"]) == ("Patient", KARI.id)
    assert response.headers["ETag"] == 'W/"1"'
    searched = client.get(
        f"/fhir/{TENANT}/Patient?_id={KARI.id}", headers=token(oslo, "user/Patient.rs")
    )
    text = searched.get_data(as_text=True)
    assert live_torget.public_url not in text  # every upstream URL was rewritten
    assert f"http://127.0.0.1:5000/fhir/{TENANT}/Patient/{KARI.id}" in text
    (event, _search) = db.session.scalars(select(AccessEvent).order_by(AccessEvent.id)).all()
    assert (event.outcome, event.resource_ids) == ("allowed", [f"Patient/{KARI.id}"])


def test_a_patient_token_stays_in_its_compartment_upstream(client, oslo) -> None:
    headers = token(oslo, "patient/Observation.rs patient/Patient.rs", patient=KARI.id)
    everything = client.get(f"/fhir/{TENANT}/Observation?_count=50", headers=headers)
    assert everything.status_code == 200
    assert subjects(everything) == {f"Patient/{KARI.id}"}
    asked_for_other = client.get(f"/fhir/{TENANT}/Observation?patient={OTHER.id}", headers=headers)
    assert bundle_ids(asked_for_other) == []
    by_id = client.get(f"/fhir/{TENANT}/Patient?_id={OTHER.id}", headers=headers)
    assert bundle_ids(by_id) == []
    assert client.get(f"/fhir/{TENANT}/Patient/{OTHER.id}", headers=headers).status_code == 404
    included = client.get(
        f"/fhir/{TENANT}/Observation?_include=Observation:subject&_count=5", headers=headers
    )
    assert [i for i in bundle_ids(included) if i.startswith("Patient/")] == [f"Patient/{KARI.id}"]
    others = client.get(
        f"/fhir/{TENANT}/Observation?patient={OTHER.id}", headers=token(oslo, "user/Observation.rs")
    )
    (other_observation, *_rest) = bundle_ids(others)
    refused = client.get(f"/fhir/{TENANT}/{other_observation}", headers=headers)
    assert refused.status_code == 404


def test_a_scope_query_narrows_upstream_searches(client, oslo) -> None:
    headers = token(oslo, "user/Observation.rs?category=vital-signs")
    found = client.get(f"/fhir/{TENANT}/Observation?patient={KARI.id}&_count=20", headers=headers)
    assert found.status_code == 200
    categories = {
        coding["code"]
        for e in found.get_json(force=True)["entry"]
        for category in e["resource"]["category"]
        for coding in category["coding"]
    }
    assert categories == {"vital-signs"}


def test_pages_follow_signed_next_links_and_a_forged_one_is_refused(client, oslo) -> None:
    headers = token(oslo, "user/Observation.rs")
    link: str | None = f"/fhir/{TENANT}/Observation?patient={KARI.id}&_count=5&_sort=date"
    seen: list[str] = []
    while link:
        page = client.get(link, headers=headers)
        assert page.status_code == 200, page.get_data(as_text=True)
        body = page.get_json(force=True)
        seen += [e["resource"]["id"] for e in body["entry"]]
        following = [x["url"] for x in body["link"] if x["relation"] == "next"]
        link = following[0].removeprefix("http://127.0.0.1:5000") if following else None
    assert len(seen) == len(set(seen)) > 5
    forged = client.get(
        f"/fhir/{TENANT}/Observation?patient={KARI.id}&_page=bm90LXNpZ25lZC1hdC1hbGw",
        headers=headers,
    )
    assert forged.status_code == 400


def test_the_interaction_must_be_granted(client, oslo) -> None:
    assert client.get(f"/fhir/{TENANT}/Patient/{KARI.id}").status_code == 401
    reader = token(oslo, "user/Observation.r")
    assert client.get(f"/fhir/{TENANT}/Observation", headers=reader).status_code == 403


# --- writing ---------------------------------------------------------------------------------


def vital_sign(patient_id: str) -> dict[str, object]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": "2026-11-20T08:00:00Z",
        "valueQuantity": {"value": 77, "unit": "/min"},
    }


def test_writes_are_forwarded_within_the_permit(client, oslo) -> None:
    writer = token(oslo, "user/Observation.cruds")
    created = client.post(
        f"/fhir/{TENANT}/Observation",
        data=json.dumps(vital_sign(KARI.id)),
        headers={**writer, "Content-Type": "application/fhir+json"},
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    new_id = created.get_json(force=True)["id"]
    assert created.headers["Location"].startswith(f"http://127.0.0.1:5000/fhir/{TENANT}/")
    changed = {**vital_sign(KARI.id), "id": new_id, "valueQuantity": {"value": 79, "unit": "/min"}}
    updated = client.put(
        f"/fhir/{TENANT}/Observation/{new_id}",
        data=json.dumps(changed),
        headers={**writer, "Content-Type": "application/fhir+json", "If-Match": 'W/"1"'},
    )
    assert updated.status_code == 200, updated.get_data(as_text=True)
    stale = client.put(
        f"/fhir/{TENANT}/Observation/{new_id}",
        data=json.dumps(changed),
        headers={**writer, "Content-Type": "application/fhir+json", "If-Match": 'W/"1"'},
    )
    assert stale.status_code == 412
    read = client.get(f"/fhir/{TENANT}/Observation/{new_id}", headers=writer)
    assert read.get_json(force=True)["valueQuantity"]["value"] == 79

    patient_writer = token(oslo, "patient/Observation.cs", patient=KARI.id)
    before = client.get(f"/fhir/{TENANT}/Observation?patient={OTHER.id}", headers=writer)
    refused = client.post(
        f"/fhir/{TENANT}/Observation",
        data=json.dumps(vital_sign(OTHER.id)),
        headers={**patient_writer, "Content-Type": "application/fhir+json"},
    )
    assert refused.status_code == 403
    after = client.get(f"/fhir/{TENANT}/Observation?patient={OTHER.id}", headers=writer)
    assert bundle_ids(after) == bundle_ids(before)


# --- the directory, and a platform that does not answer ---------------------------------------


def test_the_patient_directory_asks_the_platform(app: Flask, oslo) -> None:
    directory = patients.directory()
    given, *_rest = KARI.name.split()
    assert KARI.id in [p.id for p in directory.search(oslo, given)]
    found = directory.get(oslo, KARI.id)
    assert found is not None
    assert found.identifier == KARI.identifier
    assert directory.get(oslo, "../Observation") is None
    assert [e.id for e in directory.encounters(oslo, KARI.id)] == [
        e.id for e in sorted(KARI.encounters, key=lambda e: e.start, reverse=True)
    ]


def test_a_platform_that_does_not_answer_is_a_502_and_is_audited(app: Flask, client, oslo) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/fhir/{{tenant}}"
    with backend_in(app, UpstreamBackend(nowhere, StaticToken("unused"), timeout=2)):
        response = client.get(
            f"/fhir/{TENANT}/Patient/{KARI.id}", headers=token(oslo, "user/Patient.rs")
        )
    assert response.status_code == 502
    assert response.get_json(force=True)["issue"][0]["code"] == "exception"
    event = db.session.scalars(select(AccessEvent).order_by(AccessEvent.id.desc())).first()
    assert (event.status, event.outcome) == (502, "invalid")


# --- the gateway's own token at the platform (SMART Backend Services) ------------------------


def _issued_to(live_torget: LiveTorget, client_id: str) -> int:
    """How many tokens the platform has issued to `client_id` (its audit of the token endpoint).

    Read with an engine of its own: the test's session is bound to the test's database.
    """
    engine = create_engine(live_torget.database_url)
    try:
        with engine.connect() as connection:
            return connection.scalar(
                select(func.count())
                .select_from(AuthEvent.__table__)
                .where(AuthEvent.client_id == client_id, AuthEvent.outcome == "issued")
            )
    finally:
        engine.dispose()


def _revoke_at_platform(live_torget: LiveTorget, platform: Platform, token: str) -> None:
    """The platform revokes the gateway's token (RFC 7009), as its operators might."""
    assertion = _assertion(live_torget, platform)
    answer = requests.post(
        f"{live_torget.base_url}/oauth/revoke",
        data={
            "token": token,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
        timeout=REQUEST_TIMEOUT_S,
    )
    assert answer.status_code == 200, answer.text


def test_the_gateway_takes_its_own_token_and_a_new_one_when_the_platform_refuses_it(
    app: Flask, client, oslo, live_torget: LiveTorget
) -> None:
    platform: Platform = live_torget.database.results[make_platform_client]
    credential = BackendServicesToken(
        f"{live_torget.public_url}/oauth/token",
        platform.client_id,
        platform.key,
        platform.kid,
        "system/*.cruds",
        timeout=REQUEST_TIMEOUT_S,
    )
    taking = UpstreamBackend(
        f"{live_torget.public_url}/fhir/{{tenant}}", credential, timeout=REQUEST_TIMEOUT_S
    )
    headers = token(oslo, "user/Patient.rs")
    before = _issued_to(live_torget, platform.client_id)
    with backend_in(app, taking):
        first = client.get(f"/fhir/{TENANT}/Patient/{KARI.id}", headers=headers)
        again = client.get(f"/fhir/{TENANT}/Patient/{KARI.id}", headers=headers)
        taken = _issued_to(live_torget, platform.client_id)
        held = credential.bearer(f"{live_torget.public_url}/fhir/{TENANT}")
        _revoke_at_platform(live_torget, platform, held)
        # Every platform node refuses the revoked token within a second (its status
        # cache); the gateway reads on meanwhile, and renews at the first refusal.
        after_revocation, renewed = [], held
        deadline = time.monotonic() + 10
        while renewed == held and time.monotonic() < deadline:
            read = client.get(f"/fhir/{TENANT}/Patient/{KARI.id}", headers=headers)
            after_revocation.append(read.status_code)
            renewed = credential.bearer(f"{live_torget.public_url}/fhir/{TENANT}")
            time.sleep(0.1)

    assert (first.status_code, again.status_code) == (200, 200), first.get_data(as_text=True)
    assert first.get_json(force=True)["id"] == KARI.id
    assert taken == before + 1  # one token for both reads: held until it nears its expiry
    assert renewed != held, "the gateway never took a new token"
    assert set(after_revocation) == {200}  # the gateway's clients never saw the revocation
    assert _issued_to(live_torget, platform.client_id) == before + 2


def test_a_platform_that_refuses_the_gateway_a_token_is_a_502(
    app: Flask, client, oslo, live_torget: LiveTorget
) -> None:
    platform: Platform = live_torget.database.results[make_platform_client]
    stranger = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    refused = BackendServicesToken(
        f"{live_torget.public_url}/oauth/token",
        platform.client_id,
        stranger.decode(),  # a key the platform never registered
        platform.kid,
        "system/*.cruds",
        timeout=REQUEST_TIMEOUT_S,
    )
    upstream = f"{live_torget.public_url}/fhir/{{tenant}}"
    with backend_in(app, UpstreamBackend(upstream, refused, timeout=REQUEST_TIMEOUT_S)):
        response = client.get(
            f"/fhir/{TENANT}/Patient/{KARI.id}", headers=token(oslo, "user/Patient.rs")
        )

    assert response.status_code == 502
    assert response.get_json(force=True)["issue"][0]["code"] == "exception"
    assert KARI.id not in response.get_data(as_text=True)


def test_the_gateway_keeps_its_connection_to_the_platform(
    app: Flask, client, oslo, live_torget: LiveTorget
) -> None:
    """Reads after the first reuse the connection (no TCP, no TLS handshake each time)."""
    headers = token(oslo, "user/Patient.rs")
    backend = app.extensions[backends.EXTENSION]
    pool = backend._pool.connection_from_url(live_torget.public_url)
    before = pool.num_connections

    answers = [
        client.get(f"/fhir/{TENANT}/Patient/{patient.id}", headers=headers).status_code
        for patient in (KARI, OTHER, KARI)
    ]

    assert answers == [200, 200, 200]
    assert pool.num_connections - before <= 1
