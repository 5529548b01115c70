"""The authorization server's public endpoints (so far: the JWKS)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from auth import keys
from torget.access import public

bp = Blueprint("oauth", __name__, url_prefix="/oauth")


@bp.get("/jwks")
@public
def jwks() -> Response:
    """The public keys that verify Torget's tokens: the current one and those just retired."""
    response = jsonify(keys.jwks())
    response.mimetype = "application/jwk-set+json"
    # Browser apps and resource servers on other origins fetch it (SMART 2.2 asks for CORS).
    response.headers["Access-Control-Allow-Origin"] = "*"
    # Short: a rotation must reach verifiers well within a token's lifetime.
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response
