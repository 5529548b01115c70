"""Signing keys: rotation keeps the old key published for an hour; private halves encrypted."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from joserfc import jwt
from joserfc.jwk import ECKey

from auth import keys
from auth.models import SigningKey
from torget.config import new_key_encryption_key
from torget.db import db, utcnow


def test_a_rotation_signs_with_the_new_key_and_publishes_the_old_for_an_hour(db_session) -> None:
    start = utcnow()
    first = keys.rotate(start)
    assert keys.current() == first
    second = keys.rotate(start + dt.timedelta(minutes=10))
    assert keys.current() == second
    assert first.retired_at == start + dt.timedelta(minutes=10)
    within = start + dt.timedelta(minutes=69)
    assert [k["kid"] for k in keys.jwks(within)["keys"]] == [second.kid, first.kid]
    after = start + dt.timedelta(minutes=71)
    assert [k["kid"] for k in keys.jwks(after)["keys"]] == [second.kid]


def test_a_token_signed_by_the_retired_key_still_verifies_with_the_jwks(db_session) -> None:
    old = keys.rotate()
    token = jwt.encode(
        {"alg": "ES256", "kid": old.kid}, {"sub": "x"}, ECKey.import_key(keys.private_jwk(old))
    )
    keys.rotate()
    published = {k["kid"]: k for k in keys.jwks()["keys"]}
    verified = jwt.decode(token, ECKey.import_key(published[old.kid]))
    assert verified.claims == {"sub": "x"}


def test_only_public_halves_are_published_and_the_private_is_encrypted(db_session) -> None:
    key = keys.rotate()
    (jwk,) = keys.jwks()["keys"]
    assert set(jwk) == {"kty", "crv", "x", "y", "kid", "alg", "use"}
    private = keys.private_jwk(key)
    assert private["d"]
    stored = db.session.scalar(sa.select(SigningKey.private_jwk_encrypted))
    assert private["d"] not in stored
    assert '"d"' not in stored


def test_another_encryption_key_decrypts_nothing(app, db_session) -> None:
    key = keys.rotate()
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
    assert keys.ensure_current() == made


def test_the_jwks_endpoint_and_the_command(client, runner, db_session) -> None:
    empty = client.get("/oauth/jwks")
    assert (empty.status_code, empty.json) == (200, {"keys": []})
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    response = client.get("/oauth/jwks")
    assert response.mimetype == "application/jwk-set+json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    (jwk,) = response.json["keys"]
    assert jwk["kid"] in result.output
    assert "d" not in jwk
    listed = runner.invoke(args=["keys", "list"])
    assert f"{jwk['kid']}  ES256  signing" in listed.output
