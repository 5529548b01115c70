"""`/fhir/<tenant>/metadata`: the CapabilityStatement of a municipality's FHIR base.

It states the SMART security service and where to authorize (SMART App
Launch 2.2 §"FHIR Authorization Endpoint and Capabilities Discovery": the
oauth-uris extension), and exactly what the API serves: each resource type,
its interactions and its search parameters, from the same tables the
search parser and the views use (gateway/search_params.py, gateway/api.py).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from auth.urls import endpoint, fhir_base, issuer, tenant_by_slug
from gateway.search_params import SUPPORTED_TYPES, supported_parameters
from torget.access import public
from torget.errors import NotFound

bp = Blueprint("fhir_metadata", __name__)
# What every type supports (gateway/api.py): no delete, no conditional interactions.
INTERACTIONS = ("read", "vread", "history-instance", "search-type", "create", "update")
OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


def capability_statement(tenant_slug: str) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-23",
        "kind": "instance",
        "software": {"name": "Torget"},
        "implementation": {
            "description": f"Torget FHIR base for {tenant_slug}",
            "url": fhir_base(tenant_slug),
        },
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                    "extension": [
                        {
                            "url": OAUTH_URIS,
                            "extension": [
                                {"url": "authorize", "valueUri": endpoint("authorize")},
                                {"url": "token", "valueUri": endpoint("token")},
                                {"url": "introspect", "valueUri": endpoint("introspect")},
                                {"url": "revoke", "valueUri": endpoint("revoke")},
                            ],
                        }
                    ],
                },
                "resource": [_resource(t) for t in SUPPORTED_TYPES],
            }
        ],
        "url": f"{issuer()}/fhir/{tenant_slug}/metadata",
    }


def _resource(resource_type: str) -> dict[str, Any]:
    return {
        "type": resource_type,
        "interaction": [{"code": code} for code in INTERACTIONS],
        "versioning": "versioned-update",
        "readHistory": True,
        "updateCreate": True,
        "conditionalCreate": False,
        "conditionalUpdate": False,
        "searchParam": [
            {"name": name, "type": kind}
            for name, kind in sorted(supported_parameters(resource_type).items())
        ],
        "searchInclude": [f"{resource_type}:{name}" for name in _references(resource_type)],
    }


def _references(resource_type: str) -> list[str]:
    return sorted(n for n, k in supported_parameters(resource_type).items() if k == "reference")


@bp.get("/fhir/<tenant>/metadata")
@public
def metadata(tenant: str) -> Response:
    if tenant_by_slug(tenant) is None:
        raise NotFound()
    response = jsonify(capability_statement(tenant))
    response.mimetype = "application/fhir+json"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
