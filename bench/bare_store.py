"""The floor bench/fhir_api.py measures the FHIR gateway against: the same store, enforcement off.

    gunicorn -c deploy/gunicorn.conf.py 'bench.bare_store:create_app()'   # from the repository root

This is Torget itself (`torget.app.create_app`: the same configuration and request
shell, one transaction per request, the request log, metrics, security headers) with the
views of the gateway's read and search swapped for ones that call the store directly:
no bearer token, no live-status check, no scope enforcement, no audit row. The URLs,
the blueprint (its CORS header and error answers) and the answers are the gateway's, so
what Torget's own answers cost beyond these is what the gateway adds per request.

Run it from the repository root as `bench.bare_store`, as bench/fhir_api.py does.
"""

from __future__ import annotations

from flask import Flask, Response, request

from auth.urls import tenant_by_slug
from gateway import store
from gateway.api import _bundle, _served
from gateway.embedded import EmbeddedBackend, served
from gateway.enforcement import Permit
from gateway.outcomes import fhir_response
from gateway.search_params import parse_search
from torget import app as torget_app
from torget.access import public
from torget.errors import NotFound

# What "enforcement off" permits: every patient's data, with no scope query.
EVERYTHING = Permit(patient=None, queries=None, scopes=())


def create_app() -> Flask:
    """Torget, with the gateway's read and search answered straight from the store."""
    app = torget_app.create_app()
    # Flask finds the view by endpoint name at each request, so the gateway's own URL
    # rules now call these; nothing else about the app changes.
    app.view_functions["fhir.read"] = read
    app.view_functions["fhir.search"] = search_store
    return app


def _tenant_id(slug: str) -> int:
    # Looked up per request, as the gateway does: that is store work, not enforcement.
    tenant = tenant_by_slug(slug)
    if tenant is None:
        raise NotFound()
    return tenant.id


@public
def read(tenant: str, resource_type: str, resource_id: str) -> Response:
    """`GET /fhir/<tenant>/<type>/<id>`: the stored resource, as the gateway serves it."""
    found = store.find(_tenant_id(tenant), resource_type, resource_id)
    if found is None:
        raise NotFound()
    return _served(served(found))


@public
def search_store(tenant: str, resource_type: str) -> Response:
    """`GET /fhir/<tenant>/<type>?params`: the gateway's search and Bundle, permitting all."""
    params = list(request.args.items(multi=True))
    parsed = parse_search(resource_type, params)
    tenant_row = tenant_by_slug(tenant)
    if tenant_row is None:
        raise NotFound()
    found = EmbeddedBackend().search(tenant_row, parsed, params, EVERYTHING, {})
    return fhir_response(_bundle(tenant, resource_type, params, parsed, found))
