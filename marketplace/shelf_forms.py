"""Forms of the clinician's app shelf and the admins' request queue."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField


class AskForm(FlaskForm):
    # Only shown when the clinician works in more than one municipality.
    tenant = SelectField(_l("Municipality"), validate_choice=False)
    message = TextAreaField(
        _l("Why you need it (optional)"),
        description=_l("Your municipality's administrators read this when they decide."),
        render_kw={"rows": 4},
    )


class AnswerForm(FlaskForm):
    answer = TextAreaField(_l("Answer"), render_kw={"rows": 3})
