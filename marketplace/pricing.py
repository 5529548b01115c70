"""What an app costs a municipality under its price model (domain.md, "Price models").

Pure arithmetic: no database, no app context. Amounts are whole øre (`int`);
everything in between is an exact `Fraction`, never a float.

The rules, in one place:
- Rounding: one figure is rounded once, at the very end, to whole øre, half up
  (0.5 øre becomes 1 øre). Never per part: a basis part and a use part of 0.5
  øre each make 1 øre, not 2. Half up rather than banker's rounding because
  it is the rule a municipality checks an invoice by, and the bias banker's
  rounding avoids cannot build up when each figure is rounded once.
- The year is the calendar year of `as_of`. Days elapsed count 1 January up to
  and including `as_of` (2026-07-01 is day 182 of 365; 2028-07-01 is day 183 of
  366), so the year's last day gives the full year's cost.
- Time-based parts (fixed, per inhabitant, the whole yearly total of basis +
  usage) accrue pro rata by days elapsed. Usage parts count the units so far;
  the projection extrapolates them linearly to the year's end.
- Basis + usage: `price_ore` is the yearly total for all subscribers together.
  `basis_share_percent` of it is split by population share, the rest by share
  of use. While no subscriber has used the app at all, the use part is split by
  population too: the subscribers agreed to population as the fair measure for
  the basis, an equal split would charge Vinje as much as Oslo, and leaving the
  part unbilled would cut the vendor's price.
- A group buying together (interkommunalt samarbeid) pays what its members would
  pay one by one: domain.md prices "fixed" per municipality, so a group of three
  pays three fixed prices, each member its own; buying together does not turn
  three municipalities into one customer, and a discount is a contract matter,
  not the listing's.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import math
from collections.abc import Sequence
from fractions import Fraction

from flask_babel import gettext as _

from catalog.models import Application, PriceModel, UsageUnit
from torget.errors import FieldErrors, Invalid


def _whole(value: object) -> bool:
    # bool is an int in Python, but True inhabitants is a caller's bug.
    return isinstance(value, int) and not isinstance(value, bool)


@dataclasses.dataclass(frozen=True)
class Price:
    """An app's price as its listing declares it; refuses impossible numbers with `Invalid`.

    `price_ore` is whole øre (2.50 kr = 250): per year (fixed), per inhabitant and
    year (per_inhabitant), the yearly total for all subscribers (basis_usage),
    per unit of use (per_use); a free app costs nothing whatever it says.
    """

    model: PriceModel
    price_ore: int = 0
    # What a Situation's units count: launches, or active users summed per month.
    usage_unit: UsageUnit | None = None
    basis_share_percent: int | None = None

    def __post_init__(self) -> None:
        errors = FieldErrors()
        try:
            # A plain "fixed" from a form or the API becomes the enum member.
            object.__setattr__(self, "model", PriceModel(self.model))
        except ValueError:
            errors.add("price_model", _("This is not a price model."))
        if self.usage_unit is not None:
            try:
                object.__setattr__(self, "usage_unit", UsageUnit(self.usage_unit))
            except ValueError:
                errors.add("usage_unit", _("This is not a unit of use."))
        if errors.check(_whole(self.price_ore), "price_ore", _("A price is whole øre.")):
            errors.check(self.price_ore >= 0, "price_ore", _("A price cannot be negative."))
        share = self.basis_share_percent
        if share is None:
            errors.check(
                self.model != PriceModel.BASIS_USAGE,
                "basis_share_percent",
                _("Say how much of the price is shared by population."),
            )
        elif not _whole(share) or not 0 <= share <= 100:
            errors.add("basis_share_percent", _("A share is 0 to 100 percent."))
        errors.raise_if_any()

    @classmethod
    def of(cls, application: Application) -> Price:
        """The price an application's listing declares (a free app's empty price is 0)."""
        return cls(
            model=application.price_model,
            price_ore=application.price_ore or 0,
            usage_unit=application.usage_unit,
            basis_share_percent=application.basis_share_percent,
        )


@dataclasses.dataclass(frozen=True)
class Situation:
    """One municipality's situation for a period: the year, or the year so far.

    `units` counts this municipality's use in the price's usage unit over the
    period; `subscribers_population` and `subscribers_units` are the totals over
    every subscriber, this municipality included (only basis + usage reads them).
    Left out (None), they mean this municipality is the only subscriber.
    Refuses impossible numbers with `Invalid` naming the field.
    """

    population: int
    units: int = 0
    subscribers_population: int | None = None
    subscribers_units: int | None = None

    def __post_init__(self) -> None:
        errors = FieldErrors()
        own = {"population": self.population, "units": self.units}
        for field, value in own.items():
            if errors.check(_whole(value), field, _("Enter a whole number.")):
                errors.check(value >= 0, field, _("A count cannot be negative."))
        totals = {
            "subscribers_population": (self.subscribers_population, "population"),
            "subscribers_units": (self.subscribers_units, "units"),
        }
        for field, (total, part) in totals.items():
            if total is None:
                continue
            if not errors.check(_whole(total), field, _("Enter a whole number.")):
                continue
            # Below zero is refused even when this municipality's own count is.
            least = max(own[part], 0) if _whole(own[part]) else 0
            if total < least:
                errors.add(
                    field, _("The subscribers' total cannot be less than this municipality's own.")
                )
        errors.raise_if_any()

    @property
    def all_population(self) -> int:
        """Every subscriber's inhabitants together."""
        return (
            self.population if self.subscribers_population is None else self.subscribers_population
        )

    @property
    def all_units(self) -> int:
        """Every subscriber's use together."""
        return self.units if self.subscribers_units is None else self.subscribers_units


def _round(amount: Fraction) -> int:
    """Whole øre, half up (amounts are never negative)."""
    return math.floor(amount + Fraction(1, 2))


def _basis_usage_share(price: Price, situation: Situation) -> Fraction:
    """This municipality's share (0..1) of a basis + usage yearly total."""
    if situation.all_population == 0:
        raise Invalid(
            _("A price shared by population needs subscribers with inhabitants."),
            field="subscribers_population",
        )
    by_population = Fraction(situation.population, situation.all_population)
    by_use = (
        Fraction(situation.units, situation.all_units) if situation.all_units else by_population
    )
    basis = Fraction(price.basis_share_percent or 0, 100)
    return basis * by_population + (1 - basis) * by_use


def _exact_cost(
    price: Price, situation: Situation, *, elapsed: Fraction, usage_scale: Fraction
) -> Fraction:
    """The unrounded cost: time-based parts times `elapsed` (the share of the year
    accrued), units times `usage_scale` (1 for units counted as they are, more to
    extrapolate them)."""
    match price.model:
        case PriceModel.FIXED:
            return price.price_ore * elapsed
        case PriceModel.PER_INHABITANT:
            return price.price_ore * situation.population * elapsed
        case PriceModel.PER_USE:
            return price.price_ore * situation.units * usage_scale
        case PriceModel.BASIS_USAGE:
            # The yearly total accrues by time; the use share is the same
            # whether units are counted or extrapolated, since every
            # subscriber's units scale alike.
            return price.price_ore * elapsed * _basis_usage_share(price, situation)
    return Fraction(0)  # free


def _days(as_of: dt.date) -> tuple[int, int]:
    """(days elapsed including `as_of`, days in its calendar year)."""
    return as_of.timetuple().tm_yday, 366 if calendar.isleap(as_of.year) else 365


def yearly_cost(price: Price, situation: Situation) -> int:
    """The municipality's cost for a full year, in whole øre; `situation` holds the year's units."""
    return _round(_exact_cost(price, situation, elapsed=Fraction(1), usage_scale=Fraction(1)))


def cost_to_date(price: Price, situation: Situation, as_of: dt.date) -> int:
    """The cost from 1 January up to and including `as_of`, in whole øre.

    `situation` holds the units so far this year. Time-based parts accrue by
    days elapsed; units count as they are.
    """
    elapsed, days_in_year = _days(as_of)
    exact = _exact_cost(
        price, situation, elapsed=Fraction(elapsed, days_in_year), usage_scale=Fraction(1)
    )
    return _round(exact)


def projected_cost(price: Price, situation: Situation, as_of: dt.date) -> int:
    """The cost the whole year will come to if use goes on as so far, in whole øre.

    `situation` holds the units so far this year (up to and including `as_of`);
    they are extrapolated linearly by days to 31 December. Time-based parts
    count the full year.
    """
    elapsed, days_in_year = _days(as_of)
    exact = _exact_cost(
        price, situation, elapsed=Fraction(1), usage_scale=Fraction(days_in_year, elapsed)
    )
    return _round(exact)


def split_for_group(price: Price, members: Sequence[Situation]) -> list[int]:
    """Each member's share of the group's yearly cost, in whole øre, in the members' order.

    The group's cost is the exact sum of what each member would pay, rounded
    once; the shares add up to it exactly. Each share is its exact part
    rounded down, and the øre left over go one each to the largest remainders
    (ties: the earlier member), so no øre is lost or made up.

    For basis + usage, members that leave the subscriber totals out stand for
    a group that is all the subscribers; members that give them must give the
    same totals, which hold at least the group's own population and use.
    """
    if not members:
        raise Invalid(_("A group has at least one member."), field="members")
    members = _with_group_totals(price, members)
    exact = [
        _exact_cost(price, member, elapsed=Fraction(1), usage_scale=Fraction(1))
        for member in members
    ]
    shares = [math.floor(part) for part in exact]
    left_over = _round(sum(exact, Fraction(0))) - sum(shares)
    by_remainder = sorted(range(len(exact)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in by_remainder[:left_over]:
        shares[i] += 1
    return shares


def _with_group_totals(price: Price, members: Sequence[Situation]) -> list[Situation]:
    """The members with the subscribers' totals filled in and checked (basis + usage only)."""
    if price.model != PriceModel.BASIS_USAGE:
        return list(members)
    population = sum(m.population for m in members)
    units = sum(m.units for m in members)
    filled = [
        dataclasses.replace(
            m,
            subscribers_population=(
                population if m.subscribers_population is None else m.subscribers_population
            ),
            subscribers_units=units if m.subscribers_units is None else m.subscribers_units,
        )
        for m in members
    ]
    errors = FieldErrors()
    totals = {(m.subscribers_population, m.subscribers_units) for m in filled}
    if errors.check(
        len(totals) == 1, "members", _("The members of a group must give the same totals.")
    ):
        ((all_population, all_units),) = totals
        errors.check(
            all_population >= population,
            "subscribers_population",
            _("The subscribers' total cannot be less than the group's own."),
        )
        errors.check(
            all_units >= units,
            "subscribers_units",
            _("The subscribers' total cannot be less than the group's own."),
        )
    errors.raise_if_any()
    return filled
