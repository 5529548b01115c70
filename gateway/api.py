"""The FHIR REST API of each municipality: `/fhir/<tenant>/<type>[/<id>[/_history[/<vid>]]]`.

Thin views: each names its interaction, and `_access` authenticates the
token, asks enforcement for a permit and opens the audit event; the store
and the search do the work; every answer is application/fhir+json, every
refusal an OperationOutcome, audited.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from accounts.access import csrf_exempt
from auth.urls import fhir_base, tenant_by_slug
from gateway import audit, backends, enforcement, store
from gateway.backends import Found, Served
from gateway.enforcement import Permit
from gateway.outcomes import fhir_response, issue, issues_of, outcome
from gateway.search_params import SUPPORTED_TYPES, SearchRefused, parse_search
from gateway.validation import InvalidResource, is_fhir_id, validate
from marketplace.models import Tenant
from torget.access import public
from torget.db import keep_writes_on_server_error
from torget.errors import DomainError, Invalid, NotFound, Unsupported

bp = Blueprint("fhir", __name__, url_prefix="/fhir/<tenant>")
JSON_TYPES = frozenset({"application/fhir+json", "application/json"})


# --- the frame of every request ----------------------------------------------------------------


def _tenant(slug: str) -> Tenant:
    tenant = tenant_by_slug(slug)
    if tenant is None:
        raise NotFound(_("There is no FHIR base for %(tenant)s.", tenant=slug[:64]))
    return tenant


def _type(resource_type: str) -> str:
    if resource_type not in SUPPORTED_TYPES:
        raise NotFound(
            _("This server has no resource type %(type)s.", type=resource_type[:64]),
            field="resourceType",
        )
    return resource_type


def _access(tenant_slug: str, resource_type: str, interaction: str) -> tuple[Tenant, Permit]:
    """Authenticate, open the audit event and permit `interaction`, or refuse (401/403)."""
    tenant = _tenant(tenant_slug)
    pending = audit.begin(
        tenant.id, interaction, resource_type, request.query_string.decode("utf-8", "replace")
    )
    _type(resource_type)
    pending.caller = enforcement.authenticate(tenant, request.headers.get("Authorization"))
    permit = enforcement.permit(pending.caller, resource_type, interaction)
    pending.scopes = permit.scope_text
    pending.patient = permit.patient
    return tenant, permit


def _body() -> Any:
    mimetype = request.mimetype
    if mimetype not in JSON_TYPES:
        raise Unsupported(_("Send the resource as application/fhir+json."))
    try:
        return json.loads(request.get_data(cache=False))
    except (ValueError, RecursionError):
        raise DomainError(_("The body is not JSON.")) from None


def _served(resource: Served, status: int = 200) -> Response:
    response = fhir_response(resource.content, status)
    response.headers["ETag"] = f'W/"{resource.version_id}"'
    last = dt.datetime.fromisoformat(resource.last_updated.replace("Z", "+00:00"))
    response.headers["Last-Modified"] = last.strftime("%a, %d %b %Y %H:%M:%S GMT")
    return response


def _allowed(resources: list[Served], status: int = 200) -> None:
    pending = audit.current()
    if pending is not None:
        audit.allowed(pending, [r.reference for r in resources], status)


@bp.errorhandler(DomainError)
@bp.errorhandler(InvalidResource)
@bp.errorhandler(SearchRefused)
@bp.errorhandler(HTTPException)
def _refused(error: Exception) -> Response:
    """Every refusal inside the API: audited when the request got as far as its tenant."""
    status, detail, issues, headers = _describe(error)
    pending = audit.current()
    # 503: the database (and so the audit) may be what failed.
    if pending is not None and status != 503:
        audit.refused(pending, status=status, detail=detail)
        if status >= 500:
            keep_writes_on_server_error()  # the refusal's audit record, and nothing else
    response = fhir_response(outcome(issues), status, **headers)
    return response


def _describe(error: Exception) -> tuple[int, str, list[dict[str, Any]], dict[str, str]]:
    if isinstance(error, InvalidResource):
        issues = [issue("processing", message, expression=path) for path, message in error.issues]
        return 422, str(error)[:500], issues, {}
    if isinstance(error, SearchRefused):
        return 400, error.message, [issue("invalid", error.message, expression=error.param)], {}
    if isinstance(error, DomainError):
        detail = error.detail or str(error.title)
        issues = issues_of(error.status, str(error.title), error.detail, error.fields)
        return error.status, detail, issues, error.headers
    assert isinstance(error, HTTPException)  # noqa: S101 - the handlers registered above
    status = error.code or 500
    detail = error.description or error.name
    return status, detail, issues_of(status, error.name, detail, None), {}


@bp.after_request
def _cors(response: Response) -> Response:
    # Browser apps call the FHIR base from their own origin with a bearer token,
    # never with cookies: a wildcard origin is safe. Flask answers the
    # preflight (OPTIONS) of every route itself; this says what it may send.
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = "ETag, Location, Content-Location"
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = (
            "Authorization, Content-Type, If-Match, Prefer, Accept"
        )
        response.headers["Access-Control-Max-Age"] = "600"
    return response


# --- read, vread, history --------------------------------------------------------------------
# An id outside the token's reach answers 404, never 403: it must not tell whether it exists.


@bp.get("/<resource_type>/<resource_id>")
@public
def read(tenant: str, resource_type: str, resource_id: str) -> Response:
    found_tenant, permit = _access(tenant, resource_type, "read")
    resource = backends.current().read(found_tenant, resource_type, _id(resource_id), permit)
    if resource is None:
        raise store.not_found(resource_type, resource_id)
    _allowed([resource])
    return _served(resource)


@bp.get("/<resource_type>/<resource_id>/_history/<version_id>")
@public
def vread(tenant: str, resource_type: str, resource_id: str, version_id: str) -> Response:
    found_tenant, permit = _access(tenant, resource_type, "vread")
    version = backends.current().vread(
        found_tenant, resource_type, _id(resource_id), version_id, permit
    )
    if version is None:
        raise store.not_found(resource_type, resource_id)
    _allowed([version])
    return _served(version)


@bp.get("/<resource_type>/<resource_id>/_history")
@public
def history(tenant: str, resource_type: str, resource_id: str) -> Response:
    found_tenant, permit = _access(tenant, resource_type, "history")
    versions = backends.current().history(found_tenant, resource_type, _id(resource_id), permit)
    if not versions:
        raise store.not_found(resource_type, resource_id)
    base = fhir_base(tenant)
    _allowed([versions[0].served])
    return fhir_response(
        {
            "resourceType": "Bundle",
            "type": "history",
            "total": len(versions),
            "link": [{"relation": "self", "url": f"{base}/{resource_type}/{resource_id}/_history"}],
            "entry": [
                {
                    "fullUrl": f"{base}/{resource_type}/{resource_id}",
                    "resource": v.served.content,
                    "request": {
                        "method": v.method,
                        "url": resource_type
                        if v.method == "POST"
                        else f"{resource_type}/{resource_id}",
                    },
                }
                for v in versions
            ],
        }
    )


def _id(resource_id: str) -> str:
    if not is_fhir_id(resource_id):
        raise NotFound(
            _("There is no %(type)s with the id %(id)s.", type="resource", id=resource_id[:64])
        )
    return resource_id


# --- search ----------------------------------------------------------------------------------


def _search_params() -> list[tuple[str, str]]:
    if request.method == "POST":
        if request.mimetype != "application/x-www-form-urlencoded":
            raise Unsupported(_("Send _search parameters as application/x-www-form-urlencoded."))
        return list(request.args.items(multi=True)) + list(request.form.items(multi=True))
    return list(request.args.items(multi=True))


def _lenient() -> bool:
    prefer = request.headers.get("Prefer", "")
    return any(part.strip() == "handling=lenient" for part in prefer.split(";") + prefer.split(","))


@bp.get("/<resource_type>")
@bp.post("/<resource_type>/_search")
@public
@csrf_exempt  # a bearer-token API: no cookie is read
def search(tenant: str, resource_type: str) -> Response:
    found_tenant, permit = _access(tenant, resource_type, "search")
    params = _search_params()
    parsed = parse_search(resource_type, params, lenient=_lenient())
    include_permits = _include_permits(parsed) if parsed.include or parsed.revinclude else {}
    found = backends.current().search(found_tenant, parsed, params, permit, include_permits)
    _allowed(found.matches + found.included)
    return fhir_response(_bundle(tenant, resource_type, params, parsed, found))


def _include_permits(parsed: Any) -> dict[str, Permit]:
    """What an included resource of each type may be: the token's read permit for it.

    A type the token may not read is left out of the bundle, and any included
    resource outside the permit (another patient's) with it.
    """
    caller = audit.current().caller  # type: ignore[union-attr] - _access set it
    permits = {}
    for resource_type in SUPPORTED_TYPES:
        try:
            permits[resource_type] = enforcement.permit(caller, resource_type, "read")
        except DomainError:
            continue
    return permits


def _bundle(tenant: str, resource_type: str, params: list[tuple[str, str]], parsed: Any,
            page: Found) -> dict[str, Any]:  # fmt: skip
    base = fhir_base(tenant)
    kept = [(k, v) for k, v in params if k != "_page" and k not in parsed.ignored]
    links = [{"relation": "self", "url": f"{base}/{resource_type}?{urlencode(kept)}".rstrip("?")}]
    if page.next_page is not None:
        following = [*kept, ("_page", page.next_page)]
        links.append({"relation": "next", "url": f"{base}/{resource_type}?{urlencode(following)}"})
    entries = [
        {
            "fullUrl": f"{base}/{r.reference}",
            "resource": r.content,
            "search": {"mode": mode},
        }
        for mode, rows in (("match", page.matches), ("include", page.included))
        for r in rows
    ]
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
    if page.total is not None:
        bundle["total"] = page.total
    bundle |= {"link": links, "entry": entries}
    if parsed.ignored:
        entries.append(
            {
                "resource": outcome(
                    [issue("not-supported", f"Ignored: {', '.join(parsed.ignored)}",
                           severity="warning")]
                ),
                "search": {"mode": "outcome"},
            }
        )  # fmt: skip
    return bundle


# --- create, update --------------------------------------------------------------------------


def _if_match() -> int | None:
    value = request.headers.get("If-Match")
    if value is None:
        return None
    digits = value.strip().removeprefix("W/").strip('"')
    if not digits.isdigit() or len(digits) > 9:
        raise Invalid(_('If-Match must be a version as an ETag, like W/"3".'), field="If-Match")
    return int(digits)


@bp.post("/<resource_type>")
@public
@csrf_exempt
def create(tenant: str, resource_type: str) -> Response:
    found_tenant, permit = _access(tenant, resource_type, "create")
    content = validate(resource_type, _body())
    resource = backends.current().create(found_tenant, resource_type, content, permit)
    _allowed([resource], 201)
    response = _served(resource, 201)
    response.headers["Location"] = (
        f"{fhir_base(tenant)}/{resource.reference}/_history/{resource.version_id}"
    )
    return response


@bp.put("/<resource_type>/<resource_id>")
@public
@csrf_exempt
def update(tenant: str, resource_type: str, resource_id: str) -> Response:
    found_tenant, permit = _access(tenant, resource_type, "update")
    if not is_fhir_id(resource_id):
        raise InvalidResource([(f"{resource_type}.id", "Not a FHIR id.")])
    content = validate(resource_type, _body())
    if content.get("id") != resource_id:
        raise InvalidResource(
            [(f"{resource_type}.id", f"The body's id must be the URL's, {resource_id}.")]
        )
    written = backends.current().update(
        found_tenant, resource_type, resource_id, content, _if_match(), permit
    )
    status = 201 if written.created else 200
    _allowed([written.served], status)
    return _served(written.served, status)
