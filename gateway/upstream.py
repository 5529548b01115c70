"""The FHIR backend that forwards to the platform's FHIR server (`FHIR_UPSTREAM_URL`).

The gateway authenticates, permits and audits every request exactly as for
the embedded store; this backend then asks the upstream server with the
gateway's own system credential (`FHIR_UPSTREAM_TOKEN`) and never trusts it
to have narrowed enough:

- a search is sent with the permit's restrictions added (the patient's
  compartment as `patient=`/`_id=`, a single scope query's parameters), and
  every resource in the answer is checked against the permit again here
  (gateway/search.py `within`), includes with the permit of their own type;
- a read, a version or a history answers 404 when the resource is outside
  the permit, as the embedded store does;
- a write is checked before it is sent (a patient token writes only into
  its patient's record);
- the upstream server's URLs in its answers become the municipality's FHIR
  base, and its next-page links become `_page` values signed with the
  server's secret, so a client can neither see nor forge the upstream query.

An upstream server that cannot be reached, answers 5xx or refuses the
gateway's credential is a 502 for the client; its 4xx answers to a write
(400, 409, 412, 422) reach the client with their OperationOutcome.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
from typing import Any
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit

import urllib3
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from auth.urls import fhir_base
from gateway import search as searching
from gateway.backends import Found, HistoryEntry, Served, Written
from gateway.enforcement import SHARED_TYPES, Permit
from gateway.platform_token import PlatformCredential
from gateway.search_params import Search, SearchRefused, parse_search
from gateway.validation import is_fhir_id
from marketplace.models import Tenant
from torget.db import utcnow
from torget.errors import DomainError

log = logging.getLogger(__name__)
FHIR_JSON = "application/fhir+json"
# An upstream answer larger than this is not read (a search page of 100 resources is far less).
MAX_ANSWER_BYTES = 20 * 1024 * 1024
# What a write's refusal may pass through to the client: the client's own mistakes.
CLIENT_ERRORS = frozenset({400, 404, 409, 410, 412, 422})


class UpstreamFailed(DomainError):
    """The platform's FHIR server did not give a usable answer (502 for the client)."""

    status = 502
    title = _l("Bad gateway")


class UpstreamRefused(DomainError):
    """The platform refused a write for the client's own reason; the status is the platform's."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


class UpstreamBackend:
    def __init__(self, url: str, credential: PlatformCredential, timeout: float) -> None:
        self.url = url
        self.credential = credential
        self.timeout = timeout
        # Connections kept alive between requests (a TLS handshake per request
        # costs more than most reads); no retries, no redirects: a failure is a 502.
        self._pool = urllib3.PoolManager(
            num_pools=8,
            maxsize=4,
            retries=False,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
        )

    # --- HTTP ------------------------------------------------------------------------------

    def base(self, tenant: Tenant) -> str:
        return self.url.replace("{tenant}", tenant.slug)

    def call(
        self, tenant: Tenant, method: str, path: str, *, query: list[tuple[str, str]] | None = None,
        body: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any] | None, dict[str, str]]:  # fmt: skip
        """(status, JSON body or None, headers) of one request to the tenant's upstream base.

        A 401 to a token the gateway can renew is answered with a new token, once
        (the platform revoked it, or rotated its keys).
        """
        base = self.base(tenant)
        status, raw, answer_headers = self._send(base, method, path, query, body, headers)
        if status == 401 and self.credential.renewable:
            self.credential.forget(base)
            status, raw, answer_headers = self._send(base, method, path, query, body, headers)
        return self._answer(status, raw, answer_headers, method, path)

    def _send(
        self, base: str, method: str, path: str, query: list[tuple[str, str]] | None,
        body: dict[str, Any] | None, headers: dict[str, str] | None,
    ) -> tuple[int, bytes, dict[str, str]]:  # fmt: skip
        url = f"{base}/{path}" + (f"?{urlencode(query)}" if query else "")
        token = self.credential.bearer(base)
        sent = {"Accept": FHIR_JSON, "Authorization": f"Bearer {token}", **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = FHIR_JSON
        try:
            response = self._pool.request(
                method, url, body=data, headers=sent, preload_content=False, redirect=False
            )
        except urllib3.exceptions.HTTPError as failure:
            # The failure's class only: its text may carry the URL, never the token.
            log.warning("upstream FHIR server unreachable: %s", type(failure).__name__)
            raise UpstreamFailed(_("The platform's FHIR server did not answer.")) from None
        try:
            raw = response.read(MAX_ANSWER_BYTES + 1)
            answer_headers = {k.lower(): v for k, v in response.headers.items()}
        except urllib3.exceptions.HTTPError as failure:
            log.warning("upstream FHIR server broke off: %s", type(failure).__name__)
            response.close()
            raise UpstreamFailed(_("The platform's FHIR server did not answer.")) from None
        if len(raw) > MAX_ANSWER_BYTES:
            response.close()  # not worth reading to its end to keep the connection
        else:
            response.release_conn()  # kept alive for the next request to this server
        return response.status, raw, answer_headers

    def _answer(
        self, status: int, raw: bytes, answer_headers: dict[str, str], method: str, path: str
    ) -> tuple[int, dict[str, Any] | None, dict[str, str]]:
        if len(raw) > MAX_ANSWER_BYTES:
            raise UpstreamFailed(_("The platform's FHIR server answered too much."))
        parsed = None
        if raw:
            try:
                parsed = json.loads(raw)
            except (ValueError, RecursionError):
                parsed = None
        # A success that is not a JSON object is no FHIR answer (a proxy's HTML page).
        malformed = status < 300 and bool(raw) and not isinstance(parsed, dict)
        if status >= 500 or status in (401, 403) or malformed:
            log.warning("upstream FHIR server answered %d to %s %s", status, method, path)
            raise UpstreamFailed(_("The platform's FHIR server refused or failed the request."))
        return status, parsed if isinstance(parsed, dict) else None, answer_headers

    def _rewritten(self, tenant: Tenant, document: dict[str, Any]) -> dict[str, Any]:
        """`document` with the upstream base replaced by the municipality's FHIR base."""
        text = json.dumps(document)
        ours = json.dumps(fhir_base(tenant.slug))[1:-1]
        return json.loads(text.replace(json.dumps(self.base(tenant))[1:-1], ours))

    def _served(self, tenant: Tenant, content: dict[str, Any]) -> Served:
        meta = content.get("meta")
        meta = meta if isinstance(meta, dict) else {}
        content = self._rewritten(tenant, content)
        return Served(
            resource_type=str(content.get("resourceType", "")),
            resource_id=str(content.get("id", "")),
            version_id=str(meta.get("versionId", "1")),
            last_updated=str(meta.get("lastUpdated") or utcnow().isoformat()).replace(
                "+00:00", "Z"
            ),
            content=content,
        )

    def fetch(self, tenant: Tenant, resource_type: str, resource_id: str,
              version_id: str | None = None) -> dict[str, Any] | None:  # fmt: skip
        """One resource (one version of it) as the upstream server has it; None if it has none.

        The ids become a URL path: only FHIR ids and version numbers get there.
        """
        if not is_fhir_id(resource_id) or (version_id is not None and not version_id.isdigit()):
            return None
        path = f"{resource_type}/{resource_id}"
        if version_id is not None:
            path += f"/_history/{version_id}"
        status, body, _headers = self.call(tenant, "GET", path)
        if status != 200 or body is None or body.get("resourceType") != resource_type:
            return None
        return body if body.get("id") == resource_id else None

    # --- reading ---------------------------------------------------------------------------

    def read(self, tenant: Tenant, resource_type: str, resource_id: str,
             permit: Permit) -> Served | None:  # fmt: skip
        found = self.fetch(tenant, resource_type, resource_id)
        if found is None or not searching.within(found, permit):
            return None
        return self._served(tenant, found)

    def vread(self, tenant: Tenant, resource_type: str, resource_id: str, version_id: str,
              permit: Permit) -> Served | None:  # fmt: skip
        if len(version_id) > 9:
            return None
        found = self.fetch(tenant, resource_type, resource_id, version_id)
        if found is None or not searching.within(found, permit):
            return None
        return self._served(tenant, found)

    def history(self, tenant: Tenant, resource_type: str, resource_id: str,
                permit: Permit) -> list[HistoryEntry] | None:  # fmt: skip
        status, bundle, _headers = self.call(
            tenant, "GET", f"{resource_type}/{resource_id}/_history"
        )
        if status != 200 or bundle is None or bundle.get("resourceType") != "Bundle":
            return None
        entries = []
        for entry in _entries(bundle):
            content = entry.get("resource") or {}
            if content.get("resourceType") != resource_type or content.get("id") != resource_id:
                continue
            if not searching.within(content, permit):
                return None  # any version outside the permit: the resource is out of reach
            method = (entry.get("request") or {}).get("method", "PUT")
            entries.append(HistoryEntry(self._served(tenant, content), method))
        return entries or None

    def search(self, tenant: Tenant, search: Search, params: list[tuple[str, str]],
               permit: Permit, include_permits: dict[str, Permit]) -> Found:  # fmt: skip
        if search.page is not None:
            query = self._unsigned(search.page)
        else:
            query = [(k, v) for k, v in params if k != "_page" and k not in search.ignored]
            query += _restrictions(search.resource_type, permit)
        status, bundle, _headers = self.call(tenant, "GET", search.resource_type, query=query)
        if status != 200 or bundle is None or bundle.get("resourceType") != "Bundle":
            raise UpstreamFailed(_("The platform's FHIR server did not answer with a Bundle."))
        matches: list[Served] = []
        included: list[Served] = []
        dropped = False
        for entry in _entries(bundle):
            content = entry.get("resource") or {}
            mode = (entry.get("search") or {}).get("mode", "match")
            if mode == "match" and content.get("resourceType") == search.resource_type:
                kept_in, within = matches, searching.within(content, permit)
            elif mode == "include":
                own = include_permits.get(str(content.get("resourceType")))
                kept_in, within = included, own is not None and searching.within(content, own)
            else:
                continue
            if within:
                kept_in.append(self._served(tenant, content))
            else:
                dropped = True
        following = next(
            (link.get("url") for link in _parts(bundle, "link") if link.get("relation") == "next"),
            None,
        )
        total = bundle.get("total")
        return Found(
            matches,
            included,
            # A total the gateway had to filter under is no longer the client's total.
            total if isinstance(total, int) and not dropped else None,
            self._signed(_query_of(following)) if isinstance(following, str) else None,
        )

    # --- writing ---------------------------------------------------------------------------

    def create(self, tenant: Tenant, resource_type: str, content: dict[str, Any],
               permit: Permit) -> Served:  # fmt: skip
        searching.require_within(content, permit)
        status, body, headers = self.call(
            tenant, "POST", resource_type, body=content, headers={"Prefer": "return=representation"}
        )
        return self._written(tenant, resource_type, status, body, headers).served

    def update(self, tenant: Tenant, resource_type: str, resource_id: str,
               content: dict[str, Any], if_match: int | None,
               permit: Permit) -> Written:  # fmt: skip
        existing = self.fetch(tenant, resource_type, resource_id)
        if existing is not None and not searching.within(existing, permit):
            raise UpstreamRefused(404, _("There is no %(type)s with the id %(id)s.",
                                         type=resource_type, id=resource_id))  # fmt: skip
        searching.require_within(content, permit)
        headers = {"Prefer": "return=representation"}
        if if_match is not None:
            headers["If-Match"] = f'W/"{if_match}"'
        status, body, answer_headers = self.call(
            tenant, "PUT", f"{resource_type}/{resource_id}", body=content, headers=headers
        )
        return self._written(tenant, resource_type, status, body, answer_headers)

    def _written(self, tenant: Tenant, resource_type: str, status: int,
                 body: dict[str, Any] | None, headers: dict[str, str]) -> Written:  # fmt: skip
        if status in CLIENT_ERRORS:
            raise UpstreamRefused(
                status, _diagnostics(body) or _("The platform refused the write.")
            )
        if status not in (200, 201):
            raise UpstreamFailed(_("The platform's FHIR server refused or failed the request."))
        if body is None or body.get("resourceType") != resource_type:
            # No representation: read what the Location names.
            location = _path_of(headers.get("location", "")).split("/_history")[0]
            body = self.fetch(tenant, resource_type, location.rsplit("/", 1)[-1])
            if body is None:
                raise UpstreamFailed(_("The platform's FHIR server did not return the resource."))
        return Written(self._served(tenant, body), status == 201)

    # --- page cursors ----------------------------------------------------------------------

    def _mac(self, data: bytes) -> bytes:
        key = current_app.config["SECRET_KEY"].encode()
        return hmac.new(key, b"fhir-upstream-page:" + data, hashlib.sha256).digest()[:16]

    def _signed(self, query: str) -> str:
        data = query.encode()
        encoded = base64.urlsafe_b64encode(data + self._mac(data)).decode().rstrip("=")
        return encoded

    def _unsigned(self, page: str) -> list[tuple[str, str]]:
        try:
            raw = base64.urlsafe_b64decode(page + "=" * (-len(page) % 4))
        except (binascii.Error, ValueError):
            raw = b""
        data, mac = raw[:-16], raw[-16:]
        if len(raw) <= 16 or not hmac.compare_digest(mac, self._mac(data)):
            raise SearchRefused("_page", "The _page value is not one this server made.")
        return parse_qsl(data.decode(errors="replace"), keep_blank_values=True)


def _query_of(url: str) -> str:
    return _split(url).query


def _path_of(url: str) -> str:
    return _split(url).path


def _split(url: str) -> SplitResult:
    try:
        return urlsplit(url)
    except ValueError:  # "http://[broken": not a URL
        raise UpstreamFailed(
            _("The platform's FHIR server answered with a malformed URL.")
        ) from None


def _parts(bundle: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """A Bundle's `entry` or `link` list; UpstreamFailed when it is not a list of objects."""
    parts = bundle.get(name) or []
    if not isinstance(parts, list) or not all(isinstance(part, dict) for part in parts):
        raise UpstreamFailed(_("The platform's FHIR server answered with a malformed Bundle."))
    return parts


def _entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """A Bundle's entries, each with an object for its resource, search and request."""
    entries = _parts(bundle, "entry")
    for entry in entries:
        for member in ("resource", "search", "request"):
            if not isinstance(entry.get(member) or {}, dict):
                raise UpstreamFailed(
                    _("The platform's FHIR server answered with a malformed Bundle.")
                )
    return entries


def _restrictions(resource_type: str, permit: Permit) -> list[tuple[str, str]]:
    """Search parameters that narrow an upstream search to the permit (checked again after)."""
    added: list[tuple[str, str]] = []
    if permit.patient is not None and resource_type not in SHARED_TYPES:
        added.append(("_id" if resource_type == "Patient" else "patient", permit.patient))
    if permit.queries is not None and len(permit.queries) == 1:
        (query,) = permit.queries
        try:
            parse_search(resource_type, query)
        except SearchRefused:
            return added
        added += list(query)
    return added


def _diagnostics(body: dict[str, Any] | None) -> str:
    if not body or body.get("resourceType") != "OperationOutcome":
        return ""
    issues = body.get("issue")
    if not isinstance(issues, list):
        return ""
    texts = (str(i.get("diagnostics", "")) for i in issues if isinstance(i, dict))
    return "; ".join(texts)[:500]
