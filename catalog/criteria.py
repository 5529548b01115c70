"""Certification criteria: the defined minimum requirements, managed by reviewers."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import select

from accounts.models import User
from catalog.models import Criterion
from catalog.texts import localized
from torget.db import add_unique, db, utcnow
from torget.errors import Conflict, FieldErrors, NotFound

CODE = re.compile(r"^[A-Z][A-Z0-9-]{1,31}$")


@dataclass(frozen=True)
class CriterionInput:
    code: str
    title_nb: str
    title_en: str
    guidance_nb: str
    guidance_en: str
    evidence_nb: str
    evidence_en: str
    mandatory: bool
    position: int = 0


def title(criterion: Criterion) -> str:
    return localized(criterion, "title")


def active() -> list[Criterion]:
    """The criteria releases are reviewed against now, in their published order."""
    return list(
        db.session.scalars(
            select(Criterion)
            .where(Criterion.retired_at.is_(None))
            .order_by(Criterion.position, Criterion.code)
        )
    )


def all_criteria() -> list[Criterion]:
    return list(db.session.scalars(select(Criterion).order_by(Criterion.position, Criterion.code)))


def get(criterion_id: int) -> Criterion:
    criterion = db.session.get(Criterion, criterion_id)
    if criterion is None:
        raise NotFound(_("No such criterion."))
    return criterion


def get_by_code(code: str) -> Criterion:
    criterion = db.session.scalar(select(Criterion).where(Criterion.code == code))
    if criterion is None:
        raise NotFound(_("No criterion has the code %(code)s.", code=code))
    return criterion


def _check(data: CriterionInput, errors: FieldErrors) -> dict[str, object]:
    values: dict[str, object] = {}
    code = (data.code or "").strip().upper()
    errors.check(
        bool(CODE.match(code)),
        "code",
        _("A code is 2 to 32 capital letters, digits and hyphens, starting with a letter."),
    )
    values["code"] = code
    for name, limit in (
        ("title_nb", 200),
        ("title_en", 200),
        ("guidance_nb", 10_000),
        ("guidance_en", 10_000),
        ("evidence_nb", 10_000),
        ("evidence_en", 10_000),
    ):
        text = (getattr(data, name) or "").strip()
        if not text:
            errors.add(name, _("This field is required."))
        elif len(text) > limit:
            errors.add(name, _("At most %(n)d characters.", n=limit))
        values[name] = text
    values["mandatory"] = bool(data.mandatory)
    errors.check(0 <= data.position <= 10_000, "position", _("A position is 0 to 10 000."))
    values["position"] = data.position
    return values


def create(data: CriterionInput, *, by: User) -> Criterion:
    errors = FieldErrors()
    values = _check(data, errors)
    errors.raise_if_any()
    criterion = Criterion(**values)
    add_unique(criterion, _("Another criterion has the code %(code)s.", code=values["code"]))
    return criterion


def update(
    criterion: Criterion, data: CriterionInput, *, by: User, expected_version: int | None = None
) -> Criterion:
    from catalog.applications import check_version

    check_version(criterion.version_id, expected_version)
    errors = FieldErrors()
    values = _check(data, errors)
    errors.check(values["code"] == criterion.code, "code", _("A criterion's code never changes."))
    errors.raise_if_any()
    for name, value in values.items():
        setattr(criterion, name, value)
    db.session.flush()  # bump version_id now: the response's ETag is the new one
    return criterion


def retire(criterion: Criterion, *, by: User) -> Criterion:
    """Stop reviewing against it; past reviews keep it in their history."""
    if criterion.retired_at is not None:
        raise Conflict(_("The criterion is retired already."))
    criterion.retired_at = utcnow()
    return criterion


SEED_FILE = Path(__file__).with_name("criteria.toml")


def seed_list() -> list[CriterionInput]:
    """The seed criteria (domain.md, "the defined minimum requirements")."""
    with SEED_FILE.open("rb") as handle:
        return [CriterionInput(**row) for row in tomllib.load(handle)["criterion"]]


def seed() -> int:
    """Create the seed criteria that do not exist yet; return how many were created."""
    existing = {c.code for c in all_criteria()}
    created = 0
    for data in seed_list():
        if data.code not in existing:
            criterion = Criterion(**_check(data, FieldErrors()))
            db.session.add(criterion)
            created += 1
    db.session.flush()  # the demo releases refer to these ids
    return created
