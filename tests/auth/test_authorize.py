"""`/oauth/authorize` on the test client: consent, the pickers, and every refusal by name.

Each refusal is checked for how it is told (Torget's error page, or a
redirect to the app with the RFC 6749 error, the same `state` and `iss`) and
for what it leaves behind: one audit event, and no code, grant or usage.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from accounts.models import User
from auth import keys, launch
from auth.models import (
    AuthEvent,
    AuthorizationCode,
    LaunchContext,
    TokenGrant,
)
from catalog import releases
from catalog.models import Audience
from marketplace import enablements, terms
from marketplace.enablements import Access
from marketplace.models import ExitStep, Tenant, UsageDay
from tests.auth.smart import REDIRECT_URI, REGISTERED, SmartApp, hidden_fields, smart_app
from tests.conftest import csrf_token, sign_in_in_english
from tests.factories.accounts import PASSWORD
from tests.factories.catalog import ApplicationFactory
from tests.factories.gateway import add_encounter as add_fhir_encounter
from tests.factories.gateway import add_patient as add_fhir_patient
from tests.factories.marketplace import TenantFactory, admin_of, clinician_of
from torget import tokens
from torget.db import db, utcnow

pytestmark = pytest.mark.usefixtures("english")

ISSUER = "http://127.0.0.1:5000"
STANDALONE = "openid fhirUser launch/patient patient/Observation.rs"
EHR = "launch openid fhirUser patient/Observation.rs"


@pytest.fixture(autouse=True)
def signing_key(db_session: None) -> None:
    keys.ensure_current()


# --- helpers -------------------------------------------------------------------------------


def ready(client: FlaskClient, **app_fields: object) -> SmartApp:
    """An enabled app and its clinician, signed in and reading English."""
    app = smart_app(**app_fields)
    sign_in_in_english(client, app.clinician)
    return app


def authorize(client: FlaskClient, params: dict[str, str] | list[tuple[str, str]]) -> TestResponse:
    pairs = list(params.items()) if isinstance(params, dict) else params
    return client.get(f"/oauth/authorize?{urlencode(pairs)}")


def page_text(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))


def granted_on(page: str) -> list[tuple[str, str]]:
    """(scope, its plain words) for each item of the consent page's `ul#granted`."""
    listed = re.search(r'<ul class="scopes" id="granted">(.*?)</ul>', page, re.S)
    assert listed, "no list of granted scopes"
    items = re.findall(r"<li><span>(.*?)</span> <code>(.*?)</code></li>", listed.group(1))
    return [(html.unescape(code), html.unescape(words)) for words, code in items]


def dropped_on(page: str) -> list[tuple[str, str]]:
    """(scope, reason) for each item of the consent page's `ul#dropped`."""
    listed = re.search(r'<ul class="scopes" id="dropped">(.*?)</ul>', page, re.S)
    if listed is None:
        return []
    items = re.findall(r"<li><code>(.*?)</code>: (.*?)</li>", listed.group(1))
    return [(html.unescape(code), html.unescape(reason)) for code, reason in items]


def radios(page: str, fieldset: str, name: str) -> list[str]:
    found = re.search(rf'<fieldset id="{fieldset}">(.*?)</fieldset>', page, re.S)
    assert found, f"no fieldset#{fieldset}"
    return re.findall(rf'type="radio" name="{name}" value="([^"]*)"', found.group(1))


def consent_form(page: str) -> dict[str, str]:
    """The hidden fields of the consent page's POST form (not the search or language forms)."""
    form = re.search(r'<form method="post" action="/oauth/authorize"[^>]*>(.*?)</form>', page, re.S)
    assert form, "no consent form"
    return hidden_fields(form.group(1))


def decide(
    client: FlaskClient, page: str, decision: str = "approve", **choices: str
) -> TestResponse:
    """Submit the consent form as a browser would: its hidden fields, the choices, a button."""
    return client.post(
        "/oauth/authorize", data={**consent_form(page), **choices, "decision": decision}
    )


def consent_page(client: FlaskClient, params: dict[str, str]) -> str:
    response = authorize(client, params)
    assert response.status_code == 200, page_text(response)[:2000]
    return response.get_data(as_text=True)


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def audited() -> list[tuple[str, str | None, int | None, int | None]]:
    events = db.session.scalars(
        select(AuthEvent).where(AuthEvent.endpoint == "authorize").order_by(AuthEvent.id)
    )
    return [(e.outcome, e.client_id, e.tenant_id, e.user_id) for e in events]


def assert_only_audit(*events: tuple[str, str | None, int | None, int | None]) -> None:
    """Nothing written but the audit: no code, no grant, no usage counted."""
    assert audited() == list(events)
    assert count(AuthorizationCode) == 0
    assert count(TokenGrant) == 0
    assert count(UsageDay) == 0


def assert_error_page(response: TestResponse, message: str) -> None:
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.mimetype == "text/html"
    text = page_text(response)
    assert "This sign-in request cannot be used" in text
    assert message in text


def assert_redirected(
    response: TestResponse, params: dict[str, str], error: str, description: str | None = None
) -> dict[str, str]:
    """A 302 to the app's redirect URI with `error`, the request's `state` and `iss`."""
    assert response.status_code == 302, page_text(response).split("<main")[-1][:1500]
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert set(query) <= {"error", "error_description", "state", "iss"}
    assert query["error"] == error
    assert query["state"] == params["state"]
    assert query["iss"] == ISSUER
    if description is not None:
        assert query["error_description"] == description
    return query


def assert_code(response: TestResponse, params: dict[str, str]) -> dict[str, str]:
    """A 302 to the app's redirect URI with a code and the request's `state`."""
    assert response.status_code == 302, page_text(response)[:2000]
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert set(query) == {"code", "state", "iss"}
    assert query["state"] == params["state"]
    assert query["iss"] == ISSUER
    return query


def refused_with(
    client: FlaskClient,
    app: SmartApp,
    params: dict[str, str],
    error: str,
    description: str | None = None,
    user: User | None = None,
) -> dict[str, str]:
    """Authorize, expect the redirected refusal, and that only its audit was written."""
    query = assert_redirected(authorize(client, params), params, error, description)
    user = user or app.clinician
    assert_only_audit((error, app.client_id, app.tenant.id, user.id))
    return query


def add_patient(tenant: Tenant, fhir_id: str, name: str) -> None:
    add_fhir_patient(tenant_id=tenant.id, fhir_id=fhir_id, name=name)
    db.session.flush()


def add_encounter(
    tenant: Tenant, fhir_id: str, patient: str, description: str, *, days_ago: int
) -> None:
    add_fhir_encounter(
        tenant.id, fhir_id, patient, description, start=utcnow() - dt.timedelta(days=days_ago)
    )
    db.session.flush()


def enable_in(tenant: Tenant, app: SmartApp) -> None:
    """Enable the same app in another municipality too."""
    enablements.enable(
        tenant,
        app.release.application,
        Access(REGISTERED.split(), ["clinician"]),
        terms_version=terms.VERSION,
        by=admin_of(tenant),
    )


def launch_for(app: SmartApp, **fields: object) -> str:
    values: dict[str, object] = {
        "client_id": app.client_id,
        "tenant": app.tenant,
        "user": app.clinician,
        "patient": "pas-9",
        "encounter": "enc-9",
        **fields,
    }
    return launch.create(**values).launch  # type: ignore[arg-type]


def spent(value: str) -> bool:
    db.session.expire_all()
    context = db.session.scalar(
        select(LaunchContext).where(LaunchContext.launch_hash == tokens.digest(value))
    )
    assert context is not None
    return context.used_at is not None


# --- consent and approval -------------------------------------------------------------------


def test_consent_lists_exactly_the_granted_scopes_and_each_dropped_one_with_its_reason(
    client: FlaskClient,
) -> None:
    app = ready(client, approved="openid fhirUser launch/patient patient/Observation.rs")
    params = app.params(
        "openid fhirUser launch/patient patient/Observation.rs patient/Patient.r "
        "user/Condition.rs not-a-scope"
    )
    page = consent_page(client, params)
    assert granted_on(page) == [
        ("openid", "Know who you are"),
        ("fhirUser", "Know your identity as health personnel (your FHIR user record)"),
        ("launch/patient", "Ask you to choose a patient"),
        (
            "patient/Observation.rs",
            "Read and search observations (Observation) of the patient in context",
        ),
    ]
    assert dropped_on(page) == [
        ("patient/Patient.r", "The municipality has not approved it for this app."),
        ("user/Condition.rs", "The app's certified release did not register it."),
        ("not-a-scope", "This is not a SMART scope."),
    ]
    # Showing the page decides nothing yet.
    assert_only_audit()


def test_approving_redirects_with_a_code_the_state_and_iss(client: FlaskClient) -> None:
    app = ready(client)
    add_patient(app.tenant, "pas-1", "Kari Nordmann")
    params = app.params()
    response = decide(client, consent_page(client, params), patient="pas-1")
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert set(query) == {"code", "state", "iss"}
    assert query["state"] == [params["state"]]
    assert query["iss"] == [ISSUER]
    code = db.session.scalar(select(AuthorizationCode))
    assert code is not None
    assert code.code_hash == tokens.digest(query["code"][0])
    assert (code.client_id, code.redirect_uri, code.code_challenge) == (
        app.client_id,
        REDIRECT_URI,
        params["code_challenge"],
    )
    grant = code.grant
    assert grant.scope == STANDALONE
    assert (grant.tenant_id, grant.user_id, grant.patient) == (
        app.tenant.id,
        app.clinician.id,
        "pas-1",
    )
    assert audited() == [("code_issued", app.client_id, app.tenant.id, app.clinician.id)]


def test_denying_redirects_with_access_denied(client: FlaskClient) -> None:
    app = ready(client)
    params = app.params()
    response = decide(client, consent_page(client, params), decision="deny")
    assert_redirected(response, params, "access_denied", "The user declined.")
    assert_only_audit(("access_denied", app.client_id, app.tenant.id, app.clinician.id))


def test_an_app_may_post_its_request_and_the_user_approves_from_that_page(
    client: FlaskClient,
) -> None:
    app = ready(client)
    add_patient(app.tenant, "pas-1", "Kari Nordmann")
    params = app.params()
    posted = client.post("/oauth/authorize", data=params)  # SMART authorize-post: no csrf
    assert posted.status_code == 200, page_text(posted)[:2000]
    page = posted.get_data(as_text=True)
    assert [scope for scope, _words in granted_on(page)] == STANDALONE.split()
    assert {k: v for k, v in consent_form(page).items() if k != "csrf_token"} == params
    assert_only_audit()
    assert_code(decide(client, page, patient="pas-1"), params)
    assert count(AuthorizationCode) == 1


def test_a_decision_without_the_csrf_token_is_refused(client: FlaskClient) -> None:
    app = ready(client)
    add_patient(app.tenant, "pas-1", "Kari Nordmann")
    params = app.params()
    response = client.post(
        "/oauth/authorize", data={**params, "patient": "pas-1", "decision": "approve"}
    )
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "did not come from this site" in page_text(response)
    assert_only_audit()


def test_a_signed_out_user_signs_in_and_the_request_resumes(client: FlaskClient) -> None:
    app = smart_app()
    params = app.params()
    response = authorize(client, params)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    target = parse_qs(location.query)["next"][0]
    assert urlsplit(target).path == "/oauth/authorize"
    assert {k: v[0] for k, v in parse_qs(urlsplit(target).query).items()} == params
    assert_only_audit()
    signed = client.post(
        "/login",
        data={
            "email": app.clinician.email,
            "password": PASSWORD,
            "next": target,
            "csrf_token": csrf_token(client),
        },
    )
    assert signed.status_code == 303
    assert signed.headers["Location"] == target
    resumed = client.get(target)
    assert resumed.status_code == 200
    assert [s for s, _words in granted_on(resumed.get_data(as_text=True))] == STANDALONE.split()


# --- the patient and encounter pickers ------------------------------------------------------


def test_the_patient_search_finds_by_name_within_the_municipality(client: FlaskClient) -> None:
    app = ready(client)
    add_patient(app.tenant, "pas-1", "Kari Nordmann")
    add_patient(app.tenant, "pas-2", "Ola Hansen")
    add_patient(TenantFactory(), "pas-3", "Kari Utenbys")
    params = app.params()
    assert radios(consent_page(client, params), "patients", "patient") == ["pas-1", "pas-2"]
    found = consent_page(client, {**params, "patient_q": "kari"})
    assert radios(found, "patients", "patient") == ["pas-1"]
    assert "Kari Nordmann" in found
    assert "Kari Utenbys" not in found
    none = consent_page(client, {**params, "patient_q": "ingen"})
    assert radios(none, "patients", "patient") == []
    assert "No patient matches. Search again." in none


@pytest.mark.parametrize(
    "choice",
    [{}, {"patient": ""}, {"patient": "pas-404"}, {"patient": "pas-3"}],
    ids=["none", "empty", "unknown", "another-municipality"],
)
def test_a_patient_must_be_chosen_from_the_municipality(
    client: FlaskClient, choice: dict[str, str]
) -> None:
    app = ready(client)
    add_patient(app.tenant, "pas-1", "Kari Nordmann")
    add_patient(TenantFactory(), "pas-3", "Kari Utenbys")
    params = app.params()
    response = decide(client, consent_page(client, params), **choice)
    assert response.status_code == 422
    assert "Location" not in response.headers
    assert "Choose a patient." in page_text(response)
    assert radios(response.get_data(as_text=True), "patients", "patient") == ["pas-1"]
    assert_only_audit()


def test_the_encounter_picker_offers_the_patients_encounters_and_binds_the_choice(
    client: FlaskClient,
) -> None:
    app = ready(client)
    add_patient(app.tenant, "pas-1", "Kari Nordmann")
    add_patient(app.tenant, "pas-2", "Ola Hansen")
    add_encounter(app.tenant, "enc-1", "pas-1", "Hjemmebesøk", days_ago=9)
    add_encounter(app.tenant, "enc-2", "pas-1", "Legevakt", days_ago=1)
    add_encounter(app.tenant, "enc-3", "pas-2", "Sykehjem", days_ago=0)
    params = app.params(STANDALONE + " launch/encounter")
    page = consent_page(client, {**params, "patient": "pas-1"})
    assert radios(page, "encounters", "encounter") == ["enc-2", "enc-1"]  # newest first
    for wrong in ("", "enc-3", "enc-404"):
        refused = decide(client, page, patient="pas-1", encounter=wrong)
        assert refused.status_code == 422, wrong
        assert "Choose an encounter." in page_text(refused)
    assert_only_audit()
    assert_code(decide(client, page, patient="pas-1", encounter="enc-1"), params)
    grant = db.session.scalar(select(TokenGrant))
    assert (grant.patient, grant.encounter) == ("pas-1", "enc-1")


def test_an_ehr_launch_is_spent_on_approval_not_on_the_consent_page(
    client: FlaskClient,
) -> None:
    app = ready(client)
    value = launch_for(app, intent="summary")
    params = app.params(EHR, launch=value)
    page = consent_page(client, params)
    assert "fieldset" not in page  # the journal chose the patient: no picker
    assert [s for s, _words in granted_on(page)] == EHR.split()
    assert not spent(value)
    assert_code(decide(client, page), params)
    assert spent(value)
    grant = db.session.scalar(select(TokenGrant))
    assert (grant.patient, grant.encounter, grant.intent, grant.need_patient_banner) == (
        "pas-9",
        "enc-9",
        "summary",
        False,
    )


# --- refused on Torget's own page, never redirected -----------------------------------------

UNKNOWN_CLIENT = "The app is not known here (unknown client_id)."
NO_AUD = "The app did not say which municipality's data it wants"
BAD_REDIRECT = (
    "The app's redirect address is not one it registered, so Torget will not send you there."
)


def assert_page_refusal(response: TestResponse, message: str, client_id: str | None) -> None:
    assert_error_page(response, message)
    assert_only_audit(("refused_page", client_id, None, None))


@pytest.mark.parametrize("client_id", [None, "", "no-such-client", "x" * 65])
def test_an_unknown_or_missing_client_is_told_on_a_page(
    client: FlaskClient, client_id: str | None
) -> None:
    app = ready(client)
    params = app.params(client_id=client_id)
    assert_page_refusal(authorize(client, params), UNKNOWN_CLIENT, (client_id or "")[:64] or None)


def test_a_page_refusal_comes_before_asking_to_sign_in(client: FlaskClient) -> None:
    app = smart_app()
    params = app.params(redirect_uri="https://evil.example/callback")
    response = authorize(client, params)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert_only_audit(("refused_page", app.client_id, None, None))


@pytest.mark.parametrize(
    "redirect_uri",
    [
        None,
        "",
        REDIRECT_URI + "/",
        "https://APP.example/callback",
        "https://app.example/Callback",
        "HTTPS://app.example/callback",
        "http://app.example/callback",
        "https://app.example:443/callback",
        "https://app.example:8443/callback",
        "https://app.example/callback/../x",
        "https://app.example/x/../callback",
        "https://app.example/callback%2F..%2Fx",
        "https://evil@app.example/callback",
        "https://app.example/callback#x",
        "https://app.example/callback?x=1",
        "https://app.example/callback?",
        "https://app.example.evil.example/callback",
        " https://app.example/callback",
    ],
)
def test_a_redirect_uri_not_registered_exactly_is_told_on_a_page(
    client: FlaskClient, redirect_uri: str | None
) -> None:
    app = ready(client)
    params = app.params(redirect_uri=redirect_uri)
    assert_page_refusal(authorize(client, params), BAD_REDIRECT, app.client_id)


@pytest.mark.parametrize(
    "aud",
    [
        lambda app: None,
        lambda app: "",
        lambda app: f"{ISSUER}/fhir/no-such-kommune",
        lambda app: app.aud + "/",
        lambda app: app.aud.upper(),
        lambda app: app.aud.replace("/fhir/", "/FHIR/"),
        lambda app: app.aud.replace(ISSUER, "https://evil.example"),
        lambda app: app.aud.replace(ISSUER, "https://127.0.0.1:5000"),
        lambda app: app.aud.replace(ISSUER, "http://localhost:5000"),
        lambda app: app.aud + "/Patient",
        lambda app: app.aud + "?x=1",
        lambda app: f"{ISSUER}/fhir/../fhir/{app.tenant.slug}",
        lambda app: app.tenant.slug,
    ],
    ids=[
        "missing",
        "empty",
        "unknown-tenant",
        "trailing-slash",
        "upper-case",
        "path-case",
        "another-host",
        "another-scheme",
        "another-name-for-the-host",
        "a-resource-below",
        "a-query",
        "dot-segments",
        "slug-only",
    ],
)
def test_a_missing_or_foreign_aud_is_told_on_a_page(
    client: FlaskClient, aud: Callable[[SmartApp], str | None]
) -> None:
    app = ready(client)
    params = app.params(aud=aud(app))
    assert_page_refusal(authorize(client, params), NO_AUD, app.client_id)


def test_a_state_over_1024_characters_is_told_on_a_page(client: FlaskClient) -> None:
    app = ready(client)
    params = app.params(state="s" * 1025)
    assert_page_refusal(
        authorize(client, params),
        "The request's state is too long (at most 1024 characters).",
        app.client_id,
    )


def test_a_state_of_1024_characters_comes_back_whole(client: FlaskClient) -> None:
    app = ready(client)
    params = app.params(state="s" * 1024)
    response = decide(client, consent_page(client, params), decision="deny")
    assert_redirected(response, params, "access_denied")


@pytest.mark.parametrize(
    "name",
    [
        "client_id",
        "redirect_uri",
        "state",
        "aud",
        "scope",
        "response_type",
        "code_challenge",
        "code_challenge_method",
        "launch",
        "nonce",
    ],
)
@pytest.mark.parametrize("same", [True, False], ids=["same-value", "other-value"])
def test_a_repeated_parameter_is_told_on_a_page(client: FlaskClient, name: str, same: bool) -> None:
    app = ready(client)
    params = app.params()
    first = params.get(name, "value")
    pairs = [*params.items()] if name in params else [*params.items(), (name, first)]
    pairs.append((name, first if same else first + "x"))
    assert_page_refusal(
        authorize(client, pairs),
        f"The parameter {name} was given more than once.",
        app.client_id,
    )


def test_a_repeated_parameter_is_refused_in_an_app_post_too(client: FlaskClient) -> None:
    app = ready(client)
    params = app.params()
    body = urlencode([*params.items(), ("scope", "user/*.cruds")])
    response = client.post(
        "/oauth/authorize", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert_page_refusal(response, "The parameter scope was given more than once.", app.client_id)


# --- refused at the app's redirect URI, with state and iss ----------------------------------


@pytest.mark.parametrize("response_type", [None, "", "foo", "token", "code token", "id_token"])
def test_a_response_type_other_than_code_is_unsupported(
    client: FlaskClient, response_type: str | None
) -> None:
    app = ready(client)
    params = app.params(response_type=response_type)
    refused_with(client, app, params, "unsupported_response_type")


PKCE_REQUIRED = "PKCE is required: send code_challenge and code_challenge_method=S256."
S256_ONLY = "code_challenge_method must be S256; plain is refused."
BAD_CHALLENGE = "Invalid 'code_challenge'"


@pytest.mark.parametrize(
    ("pkce", "description"),
    [
        ({"code_challenge": None}, PKCE_REQUIRED),
        ({"code_challenge": None, "code_challenge_method": None}, PKCE_REQUIRED),
        ({"code_challenge": ""}, PKCE_REQUIRED),
        ({"code_challenge_method": "plain"}, S256_ONLY),
        ({"code_challenge_method": None}, S256_ONLY),
        ({"code_challenge_method": "s256"}, S256_ONLY),
        ({"code_challenge_method": "S512"}, S256_ONLY),
        ({"code_challenge": "a" * 42}, BAD_CHALLENGE),
        ({"code_challenge": "a" * 129}, BAD_CHALLENGE),
        ({"code_challenge": "a" * 42 + "+"}, BAD_CHALLENGE),
        ({"code_challenge": "a" * 42 + "="}, BAD_CHALLENGE),
        ({"code_challenge": "a" * 42 + "/"}, BAD_CHALLENGE),
        ({"code_challenge": "a" * 42 + "ø"}, BAD_CHALLENGE),
    ],
    ids=[
        "no-challenge",
        "no-pkce-at-all",
        "empty-challenge",
        "plain",
        "no-method",
        "lower-case-method",
        "unknown-method",
        "challenge-too-short",
        "challenge-too-long",
        "challenge-plus",
        "challenge-padding",
        "challenge-slash",
        "challenge-non-ascii",
    ],
)
def test_pkce_s256_is_required(
    client: FlaskClient, pkce: dict[str, str | None], description: str
) -> None:
    app = ready(client)
    params = app.params(**pkce)
    refused_with(client, app, params, "invalid_request", description)


@pytest.mark.parametrize("length", [2001, 100_000])
def test_a_scope_string_over_2000_characters_is_invalid_scope(
    client: FlaskClient, length: int
) -> None:
    app = ready(client)
    scope = (STANDALONE + " ") * (length // (len(STANDALONE) + 1) + 1)
    params = app.params(scope[:length])
    refused_with(client, app, params, "invalid_scope", "The scope is too long.")


@pytest.mark.parametrize(
    ("scope", "reason"),
    [
        ("user/Condition.rs", "The app's certified release did not register it."),
        ("patient/Patient.r", "The municipality has not approved it for this app."),
        ("system/Patient.rs", "The app's certified release did not register it."),
        ("patient/Observation.rs", "There is no patient in the launch context."),
        ("bogus", "This is not a SMART scope."),
        ("", None),
    ],
)
def test_nothing_left_after_the_grant_rule_is_invalid_scope(
    client: FlaskClient, scope: str, reason: str | None
) -> None:
    app = ready(client, approved="openid fhirUser launch/patient patient/Observation.rs")
    params = app.params(scope) if scope else {**app.params(), "scope": ""}
    query = refused_with(client, app, params, "invalid_scope")
    assert query["error_description"].startswith("Nothing requested is registered and approved")
    if reason is not None:
        assert f"{scope}: {reason}" in query["error_description"]


def test_a_clinician_of_bergen_cannot_launch_in_oslo(client: FlaskClient) -> None:
    oslo = TenantFactory(organisation__name="Oslo kommune")
    bergen = TenantFactory(organisation__name="Bergen kommune")
    app = smart_app(tenant=oslo)
    enable_in(bergen, app)
    bergen_clinician = clinician_of(bergen)
    sign_in_in_english(client, bergen_clinician)
    params = app.params()
    refused_with(
        client,
        app,
        params,
        "access_denied",
        "You do not work in Oslo kommune, so you cannot open its data.",
        user=bergen_clinician,
    )


@pytest.mark.parametrize("make_user", [admin_of, lambda tenant: clinician_of(TenantFactory())])
def test_a_user_who_is_no_clinician_of_the_municipality_is_access_denied(
    client: FlaskClient, make_user: Callable[[Tenant], User]
) -> None:
    app = smart_app()
    user = make_user(app.tenant)
    sign_in_in_english(client, user)
    query = refused_with(client, app, app.params(), "access_denied", user=user)
    assert query["error_description"].startswith("You do not work in ")


def test_an_enablement_whose_roles_lack_clinician_is_access_denied(client: FlaskClient) -> None:
    app = ready(client, roles=("patient",))
    refused_with(
        client,
        app,
        app.params(),
        "access_denied",
        "The municipality has not enabled this app for clinicians.",
    )


def test_a_patient_app_gets_no_user_scopes(client: FlaskClient) -> None:
    app = ready(
        client,
        registered=REGISTERED + " user/*.rs",
        application=ApplicationFactory(audience=Audience.PATIENT),
    )
    add_patient(app.tenant, "pas-1", "Kari Nordmann")
    reason = "A patient's app sees the patient's own record only (patient/ scopes)."
    params = app.params(STANDALONE + " user/*.rs")
    page = consent_page(client, params)
    assert [s for s, _words in granted_on(page)] == STANDALONE.split()
    assert dropped_on(page) == [("user/*.rs", reason)]
    assert_code(decide(client, page, patient="pas-1"), params)
    grant = db.session.scalar(select(TokenGrant))
    assert (grant.scope, grant.launcher) == (STANDALONE, "patient")


def test_a_patient_app_asking_only_for_user_scopes_is_invalid_scope(client: FlaskClient) -> None:
    app = ready(
        client,
        registered=REGISTERED + " user/*.rs",
        application=ApplicationFactory(audience=Audience.PATIENT),
    )
    query = refused_with(client, app, app.params("user/*.rs"), "invalid_scope")
    reason = "A patient's app sees the patient's own record only (patient/ scopes)."
    assert f"user/*.rs: {reason}" in query["error_description"]


def suspend(app: SmartApp) -> None:
    releases.suspend(app.release, by=None, reason="A security flaw is being investigated.")
    db.session.flush()  # the request reads the database, not this session


def disable(app: SmartApp) -> None:
    enablement = enablements.find(app.tenant, app.release.application)
    assert enablement is not None
    enablements.disable(
        enablement,
        exit_step=ExitStep.NO_DATA_HELD.value,
        confirmed_by="Kari at the vendor",
        by=admin_of(app.tenant),
    )


@pytest.mark.parametrize(
    ("stop", "description"),
    [
        (suspend, "Release {version} is suspended."),
        (disable, "The municipality has disabled this app."),
    ],
    ids=["suspended-release", "disabled-enablement"],
)
def test_a_stopped_app_is_access_denied(
    client: FlaskClient, stop: Callable[[SmartApp], None], description: str
) -> None:
    app = ready(client)
    stop(app)
    refused_with(
        client,
        app,
        app.params(),
        "access_denied",
        description.format(version=app.release.version),
    )


def test_an_app_the_municipality_never_enabled_is_access_denied(client: FlaskClient) -> None:
    app = smart_app()
    elsewhere = TenantFactory()
    user = clinician_of(elsewhere)
    sign_in_in_english(client, user)
    params = {**app.params(), "aud": f"{ISSUER}/fhir/{elsewhere.slug}"}
    assert_redirected(
        authorize(client, params),
        params,
        "access_denied",
        "The municipality has not enabled this app.",
    )
    assert_only_audit(("access_denied", app.client_id, elsewhere.id, user.id))


# --- EHR launches ---------------------------------------------------------------------------

NOT_VALID = "The launch is not valid: it may be used, expired or another app's."


def test_a_launch_is_used_once(client: FlaskClient) -> None:
    app = ready(client)
    value = launch_for(app)
    first = app.params(EHR, launch=value)
    assert_code(decide(client, consent_page(client, first)), first)
    again = app.params(EHR, launch=value)
    response = authorize(client, again)
    assert_redirected(response, again, "invalid_request", NOT_VALID)
    assert audited() == [
        ("code_issued", app.client_id, app.tenant.id, app.clinician.id),
        ("invalid_request", app.client_id, app.tenant.id, app.clinician.id),
    ]
    assert count(AuthorizationCode) == 1
    assert count(TokenGrant) == 1


def test_a_launch_spent_between_consent_and_approval_gets_no_code(client: FlaskClient) -> None:
    app = ready(client)
    value = launch_for(app)
    params = app.params(EHR, launch=value)
    page = consent_page(client, params)
    launch.spend(value, client_id=app.client_id)  # another tab approved it meanwhile
    response = decide(client, page)
    assert_redirected(response, params, "invalid_request", NOT_VALID)
    assert_only_audit(("invalid_request", app.client_id, app.tenant.id, app.clinician.id))


def other_app(app: SmartApp) -> dict[str, object]:
    return {"client_id": smart_app(tenant=app.tenant).client_id}


def other_tenant(app: SmartApp) -> dict[str, object]:
    tenant = TenantFactory()
    enable_in(tenant, app)
    return {"tenant": tenant, "user": None}


@pytest.mark.parametrize(
    ("made", "error", "description"),
    [
        (
            lambda app: {"now": utcnow() - launch.LIFETIME - dt.timedelta(seconds=1)},
            "invalid_request",
            NOT_VALID,
        ),
        (other_app, "invalid_request", NOT_VALID),
        (
            other_tenant,
            "invalid_request",
            "The launch was made for another municipality than aud names.",
        ),
        (
            lambda app: {"user": clinician_of(app.tenant)},
            "access_denied",
            "The launch was made for another user.",
        ),
        (lambda app: {"unknown": True}, "invalid_request", NOT_VALID),
    ],
    ids=["expired", "another-app", "another-municipality", "another-user", "unknown"],
)
def test_a_launch_not_made_for_this_request_is_refused(
    client: FlaskClient,
    made: Callable[[SmartApp], dict[str, object]],
    error: str,
    description: str,
) -> None:
    app = ready(client)
    fields = made(app)
    value = "never-issued" if fields.pop("unknown", False) else launch_for(app, **fields)
    params = app.params(EHR, launch=value)
    refused_with(client, app, params, error, description)
    if value != "never-issued":
        assert not spent(value)


def test_a_launch_without_the_launch_scope_is_invalid_scope(client: FlaskClient) -> None:
    app = ready(client)
    value = launch_for(app)
    params = app.params(launch=value)
    refused_with(client, app, params, "invalid_scope", "A launch parameter needs the scope launch.")
    assert not spent(value)


def test_the_launch_scope_without_a_launch_is_refused(client: FlaskClient) -> None:
    app = ready(client)
    refused_with(client, app, app.params(EHR), "invalid_request", NOT_VALID)
