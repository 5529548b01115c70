"""Test support for the gateway: a municipality with a few FHIR resources, and tokens for it.

Tokens are issued by the authorization server's own issuing service
(auth.issuing.issue) on a grant made here, so each is a real signed access
token with its record: the gateway checks it exactly as it checks a token
from a launch. The launches themselves are tested in tests/auth and
tests/smart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask

from auth import issuing, keys, status
from auth.grants import Launcher
from auth.models import TokenGrant
from gateway import backends, store
from gateway.backends import FhirBackend
from gateway.enforcement import StatusCache
from marketplace.models import Tenant
from tests.auth.smart import SmartApp, smart_app
from tests.factories.marketplace import TenantFactory
from torget.db import db

LOINC = "http://loinc.org"
VITAL_SIGNS = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs",
        }
    ]
}
LABORATORY = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "laboratory",
        }
    ]
}


def patient(resource_id: str, given: str, family: str, birth: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": resource_id,
        "name": [{"family": family, "given": [given]}],
        "birthDate": birth,
        "gender": "female",
        "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": "01015012345"}],
    }


def observation(
    resource_id: str, patient_id: str, code: str, value: float, when: str, category: dict
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": resource_id,
        "status": "final",
        "category": [category],
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": "/min"},
    }


@pytest.fixture
def signing_key(db_session: None) -> Iterator[None]:
    keys.ensure_current()
    issuing.forget_signer()
    status.forget_keys()
    yield
    issuing.forget_signer()
    status.forget_keys()


@pytest.fixture
def status_cache(app: Flask) -> Iterator[StatusCache]:
    """The gateway's token status cache, emptied around each test, with a clock it controls."""
    cache: StatusCache = app.extensions["torget_gateway_status"]
    now = [1000.0]
    real_clock = cache.clock
    cache.clock = lambda: now[0]
    cache.clear()
    cache.now = now  # type: ignore[attr-defined] - the test moves time with cache.now[0] += s
    yield cache
    cache.clear()
    cache.clock = real_clock


@pytest.fixture
def fhir(db_session: None, signing_key: None, status_cache: StatusCache) -> Tenant:
    """A municipality with two patients, their observations and an encounter each."""
    tenant = TenantFactory()
    for resource in [
        patient("kari", "Kari", "Nordmann", "1950-03-04"),
        patient("ola", "Ola", "Hansen", "1948-11-30"),
        observation("kari-pulse-1", "kari", "8867-4", 72, "2026-10-01T08:00:00Z", VITAL_SIGNS),
        observation("kari-pulse-2", "kari", "8867-4", 96, "2026-10-03T08:00:00Z", VITAL_SIGNS),
        observation("kari-hb", "kari", "718-7", 12.5, "2026-10-02T08:00:00Z", LABORATORY),
        observation("ola-pulse-1", "ola", "8867-4", 64, "2026-10-02T09:00:00Z", VITAL_SIGNS),
        {
            "resourceType": "Encounter",
            "id": "kari-visit",
            "status": "finished",
            "class": {"code": "HH"},
            "subject": {"reference": "Patient/kari"},
            "period": {"start": "2026-10-01T08:00:00Z", "end": "2026-10-01T09:00:00Z"},
        },
        {"resourceType": "Practitioner", "id": "hpr-1234567", "name": [{"family": "Lege"}]},
    ]:
        store.create(tenant.id, resource["resourceType"], resource, resource_id=resource["id"])
    db.session.flush()
    return tenant


Issue = Callable[..., str]


@pytest.fixture
def token(fhir: Tenant) -> Issue:
    """token(scope, patient=None, tenant=None): an access token for an app enabled there."""

    def issue(scope: str, *, patient: str | None = None, tenant: Tenant | None = None) -> str:
        return issue_for(smart_app(registered=scope, tenant=tenant or fhir), scope, patient=patient)

    return issue


def issue_for(app: SmartApp, scope: str, *, patient: str | None = None) -> str:
    wide = any(s.startswith("system/") for s in scope.split())
    grant = TokenGrant(
        client_id=app.client_id,
        tenant=app.tenant,
        user_id=None if wide else app.clinician.id,
        enablement_id=None,
        launcher=(Launcher.SYSTEM if wide else Launcher.CLINICIAN).value,
        scope=scope,
        patient=patient,
    )
    db.session.add(grant)
    db.session.flush()
    issued = issuing.issue(grant, scope=scope, refresh=False).response["access_token"]
    db.session.flush()  # the token's record, for the requests' own sessions to see
    return issued


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


@contextmanager
def backend_in(app: Flask, backend: FhirBackend) -> Iterator[None]:
    """`app` answers FHIR requests from `backend` within the block, from its own one after."""
    working = app.extensions[backends.EXTENSION]
    app.extensions[backends.EXTENSION] = backend
    try:
        yield
    finally:
        app.extensions[backends.EXTENSION] = working
