"""The floor bench/token.py measures Torget against: bare Flask, and Flask signing one JWT.

    gunicorn --workers 2 --chdir bench bare_flask:app

`GET /` answers "ok". `POST /sign/ES256` and `POST /sign/RS256` sign one
JWT shaped like a Torget access token (the same claims, `kid` and `typ`, with
PyJWT, as auth/issuing.py signs) and answer it as JSON. Each key is made and
imported once per worker, never per request: this is the cost of the
signature alone, the least any token endpoint pays per token.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from flask import Flask

app = Flask(__name__)

_KEYS: dict[str, Any] = {
    "ES256": ec.generate_private_key(ec.SECP256R1()),
    "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
}


@app.get("/")
@app.get("/readyz")  # what bench/http_endpoints.wait_ready polls
def bare() -> str:
    return "ok"


@app.post("/sign/<alg>")
def sign(alg: str) -> dict[str, Any] | tuple[str, int]:
    key = _KEYS.get(alg)
    if key is None:
        return "unknown alg", 404
    now = int(time.time())
    claims = {
        "iss": "http://127.0.0.1:5000",
        "aud": "http://127.0.0.1:5000/fhir/bench",
        "sub": "bench-backend-prod-00000000",
        "client_id": "bench-backend-prod-00000000",
        "scope": "system/Observation.rs system/Patient.rs",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 3600,
        "tenant": "bench",
        "enablement": 1,
    }
    token = jwt.encode(claims, key, algorithm=alg, headers={"kid": alg, "typ": "at+jwt"})
    return {"access_token": token, "token_type": "Bearer", "expires_in": 3600}
