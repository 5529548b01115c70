"""Tenants: list, find, create, and who holds roles in one."""

from __future__ import annotations

import unicodedata

from flask_babel import gettext as _
from sqlalchemy import select

from accounts import organisations
from accounts.models import Membership, Organisation, OrganisationKind, Role, User
from marketplace.models import Tenant
from torget.db import add_unique, db
from torget.errors import Invalid, NotFound

# The Norwegian alphabet ends ... x y z æ ø å; code-point order would put
# "Bærum" after "Bodø" and "Ål" before "Øvre". The three letters become
# private-use characters above every letter; other accents are dropped so
# "Évje" sorts with the E's.
_NORWEGIAN_LETTERS = str.maketrans({"æ": "\uf8f1", "ø": "\uf8f2", "å": "\uf8f3"})


def norwegian_sort_key(name: str) -> str:
    marked = unicodedata.normalize("NFC", name).casefold().translate(_NORWEGIAN_LETTERS)
    return "".join(c for c in unicodedata.normalize("NFD", marked) if not unicodedata.combining(c))


def list_tenants() -> list[Tenant]:
    tenants = db.session.scalars(select(Tenant).join(Tenant.organisation))
    return sorted(tenants, key=lambda t: norwegian_sort_key(t.name))


def find_by_slug(slug: str) -> Tenant | None:
    return db.session.scalar(
        select(Tenant).join(Tenant.organisation).where(Organisation.slug == slug)
    )


def get_by_slug(slug: str) -> Tenant:
    tenant = find_by_slug(slug)
    if tenant is None:
        raise NotFound(_("No municipality is called %(slug)s.", slug=slug))
    return tenant


def where_user_is(user: User | None, role: Role) -> list[Tenant]:
    """The municipalities where `user` holds `role`, in Norwegian alphabetical order."""
    if user is None:
        return []
    ids = {m.organisation_id for m in user.memberships if m.role == role and m.organisation_id}
    if not ids:
        return []
    found = db.session.scalars(select(Tenant).where(Tenant.organisation_id.in_(ids)))
    return sorted(found, key=lambda t: norwegian_sort_key(t.name))


def create_tenant(*, slug: str, name: str, organisation_number: str, population: int) -> Tenant:
    """A municipality and its organisation, in one step."""
    if population < 0:
        raise Invalid(_("A population cannot be negative."), field="population")
    organisation = organisations.create_organisation(
        slug=slug,
        name=name,
        organisation_number=organisation_number,
        kind=OrganisationKind.MUNICIPALITY,
    )
    tenant = Tenant(organisation=organisation, population=population)
    add_unique(tenant, _("This organisation is a tenant already."))
    return tenant


def members(tenant: Tenant) -> list[Membership]:
    """Everyone holding a role in the municipality, by role then name."""
    memberships = db.session.scalars(
        select(Membership).where(Membership.organisation_id == tenant.organisation_id)
    )
    return sorted(memberships, key=lambda m: (m.role.value, m.user.display_name))
