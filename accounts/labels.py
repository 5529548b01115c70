"""How roles and organisation numbers are shown to people."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from accounts.models import Role

ROLE_LABELS = {
    Role.OPERATOR: _l("Operator"),
    Role.REVIEWER: _l("Reviewer (certification body)"),
    Role.VENDOR_MEMBER: _l("Vendor member"),
    Role.MUNICIPAL_ADMIN: _l("Municipal administrator"),
    Role.CLINICIAN: _l("Health personnel"),
}


def role_label(role: Role) -> str:
    return str(ROLE_LABELS[role])


def format_organisation_number(number: str) -> str:
    """`958935420` as it is printed: `958 935 420`."""
    return f"{number[:3]} {number[3:6]} {number[6:]}" if len(number) == 9 else number
