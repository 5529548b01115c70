"""Forms of the reviewer console (Flask-WTF: every form carries a CSRF token).

The forms only carry input; the services decide what is valid (a reason is
required, a failed criterion needs a comment) and their field errors are put
back on these forms with `torget.forms.show_errors`. The release page shows
several forms at once, so each is made with a prefix that keeps its field ids
(and so its labels) unique on the page.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional
from wtforms.widgets import HiddenInput

from catalog import criteria, labels


class CheckForm(FlaskForm):
    """A reviewer's finding on one criterion."""

    outcome = RadioField(_l("Finding"), validators=[InputRequired()])
    comment = TextAreaField(_l("Comment"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Built per request: the labels are in the reader's language.
        self.outcome.choices = labels.choices("outcome")


class CertifyForm(FlaskForm):
    comment = TextAreaField(_l("Comment for the vendor (optional)"))


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Reason for rejection"))


class SuspendForm(FlaskForm):
    reason = TextAreaField(_l("Reason for suspension"))


class ReinstateForm(FlaskForm):
    reason = TextAreaField(_l("Reason for reinstatement"))


class RevokeForm(FlaskForm):
    reason = TextAreaField(_l("Reason for revocation"))
    # Revoking is final (no transition leads out of it): make the reviewer say so.
    confirm = BooleanField(
        _l("I understand that revoking is final: the release never launches again."),
        validators=[DataRequired(_l("Tick the box to confirm that revoking is final."))],
    )


class CriterionForm(FlaskForm):
    code = StringField(_l("Code"))
    title_nb = StringField(_l("Title in bokmål"))
    title_en = StringField(_l("Title in English"))
    guidance_nb = TextAreaField(_l("Guidance in bokmål"))
    guidance_en = TextAreaField(_l("Guidance in English"))
    evidence_nb = TextAreaField(_l("Evidence that satisfies it, in bokmål"))
    evidence_en = TextAreaField(_l("Evidence that satisfies it, in English"))
    mandatory = BooleanField(_l("Mandatory: every release must pass it"), default=True)
    position = IntegerField(
        _l("Position in the list"),
        default=0,
        validators=[Optional(), NumberRange(min=0, max=10_000)],
    )

    def to_input(self, code: str | None = None) -> criteria.CriterionInput:
        """The service's input; `code` for an edit, where the code never changes."""
        return criteria.CriterionInput(
            code=code if code is not None else self.code.data or "",
            title_nb=self.title_nb.data or "",
            title_en=self.title_en.data or "",
            guidance_nb=self.guidance_nb.data or "",
            guidance_en=self.guidance_en.data or "",
            evidence_nb=self.evidence_nb.data or "",
            evidence_en=self.evidence_en.data or "",
            mandatory=bool(self.mandatory.data),
            position=self.position.data or 0,
        )


class CriterionEditForm(CriterionForm):
    code = None  # a criterion's code never changes
    # The version the reviewer loaded: a concurrent edit is refused, not lost.
    version_id = IntegerField(widget=HiddenInput(), validators=[DataRequired()])
