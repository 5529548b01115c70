"""Signing keys: rotation keeps the old key published for an hour; private halves encrypted."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey
from joserfc.util import base64_to_int

from auth import keys
from auth.models import SigningKey
from torget.config import new_key_encryption_key
from torget.db import db, utcnow


def test_a_rotation_signs_with_new_keys_and_publishes_the_old_for_an_hour(db_session) -> None:
    start = utcnow()
    first = keys.rotate(start)
    assert [k.alg for k in first] == ["ES256", "RS256"]
    assert [keys.current("ES256"), keys.current("RS256")] == first
    assert keys.current() == first[0]  # access tokens
    second = keys.rotate(start + dt.timedelta(minutes=10))
    assert [keys.current("ES256"), keys.current("RS256")] == second
    assert {k.retired_at for k in first} == {start + dt.timedelta(minutes=10)}
    within = start + dt.timedelta(minutes=69)
    assert {k["kid"] for k in keys.jwks(within)["keys"]} == {k.kid for k in first + second}
    after = start + dt.timedelta(minutes=71)
    assert {k["kid"] for k in keys.jwks(after)["keys"]} == {k.kid for k in second}


def test_a_token_signed_by_a_retired_key_still_verifies_with_the_jwks(db_session) -> None:
    old_ec, old_rsa = keys.rotate()
    tokens = [
        jwt.encode(
            {"alg": "ES256", "kid": old_ec.kid},
            {"sub": "x"},
            ECKey.import_key(keys.private_jwk(old_ec)),
        ),
        jwt.encode(
            {"alg": "RS256", "kid": old_rsa.kid},
            {"sub": "x"},
            RSAKey.import_key(keys.private_jwk(old_rsa)),
        ),
    ]
    keys.rotate()
    published = {k["kid"]: k for k in keys.jwks()["keys"]}
    for token, kid, kind in zip(tokens, [old_ec.kid, old_rsa.kid], [ECKey, RSAKey], strict=True):
        verified = jwt.decode(token, kind.import_key(published[kid]))
        assert verified.claims == {"sub": "x"}


PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi"}  # RFC 7518 §6.2.2 and §6.3.2


def test_only_public_halves_are_published_and_the_private_is_encrypted(db_session) -> None:
    made = keys.rotate()
    ec_jwk, rsa_jwk = sorted(keys.jwks()["keys"], key=lambda k: k["kty"])
    assert set(ec_jwk) == {"kty", "crv", "x", "y", "kid", "alg", "use"}
    assert set(rsa_jwk) == {"kty", "n", "e", "kid", "alg", "use"}
    assert base64_to_int(rsa_jwk["n"]).bit_length() >= 2048
    stored = db.session.scalars(sa.select(SigningKey.private_jwk_encrypted)).all()
    for key in made:
        private = keys.private_jwk(key)
        assert private["d"]
        for member in PRIVATE_MEMBERS & set(private):
            assert all(private[member] not in sealed for sealed in stored)
    assert all('"d"' not in sealed for sealed in stored)


def test_another_encryption_key_decrypts_nothing(app, db_session) -> None:
    key, _rsa = keys.rotate()
    config = app.config["TORGET"]
    original = config.key_encryption_key
    object.__setattr__(config, "key_encryption_key", new_key_encryption_key())
    try:
        with pytest.raises(keys.KeyUnavailable, match="TORGET_KEY_ENCRYPTION_KEY"):
            keys.private_jwk(key)
    finally:
        object.__setattr__(config, "key_encryption_key", original)
    assert keys.private_jwk(key)["d"]


def test_no_key_until_one_is_made(db_session) -> None:
    with pytest.raises(keys.KeyUnavailable):
        keys.current()
    made = keys.ensure_current()
    assert [k.alg for k in made] == ["ES256", "RS256"]
    assert keys.ensure_current() == made


def test_an_instance_without_an_id_token_key_gets_one_and_keeps_its_access_token_key(
    db_session,
) -> None:
    """Instances made before ID tokens were signed with RS256 have an ES256 key only."""
    ec_key, rsa_key = keys.rotate()
    db.session.delete(rsa_key)
    db.session.flush()
    with pytest.raises(keys.KeyUnavailable):
        keys.current("RS256")

    made = keys.ensure("RS256")

    assert made.alg == "RS256"
    assert keys.current("RS256") == made
    assert keys.current() == ec_key
    assert ec_key.retired_at is None


def test_the_jwks_endpoint_and_the_command(client, runner, db_session) -> None:
    empty = client.get("/oauth/jwks")
    assert (empty.status_code, empty.json) == (200, {"keys": []})
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    response = client.get("/oauth/jwks")
    assert response.mimetype == "application/jwk-set+json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    published = response.json["keys"]
    assert sorted(jwk["alg"] for jwk in published) == ["ES256", "RS256"]
    listed = runner.invoke(args=["keys", "list"])
    for jwk in published:
        assert jwk["kid"] in result.output
        assert not PRIVATE_MEMBERS & set(jwk)
        assert f"{jwk['kid']}  {jwk['alg']}  signing" in listed.output
