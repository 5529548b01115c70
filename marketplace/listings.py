"""The public catalog: which apps are listed, search, facets, sorting and pages.

An app is listed while it has a release in state `certified`; that release is
the one the catalog shows. Superseded-only, suspended, revoked, rejected and
draft-only apps are not listed, and their pages do not exist (404).

One query fetches a compact row per listed app that matches the words
searched for (PostgreSQL full-text search; on SQLite, each word must appear in
one of the searched fields). Facets, their counts, sorting and the page are
then worked out over those rows in Python: the "data used" facet comes from
parsing each release's scopes (`catalog.scopes`), which no SQL can do; one
pass gives every facet's counts at once; and names sort as Norwegians sort
them (æ, ø, å after z), which neither database's default collation does.
Only the apps of the page asked for are loaded whole.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import lru_cache
from operator import itemgetter
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import (
    ColumnElement,
    Engine,
    Row,
    String,
    and_,
    case,
    event,
    func,
    literal_column,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import lazyload

from accounts.models import Organisation
from catalog import applications, criteria, labels, releases, scopes
from catalog.models import (
    Application,
    Audience,
    Category,
    CriterionCheck,
    Outcome,
    PriceModel,
    Release,
    ReleaseState,
    Vendor,
)
from marketplace.tenants import norwegian_sort_key
from torget.db import db
from torget.errors import Invalid, NotFound

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# Bounds on the work one request can ask for.
MAX_PAGE = 100_000
MAX_QUERY_LENGTH = 200
MAX_VALUES_PER_FACET = 20

FACETS = ("category", "audience", "data", "price_model", "vendor")


class Sort(StrEnum):
    RELEVANCE = "relevance"  # best match first; only when searching
    NAME = "name"  # alphabetical, as Norwegians sort (æ, ø, å last)
    NEWEST = "newest"  # most recently certified first


@dataclass(frozen=True)
class CatalogQuery:
    """What a visitor asks the catalog: the words, the facet values, the order and the page.

    Within a facet the values are alternatives (category A or B); across
    facets they all apply (category A and price model free).
    """

    q: str = ""
    category: frozenset[Category] = frozenset()
    audience: frozenset[Audience] = frozenset()
    data: frozenset[str] = frozenset()
    price_model: frozenset[PriceModel] = frozenset()
    vendor: frozenset[str] = frozenset()
    sort: Sort | None = None  # None: relevance when searching, else name
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE

    @property
    def effective_sort(self) -> Sort:
        if self.sort is None or (self.sort == Sort.RELEVANCE and not self.q):
            return Sort.RELEVANCE if self.q else Sort.NAME
        return self.sort

    def selected(self, facet: str) -> frozenset[str]:
        return frozenset(str(v) for v in getattr(self, facet))

    def args(self, **changes: Any) -> dict[str, Any]:
        """The query as GET parameters (defaults left out), so a result page is a link.

        `changes` replace fields first: `query.args(page=2)` is the next page.
        """
        query = replace(self, **changes)
        out: dict[str, Any] = {}
        if query.q:
            out["q"] = query.q
        for facet in FACETS:
            if values := query.selected(facet):
                out[facet] = sorted(values)
        if query.sort is not None:
            out["sort"] = query.sort.value
        if query.page != 1:
            out["page"] = query.page
        if query.page_size != DEFAULT_PAGE_SIZE:
            out["page_size"] = query.page_size
        return out


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int  # the apps it would show, with every other facet's choice applied
    selected: bool


@dataclass(frozen=True)
class ListedApp:
    """An app as the catalog lists it: the app and its certified release."""

    application: Application
    release: Release
    data: list[str]  # the resource types its scopes reach, `*` for all

    @property
    def slug(self) -> str:
        return self.application.slug


@dataclass(frozen=True)
class SearchResult:
    query: CatalogQuery
    items: list[ListedApp]
    total: int
    facets: dict[str, list[FacetValue]]

    @property
    def sort(self) -> Sort:
        return self.query.effective_sort

    @property
    def page(self) -> int:
        return self.query.page

    @property
    def page_size(self) -> int:
        return self.query.page_size

    @property
    def total_pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))


@dataclass(frozen=True)
class CheckedCriterion:
    """A criterion a certified release was found to meet (or to which it does not apply)."""

    code: str
    title: str  # in the reader's language


@dataclass(frozen=True)
class Certification:
    """What the certification found, by criterion.

    The evidence documents stay between the vendor and the certification body.
    """

    passed: list[CheckedCriterion] = field(default_factory=list)
    not_applicable: list[CheckedCriterion] = field(default_factory=list)


@dataclass(frozen=True)
class AppListing:
    """Everything the app page shows: the app, its certified release and its certification."""

    application: Application
    release: Release
    data: list[str]
    certification: Certification


# --- what a release's scopes reach ---------------------------------------------------


@lru_cache(maxsize=4096)
def data_used(scope_text: str) -> frozenset[str]:
    """The resource types a release's scopes reach (`*` for all kinds of data).

    Cached by the text: many releases ask for the same scopes, and a stored
    text never changes meaning. A scope that no longer parses (the grammar
    tightened since it was stored) reaches nothing the catalog can name.
    """
    try:
        parsed = scopes.parse_scopes(scope_text)
    except Invalid:
        parsed = []
        for text in scope_text.split():
            try:
                parsed.append(scopes.parse_scope(text))
            except Invalid:
                continue
    return frozenset(scopes.resource_types(parsed))


def _sorted_types(types: Iterable[str]) -> list[str]:
    # `*` (all kinds of data) first: it says the most.
    return sorted(types, key=lambda t: (t != scopes.WILDCARD, t))


# --- full-text search ----------------------------------------------------------------

# Letters and digits: what both databases take for the parts of a word
# (PostgreSQL's parser splits "foo_bar" at the underscore too).
_WORD = re.compile(r"[^\W_]+")
# websearch_to_tsquery's operators that make a word optional or unwanted.
_OR_NOT = re.compile(r"(?:^|\s)-|\bor\b", re.IGNORECASE)

# The fields searched, each with its PostgreSQL weight and its SQLite score:
# a word in the app's name counts most, then the vendor's, then the summaries.
_SEARCHED: tuple[tuple[Any, str, int], ...] = (
    (Application.name, "A", 8),
    (Organisation.name, "B", 4),
    (Application.summary_nb, "C", 2),
    (Application.summary_en, "C", 2),
    (Application.description_nb, "D", 1),
    (Application.description_en, "D", 1),
)


def _words(q: str) -> list[str]:
    return list(dict.fromkeys(w.casefold() for w in _WORD.findall(q)))


def _every_word(
    q: str, found_in: Callable[[Any, str], ColumnElement[bool]]
) -> tuple[ColumnElement[bool], ColumnElement[Any]]:
    """Every word of `q` is in one of the searched fields; and a score of where."""
    conditions = []
    score: ColumnElement[Any] = literal_column("0")
    for word in _words(q):
        matches = []
        for column, _weight, points in _SEARCHED:
            found = found_in(column, word)
            matches.append(found)
            score = score + case((found, points), else_=0)
        conditions.append(or_(*matches))
    return and_(*conditions), score


def _postgresql_match(q: str) -> tuple[ColumnElement[bool], ColumnElement[Any]]:
    """PostgreSQL's full-text search over an expression (no stored column).

    The 'simple' configuration lower-cases and splits words but stems nothing:
    the texts are in two languages, and a Norwegian word run through an English
    stemmer (or the reverse) would match the wrong things. websearch_to_tsquery
    takes what people type into search boxes: words (all must match), "quoted
    phrases", `or`, and `-word` to leave out.
    """
    document = None
    for column, weight, _score in _SEARCHED:
        part = func.setweight(
            postgresql.to_tsvector("simple", column),
            # A fixed letter, never input: setweight takes a "char", not text.
            literal_column(f"'{weight}'"),
        )
        document = part if document is None else document.op("||")(part)
    query = postgresql.websearch_to_tsquery("simple", q)
    match = document.op("@@")(query)
    if not _OR_NOT.search(q):
        # Without `or` and `-`, every word is in a matching app's text. Asking
        # that first (ILIKE, quick) spares parsing the texts of every app
        # that cannot match, which is most of them: without a stored
        # document and its index, parsing is the search's whole cost.
        words, _score = _every_word(q, lambda column, word: column.icontains(word, autoescape=True))
        match = and_(words, match)
    return match, func.ts_rank(document, query)


def _casefold(text: str | None) -> str | None:
    return None if text is None else text.casefold()


@event.listens_for(Engine, "connect")
def _sqlite_functions(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite's LIKE ignores case for ASCII letters only; æ, ø and å need this."""
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    dbapi_connection.create_function("torget_casefold", 1, _casefold, deterministic=True)


def _sqlite_contains(column: Any, word: str) -> ColumnElement[bool]:
    # LIKE ignores the case of ASCII letters by itself: only words with other
    # letters (æ, ø, å) pay for a Python call per row.
    target = column if word.isascii() else func.torget_casefold(column)
    return target.contains(word, autoescape=True)


def _sqlite_match(q: str) -> tuple[ColumnElement[bool], ColumnElement[Any]]:
    """The portable fallback: every word appears somewhere, case ignored.

    A word may match inside a longer one ("vital" finds "vitale"): SQLite has
    no word index to do better without a new table. The score adds up where
    each word was found, weighted as on PostgreSQL.
    """
    return _every_word(q, _sqlite_contains)


# --- searching -----------------------------------------------------------------------


def _rows(q: str, sort: Sort) -> list[Row[Any]]:
    """A compact row per listed app the words find: what the facets and the order need."""
    # Certifying a release supersedes the app's older certified one, so there
    # is one per app; grouping keeps it one row per app whatever happens.
    certified = (
        select(Release.application_id, func.max(Release.id).label("release_id"))
        .where(Release.state == ReleaseState.CERTIFIED)
        .group_by(Release.application_id)
        .subquery()
    )
    rank: ColumnElement[Any] = literal_column("0")
    match: ColumnElement[bool] | None = None
    if _words(q):
        dialect = db.session.get_bind().dialect.name
        match, rank = _postgresql_match(q) if dialect == "postgresql" else _sqlite_match(q)
    statement = (
        select(
            Application.id,
            Release.id.label("release_id"),
            Application.name,
            # Columns 3 to 8 are what the facets see (`_signature` below). The
            # values come as stored: skipping the enum conversion of every row
            # is a good part of a large catalog's time.
            type_coerce(Application.category, String).label("category"),
            type_coerce(Application.audience, String).label("audience"),
            type_coerce(Application.price_model, String).label("price_model"),
            Organisation.slug.label("vendor"),
            Organisation.name.label("vendor_name"),
            Release.scopes,
            rank.label("rank"),
        )
        .join(certified, certified.c.application_id == Application.id)
        .join(Release, Release.id == certified.c.release_id)
        .join(Vendor, Vendor.id == Application.vendor_id)
        .join(Organisation, Organisation.id == Vendor.organisation_id)
    )
    if match is not None:
        statement = statement.where(match)
    if sort == Sort.NEWEST:
        # The database orders by date: it holds them ready to compare, where
        # Python would first turn every row's into a datetime.
        statement = statement.order_by(Release.certified_at.desc().nulls_last(), Application.id)
    else:
        statement = statement.order_by(Application.id)  # ties below stay in this order
    # Core, not the ORM: these are plain rows, and a large catalog has many.
    return list(db.session.connection().execute(statement).all())


# What the facets see of an app (category, audience, price model, vendor, its
# name, the scopes): apps with the same signature pass the same choices and
# count alike, so the facets are worked out once per signature, not once per
# app, and a catalog has far fewer signatures than apps.
_signature = itemgetter(3, 4, 5, 6, 7, 8)


def _chosen_vendors(slugs: frozenset[str]) -> dict[str, str]:
    """The names of the vendors the query names; a misspelt one is a 422, not silence."""
    if not slugs:
        return {}
    known = dict(
        db.session.execute(
            select(Organisation.slug, Organisation.name)
            .join(Vendor)
            .where(Organisation.slug.in_(slugs))
        ).all()
    )
    unknown = sorted(slugs - known.keys())
    if unknown:
        raise Invalid(
            _("No vendor is called %(slug)s.", slug=", ".join(unknown)),
            fields={"vendor": [_("No vendor is called %(slug)s.", slug=s) for s in unknown]},
        )
    return known


@lru_cache(maxsize=65_536)
def _name_key(name: str) -> str:
    # Cached: the names of a catalog change seldom, and the key is slow to make.
    return norwegian_sort_key(name)


def _order(rows: list[Row[Any]], sort: Sort) -> list[Row[Any]]:
    if sort == Sort.NEWEST:
        return rows  # ordered by the database
    # Python's sort is stable: equal names stay in the database's order, and
    # equally good matches in the order of their names.
    ordered = sorted(rows, key=lambda r: _name_key(r.name))
    if sort == Sort.RELEVANCE:
        ordered.sort(key=lambda r: r.rank or 0, reverse=True)
    return ordered


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


_ENUM_FACETS: dict[str, type[StrEnum]] = {
    "category": Category,
    "audience": Audience,
    "price_model": PriceModel,
}


def _facet_values(signature: tuple[str, ...]) -> tuple[Iterable[str], ...]:
    """An app's values in each facet, in the order of FACETS."""
    category, audience, price_model, vendor, _vendor_name, scope_text = signature
    return (category,), (audience,), data_used(scope_text), (price_model,), (vendor,)


def _facets(
    query: CatalogQuery, rows: list[Row[Any]], vendors: dict[str, str]
) -> tuple[list[Row[Any]], dict[str, list[FacetValue]]]:
    """The rows every choice lets through, and each facet's counts.

    A facet counts over the rows the other facets' choices let through, not its
    own: ticking "Medication" still shows how many apps each other category
    has, so a second category can be added.
    """
    # Facets by position (in the order of FACETS): this loop runs once per
    # kind of app, and a large catalog has thousands.
    chosen = [query.selected(facet) for facet in FACETS]
    tallies: list[Counter[str]] = [Counter() for _ in FACETS]
    vendor_names = dict(vendors)
    passing = set()
    signatures = list(map(_signature, rows))
    for signature, apps in Counter(signatures).items():
        values = _facet_values(signature)
        vendor_names[signature[3]] = signature[4]
        failed = [i for i, c in enumerate(chosen) if c and c.isdisjoint(values[i])]
        if not failed:
            passing.add(signature)
            counted: Iterable[int] = range(len(FACETS))
        elif len(failed) == 1:
            counted = failed  # these apps would show if that facet's choice changed
        else:
            continue
        for i in counted:
            tally = tallies[i]
            for value in values[i]:
                tally[value] += apps

    facets = {}
    for facet, selected, counts in zip(FACETS, chosen, tallies, strict=True):
        shown = {v for v, n in counts.items() if n} | selected
        if facet == "vendor":
            names = {v: vendor_names[v] for v in shown}
        elif facet == "data":
            names = {v: _capitalised(scopes.resource_name(v)) for v in shown}
        else:
            names = {v: labels.label(facet, v) for v in shown}
        if facet in _ENUM_FACETS:
            # The published order of the choices, as on every form.
            order = [m.value for m in _ENUM_FACETS[facet] if m.value in shown]
        else:
            order = sorted(shown, key=lambda v: (-counts[v], _name_key(names[v])))
        facets[facet] = [FacetValue(v, names[v], counts[v], v in selected) for v in order]
    matched = [r for r, s in zip(rows, signatures, strict=True) if s in passing]
    return matched, facets


def search(query: CatalogQuery) -> SearchResult:
    """The listed apps that match `query`: one page of them, the total and the facets."""
    vendors = _chosen_vendors(query.vendor)
    rows = _rows(query.q, query.effective_sort)
    matched, facets = _facets(query, rows, vendors)
    ordered = _order(matched, query.effective_sort)
    start = (query.page - 1) * query.page_size
    page = ordered[start : start + query.page_size]
    return SearchResult(query=query, items=_load(page), total=len(matched), facets=facets)


def _load(rows: list[Row[Any]]) -> list[ListedApp]:
    """The page's apps and releases, whole, in the page's order (two queries)."""
    if not rows:
        return []
    found = {
        a.id: a
        for a in db.session.scalars(
            select(Application)
            .where(Application.id.in_([r.id for r in rows]))
            # The cards show no screenshots; the app page loads them.
            .options(lazyload(Application.screenshots))
        )
    }
    certified = {
        r.id: r
        for r in db.session.scalars(
            select(Release)
            .where(Release.id.in_([r.release_id for r in rows]))
            # Evidence and checks are the app page's, not the cards'.
            .options(lazyload(Release.evidence), lazyload(Release.checks))
        )
    }
    return [
        ListedApp(found[r.id], certified[r.release_id], _sorted_types(data_used(r.scopes)))
        for r in rows
    ]


# --- one app -----------------------------------------------------------------------


def get_listing(slug: str) -> AppListing:
    """A listed app's page: its certified release and the criteria that release passed.

    An app without a certified release is not in the catalog, also by direct
    link: the answer is the same 404 as for an app that does not exist.
    """
    application = db.session.scalar(
        select(Application).where(Application.slug == applications.normalise_slug(slug))
    )
    release = releases.current_certified(application) if application is not None else None
    if application is None or release is None:
        raise NotFound(_("No certified app is called %(slug)s.", slug=slug))
    return AppListing(
        application=application,
        release=release,
        data=_sorted_types(data_used(release.scopes)),
        certification=Certification(
            passed=_criteria(release.checks, Outcome.PASSED),
            not_applicable=_criteria(release.checks, Outcome.NOT_APPLICABLE),
        ),
    )


def _criteria(checks: Iterable[CriterionCheck], outcome: Outcome) -> list[CheckedCriterion]:
    found = sorted(
        (c.criterion for c in checks if c.outcome == outcome),
        key=lambda c: (c.position, c.code),
    )
    return [CheckedCriterion(c.code, criteria.title(c)) for c in found]
