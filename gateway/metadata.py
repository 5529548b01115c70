"""`/fhir/<tenant>/metadata`: the CapabilityStatement of a municipality's FHIR base.

For now it states the SMART security service and where to authorize (SMART
App Launch 2.2 §"FHIR Authorization Endpoint and Capabilities Discovery":
the oauth-uris extension); the resources arrive with the gateway's store,
and until then it lists none, which is the truth.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from auth.urls import endpoint, fhir_base, issuer, tenant_by_slug
from torget.access import public
from torget.errors import NotFound

bp = Blueprint("fhir_metadata", __name__)
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
            }
        ],
        "url": f"{issuer()}/fhir/{tenant_slug}/metadata",
    }


@bp.get("/fhir/<tenant>/metadata")
@public
def metadata(tenant: str) -> Response:
    if tenant_by_slug(tenant) is None:
        raise NotFound()
    response = jsonify(capability_statement(tenant))
    response.mimetype = "application/fhir+json"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
