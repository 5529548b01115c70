"""How catalog values are shown to people, in their language."""

from __future__ import annotations

from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l

from catalog import scopes
from catalog.models import (
    Application,
    Audience,
    Category,
    ClientType,
    Environment,
    LaunchMode,
    Outcome,
    PriceModel,
    ReleaseState,
    UsageUnit,
)
from torget.errors import Invalid

CATEGORY = {
    Category.CLINICAL_DECISION_SUPPORT: _l("Clinical decision support"),
    Category.DOCUMENTATION: _l("Documentation"),
    Category.MEDICATION: _l("Medication"),
    Category.CARE_COORDINATION: _l("Care coordination"),
    Category.PATIENT_COMMUNICATION: _l("Patient communication"),
    Category.ADMINISTRATION: _l("Administration"),
    Category.ANALYTICS: _l("Analytics"),
    Category.WELFARE_TECHNOLOGY: _l("Welfare technology"),
}
AUDIENCE = {
    Audience.CLINICIAN: _l("Health personnel"),
    Audience.PATIENT: _l("Patients"),
    Audience.BACKEND: _l("Backend service (no user)"),
}
PRICE_MODEL = {
    PriceModel.FIXED: _l("Fixed yearly price per municipality"),
    PriceModel.PER_INHABITANT: _l("Yearly price per inhabitant"),
    PriceModel.BASIS_USAGE: _l("Basis plus usage"),
    PriceModel.PER_USE: _l("Price per use"),
    PriceModel.FREE: _l("Free or open source"),
}
USAGE_UNIT = {
    UsageUnit.LAUNCH: _l("per launch"),
    UsageUnit.ACTIVE_USER_MONTH: _l("per active user and month"),
}
CLIENT_TYPE = {
    ClientType.PUBLIC: _l("Public client (browser app, PKCE)"),
    ClientType.CONFIDENTIAL_SECRET: _l("Confidential client with a secret"),
    ClientType.CONFIDENTIAL_KEY: _l("Confidential client with a key (private_key_jwt)"),
    ClientType.BACKEND: _l("Backend service (client credentials, private_key_jwt)"),
}
LAUNCH_MODE = {
    LaunchMode.EHR: _l("From the journal system (EHR launch)"),
    LaunchMode.STANDALONE: _l("On its own (standalone launch)"),
}
STATE = {
    ReleaseState.DRAFT: _l("Draft"),
    ReleaseState.SUBMITTED: _l("Submitted"),
    ReleaseState.IN_REVIEW: _l("In review"),
    ReleaseState.CERTIFIED: _l("Certified"),
    ReleaseState.REJECTED: _l("Rejected"),
    ReleaseState.SUSPENDED: _l("Suspended"),
    ReleaseState.REVOKED: _l("Revoked"),
    ReleaseState.SUPERSEDED: _l("Superseded"),
}
OUTCOME = {
    Outcome.PASSED: _l("Passed"),
    Outcome.FAILED: _l("Failed"),
    Outcome.NOT_APPLICABLE: _l("Not applicable"),
}
ENVIRONMENT = {
    Environment.SANDBOX: _l("Sandbox"),
    Environment.PRODUCTION: _l("Production"),
}

_TABLES: dict[str, dict] = {
    "category": CATEGORY,
    "audience": AUDIENCE,
    "price_model": PRICE_MODEL,
    "usage_unit": USAGE_UNIT,
    "client_type": CLIENT_TYPE,
    "launch_mode": LAUNCH_MODE,
    "state": STATE,
    "outcome": OUTCOME,
    "environment": ENVIRONMENT,
}


def label(kind: str, value: object) -> str:
    """`label("state", release.state)` in templates; unknown values shown as they are."""
    table = _TABLES[kind]
    for key, text in table.items():
        if key == value:
            return str(text)
    return str(value)


def choices(kind: str) -> list[tuple[str, str]]:
    """(value, label) pairs for a form's select or radio field."""
    return [(key.value, str(text)) for key, text in _TABLES[kind].items()]


def kroner(ore: int) -> str:
    """250 øre as "2,50 kr" (bokmål) or "NOK 2.50"-style digits (English)."""
    return format_decimal(ore / 100, format="#,##0.00") + " kr"


def price(application: Application) -> str:
    """The price model with its numbers, in one line."""
    model = application.price_model
    if model == PriceModel.FREE:
        return str(PRICE_MODEL[model])
    amount = kroner(application.price_ore or 0)
    if model == PriceModel.FIXED:
        return str(_l("%(amount)s per year", amount=amount))
    if model == PriceModel.PER_INHABITANT:
        return str(_l("%(amount)s per inhabitant per year", amount=amount))
    unit = str(USAGE_UNIT[application.usage_unit]) if application.usage_unit else ""
    if model == PriceModel.PER_USE:
        return f"{amount} {unit}"
    return str(
        _l(
            "%(amount)s per year for all municipalities: %(share)s %% by population, "
            "the rest by use (%(unit)s)",
            amount=amount,
            share=application.basis_share_percent,
            unit=unit,
        )
    )


def explained_scopes(scope_text: str) -> list[tuple[str, str]]:
    """(scope, plain-language meaning) for each scope of a release, for every page showing them.

    Stored scopes were parsed when saved; a scope that no longer parses (the
    grammar tightened) is shown as it is, never hidden.
    """
    out = []
    for text in scope_text.split():
        try:
            out.append((text, scopes.explain(scopes.parse_scope(text))))
        except Invalid:
            out.append((text, str(_l("This scope is not understood."))))
    return out
