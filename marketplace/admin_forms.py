"""Forms of the municipal admin's pages (Flask-WTF: every form carries a CSRF token).

The forms only carry input; `marketplace.enablements` decides what is valid
(never more than the release registered, the terms in their current version,
an exit step named) and its field errors are put back on these forms with
`torget.forms.refuse`. The enablement page shows several forms at once, so
each is made with a prefix that keeps its field ids (and so its labels) unique.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired

from catalog import labels
from catalog.vendor_forms import VersionField
from marketplace import terms
from marketplace.enablements import LAUNCH_ROLES, Access
from marketplace.models import Enablement, ExitStep
from torget.forms import CheckboxesField

LAUNCH_ROLE_LABELS = {
    "clinician": _l("Health personnel (clinicians)"),
    "patient": _l("Patients"),
}
EXIT_STEP_LABELS = {
    ExitStep.DATA_RETURNED: _l("The vendor returned the municipality's data"),
    ExitStep.DATA_DELETED: _l("The vendor deleted the municipality's data"),
    ExitStep.NO_DATA_HELD: _l("The app held no data outside the platform"),
}
_STALE_PAGE = _l("The page was incomplete. Reload it and try again.")


def launch_role_label(role: str) -> str:
    return str(LAUNCH_ROLE_LABELS.get(role, role))


def exit_step_label(step: ExitStep | None) -> str:
    return str(EXIT_STEP_LABELS[step]) if step else ""


def scope_choices(*scope_lists: Iterable[str]) -> list[tuple[str, str]]:
    """(scope, plain-language meaning) for the scopes of all lists, each once, in order."""
    seen: list[str] = []
    for scope_list in scope_lists:
        seen += [s for s in scope_list if s not in seen]
    return labels.explained_scopes(" ".join(seen))


class _ScopesForm(FlaskForm):
    # The service decides which scopes may be approved: a scope the release did
    # not register is its 422, with its message, not WTForms' "not a valid choice".
    scopes = CheckboxesField(_l("Scopes"), validate_choice=False)

    def offer_scopes(self, choices: list[tuple[str, str]]) -> None:
        """The checkboxes; which are ticked comes from the request, or the `scopes` default."""
        self.scopes.choices = choices


class _AccessForm(_ScopesForm):
    roles = CheckboxesField(_l("Who may launch it"), validate_choice=False)

    def offer_roles(self) -> None:
        self.roles.choices = [(role, launch_role_label(role)) for role in LAUNCH_ROLES]

    def access(self) -> Access:
        return Access(scopes=list(self.scopes.data or []), roles=list(self.roles.data or []))


class EnableForm(_AccessForm):
    """Enable an app: the scopes approved, the roles that launch, the terms accepted."""

    # The version of the terms the page showed: accepting an older text than
    # the current one is refused by the service, not silently upgraded.
    terms_version = HiddenField(default=terms.VERSION)
    terms = BooleanField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.terms.label.text = _l(
            "I have read and accept the terms of use and the data processing agreement, "
            "version %(version)s, on behalf of the municipality.",
            version=self.terms_version.data or terms.VERSION,
        )

    def accepted_terms_version(self) -> str:
        """The terms version accepted: none unless the box is ticked."""
        return (self.terms_version.data or "") if self.terms.data else ""


class AccessForm(_AccessForm):
    """Change the approved scopes and roles within the pinned release."""

    version_id = VersionField(validators=[InputRequired(_STALE_PAGE)])


class MoveForm(FlaskForm):
    """Move to the newer release as it is: one click when it asks for nothing more."""

    version_id = VersionField(validators=[InputRequired(_STALE_PAGE)])
    # The release the page offered: a release certified meanwhile is not moved to unseen.
    release = HiddenField(validators=[InputRequired(_STALE_PAGE)])


class ApproveForm(_ScopesForm):
    """Approve what the newer release asks for, and move to it; the roles stay."""

    version_id = VersionField(validators=[InputRequired(_STALE_PAGE)])
    release = HiddenField(validators=[InputRequired(_STALE_PAGE)])

    def access(self, enablement: Enablement) -> Access:
        return Access(scopes=list(self.scopes.data or []), roles=list(enablement.roles))


class DisableForm(FlaskForm):
    """Turn the app off, recording the data processing agreement's exit step."""

    version_id = VersionField(validators=[InputRequired(_STALE_PAGE)])
    # The service names a missing or unknown exit step in its own words.
    exit_step = RadioField(_l("What became of the data"), validate_choice=False)
    confirmed_by = StringField(
        _l("Who at the vendor confirmed it"), render_kw={"autocomplete": "off"}
    )
    note = TextAreaField(_l("Note (optional)"))
    confirm = BooleanField(
        _l("I understand that the app stops at once for everyone in the municipality."),
        validators=[DataRequired(_l("Tick the box to confirm that the app stops at once."))],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Built per request: the labels are in the reader's language.
        self.exit_step.choices = [(step.value, exit_step_label(step)) for step in ExitStep]
