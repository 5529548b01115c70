"""The built-in EPJ launcher: what a journal system does, for a clinician in a browser.

A clinician finds a patient in the municipality's patient directory, sees
the apps the municipality enabled for health personnel that start from a
journal (EHR launch), and starts one. The launch context is made by the same
service as `/oauth/launch` (auth/launch.py), for this clinician and patient,
and the app opens at its launch URL with `iss` and `launch`.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from accounts.models import User
from auth import launch, patients
from auth.patients import EncounterSummary, PatientSummary
from auth.urls import fhir_base
from catalog import credentials
from catalog.models import Environment, LaunchMode
from marketplace import enablements, shelf
from marketplace.models import Enablement, Tenant
from torget.errors import Forbidden, Invalid


@dataclass(frozen=True)
class LaunchableApp:
    enablement: Enablement
    client_id: str

    @property
    def name(self) -> str:
        return self.enablement.application.name

    @property
    def slug(self) -> str:
        return self.enablement.application.slug


def apps(user: User, tenant: Tenant) -> list[LaunchableApp]:
    """The apps `user` may start from the journal in `tenant`, by name."""
    found = []
    for enablement in shelf.apps_for(user, tenant):
        client = credentials.find_client(enablement.application, Environment.PRODUCTION)
        if client is None:
            continue
        decision = enablements.launch_policy(client.client_id, tenant.slug)
        release = decision.release
        if (
            decision.allowed
            and release is not None
            and LaunchMode.EHR.value in release.launch_modes
            and release.launch_url
        ):
            found.append(LaunchableApp(enablement, client.client_id))
    return found


def patient(tenant: Tenant, patient_id: str) -> PatientSummary:
    found = patients.directory().get(tenant, patient_id) if patient_id else None
    if found is None:
        raise Invalid(_("Choose a patient of the municipality."), field="patient")
    return found


def encounter(tenant: Tenant, patient_id: str, encounter_id: str | None) -> str | None:
    """The encounter to launch in, when one of the patient's was chosen."""
    if not encounter_id:
        return None
    found: EncounterSummary | None = patients.directory().encounter(tenant, encounter_id)
    if found is None or found.patient_id != patient_id:
        raise Invalid(_("Choose one of the patient's encounters."), field="encounter")
    return found.id


def start(
    user: User, tenant: Tenant, *, app_slug: str, patient_id: str, encounter_id: str | None
) -> str:
    """A launch context for the app, the clinician and the patient; the URL that opens the app."""
    chosen = next((a for a in apps(user, tenant) if a.slug == app_slug), None)
    if chosen is None:
        # Not enabled here, not for health personnel, stopped, or no journal launch.
        raise Forbidden(_("This app is not one you can start here."))
    found = patient(tenant, patient_id)
    issued = launch.create(
        client_id=chosen.client_id,
        tenant=tenant,
        user=user,
        patient=found.id,
        encounter=encounter(tenant, found.id, encounter_id),
    )
    url = launch.launch_url(issued, fhir_base(tenant.slug))
    if url is None:
        raise Forbidden(_("This app is not one you can start here."))
    return url
