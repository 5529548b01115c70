"""The Python `fhirclient` (SMART's own client library) launches against Torget under gunicorn.

The app's side is fhirclient: it reads the FHIR base's CapabilityStatement,
builds the authorize URL (with PKCE) and exchanges the code. The user's side
is a clinician's browser session (tests.smart.clinician). The journal system
of the EHR launch is a backend service that signs its own assertion with
PyJWT. The token a launch gives then reads the FHIR API through the
gateway with fhirclient's own models: exactly what its scopes allow.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from fhirclient import client as fhir
from fhirclient.models.observation import Observation
from fhirclient.models.patient import Patient
from fhirclient.server import (
    FHIRNotFoundException,
    FHIRPermissionDeniedException,
    FHIRUnauthorizedException,
)

from catalog.models import ClientType
from tests.auth.smart import REDIRECT_URI, epj, smart_app
from tests.factories.gateway import add_patient, add_vital_sign
from tests.factories.marketplace import TenantFactory
from tests.smart.clinician import Clinician, query_of
from tests.smart.live import REQUEST_TIMEOUT_S, LiveTorget, LiveUrls, torget_setup
from torget.db import db

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SCOPE = "openid fhirUser patient/Observation.rs"
PATIENTS = {"pas-py-1": "Kari Nordmann", "pas-py-2": "Ola Nordmann"}


@dataclass(frozen=True)
class Apps:
    tenant: str
    clinician: str
    public_client: str
    secret_client: str
    secret: str = field(repr=False)
    journal_client: str
    journal_key: str = field(repr=False)  # PEM, the journal system's private key
    journal_kid: str


def make_apps(urls: LiveUrls) -> Apps:
    tenant = TenantFactory()
    public = smart_app(tenant=tenant)
    confidential = smart_app(client_type=ClientType.CONFIDENTIAL_SECRET, tenant=tenant)
    journal = epj(tenant)
    for n, (fhir_id, name) in enumerate(PATIENTS.items(), start=1):
        add_patient(tenant_id=tenant.id, fhir_id=fhir_id, name=name)
        add_vital_sign(tenant.id, f"obs-py-{n}", fhir_id, "8867-4", 70 + n, "2026-10-01T08:00:00Z")
    db.session.flush()  # the rows exist before the unit of work ends
    key = journal.private_key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    assert confidential.secret is not None
    return Apps(
        tenant=tenant.slug,
        clinician=public.clinician.email,
        public_client=public.client_id,
        secret_client=confidential.client_id,
        secret=confidential.secret,
        journal_client=journal.app.client_id,
        journal_key=key.decode(),
        journal_kid=journal.kid,
    )


pytestmark = torget_setup(make_apps)


def fhir_base(server: LiveTorget, apps: Apps) -> str:
    return f"{server.public_url}/fhir/{apps.tenant}"


def fhirclient_for(server: LiveTorget, apps: Apps, **settings: str) -> fhir.FHIRClient:
    return fhir.FHIRClient(
        settings={
            "app_id": apps.public_client,
            "api_base": fhir_base(server, apps),
            "redirect_uri": REDIRECT_URI,
            "scope": SCOPE,
            **settings,
        }
    )


def verified_claims(server: LiveTorget, token: str, audience: str) -> dict[str, object]:
    """The access token's claims, its signature checked against Torget's published JWKS."""
    published = requests.get(f"{server.base_url}/oauth/jwks", timeout=REQUEST_TIMEOUT_S).json()
    kid = jwt.get_unverified_header(token)["kid"]
    (jwk,) = [key for key in published["keys"] if key["kid"] == kid]
    return jwt.decode(
        token,
        jwt.PyJWK(jwk).key,
        algorithms=["ES256"],
        audience=audience,
        issuer=server.public_url,
    )


def introspect(server: LiveTorget, token: str, **credentials: str) -> dict[str, object]:
    response = requests.post(
        f"{server.base_url}/oauth/introspect",
        data={"token": token, **credentials},
        timeout=REQUEST_TIMEOUT_S,
    )
    assert response.status_code == 200, response.text
    return response.json()


def access_token(client: fhir.FHIRClient) -> str:
    token = client.server.auth.access_token
    assert isinstance(token, str)
    return token


# --- standalone launch -----------------------------------------------------------------------


def test_a_standalone_launch_with_the_patient_picker(
    live_torget: LiveTorget, live_data: Apps
) -> None:
    client = fhirclient_for(live_torget, live_data)

    url = client.authorize_url  # reads /metadata first: the authorize endpoint is there
    sent = query_of(url)
    assert url.startswith(f"{live_torget.public_url}/oauth/authorize?")
    assert sent["scope"] == f"launch/patient {SCOPE}"
    assert sent["aud"] == fhir_base(live_torget, live_data)
    assert sent["code_challenge_method"] == "S256"
    location = Clinician(live_data.clinician).approve(url, patient="pas-py-2")
    assert location.startswith(REDIRECT_URI + "?")
    assert query_of(location)["iss"] == live_torget.public_url
    client.handle_callback(location)

    context = client.launch_context
    assert client.patient_id == "pas-py-2"
    assert context["patient"] == "pas-py-2"
    assert context["need_patient_banner"] is True
    assert context["token_type"] == "Bearer"
    assert set(context["scope"].split()) == {"launch/patient", *SCOPE.split()}
    assert "encounter" not in context
    assert client.ready
    claims = verified_claims(live_torget, access_token(client), fhir_base(live_torget, live_data))
    assert claims["patient"] == "pas-py-2"
    assert claims["client_id"] == live_data.public_client
    assert str(claims["fhirUser"]).startswith(f"{fhir_base(live_torget, live_data)}/Practitioner/")
    id_token = jwt.decode(context["id_token"], options={"verify_signature": False})
    assert id_token["aud"] == live_data.public_client
    assert id_token["fhirUser"] == claims["fhirUser"]
    # Torget's own view of the token, asked as the (public) client itself.
    seen = introspect(live_torget, access_token(client), client_id=live_data.public_client)
    assert (seen["active"], seen["patient"], seen["tenant"]) == (True, "pas-py-2", live_data.tenant)


def test_the_launch_token_reads_exactly_what_its_scopes_allow(
    live_torget: LiveTorget, live_data: Apps
) -> None:
    client = fhirclient_for(live_torget, live_data)
    location = Clinician(live_data.clinician).approve(client.authorize_url, patient="pas-py-2")
    client.handle_callback(location)

    # patient/Observation.rs: the patient's own observations, by search and by read.
    found = Observation.where(struct={"patient": "pas-py-2"}).perform_resources(client.server)
    assert [o.id for o in found] == ["obs-py-2"]
    assert found[0].valueQuantity.value == 72
    assert Observation.read("obs-py-2", client.server).subject.reference == "Patient/pas-py-2"
    everyone = Observation.where(struct={}).perform_resources(client.server)
    assert [o.id for o in everyone] == ["obs-py-2"]  # never the other patient's
    # Another patient's observation does not exist for this token; Patient is not granted.
    with pytest.raises(FHIRNotFoundException):
        Observation.read("obs-py-1", client.server)
    with pytest.raises(FHIRPermissionDeniedException) as refused:
        Patient.read("pas-py-2", client.server)
    assert refused.value.response.status_code == 403
    assert refused.value.response.json()["resourceType"] == "OperationOutcome"


def test_the_code_from_a_callback_is_spent_by_the_first_exchange(
    live_torget: LiveTorget, live_data: Apps
) -> None:
    client = fhirclient_for(live_torget, live_data)
    location = Clinician(live_data.clinician).approve(client.authorize_url, patient="pas-py-1")
    client.handle_callback(location)
    first_token = access_token(client)
    assert introspect(live_torget, first_token, client_id=live_data.public_client)["active"]

    with pytest.raises(requests.HTTPError) as replayed:
        client.handle_callback(location)

    assert replayed.value.response.status_code == 400
    assert replayed.value.response.json()["error"] == "invalid_grant"
    # The replay revoked what the first exchange was issued.
    assert introspect(live_torget, first_token, client_id=live_data.public_client) == {
        "active": False
    }


def test_a_denied_consent_reaches_fhirclient_as_an_error(
    live_torget: LiveTorget, live_data: Apps
) -> None:
    client = fhirclient_for(live_torget, live_data)
    clinician = Clinician(live_data.clinician)
    location = clinician.decide(clinician.consent(client.authorize_url), "deny")

    assert query_of(location)["error"] == "access_denied"
    with pytest.raises(Exception, match=r"The user declined\."):
        client.handle_callback(location)
    assert client.launch_context is None
    assert not client.ready


# --- a confidential client with a secret (client_secret_basic) -------------------------------


def test_a_confidential_client_authenticates_with_its_secret(
    live_torget: LiveTorget, live_data: Apps
) -> None:
    client = fhirclient_for(
        live_torget, live_data, app_id=live_data.secret_client, app_secret=live_data.secret
    )
    location = Clinician(live_data.clinician).approve(client.authorize_url, patient="pas-py-1")

    client.handle_callback(location)  # fhirclient sends the secret as HTTP Basic

    assert client.patient_id == "pas-py-1"
    assert client.launch_context["need_patient_banner"] is True
    claims = verified_claims(live_torget, access_token(client), fhir_base(live_torget, live_data))
    assert claims["client_id"] == live_data.secret_client
    assert claims["patient"] == "pas-py-1"
    # A confidential client introspects with its secret, as it authenticated.
    seen = requests.post(
        f"{live_torget.base_url}/oauth/introspect",
        data={"token": access_token(client)},
        auth=(live_data.secret_client, live_data.secret),
        timeout=REQUEST_TIMEOUT_S,
    ).json()
    assert (seen["active"], seen["client_id"]) == (True, live_data.secret_client)


def test_a_confidential_client_with_a_wrong_secret_gets_no_token(
    live_torget: LiveTorget, live_data: Apps
) -> None:
    client = fhirclient_for(
        live_torget, live_data, app_id=live_data.secret_client, app_secret="not-the-secret"
    )
    location = Clinician(live_data.clinician).approve(client.authorize_url, patient="pas-py-1")

    # fhirclient raises its own exception for a 401.
    with pytest.raises(FHIRUnauthorizedException) as refused:
        client.handle_callback(location)

    assert refused.value.response.status_code == 401
    assert refused.value.response.json()["error"] == "invalid_client"
    assert not client.ready


# --- EHR launch from the journal system ------------------------------------------------------


def journal_assertion(server: LiveTorget, apps: Apps, key: str | None = None) -> str:
    """The journal system's client assertion (RFC 7523), signed with its ES384 key by PyJWT."""
    now = int(time.time())
    claims = {
        "iss": apps.journal_client,
        "sub": apps.journal_client,
        "aud": f"{server.public_url}/oauth/token",
        "iat": now,
        "exp": now + 240,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(
        claims, key or apps.journal_key, algorithm="ES384", headers={"kid": apps.journal_kid}
    )


def journal_token(server: LiveTorget, assertion: str) -> requests.Response:
    return requests.post(
        f"{server.base_url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "scope": "system/launch",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
        timeout=REQUEST_TIMEOUT_S,
    )


def create_launch(server: LiveTorget, apps: Apps, **context: str) -> dict[str, object]:
    """What the journal system does to open the app: a token, then `POST /oauth/launch`."""
    token = journal_token(server, journal_assertion(server, apps))
    assert token.status_code == 200, token.text
    assert token.json()["scope"] == "system/launch"
    made = requests.post(
        f"{server.base_url}/oauth/launch",
        json={"client_id": apps.public_client, "user": apps.clinician, **context},
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        timeout=REQUEST_TIMEOUT_S,
    )
    assert made.status_code == 201, made.text
    return made.json()


def test_an_ehr_launch_from_the_journal_system(live_torget: LiveTorget, live_data: Apps) -> None:
    launch = create_launch(live_torget, live_data, patient="pas-py-1", encounter="enc-py-7")
    assert launch["iss"] == fhir_base(live_torget, live_data)
    client = fhirclient_for(
        live_torget, live_data, api_base=str(launch["iss"]), launch_token=str(launch["launch"])
    )

    url = client.authorize_url
    assert query_of(url)["launch"] == launch["launch"]
    assert query_of(url)["scope"] == f"launch {SCOPE}"
    # The context names the patient: no picker, approve as is.
    location = Clinician(live_data.clinician).approve(url)
    client.handle_callback(location)

    context = client.launch_context
    assert client.patient_id == "pas-py-1"
    assert (context["patient"], context["encounter"]) == ("pas-py-1", "enc-py-7")
    # The journal shows its own patient banner around the app.
    assert context["need_patient_banner"] is False
    assert set(context["scope"].split()) == {"launch", *SCOPE.split()}
    claims = verified_claims(live_torget, access_token(client), str(launch["iss"]))
    assert (claims["patient"], claims["encounter"]) == ("pas-py-1", "enc-py-7")


def test_a_launch_opens_the_app_once(live_torget: LiveTorget, live_data: Apps) -> None:
    launch = create_launch(live_torget, live_data, patient="pas-py-2")
    settings = {"api_base": str(launch["iss"]), "launch_token": str(launch["launch"])}
    first = fhirclient_for(live_torget, live_data, **settings)
    clinician = Clinician(live_data.clinician)
    first.handle_callback(clinician.approve(first.authorize_url))
    assert first.patient_id == "pas-py-2"

    second = fhirclient_for(live_torget, live_data, **settings)
    refused = clinician.open(second.authorize_url)  # told at the app's redirect URI

    assert refused.status_code == 302
    location = refused.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    assert query_of(location)["error"] == "invalid_request"
    with pytest.raises(Exception, match=r"The launch is not valid"):
        second.handle_callback(location)
    assert second.patient_id is None


def test_a_journal_assertion_signed_with_another_key_gets_no_token(
    live_torget: LiveTorget, live_data: Apps
) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    stranger = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )

    refused = journal_token(
        live_torget, journal_assertion(live_torget, live_data, key=stranger.decode())
    )

    # RFC 6749 §5.2: 400, since the client did not authenticate with an Authorization header.
    assert refused.status_code == 400
    body = refused.json()
    assert body["error"] == "invalid_client"
    assert "access_token" not in body
    # The reason is for the app's developers: English, in the ASCII RFC 6749 §5.2 allows.
    # (A bokmål reason once reached Authlib, which refused the letter å: a 500.)
    assert body["error_description"] == "The assertion's signature does not verify."


def test_the_fhir_base_fhirclient_reads_names_torgets_endpoints(
    live_torget: LiveTorget, live_data: Apps
) -> None:
    client = fhirclient_for(live_torget, live_data)

    client.prepare()  # fetches and parses the CapabilityStatement with fhirclient's models

    auth = client.server.auth
    assert auth.auth_type == "oauth2"
    assert auth.state["authorize_uri"] == f"{live_torget.public_url}/oauth/authorize"
    assert auth.state["token_uri"] == f"{live_torget.public_url}/oauth/token"
    assert not client.ready  # no token before a launch
