"""private_key_jwt: client assertions checked against the keys a release registered."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from flask import Flask
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from auth.assertions import MAX_ASSERTION_LENGTH, AssertionRefused, verify_client_assertion
from auth.models import UsedAssertion
from catalog import credentials
from catalog.keys import JwksFetcher
from catalog.models import Client, ClientType, Environment, Release, ReleaseState
from tests.factories.catalog import ReleaseFactory
from torget import tokens
from torget.db import db, utcnow

pytestmark = pytest.mark.usefixtures("english")

TOKEN_ENDPOINT = "https://torget.example/oauth/token"
NOW = utcnow().replace(microsecond=0)


# --- keys, made with cryptography; assertions signed with PyJWT -------------------
# The verifier uses joserfc: a second implementation signs, as a vendor's would.

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def p384() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


@pytest.fixture(scope="module")
def p256() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public(key: PrivateKey, kid: str, **extra: str) -> dict[str, Any]:
    algorithm = RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else ECAlgorithm
    return algorithm.to_jwk(key.public_key(), as_dict=True) | {"kid": kid} | extra


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A compact JWS put together by hand, for what no library would sign."""
    segments = [_b64(json.dumps(part).encode()) for part in (header, claims)]
    return ".".join([*segments, _b64(signature)])


def signed_by_hand(header: dict[str, Any], claims: dict[str, Any], private: PrivateKey) -> str:
    """Signed with cryptography itself (SHA-384), where PyJWT refuses to sign."""
    signing_input = unsigned(header, claims).rsplit(".", 1)[0].encode()
    if isinstance(private, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(private.sign(signing_input, ec.ECDSA(hashes.SHA384())))
        size = (private.curve.key_size + 7) // 8
        signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    else:
        signature = private.sign(signing_input, padding.PKCS1v15(), hashes.SHA384())
    return f"{signing_input.decode()}.{_b64(signature)}"


# --- an app whose current release authenticates with keys -----------------------


@dataclass
class KeyClient:
    client: Client
    release: Release
    keys: dict[str, PrivateKey]

    @property
    def client_id(self) -> str:
        return self.client.client_id

    def claims(self, **changes: Any) -> dict[str, Any]:
        """SMART's claims, valid at NOW; a change to None leaves the claim out."""
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": TOKEN_ENDPOINT,
            "exp": int(NOW.timestamp()) + 240,
            "iat": int(NOW.timestamp()),
            "jti": tokens.new(),
        } | changes
        return {name: value for name, value in claims.items() if value is not None}

    def sign(
        self,
        claims: dict[str, Any] | None = None,
        *,
        alg: str = "RS384",
        kid: str = "rsa-1",
        key: PrivateKey | None = None,
        **header: Any,
    ) -> str:
        fields = {"typ": "JWT", "kid": kid} | header
        # None leaves a member out; PyJWT itself drops a typ of None (it adds "JWT" otherwise).
        fields = {name: value for name, value in fields.items() if value or name == "typ"}
        # A kid the client does not have: signed by its first key all the same.
        key = key or self.keys.get(kid) or next(iter(self.keys.values()))
        return jwt.encode(claims or self.claims(), key, algorithm=alg, headers=fields)


def key_client(
    keys: dict[str, PrivateKey],
    *,
    client_type: ClientType = ClientType.CONFIDENTIAL_KEY,
    jwks_url: str | None = None,
) -> KeyClient:
    release = ReleaseFactory(
        state=ReleaseState.CERTIFIED,
        client_type=client_type,
        jwks=None if jwks_url else {"keys": [public(key, kid) for kid, key in keys.items()]},
        jwks_url=jwks_url,
    )
    client = credentials.ensure_client(release.application, Environment.PRODUCTION)
    return KeyClient(client, release, keys)


@pytest.fixture
def app_client(db_session, rsa_key, p384, p256) -> KeyClient:
    """An app with an inline key set: an RSA key, a P-384 and a P-256 key."""
    return key_client({"rsa-1": rsa_key, "ec-1": p384, "ec-256": p256})


def verify(assertion: str, *, client_id: str | None = None, now: dt.datetime = NOW) -> Client:
    client, _release = verify_client_assertion(
        assertion, client_id=client_id, token_endpoint=TOKEN_ENDPOINT, now=now
    )
    return client


def used() -> list[tuple[str, str]]:
    return list(db.session.execute(sa.select(UsedAssertion.client_id, UsedAssertion.jti_hash)))


def refused(assertion: str, *, client_id: str | None = None, now: dt.datetime = NOW) -> str:
    """The refusal's message; and nothing was written for it."""
    before = used()
    with pytest.raises(AssertionRefused) as refusal:
        verify(assertion, client_id=client_id, now=now)
    assert used() == before
    return str(refusal.value)


# --- accepted ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alg", "kid"),
    [
        ("RS384", "rsa-1"),
        ("ES384", "ec-1"),
        ("RS256", "rsa-1"),
        ("ES256", "ec-256"),
        ("RS512", "rsa-1"),
        ("PS384", "rsa-1"),
    ],
)
def test_a_signed_assertion_authenticates_its_client_and_spends_its_jti(app_client, alg, kid):
    claims = app_client.claims()
    assert verify(app_client.sign(claims, alg=alg, kid=kid)) == app_client.client
    row = db.session.scalar(sa.select(UsedAssertion))
    assert (row.client_id, row.jti_hash) == (app_client.client_id, tokens.digest(claims["jti"]))
    assert row.jti_hash != claims["jti"]  # only a hash is kept
    assert row.expires_at == dt.datetime.fromtimestamp(claims["exp"], dt.UTC)


def test_a_backend_service_authenticates_the_same_way(db_session, p384):
    backend = key_client({"ec-1": p384}, client_type=ClientType.BACKEND)
    assert verify(backend.sign(alg="ES384", kid="ec-1")) == backend.client


@pytest.mark.parametrize(
    ("header", "claims"),
    [
        ({"typ": "jwt"}, {}),  # typ is case-insensitive
        ({"typ": None}, {}),  # typ is optional
        ({}, {"aud": ["https://other.example/token", TOKEN_ENDPOINT]}),
        ({}, {"iat": None, "nbf": int(NOW.timestamp()) + 29}),  # within the clock skew
        ({}, {"exp": int(NOW.timestamp()) - 29}),  # expired, but within the clock skew
        ({}, {"exp": int(NOW.timestamp()) + 330}),  # five minutes and the skew ahead
    ],
)
def test_what_the_rules_allow_is_accepted(app_client, header, claims):
    assert verify(app_client.sign(app_client.claims(**claims), **header)) == app_client.client


def test_a_client_id_in_the_form_must_be_the_issuer(app_client):
    assertion = app_client.sign()
    message = refused(assertion, client_id="someone-else")
    assert message == "The client_id is not the assertion's iss and sub."
    assert verify(assertion, client_id=app_client.client_id) == app_client.client


# --- refused: the header and the signature -----------------------------------------


def test_alg_none_is_refused(app_client):
    assertion = unsigned({"alg": "none", "typ": "JWT", "kid": "rsa-1"}, app_client.claims())
    assert refused(assertion).startswith("The assertion's alg must be one of RS384, ES384")


def test_hs256_keyed_with_the_public_key_is_refused(app_client, rsa_key):
    """The old trick: an HMAC whose secret is the server's copy of the public key."""
    pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}
    claims = app_client.claims()
    signing_input = unsigned(header, claims).rsplit(".", 1)[0]
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    assert refused(f"{signing_input}.{_b64(mac)}").startswith("The assertion's alg must be one of")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ({"typ": "at+jwt"}, 'The assertion\'s typ, when present, must be "JWT".'),
        ({"kid": None}, "The assertion's header needs the kid of the key that signed it."),
        ({"kid": "unknown"}, "No key the app registered has the kid unknown for RS384."),
        (
            {"jku": "https://evil.example/jwks.json"},
            "The jku in the assertion's header is not the key set URL the app registered.",
        ),
    ],
)
def test_a_header_out_of_the_rules_is_refused(app_client, header, message):
    assert refused(app_client.sign(**header)) == message


def test_hs512_and_others_outside_the_list_are_refused(app_client):
    secret = b"a shared secret is no key of a client" * 2
    header = {"alg": "HS512", "typ": "JWT", "kid": "rsa-1"}
    signing_input = unsigned(header, app_client.claims()).rsplit(".", 1)[0]
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha512).digest()
    assert refused(f"{signing_input}.{_b64(mac)}").startswith("The assertion's alg must be one of")


def test_an_rsa_key_is_never_used_for_an_ec_algorithm_or_the_reverse(app_client, p384, rsa_key):
    # Signed correctly, but the kid names a key of the other type.
    assert (
        refused(app_client.sign(alg="ES384", kid="rsa-1", key=p384))
        == "No key the app registered has the kid rsa-1 for ES384."
    )
    assert (
        refused(app_client.sign(alg="RS384", kid="ec-1", key=rsa_key))
        == "No key the app registered has the kid ec-1 for RS384."
    )


def test_a_header_with_critical_extensions_is_refused(app_client, rsa_key):
    header = {"alg": "RS384", "typ": "JWT", "kid": "rsa-1", "crit": ["urn:x"], "urn:x": 1}
    message = refused(signed_by_hand(header, app_client.claims(), rsa_key))
    assert message == "The assertion's header has critical extensions (crit)."


def test_an_ec_key_only_serves_the_algorithm_of_its_curve(app_client, p256):
    """ECDSA verifies a P-256 signature over a SHA-384 digest; ES384 means P-384."""
    header = {"alg": "ES384", "typ": "JWT", "kid": "ec-256"}
    message = refused(signed_by_hand(header, app_client.claims(), p256))
    assert message == "No key the app registered has the kid ec-256 for ES384."


def test_a_key_registered_for_one_algorithm_is_not_used_for_another(db_session, rsa_key):
    release = ReleaseFactory(
        state=ReleaseState.CERTIFIED,
        client_type=ClientType.CONFIDENTIAL_KEY,
        jwks={"keys": [public(rsa_key, "rsa-1", alg="RS256")]},
    )
    client = credentials.ensure_client(release.application, Environment.PRODUCTION)
    pinned = KeyClient(client, release, {"rsa-1": rsa_key})
    assert refused(pinned.sign(alg="RS384")) == (
        "No key the app registered has the kid rsa-1 for RS384."
    )
    assert verify(pinned.sign(alg="RS256")) == client


def test_a_signature_by_another_key_with_the_same_kid_is_refused(app_client, other_rsa_key):
    message = refused(app_client.sign(key=other_rsa_key))
    assert message == "The assertion's signature does not verify."


def test_a_tampered_payload_is_refused(app_client):
    header, _payload, signature = app_client.sign().split(".")
    forged = _b64(json.dumps(app_client.claims(exp=int(NOW.timestamp()) + 100)).encode())
    message = refused(f"{header}.{forged}.{signature}")
    assert message == "The assertion's signature does not verify."


# --- refused: the claims -----------------------------------------------------------

SECONDS = int(NOW.timestamp())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"exp": SECONDS - 31}, "The assertion has expired."),
        ({"exp": SECONDS + 600}, "The assertion's exp is more than 5 minutes ahead."),
        ({"exp": None}, "The assertion needs an exp."),
        ({"exp": "soon"}, "The assertion's exp must be a number of seconds since 1970."),
        ({"exp": True}, "The assertion's exp must be a number of seconds since 1970."),
        ({"exp": float("nan")}, "The assertion's exp must be a number of seconds since 1970."),
        ({"iat": SECONDS + 60}, "The assertion's iat is in the future."),
        ({"nbf": SECONDS + 60}, "The assertion's nbf is in the future."),
        (
            {"aud": "https://other.example/oauth/token"},
            f"The assertion's aud must be the token endpoint, {TOKEN_ENDPOINT}.",
        ),
        (
            {"aud": ["https://other.example/oauth/token"]},
            f"The assertion's aud must be the token endpoint, {TOKEN_ENDPOINT}.",
        ),
        ({"aud": None}, f"The assertion's aud must be the token endpoint, {TOKEN_ENDPOINT}."),
        ({"sub": "someone-else"}, "The assertion's iss and sub must both be the client_id."),
        ({"sub": None}, "The assertion's iss and sub must both be the client_id."),
        ({"jti": None}, "The assertion needs a jti of 1 to 255 characters."),
        ({"jti": ""}, "The assertion needs a jti of 1 to 255 characters."),
        ({"jti": "j" * 256}, "The assertion needs a jti of 1 to 255 characters."),
        ({"jti": 42}, "The assertion needs a jti of 1 to 255 characters."),
    ],
)
def test_claims_out_of_the_rules_are_refused(app_client, changes, message):
    assert refused(app_client.sign(app_client.claims(**changes))) == message


def test_a_jti_of_255_characters_is_accepted(app_client):
    assert verify(app_client.sign(app_client.claims(jti="j" * 255))) == app_client.client


def test_an_unknown_client_is_refused(app_client):
    claims = app_client.claims(iss="nobody", sub="nobody")
    message = refused(app_client.sign(claims))
    assert message == "The assertion's iss is not a client of this server."


@pytest.mark.parametrize("client_type", [ClientType.PUBLIC, ClientType.CONFIDENTIAL_SECRET])
def test_a_client_without_keys_is_refused(app_client, client_type):
    release = ReleaseFactory(state=ReleaseState.CERTIFIED, client_type=client_type)
    client = credentials.ensure_client(release.application, Environment.PRODUCTION)
    claims = app_client.claims(iss=client.client_id, sub=client.client_id)
    message = refused(app_client.sign(claims))
    assert message == "This client does not authenticate with a key."


def test_a_client_whose_release_was_suspended_is_refused(app_client):
    app_client.release.state = ReleaseState.SUSPENDED
    db.session.flush()
    assert refused(app_client.sign()) == "The client has no release it may run now."


def test_a_replayed_assertion_is_refused_and_its_jti_kept_once(app_client):
    assertion = app_client.sign()
    verify(assertion)
    assert refused(assertion) == "This assertion was used before: it is a replay."
    # A new assertion with the same jti is just as much a replay.
    jti = json.loads(base64.urlsafe_b64decode(assertion.split(".")[1] + "=="))["jti"]
    assert refused(app_client.sign(app_client.claims(jti=jti, exp=SECONDS + 120))) == (
        "This assertion was used before: it is a replay."
    )
    assert len(used()) == 1
    # The transaction survived the failed insert: the next request goes on.
    assert verify(app_client.sign()) == app_client.client
    assert len(used()) == 2


def test_the_same_jti_from_another_client_is_not_a_replay(app_client, p384):
    other = key_client({"ec-1": p384}, client_type=ClientType.BACKEND)
    verify(app_client.sign(app_client.claims(jti="shared-jti")))
    assert verify(other.sign(other.claims(jti="shared-jti"), alg="ES384", kid="ec-1")) == (
        other.client
    )
    assert sorted(client_id for client_id, _hash in used()) == sorted(
        [app_client.client_id, other.client_id]
    )


def test_long_expired_jtis_are_purged_when_a_new_one_is_spent(app_client):
    db.session.add_all(
        [
            UsedAssertion(
                client_id="old", jti_hash="a" * 64, expires_at=NOW - dt.timedelta(hours=1)
            ),
            # Still within the clock skew and its margin: it might yet be replayed.
            UsedAssertion(
                client_id="old", jti_hash="b" * 64, expires_at=NOW - dt.timedelta(seconds=30)
            ),
        ]
    )
    db.session.flush()
    refused(app_client.sign(app_client.claims(aud="https://elsewhere.example/")))
    assert len(used()) == 2  # a refusal purges nothing either
    verify(app_client.sign())
    remaining = {jti_hash for client_id, jti_hash in used() if client_id == "old"}
    assert remaining == {"b" * 64}


# --- refused: not a usable JWT at all ----------------------------------------------


def test_an_oversized_assertion_is_refused(app_client):
    padding = "x" * MAX_ASSERTION_LENGTH
    assertion = app_client.sign(app_client.claims(padding=padding))
    assert len(assertion) > MAX_ASSERTION_LENGTH
    assert (
        refused(assertion) == f"The client assertion is longer than {MAX_ASSERTION_LENGTH} bytes."
    )


def test_a_header_with_a_long_jku_is_read_in_full(db_session, rsa_key, jwks_server):
    """joserfc's own limit on a header is 512 bytes; a registered URL may be longer."""
    path = "/keys/" + "k" * 600 + ".json"
    url = jwks_server.serve(path, {"keys": [public(rsa_key, "rsa-1")]})
    app = key_client({"rsa-1": rsa_key}, jwks_url=url)
    assert verify(app.sign(jku=url)) == app.client


@pytest.mark.parametrize(
    "assertion",
    [
        "",
        "not a jwt",
        "a.b.c",
        "a.b",
        "é.é.é",
        "!!!." + _b64(b"{}") + ".",
        _b64(b"[1, 2]") + "." + _b64(b"{}") + ".",
        _b64(b'{"alg": "RS384", "kid": "rsa-1"}') + "." + _b64(b"[1, 2]") + "." + _b64(b"sig"),
        _b64(b'{"alg": "RS384", "kid": "rsa-1"}') + "." + _b64(b"not json") + "." + _b64(b"s"),
    ],
)
def test_garbage_is_refused(app_client, assertion):
    assert refused(assertion) in {
        "The client assertion is not a signed JWT.",
        "The assertion's alg must be one of RS384, ES384, RS256, ES256, RS512, ES512, PS384.",
    }


# --- keys at a jwks_url ------------------------------------------------------------


class JwksServer:
    """A local HTTP server for a client's key sets, counting each request.

    The app's fetcher lives as long as the test session and caches by URL; a
    port the system hands out again must not find an earlier test's set, so
    every server's URLs start with a prefix of their own.
    """

    def __init__(self) -> None:
        self.prefix = "/" + secrets.token_hex(8)
        self.documents: dict[str, bytes] = {}
        self.hits: Counter[str] = Counter()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.removeprefix(owner.prefix)
                owner.hits[path] += 1
                body = owner.documents.get(path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/jwk-set+json")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{self.prefix}{path}"

    def serve(self, path: str, document: object) -> str:
        self.documents[path] = json.dumps(document).encode()
        return self.url(path)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    running = JwksServer()
    yield running
    running.close()


@pytest.fixture
def eager_fetcher(app: Flask, monkeypatch) -> JwksFetcher:
    """The app's fetcher, without the minute between forced refreshes."""
    fetcher = JwksFetcher(allow_insecure_loopback=True, min_refresh_interval=0)
    monkeypatch.setitem(app.extensions, "torget_jwks", fetcher)
    return fetcher


def test_keys_at_a_jwks_url_are_fetched_once_and_cached(db_session, jwks_server, rsa_key, p384):
    url = jwks_server.serve(
        "/jwks.json", {"keys": [public(rsa_key, "rsa-1"), public(p384, "ec-1")]}
    )
    app = key_client({"rsa-1": rsa_key, "ec-1": p384}, jwks_url=url)
    assert verify(app.sign()) == app.client
    assert verify(app.sign(alg="ES384", kid="ec-1", jku=url)) == app.client
    assert jwks_server.hits["/jwks.json"] == 1


def test_a_rotated_key_is_found_by_fetching_the_set_again(
    db_session, jwks_server, eager_fetcher, rsa_key, p384
):
    url = jwks_server.serve("/jwks.json", {"keys": [public(rsa_key, "rsa-1")]})
    app = key_client({"rsa-1": rsa_key, "ec-new": p384}, jwks_url=url)
    assert verify(app.sign()) == app.client
    # The vendor rotates to a new key; Torget's cached set does not have it yet.
    jwks_server.serve("/jwks.json", {"keys": [public(p384, "ec-new")]})
    assert verify(app.sign(alg="ES384", kid="ec-new")) == app.client
    assert jwks_server.hits["/jwks.json"] == 2
    # A kid the new set lacks too: one more look, then a refusal.
    message = refused(app.sign(kid="gone"))
    assert message == "No key the app registered has the kid gone for RS384."
    assert jwks_server.hits["/jwks.json"] == 3


def test_unknown_kids_do_not_become_a_flood_of_fetches(db_session, jwks_server, rsa_key):
    """The app's own fetcher refreshes a set at most once a minute."""
    url = jwks_server.serve("/flood.json", {"keys": [public(rsa_key, "rsa-1")]})
    app = key_client({"rsa-1": rsa_key}, jwks_url=url)
    assert verify(app.sign()) == app.client
    for attempt in range(5):
        refused(app.sign(kid=f"unknown-{attempt}"))
    assert jwks_server.hits["/flood.json"] == 1


def test_a_key_set_that_cannot_be_fetched_is_a_refusal(db_session, jwks_server, rsa_key):
    app = key_client({"rsa-1": rsa_key}, jwks_url=jwks_server.url("/missing"))
    message = refused(app.sign())
    assert message == (
        "The app's key set could not be used: The app's server answered HTTP 404 for its key set."
    )


def test_a_key_set_url_that_serves_no_key_set_is_a_refusal(db_session, jwks_server, rsa_key):
    app = key_client({"rsa-1": rsa_key}, jwks_url=jwks_server.serve("/odd", {"keys": "none"}))
    message = refused(app.sign())
    assert message.startswith("The app's key set could not be used: The key set at this address")


def test_jku_must_be_the_registered_url_exactly(db_session, jwks_server, rsa_key):
    url = jwks_server.serve("/jwks.json", {"keys": [public(rsa_key, "rsa-1")]})
    app = key_client({"rsa-1": rsa_key}, jwks_url=url)
    elsewhere = jwks_server.serve("/other.json", {"keys": [public(rsa_key, "rsa-1")]})
    for jku in (elsewhere, url + "?", url.replace("127.0.0.1", "localhost")):
        message = refused(app.sign(jku=jku))
        assert message == (
            "The jku in the assertion's header is not the key set URL the app registered."
        )
    assert jwks_server.hits["/other.json"] == 0  # a jku is never fetched
