"""Forms of the vendor portal (Flask-WTF: every form carries a CSRF token).

The forms only carry input: the rules (what a slug, a price or a redirect URI
may be) are the services', which name the field of each problem. A form checks
no more than what it must parse (a number, a date, a JSON text) before the
service can read it.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import InputRequired, Optional, ValidationError

from accounts import passwords
from catalog import labels
from catalog.applications import Listing
from catalog.models import Application, Release
from catalog.releases import ReleaseInput
from catalog.vendors import NewAccount, VendorProfile
from torget.forms import CheckboxesField


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class VersionField(HiddenField):
    """The row version the page was built from (optimistic locking).

    Anything but a number counts as a stale version, never as "do not check".
    """

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            self.data = int(valuelist[0]) if valuelist else None
        except ValueError:
            self.data = -1

    def _value(self) -> str:
        return "" if self.data is None else str(self.data)


# --- vendors -----------------------------------------------------------------


class ProfileForm(FlaskForm):
    contact_email = EmailField(_l("Contact email"), render_kw={"autocomplete": "email"})
    security_email = EmailField(_l("Security contact email"))
    website = URLField(_l("Website"), render_kw={"autocomplete": "url"})

    def profile(self) -> VendorProfile:
        return VendorProfile(
            contact_email=self.contact_email.data or "",
            security_email=self.security_email.data or "",
            website=self.website.data or "",
        )


class SignUpForm(ProfileForm):
    name = StringField(_l("Vendor name"), render_kw={"autocomplete": "organization"})
    organisation_number = StringField(
        _l("Organisation number"), render_kw={"inputmode": "numeric", "autocomplete": "off"}
    )


class NewAccountForm(FlaskForm):
    """The account of a person who has none yet (sign-up and invitations)."""

    display_name = StringField(_l("Your name"), render_kw={"autocomplete": "name"})
    password = PasswordField(
        _l("Choose a password"),
        description=_l("At least %(n)d characters.", n=passwords.MIN_LENGTH),
        render_kw={"autocomplete": "new-password"},
    )


class NewAccountSignUpForm(SignUpForm, NewAccountForm):
    """Sign-up for a visitor who is not signed in: their account comes with the vendor."""

    email = EmailField(_l("Your email address"), render_kw={"autocomplete": "email"})

    def account(self) -> NewAccount:
        return NewAccount(
            display_name=self.display_name.data or "",
            email=self.email.data or "",
            password=self.password.data or "",
        )


class InviteForm(FlaskForm):
    email = EmailField(_l("Email address of the new member"))


# --- applications ----------------------------------------------------------------


class ListingForm(FlaskForm):
    """An app's listing; `version_id` is the version of the row the page showed."""

    name = StringField(_l("Name"))
    summary_nb = StringField(_l("Summary (bokmål)"))
    summary_en = StringField(_l("Summary (English)"))
    description_nb = TextAreaField(_l("Description (bokmål)"), render_kw={"rows": 6})
    description_en = TextAreaField(_l("Description (English)"), render_kw={"rows": 6})
    # validate_choice=False: the service says which values it takes, in its words.
    category = SelectField(_l("Category"), validate_choice=False)
    audience = SelectField(_l("Audience"), validate_choice=False)
    support_url = URLField(_l("Support URL"))
    privacy_url = URLField(_l("Privacy policy URL"))
    price_model = SelectField(_l("Price model"), validate_choice=False)
    # Text, not a number field: people type "2,50" as well as "2.50".
    price_nok = StringField(_l("Price (kroner)"), render_kw={"inputmode": "decimal"})
    usage_unit = SelectField(_l("Unit of use"), validate_choice=False)
    basis_share_percent = IntegerField(
        _l("Basis share (percent)"), validators=[Optional()], render_kw={"inputmode": "numeric"}
    )
    version_id = VersionField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.category.choices = labels.choices("category")
        self.audience.choices = labels.choices("audience")
        self.price_model.choices = labels.choices("price_model")
        self.usage_unit.choices = [("", str(_l("No unit"))), *labels.choices("usage_unit")]

    def fill_from(self, application: Application) -> None:
        """Show the app's listing as it is stored (a GET of the edit page)."""
        self.process(obj=application)
        if application.price_ore is not None:
            # No grouping: the bokmål thousands separator is a no-break space.
            self.price_nok.data = format_decimal(
                Decimal(application.price_ore) / 100, format="0.00"
            )
        self.usage_unit.data = application.usage_unit.value if application.usage_unit else ""

    def listing(self) -> Listing:
        return Listing(
            name=self.name.data or "",
            summary_nb=self.summary_nb.data or "",
            summary_en=self.summary_en.data or "",
            description_nb=self.description_nb.data or "",
            description_en=self.description_en.data or "",
            category=self.category.data or "",
            audience=self.audience.data or "",
            support_url=self.support_url.data or "",
            privacy_url=self.privacy_url.data or "",
            price_model=self.price_model.data or "",
            price_nok=(self.price_nok.data or "").strip() or None,
            usage_unit=self.usage_unit.data or None,
            basis_share_percent=self.basis_share_percent.data,
        )


class NewApplicationForm(ListingForm):
    slug = StringField(
        _l("Slug"),
        description=_l(
            "The app's address in the catalog: lower-case letters, digits and hyphens. "
            "It never changes."
        ),
        render_kw={"autocapitalize": "none", "spellcheck": "false"},
    )


class LogoForm(FlaskForm):
    logo = FileField(
        _l("Logo"),
        validators=[FileRequired(_l("Choose an image file."))],
        render_kw={"accept": "image/png,image/jpeg,image/webp"},
    )


class ScreenshotForm(FlaskForm):
    screenshot = FileField(
        _l("Screenshot"),
        validators=[FileRequired(_l("Choose an image file."))],
        render_kw={"accept": "image/png,image/jpeg,image/webp"},
    )
    caption = StringField(_l("Caption (alternative text)"))


# --- releases ------------------------------------------------------------------


class NewReleaseForm(FlaskForm):
    version = StringField(_l("Version"), render_kw={"autocomplete": "off"})
    client_type = SelectField(_l("Client type"), validate_choice=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client_type.choices = labels.choices("client_type")

    def release_input(self) -> ReleaseInput:
        return ReleaseInput(version=self.version.data or "", client_type=self.client_type.data)


class DraftForm(FlaskForm):
    """Everything of a draft but its version; `version_id` guards against lost edits."""

    client_type = SelectField(_l("Client type"), validate_choice=False)
    launch_url = URLField(_l("Launch URL"))
    redirect_uris = TextAreaField(_l("Redirect URIs"), render_kw={"rows": 3})
    jwks_url = URLField(_l("JWKS URL"))
    jwks = TextAreaField(_l("JWK Set (JSON)"), render_kw={"rows": 6, "spellcheck": "false"})
    scopes = TextAreaField(_l("Scopes"), render_kw={"rows": 4, "spellcheck": "false"})
    launch_modes = CheckboxesField(_l("Launch modes"), validate_choice=False)
    release_notes = TextAreaField(_l("Release notes"), render_kw={"rows": 4})
    data_use_statement = TextAreaField(_l("Data-use statement"), render_kw={"rows": 6})
    version_id = VersionField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client_type.choices = labels.choices("client_type")
        self.launch_modes.choices = labels.choices("launch_mode")

    def validate_jwks(self, field: TextAreaField) -> None:
        if (field.data or "").strip():
            try:
                json.loads(field.data)
            except (ValueError, RecursionError):
                raise ValidationError(
                    _l("This is not valid JSON. Paste the key set as it is, starting with {.")
                ) from None

    def fill_from(self, release: Release) -> None:
        """Show the draft as it is stored (a GET of the release page)."""
        self.process(obj=release)
        self.client_type.data = release.client_type.value
        self.redirect_uris.data = "\n".join(release.redirect_uris)
        self.jwks.data = json.dumps(release.jwks, indent=2) if release.jwks else ""
        self.scopes.data = "\n".join(release.scope_list)

    def release_input(self, release: Release) -> ReleaseInput:
        """The draft as the form says it should be: an emptied field is emptied.

        The key fields are on the page only for key-based clients; when they
        were not shown, the stored keys are left alone.
        """
        clear: set[str] = set()
        launch_url = (self.launch_url.data or "").strip()
        redirect_uris = _lines(self.redirect_uris.data)
        if not launch_url:
            clear.add("launch_url")
        if not redirect_uris:
            clear.add("redirect_uris")
        # Scopes cannot be emptied: an empty box on a draft that has none
        # leaves it so (the checklist says they are missing); on one that has
        # some, the service says that at least one is needed.
        scopes = " ".join((self.scopes.data or "").split())
        jwks_url = jwks = None
        if release.client_type.uses_keys:
            jwks_url = (self.jwks_url.data or "").strip()
            jwks_text = (self.jwks.data or "").strip()
            jwks = json.loads(jwks_text) if jwks_text else None
            if not jwks_url:
                clear.add("jwks_url")
                jwks_url = None
            if jwks is None:
                clear.add("jwks")
        return ReleaseInput(
            client_type=self.client_type.data,
            launch_url=launch_url or None,
            redirect_uris=redirect_uris or None,
            jwks_url=jwks_url,
            jwks=jwks,
            scopes=scopes if scopes or release.scopes else None,
            launch_modes=list(self.launch_modes.data or []),
            release_notes=self.release_notes.data or "",
            data_use_statement=self.data_use_statement.data or "",
            clear=frozenset(clear),
        )


class EvidenceForm(FlaskForm):
    """One document for one criterion; the page has one such form per criterion (prefix)."""

    file = FileField(
        _l("Document (PDF, PNG or JPEG)"), validators=[FileRequired(_l("Choose a file."))]
    )
    issued_on = DateField(_l("Issue date"), validators=[InputRequired()])
    expires_on = DateField(_l("Expiry date (if it expires)"), validators=[Optional()])


# --- credentials -----------------------------------------------------------------


class RotateForm(FlaskForm):
    grace_days = IntegerField(
        _l("Days the current secrets keep working"),
        default=7,
        validators=[InputRequired()],
        render_kw={"inputmode": "numeric"},
    )
