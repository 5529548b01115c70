"""Forms for the account pages (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, IntegerField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, NumberRange

from accounts import api_tokens, passwords
from accounts.users import MAX_EMAIL_LENGTH


class LoginForm(FlaskForm):
    email = EmailField(
        _l("Email address"),
        validators=[DataRequired(), Length(max=MAX_EMAIL_LENGTH)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(max=passwords.MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


class ApiTokenForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    expires_in_days = IntegerField(
        _l("Valid for (days)"),
        default=90,
        validators=[DataRequired(), NumberRange(min=1, max=api_tokens.MAX_DAYS)],
    )


class ConfirmForm(FlaskForm):
    """A button that changes something: only the CSRF token travels."""
