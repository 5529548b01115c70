"""Forms of joint enablement: propose for a group, and each member's decision."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField

from torget.forms import CheckboxesField


class ProposeForm(FlaskForm):
    name = StringField(_l("Name of the group"))
    tenants = CheckboxesField(_l("The other municipalities"), validate_choice=False)
    scopes = CheckboxesField(_l("Scopes the app gets"), validate_choice=False)
    roles = CheckboxesField(_l("Who may launch it"), validate_choice=False)


class ApproveForm(FlaskForm):
    terms_version = HiddenField()
    accept = BooleanField(_l("I accept the terms and the data processing agreement"))


class DeclineForm(FlaskForm):
    """A button: only the CSRF token travels."""
