"""Organisations: municipalities and vendors, identified by organisation number."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import select

from accounts.models import Organisation, OrganisationKind
from torget.db import add_unique, db
from torget.errors import Invalid, NotFound

_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def is_valid_organisation_number(number: str) -> bool:
    """Brønnøysundregistrene's rule: nine digits, the last a mod-11 check digit."""
    if not re.fullmatch(r"\d{9}", number):
        return False
    remainder = sum(int(d) * w for d, w in zip(number, _WEIGHTS, strict=False)) % 11
    check = 0 if remainder == 0 else 11 - remainder
    return check != 10 and check == int(number[8])


def normalise_organisation_number(raw: str) -> str:
    """Accepts the printed form (`958 935 420`) and returns nine digits, or raises Invalid."""
    number = re.sub(r"[\s.]", "", raw or "")
    if not is_valid_organisation_number(number):
        raise Invalid(
            _("An organisation number is nine digits with a valid check digit."),
            field="organisation_number",
        )
    return number


def get_by_slug(slug: str) -> Organisation:
    organisation = db.session.scalar(select(Organisation).where(Organisation.slug == slug))
    if organisation is None:
        raise NotFound(_("No organisation is called %(slug)s.", slug=slug))
    return organisation


def find_by_slug(slug: str) -> Organisation | None:
    return db.session.scalar(select(Organisation).where(Organisation.slug == slug))


def find_by_number(number: str) -> Organisation | None:
    return db.session.scalar(select(Organisation).where(Organisation.organisation_number == number))


def create_organisation(
    *, slug: str, name: str, organisation_number: str, kind: OrganisationKind
) -> Organisation:
    if not SLUG.match(slug):
        raise Invalid(_("Use lower-case letters, digits and hyphens (at most 63)."), field="slug")
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise Invalid(_("A name is 1 to 200 characters."), field="name")
    organisation = Organisation(
        slug=slug,
        name=name,
        organisation_number=normalise_organisation_number(organisation_number),
        kind=kind,
    )
    add_unique(organisation, _("An organisation with this slug or organisation number exists."))
    return organisation
