"""Where the authorization server lives, and which FHIR base names which municipality.

The issuer is Torget's base URL (TORGET_BASE_URL); each municipality's FHIR
base is `<issuer>/fhir/<slug>`, and a launch's `aud` (or `iss`) must be one of
them exactly: it decides the tenant.
"""

from __future__ import annotations

import re

from flask import current_app
from sqlalchemy import bindparam, select

from accounts.models import Organisation
from marketplace.models import Tenant
from torget.db import db

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


def issuer() -> str:
    return current_app.config["TORGET"].base_url


def endpoint(name: str) -> str:
    """The absolute URL of an authorization server endpoint: authorize, token, ..."""
    return f"{issuer()}/oauth/{name}"


def smart_style_url() -> str:
    """The SMART style sheet apps may follow to look at home in Torget (SMART 2.2 context-style)."""
    return f"{issuer()}/static/smart-style.json"


def fhir_base(tenant_slug: str) -> str:
    return f"{issuer()}/fhir/{tenant_slug}"


def tenant_for_base(url: str | None) -> Tenant | None:
    """The tenant whose FHIR base `url` is, exactly (no trailing slash, no case folding)."""
    if not url:
        return None
    prefix = f"{issuer()}/fhir/"
    if not url.startswith(prefix):
        return None
    slug = url[len(prefix) :]
    if not _SLUG.fullmatch(slug):
        return None
    return tenant_by_slug(slug)


def tenant_by_slug(slug: str) -> Tenant | None:
    if not _SLUG.fullmatch(slug or ""):
        return None
    return db.session.scalar(_TENANT_BY_SLUG, {"slug": slug})


# Built once (see auth.audit): every backend token names its municipality.
_TENANT_BY_SLUG = (
    select(Tenant).join(Tenant.organisation).where(Organisation.slug == bindparam("slug"))
)
