"""The patient directory: whom a clinician can pick for `launch/patient` and `launch/encounter`.

`auth` declares the interface and the rules for reading a search text; the
gateway implements it over its FHIR store or the upstream FHIR server
(gateway/directory.py). The picker and the EPJ launcher ask `directory()`.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from flask import Flask, current_app
from flask_babel import gettext as _

from marketplace.models import Tenant
from torget.errors import Invalid

EXTENSION = "torget_patient_directory"
MAX_TEXT = 100
MAX_LIMIT = 50

# [0-9], not \d: \d also matches other scripts' digits, which are no identifier.
_IDENTIFIER = re.compile(r"[0-9]{11}")
_NORWEGIAN_DATE = re.compile(r"([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
# "Anne-Marie" is two name parts: "marie" finds her.
_NAME_SEPARATORS = re.compile(r"[\s\-]+")


@dataclass(frozen=True)
class PatientSummary:
    id: str  # the Patient id on the tenant's FHIR base
    name: str
    birth_date: dt.date | None
    gender: str | None  # FHIR administrative gender: female, male, other, unknown
    identifier: str | None  # fødselsnummer: 11 digits

    @property
    def masked_identifier(self) -> str | None:
        """The birth-date part only ("010203*****"): lists show whom, not the whole number."""
        if self.identifier is None:
            return None
        return self.identifier[:6] + "*" * (len(self.identifier) - 6)


@dataclass(frozen=True)
class EncounterSummary:
    id: str  # the Encounter id on the tenant's FHIR base
    patient_id: str
    description: str
    status: str  # FHIR Encounter.status: planned, in-progress, finished, ...
    start: dt.datetime | None


class PatientDirectory(Protocol):
    """The patients and encounters of one tenant; never another tenant's."""

    def search(self, tenant: Tenant, text: str, *, limit: int = 20) -> list[PatientSummary]:
        """Patients whose name, fødselsnummer or birth date `text` gives, by name then id."""
        ...

    def get(self, tenant: Tenant, patient_id: str) -> PatientSummary | None: ...

    def encounters(
        self, tenant: Tenant, patient_id: str, *, limit: int = 20
    ) -> list[EncounterSummary]:
        """The patient's encounters, newest first."""
        ...

    def encounter(self, tenant: Tenant, encounter_id: str) -> EncounterSummary | None: ...


@dataclass(frozen=True)
class SearchQuery:
    """What a search text asks for: one of the three, or nothing (list everyone)."""

    words: tuple[str, ...] = ()
    identifier: str | None = None
    birth_date: dt.date | None = None


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(_("Ask for between 1 and %(most)d results.", most=MAX_LIMIT), field="limit")


def parse_search(text: str, limit: int) -> SearchQuery:
    """Read a search text: an 11-digit fødselsnummer, a birth date, or name words.

    Every directory reads the text by these rules, so the picker behaves the
    same over the tables and over the gateway.

    Raises `Invalid` for a text over 100 characters, a limit outside 1..50, or
    a date that does not exist (31.02.1950).
    """
    if len(text) > MAX_TEXT:
        raise Invalid(_("A search is at most %(most)d characters.", most=MAX_TEXT), field="text")
    check_limit(limit)
    text = text.strip()
    if _IDENTIFIER.fullmatch(text):
        return SearchQuery(identifier=text)
    if match := _NORWEGIAN_DATE.fullmatch(text):
        day, month, year = match.groups()
        return SearchQuery(birth_date=_date(int(year), int(month), int(day)))
    if match := _ISO_DATE.fullmatch(text):
        year, month, day = match.groups()
        return SearchQuery(birth_date=_date(int(year), int(month), int(day)))
    return SearchQuery(words=tuple(w for w in _NAME_SEPARATORS.split(_fold(text)) if w))


def _date(year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise Invalid(_("There is no such date."), field="text") from None


def name_matches(name: str, words: Iterable[str]) -> bool:
    """Every word begins some part of the name, ignoring case ("kar nord": Kari Nordmann)."""
    parts = [p for p in _NAME_SEPARATORS.split(_fold(name)) if p]
    return all(any(part.startswith(word) for part in parts) for word in words)


def directory() -> PatientDirectory:
    """The application's patient directory."""
    return current_app.extensions[EXTENSION]


def init_app(app: Flask, implementation: PatientDirectory) -> None:
    """Serve the directory from `implementation` (the gateway registers its own)."""
    app.extensions[EXTENSION] = implementation
