"""The discovery documents, and the FHIR base's CapabilityStatement until the gateway serves it."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from auth import discovery
from auth.urls import tenant_by_slug
from torget.access import public
from torget.db import reads_without_write_lock
from torget.errors import NotFound

bp = Blueprint("discovery", __name__)


def _document(body: dict) -> Response:
    response = jsonify(body)
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


@bp.get("/.well-known/openid-configuration")
@public
def openid_configuration() -> Response:
    return _document(discovery.openid_configuration())


@bp.get("/fhir/<tenant>/.well-known/smart-configuration")
@public
@reads_without_write_lock
def smart_configuration(tenant: str) -> Response:
    if tenant_by_slug(tenant) is None:
        raise NotFound()
    return _document(discovery.smart_configuration())
