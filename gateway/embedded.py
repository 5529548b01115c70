"""The FHIR backend over Torget's own store (the default): store.py and search.py."""

from __future__ import annotations

from typing import Any

from gateway import search as searching
from gateway import store
from gateway.backends import Found, HistoryEntry, Served, Written
from gateway.enforcement import Permit
from gateway.models import FhirResource, FhirVersion
from gateway.search_params import Search
from marketplace.models import Tenant


def _instant(row: FhirResource | FhirVersion) -> str:
    return row.last_updated.isoformat().replace("+00:00", "Z")


def served(row: FhirResource) -> Served:
    return Served(
        row.resource_type, row.resource_id, str(row.version_id), _instant(row), store.as_served(row)
    )


def _version(version: FhirVersion, resource: FhirResource) -> Served:
    return Served(
        resource.resource_type,
        resource.resource_id,
        str(version.version_id),
        _instant(version),
        store.version_as_served(version, resource),
    )


class EmbeddedBackend:
    def _reachable(
        self, tenant: Tenant, resource_type: str, resource_id: str, permit: Permit
    ) -> FhirResource | None:
        found = store.find(tenant.id, resource_type, resource_id)
        if found is None or not searching.permitted(found, permit):
            return None
        return found

    def read(
        self, tenant: Tenant, resource_type: str, resource_id: str, permit: Permit
    ) -> Served | None:
        found = self._reachable(tenant, resource_type, resource_id, permit)
        return served(found) if found is not None else None

    def vread(
        self, tenant: Tenant, resource_type: str, resource_id: str, version_id: str,
        permit: Permit,
    ) -> Served | None:  # fmt: skip
        found = self._reachable(tenant, resource_type, resource_id, permit)
        if found is None:
            return None
        return _version(store.vread(found, version_id), found)

    def history(
        self, tenant: Tenant, resource_type: str, resource_id: str, permit: Permit
    ) -> list[HistoryEntry] | None:
        found = self._reachable(tenant, resource_type, resource_id, permit)
        if found is None:
            return None
        return [HistoryEntry(_version(v, found), v.method) for v in store.history(found)]

    def search(
        self, tenant: Tenant, search: Search, params: list[tuple[str, str]], permit: Permit,
        include_permits: dict[str, Permit],
    ) -> Found:  # fmt: skip
        page = searching.run(tenant.id, search, permit, include_permits)
        next_page = (
            searching.encode_page(page.next_offset) if page.next_offset is not None else None
        )
        return Found(
            [served(r) for r in page.matches],
            [served(r) for r in page.included],
            page.total,
            next_page,
        )

    def create(
        self, tenant: Tenant, resource_type: str, content: dict[str, Any], permit: Permit
    ) -> Served:
        searching.require_within(content, permit)
        return served(store.create(tenant.id, resource_type, content))

    def update(
        self, tenant: Tenant, resource_type: str, resource_id: str, content: dict[str, Any],
        if_match: int | None, permit: Permit,
    ) -> Written:  # fmt: skip
        existing = store.find(tenant.id, resource_type, resource_id)
        if existing is not None and not searching.permitted(existing, permit):
            raise store.not_found(resource_type, resource_id)
        searching.require_within({**content, "id": resource_id}, permit)
        written = store.update(tenant.id, resource_type, resource_id, content, if_match=if_match)
        return Written(served(written.resource), written.created)
