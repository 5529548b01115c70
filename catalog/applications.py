"""Applications: an app's identity and listing (names, texts, category, price, images)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Protocol

from flask_babel import gettext as _
from sqlalchemy import select

from accounts.models import User
from catalog import vendors
from catalog.models import (
    Application,
    Audience,
    Category,
    PriceModel,
    Release,
    ReleaseState,
    Screenshot,
    UsageUnit,
    Vendor,
)
from catalog.urls import check_web_url
from torget.db import add_unique, db
from torget.errors import Conflict, FieldErrors, NotFound, PreconditionFailed

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
MAX_PRICE_NOK = Decimal("100000000")  # 100 million kroner: beyond it, a typo
MAX_SCREENSHOTS = 8


class StoredImage(Protocol):
    """An image `catalog.files` has checked and stored."""

    sha256: str
    content_type: str
    width: int
    height: int


@dataclass(frozen=True)
class Listing:
    """Everything a vendor says about an app, as the forms and the API send it."""

    name: str
    summary_nb: str
    summary_en: str
    description_nb: str
    description_en: str
    category: str
    audience: str
    support_url: str
    privacy_url: str
    price_model: str
    price_nok: Decimal | str | None = None
    usage_unit: str | None = None
    basis_share_percent: int | None = None


def _enum(value: str | None, enum: type, field: str, errors: FieldErrors) -> object:
    try:
        return enum(value)
    except ValueError:
        errors.add(field, _("Choose one of the options."))
        return None


def _text(value: str | None, field: str, limit: int, errors: FieldErrors) -> str:
    text = (value or "").strip()
    if not text:
        errors.add(field, _("This field is required."))
    elif len(text) > limit:
        errors.add(field, _("At most %(n)d characters.", n=limit))
    return text


def _price_ore(value: Decimal | str | None, errors: FieldErrors) -> int | None:
    try:
        amount = Decimal(str(value).strip().replace(",", ".").replace(" ", ""))
    except (InvalidOperation, ValueError):
        errors.add("price_nok", _("Enter an amount in kroner, like 2.50."))
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_PRICE_NOK:
        errors.add("price_nok", _("Enter an amount from 0 to 100 000 000 kroner."))
        return None
    if amount != amount.quantize(Decimal("0.01")):
        errors.add("price_nok", _("Kroner have at most two decimals (øre)."))
        return None
    return int(amount * 100)


def _check_price(listing: Listing, errors: FieldErrors) -> dict[str, object]:
    """The price columns for the model, or errors naming what the model needs."""
    model = _enum(listing.price_model, PriceModel, "price_model", errors)
    if model is None:
        return {}
    given_price = listing.price_nok not in (None, "")
    given_unit = listing.usage_unit not in (None, "")
    given_share = listing.basis_share_percent is not None
    needs_price = model != PriceModel.FREE
    needs_unit = model in {PriceModel.PER_USE, PriceModel.BASIS_USAGE}
    needs_share = model == PriceModel.BASIS_USAGE
    values: dict[str, object] = {"price_model": model}
    if needs_price and not given_price:
        errors.add("price_nok", _("This price model needs a price."))
    elif not needs_price and given_price:
        errors.add("price_nok", _("A free app has no price."))
    values["price_ore"] = (
        _price_ore(listing.price_nok, errors) if needs_price and given_price else None
    )
    if needs_unit and not given_unit:
        errors.add("usage_unit", _("This price model needs a unit of use."))
    elif not needs_unit and given_unit:
        errors.add("usage_unit", _("Only per-use and basis-plus-usage prices have a unit."))
    values["usage_unit"] = (
        _enum(listing.usage_unit, UsageUnit, "usage_unit", errors)
        if needs_unit and given_unit
        else None
    )
    share = listing.basis_share_percent
    if needs_share and not given_share:
        errors.add("basis_share_percent", _("Say how much of the price is shared by population."))
    elif not needs_share and given_share:
        errors.add("basis_share_percent", _("Only basis-plus-usage prices have a basis share."))
    elif needs_share and share is not None and not 0 <= share <= 100:
        errors.add("basis_share_percent", _("A share is 0 to 100 percent."))
    values["basis_share_percent"] = share if needs_share else None
    return values


def _check_listing(listing: Listing, errors: FieldErrors) -> dict[str, object]:
    values: dict[str, object] = {
        "name": _text(listing.name, "name", 100, errors),
        "summary_nb": _text(listing.summary_nb, "summary_nb", 300, errors),
        "summary_en": _text(listing.summary_en, "summary_en", 300, errors),
        "description_nb": _text(listing.description_nb, "description_nb", 10_000, errors),
        "description_en": _text(listing.description_en, "description_en", 10_000, errors),
        "category": _enum(listing.category, Category, "category", errors),
        "audience": _enum(listing.audience, Audience, "audience", errors),
        "support_url": check_web_url(listing.support_url, "support_url", errors),
        "privacy_url": check_web_url(listing.privacy_url, "privacy_url", errors),
    }
    values.update(_check_price(listing, errors))
    return values


def normalise_slug(raw: str) -> str:
    """Slugs are stored lower-cased, so "NEWS2" and "news2" are the same app."""
    return (raw or "").strip().lower()


def create(vendor: Vendor, *, slug: str, listing: Listing, by: User) -> Application:
    vendors.require_member(by, vendor)
    errors = FieldErrors()
    slug = normalise_slug(slug)
    errors.check(
        bool(SLUG.match(slug)),
        "slug",
        _("Use lower-case letters, digits and hyphens (at most 63)."),
    )
    values = _check_listing(listing, errors)
    errors.raise_if_any()
    application = Application(vendor=vendor, slug=slug, **values)
    add_unique(application, _("Another app has the address %(slug)s.", slug=slug))
    return application


def update(
    application: Application, listing: Listing, *, by: User, expected_version: int | None = None
) -> Application:
    """Change the listing. With `expected_version` (the API's If-Match), a stale edit is a 412."""
    vendors.require_member(by, application.vendor)
    check_version(application.version_id, expected_version)
    errors = FieldErrors()
    values = _check_listing(listing, errors)
    errors.raise_if_any()
    if values["audience"] != application.audience and has_submitted_release(application):
        # The audience decides which scopes a release may ask for; certified
        # releases were checked against the old one.
        raise Conflict(
            _("The audience is fixed once a release has been submitted."), field="audience"
        )
    for name, value in values.items():
        setattr(application, name, value)
    db.session.flush()  # bump version_id now: the response's ETag is the new one
    return application


def check_version(current: int, expected: int | None) -> None:
    if expected is not None and expected != current:
        raise PreconditionFailed(
            _("Someone else changed this since you loaded it. Reload and try again.")
        )


def has_submitted_release(application: Application) -> bool:
    return (
        db.session.scalar(
            select(Release.id)
            .where(Release.application_id == application.id, Release.state != ReleaseState.DRAFT)
            .limit(1)
        )
        is not None
    )


def set_logo(application: Application, image: StoredImage, *, by: User) -> Application:
    vendors.require_member(by, application.vendor)
    application.logo_sha256 = image.sha256
    application.logo_content_type = image.content_type
    return application


def add_screenshot(
    application: Application, image: StoredImage, *, caption: str, by: User
) -> Screenshot:
    vendors.require_member(by, application.vendor)
    errors = FieldErrors()
    caption = _text(caption, "caption", 200, errors)
    errors.check(
        len(application.screenshots) < MAX_SCREENSHOTS,
        "screenshot",
        _("An app has at most %(n)d screenshots.", n=MAX_SCREENSHOTS),
    )
    errors.raise_if_any()
    position = max((s.position for s in application.screenshots), default=0) + 1
    screenshot = Screenshot(
        sha256=image.sha256,
        content_type=image.content_type,
        width=image.width,
        height=image.height,
        caption=caption,
        position=position,
    )
    application.screenshots.append(screenshot)
    db.session.flush()  # generate screenshot.id for the response
    return screenshot


def remove_screenshot(application: Application, screenshot_id: int, *, by: User) -> None:
    vendors.require_member(by, application.vendor)
    for screenshot in application.screenshots:
        if screenshot.id == screenshot_id:
            application.screenshots.remove(screenshot)
            return
    raise NotFound(_("The app has no such screenshot."))


def get_by_slug(slug: str) -> Application:
    application = db.session.scalar(
        select(Application).where(Application.slug == normalise_slug(slug))
    )
    if application is None:
        raise NotFound(_("No app is called %(slug)s.", slug=slug))
    return application


def for_vendor(vendor: Vendor) -> list[Application]:
    return list(
        db.session.scalars(
            select(Application).where(Application.vendor_id == vendor.id).order_by(Application.name)
        )
    )
