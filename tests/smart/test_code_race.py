"""Ten redemptions of one authorization code at once: exactly one token, and the replay revokes it.

On PostgreSQL the ten requests are split across two gunicorn processes on one
database, as two nodes behind a load balancer. SQLite is the embedded,
single-node database: there the ten go to the one gunicorn, whose two workers
are still two processes racing on one database file. Either way only the
database can decide (auth.server's conditional UPDATE), and it must decide
once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
import requests
from sqlalchemy import func, select

from auth.models import AccessTokenRecord, AuthorizationCode, RefreshToken
from tests.auth.smart import REDIRECT_URI, smart_app
from tests.factories.gateway import add_patient
from tests.factories.marketplace import TenantFactory
from tests.smart.clinician import Clinician, pkce, query_of
from tests.smart.live import REQUEST_TIMEOUT_S, LiveTorget, LiveUrls, torget_setup
from torget import tokens
from torget.db import db

REDEMPTIONS = 10
SCOPE = "openid fhirUser launch/patient patient/Observation.rs offline_access"
PATIENT = "pas-race-1"


@dataclass(frozen=True)
class RaceApp:
    tenant: str
    client_id: str
    clinician: str


def make_race_app(urls: LiveUrls) -> RaceApp:
    tenant = TenantFactory()
    app = smart_app(tenant=tenant)
    add_patient(tenant_id=tenant.id, fhir_id=PATIENT, name="Kari Nordmann")
    db.session.flush()  # the row exists before the unit of work ends
    return RaceApp(tenant.slug, app.client_id, app.clinician.email)


pytestmark = torget_setup(make_race_app)


@pytest.fixture(scope="module")
def nodes(
    database_kind: str, live_torget: LiveTorget, start_second_torget
) -> Iterator[list[LiveTorget]]:
    """The gunicorn processes the redemptions are split across (see the module docstring)."""
    if database_kind != "postgresql":
        yield [live_torget]
        return
    second = start_second_torget()
    yield [live_torget, second]
    second.stop()


@dataclass(frozen=True)
class Code:
    value: str
    verifier: str


def fresh_code(server: LiveTorget, app: RaceApp) -> Code:
    """Drive one authorization with requests: sign in, pick the patient, approve."""
    verifier, challenge = pkce()
    params = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": SCOPE,
        "state": "race",
        "aud": f"{server.public_url}/fhir/{app.tenant}",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    authorize = f"{server.base_url}/oauth/authorize?{urlencode(params)}"
    back = query_of(Clinician(app.clinician).approve(authorize, patient=PATIENT))
    assert back["state"] == "race"
    return Code(back["code"], verifier)


def redeem(server: LiveTorget, app: RaceApp, code: Code) -> requests.Response:
    return requests.post(
        f"{server.base_url}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code.value,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": code.verifier,
            "client_id": app.client_id,
        },
        timeout=REQUEST_TIMEOUT_S,
    )


def is_active(server: LiveTorget, app: RaceApp, token: str) -> bool:
    """Introspection as the public client itself (RFC 7662; it sees its own tokens only)."""
    answer = requests.post(
        f"{server.base_url}/oauth/introspect",
        data={"token": token, "client_id": app.client_id},
        timeout=REQUEST_TIMEOUT_S,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["active"]


@dataclass(frozen=True)
class Issued:
    """What the database holds for one code: the tokens issued from it, and its grant's fate."""

    access_tokens: int
    refresh_tokens: int
    revoked_access_tokens: int
    revoked_reason: str | None


def issued_for(server: LiveTorget, code: Code) -> Issued:
    def count(model: type, grant_id: int, *where: object) -> int:
        statement = select(func.count()).select_from(model).where(model.grant_id == grant_id)
        return db.session.scalar(statement.where(*where))

    def read() -> Issued:
        this_code = AuthorizationCode.code_hash == tokens.digest(code.value)
        row = db.session.scalar(select(AuthorizationCode).where(this_code))
        assert row is not None
        assert row.used_at is not None
        revoked = AccessTokenRecord.revoked_at.is_not(None)
        return Issued(
            access_tokens=count(AccessTokenRecord, row.grant_id),
            refresh_tokens=count(RefreshToken, row.grant_id),
            revoked_access_tokens=count(AccessTokenRecord, row.grant_id, revoked),
            revoked_reason=row.grant.revoked_reason,
        )

    return server.database.run(read)


def test_ten_parallel_redemptions_give_one_token_and_the_replay_revokes_it(
    nodes: list[LiveTorget], live_data: RaceApp
) -> None:
    code = fresh_code(nodes[0], live_data)
    targets = [nodes[i % len(nodes)] for i in range(REDEMPTIONS)]
    start = threading.Barrier(REDEMPTIONS)

    def race(server: LiveTorget) -> requests.Response:
        # All threads hold here until the last is ready, then send at once.
        start.wait(timeout=REQUEST_TIMEOUT_S)
        return redeem(server, live_data, code)

    with ThreadPoolExecutor(max_workers=REDEMPTIONS) as pool:
        answers = list(pool.map(race, targets))

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] + [400] * (REDEMPTIONS - 1), [a.text for a in answers]
    (winner,) = [a.json() for a in answers if a.status_code == 200]
    assert winner["patient"] == PATIENT
    assert {a.json()["error"] for a in answers if a.status_code == 400} == {"invalid_grant"}
    # One token in the database, not merely in the answers, and the replays revoked it.
    assert issued_for(nodes[0], code) == Issued(
        access_tokens=1, refresh_tokens=1, revoked_access_tokens=1, revoked_reason="replay"
    )
    for node in nodes:
        assert not is_active(node, live_data, winner["access_token"])
        assert not is_active(node, live_data, winner["refresh_token"])


def test_a_replay_on_another_node_revokes_what_the_first_redemption_got(
    nodes: list[LiveTorget], live_data: RaceApp
) -> None:
    code = fresh_code(nodes[0], live_data)
    first = redeem(nodes[0], live_data, code)
    assert first.status_code == 200, first.text
    token = first.json()["access_token"]
    # Live on every node until the replay: the control for the test above.
    assert all(is_active(node, live_data, token) for node in nodes)

    replay = redeem(nodes[-1], live_data, code)

    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert not any(is_active(node, live_data, token) for node in nodes)
    assert issued_for(nodes[0], code) == Issued(
        access_tokens=1, refresh_tokens=1, revoked_access_tokens=1, revoked_reason="replay"
    )


def test_a_code_of_another_client_is_no_replay(nodes: list[LiveTorget], live_data: RaceApp) -> None:
    code = fresh_code(nodes[0], live_data)
    stranger = RaceApp(live_data.tenant, "app-that-does-not-exist", live_data.clinician)

    refused = redeem(nodes[-1], stranger, code)
    redeemed = redeem(nodes[0], live_data, code)

    # The unknown client is refused before the code is looked at: it stays good.
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_client"
    assert redeemed.status_code == 200, redeemed.text
    assert is_active(nodes[0], live_data, redeemed.json()["access_token"])
