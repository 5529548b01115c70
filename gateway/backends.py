"""Where the FHIR API's data lives: the embedded store, or an upstream FHIR server.

The views (gateway/api.py) authenticate, permit and audit the same way for
both; a backend only fetches and writes, and never returns a resource
outside the permit it is given. `current()` is the one chosen by
configuration: `FHIR_UPSTREAM_URL` set means upstream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from flask import current_app

from gateway.enforcement import Permit
from gateway.search_params import Search
from marketplace.models import Tenant

EXTENSION = "torget_fhir_backend"


@dataclass(frozen=True)
class Served:
    """One resource version as the API answers it (`content` has its id and meta)."""

    resource_type: str
    resource_id: str
    version_id: str
    last_updated: str  # FHIR instant, UTC
    content: dict[str, Any]

    @property
    def reference(self) -> str:
        return f"{self.resource_type}/{self.resource_id}"


@dataclass(frozen=True)
class HistoryEntry:
    served: Served
    method: str  # POST (created) or PUT (updated)


@dataclass(frozen=True)
class Found:
    """A page of search results; `next_page` is the `_page` value of the next one."""

    matches: list[Served]
    included: list[Served]
    total: int | None
    next_page: str | None


@dataclass(frozen=True)
class Written:
    served: Served
    created: bool


class FhirBackend(Protocol):
    """A municipality's FHIR data, within a permit. Missing or out of reach: None/NotFound."""

    def read(self, tenant: Tenant, resource_type: str, resource_id: str,
             permit: Permit) -> Served | None: ...  # fmt: skip

    def vread(self, tenant: Tenant, resource_type: str, resource_id: str, version_id: str,
              permit: Permit) -> Served | None: ...  # fmt: skip

    def history(self, tenant: Tenant, resource_type: str, resource_id: str,
                permit: Permit) -> list[HistoryEntry] | None: ...  # fmt: skip

    def search(self, tenant: Tenant, search: Search, params: list[tuple[str, str]],
               permit: Permit, include_permits: dict[str, Permit]) -> Found: ...  # fmt: skip

    def create(self, tenant: Tenant, resource_type: str, content: dict[str, Any],
               permit: Permit) -> Served: ...  # fmt: skip

    def update(self, tenant: Tenant, resource_type: str, resource_id: str,
               content: dict[str, Any], if_match: int | None,
               permit: Permit) -> Written: ...  # fmt: skip


def current() -> FhirBackend:
    return current_app.extensions[EXTENSION]
