"""Price models: yearly cost, cost so far and projected, group splits, refusals.

Every expected figure is worked out by hand in the comment above it, in øre
(100 øre = 1 kr). Populations are domain.md's. Pure arithmetic: no app, no
database, so these run once, not per database.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from fractions import Fraction

import pytest

from catalog.models import Application, PriceModel, UsageUnit
from marketplace.pricing import (
    Price,
    Situation,
    cost_to_date,
    projected_cost,
    split_for_group,
    yearly_cost,
)
from torget.errors import Invalid

OSLO, BERGEN, TRONDHEIM, BODO, VINJE = 717_000, 292_000, 215_000, 53_000, 3_800

FIXED = Price(PriceModel.FIXED, price_ore=4_500_000)  # 45 000 kr per municipality and year
PER_INHABITANT = Price(PriceModel.PER_INHABITANT, price_ore=250)  # 2.50 kr
PER_LAUNCH = Price(PriceModel.PER_USE, price_ore=300, usage_unit=UsageUnit.LAUNCH)  # 3.00 kr
PER_ACTIVE_USER = Price(
    PriceModel.PER_USE, price_ore=1_200, usage_unit=UsageUnit.ACTIVE_USER_MONTH
)  # 12.00 kr per active user and month
# 600 000 kr a year for all subscribers together, 50 % by population, the rest by launches.
BASIS = Price(
    PriceModel.BASIS_USAGE,
    price_ore=60_000_000,
    usage_unit=UsageUnit.LAUNCH,
    basis_share_percent=50,
)
FREE = Price(PriceModel.FREE)

# Bergen, Bodø and Vinje subscribe to BASIS and launched it 700, 250 and 50 times.
SUBSCRIBERS = BERGEN + BODO + VINJE  # 292 000 + 53 000 + 3 800 = 348 800
USES = 700 + 250 + 50  # 1 000


def subscriber(population: int, units: int) -> Situation:
    return Situation(
        population=population,
        units=units,
        subscribers_population=SUBSCRIBERS,
        subscribers_units=USES,
    )


MID_2026 = dt.date(2026, 7, 1)  # 31+28+31+30+31+30 = 181 days before it: day 182 of 365
MID_2028 = dt.date(2028, 7, 1)  # a leap year: 31+29+31+30+31+30 = 182 before: day 183 of 366


def refused(make: Callable[[], object]) -> dict[str, list[str]]:
    """The field errors of an input that must be refused."""
    with pytest.raises(Invalid) as caught:
        make()
    assert caught.value.status == 422
    return caught.value.fields


# -- a full year, each model --------------------------------------------------------------


def test_fixed_is_the_yearly_price_whatever_the_size() -> None:
    assert yearly_cost(FIXED, Situation(population=OSLO)) == 4_500_000
    assert yearly_cost(FIXED, Situation(population=VINJE, units=99)) == 4_500_000


def test_per_inhabitant_is_the_price_times_the_population() -> None:
    # Oslo: 250 * 717 000 = 179 250 000 øre = 1 792 500,00 kr
    assert yearly_cost(PER_INHABITANT, Situation(population=OSLO)) == 179_250_000
    # Vinje: 250 * 3 800 = 950 000 øre = 9 500,00 kr
    assert yearly_cost(PER_INHABITANT, Situation(population=VINJE)) == 950_000


def test_per_use_counts_launches() -> None:
    # Trondheim launched 2 400 times: 2 400 * 300 = 720 000 øre = 7 200 kr
    assert yearly_cost(PER_LAUNCH, Situation(population=TRONDHEIM, units=2_400)) == 720_000
    assert yearly_cost(PER_LAUNCH, Situation(population=TRONDHEIM, units=0)) == 0


def test_per_use_counts_active_users_summed_per_month() -> None:
    # Bodø: 40 active users in each of 12 months = 480 user-months * 1 200 = 576 000 øre
    assert yearly_cost(PER_ACTIVE_USER, Situation(population=BODO, units=12 * 40)) == 576_000


def test_free_costs_nothing() -> None:
    assert yearly_cost(FREE, Situation(population=OSLO, units=10_000)) == 0
    assert cost_to_date(FREE, Situation(population=OSLO, units=5), MID_2026) == 0
    assert projected_cost(FREE, Situation(population=OSLO, units=5), MID_2026) == 0


def test_basis_usage_splits_the_total_by_population_and_by_use() -> None:
    # Basis part: 50 % of 60 000 000 = 30 000 000 by population share of 348 800;
    # use part: the other 30 000 000 by share of the 1 000 launches.
    # Bergen: 30 000 000 * 292 000 / 348 800 = 25 114 678.899...
    #       + 30 000 000 * 700 / 1 000     = 21 000 000
    #       = 46 114 678.899... -> 46 114 679 øre (461 146,79 kr)
    assert yearly_cost(BASIS, subscriber(BERGEN, 700)) == 46_114_679
    # Bodø:   30 000 000 * 53 000 / 348 800 = 4 558 486.238...
    #       + 30 000 000 * 250 / 1 000      = 7 500 000
    #       = 12 058 486.238... -> 12 058 486 øre
    assert yearly_cost(BASIS, subscriber(BODO, 250)) == 12_058_486
    # Vinje:  30 000 000 * 3 800 / 348 800 = 326 834.862...
    #       + 30 000 000 * 50 / 1 000      = 1 500 000
    #       = 1 826 834.862... -> 1 826 835 øre
    assert yearly_cost(BASIS, subscriber(VINJE, 50)) == 1_826_835
    # 46 114 679 + 12 058 486 + 1 826 835 = 60 000 000: here the three happen to add up.


def test_basis_usage_without_any_use_splits_the_use_part_by_population_too() -> None:
    nobody_used = Situation(
        population=BERGEN, units=0, subscribers_population=SUBSCRIBERS, subscribers_units=0
    )
    # All 60 000 000 by population: 60 000 000 * 292 000 / 348 800 = 50 229 357.798...
    assert yearly_cost(BASIS, nobody_used) == 50_229_358


def test_basis_usage_at_the_ends_of_the_share() -> None:
    all_by_use = Price(PriceModel.BASIS_USAGE, price_ore=60_000_000, basis_share_percent=0)
    all_by_population = Price(PriceModel.BASIS_USAGE, price_ore=60_000_000, basis_share_percent=100)
    # 0 %: 60 000 000 * 700 / 1 000 = 42 000 000
    assert yearly_cost(all_by_use, subscriber(BERGEN, 700)) == 42_000_000
    # 100 %: 60 000 000 * 292 000 / 348 800 = 50 229 357.798... -> 50 229 358
    assert yearly_cost(all_by_population, subscriber(BERGEN, 700)) == 50_229_358


def test_a_sole_subscriber_pays_the_whole_basis_usage_total() -> None:
    # Subscriber totals left out: Vinje is the only subscriber.
    assert yearly_cost(BASIS, Situation(population=VINJE, units=3)) == 60_000_000
    assert yearly_cost(BASIS, Situation(population=VINJE, units=0)) == 60_000_000


# -- so far this year, and projected -------------------------------------------------------


def test_time_based_prices_accrue_by_days_elapsed() -> None:
    oslo = Situation(population=OSLO)
    # 179 250 000 * 182 / 365 = 89 379 452.05... -> 89 379 452 øre
    assert cost_to_date(PER_INHABITANT, oslo, MID_2026) == 89_379_452
    # Vinje: 950 000 * 182 / 365 = 473 698.63... -> 473 699
    assert cost_to_date(PER_INHABITANT, Situation(population=VINJE), MID_2026) == 473_699
    # Fixed: 4 500 000 * 182 / 365 = 2 243 835.61... -> 2 243 836
    assert cost_to_date(FIXED, oslo, MID_2026) == 2_243_836
    # 1 January is one day: 4 500 000 * 1 / 365 = 12 328.76... -> 12 329
    assert cost_to_date(FIXED, oslo, dt.date(2026, 1, 1)) == 12_329
    # The projection of a time-based price is the full year.
    assert projected_cost(PER_INHABITANT, oslo, MID_2026) == 179_250_000
    assert projected_cost(FIXED, oslo, MID_2026) == 4_500_000


def test_leap_years_have_366_days() -> None:
    oslo = Situation(population=OSLO)
    # 2028-07-01 is day 183 of 366, exactly half: 179 250 000 / 2 = 89 625 000
    assert cost_to_date(PER_INHABITANT, oslo, MID_2028) == 89_625_000
    # 29 February 2028 is day 60 of 366: 179 250 000 * 60 / 366 = 29 385 245.90... -> 29 385 246
    assert cost_to_date(PER_INHABITANT, oslo, dt.date(2028, 2, 29)) == 29_385_246
    # 1 March 2027 is day 60 too, but of 365:
    # 179 250 000 * 60 / 365 = 29 465 753.42... -> 29 465 753
    assert cost_to_date(PER_INHABITANT, oslo, dt.date(2027, 3, 1)) == 29_465_753
    # 31 December is day 366: the full year.
    assert cost_to_date(PER_INHABITANT, oslo, dt.date(2028, 12, 31)) == 179_250_000


def test_usage_counts_units_so_far_and_projects_them_linearly() -> None:
    trondheim = Situation(population=TRONDHEIM, units=1_200)  # launches up to 1 July 2026
    # So far: 1 200 * 300 = 360 000 øre, whatever the date.
    assert cost_to_date(PER_LAUNCH, trondheim, MID_2026) == 360_000
    # Projected: 1 200 * 365 / 182 = 2 406.59... launches; * 300 = 131 400 000 / 182
    # = 721 978.02... -> 721 978 øre
    assert projected_cost(PER_LAUNCH, trondheim, MID_2026) == 721_978
    # Bodø: 40 + 45 + 50 = 135 user-months by 31 March 2026 (day 31+28+31 = 90).
    bodo = Situation(population=BODO, units=135)
    assert cost_to_date(PER_ACTIVE_USER, bodo, dt.date(2026, 3, 31)) == 135 * 1_200
    # 135 * 365 / 90 = 547.5 user-months; * 1 200 = 657 000 øre exactly.
    assert projected_cost(PER_ACTIVE_USER, bodo, dt.date(2026, 3, 31)) == 657_000


def test_basis_usage_accrues_by_time_and_is_split_by_use_so_far() -> None:
    # Uses so far 700/250/50, on day 182 of 365. Bergen's yearly exact share is
    # 46 114 678.899... = 5 026 500 000 / 109; so far: * 182 / 365
    # = 22 994 168.66... -> 22 994 169 øre
    assert cost_to_date(BASIS, subscriber(BERGEN, 700), MID_2026) == 22_994_169
    # Every subscriber's use extrapolates alike, so the shares stay and the
    # projection is the full yearly figure.
    assert projected_cost(BASIS, subscriber(BERGEN, 700), MID_2026) == 46_114_679


@pytest.mark.parametrize(
    ("price", "situation"),
    [
        (FIXED, Situation(population=VINJE)),
        (PER_INHABITANT, Situation(population=OSLO)),
        (PER_LAUNCH, Situation(population=TRONDHEIM, units=4_321)),
        (PER_ACTIVE_USER, Situation(population=BODO, units=577)),
        (BASIS, subscriber(BODO, 250)),
        (FREE, Situation(population=OSLO, units=1)),
    ],
)
@pytest.mark.parametrize("year", [2026, 2028])
def test_on_the_last_day_so_far_and_projected_are_the_year(
    price: Price, situation: Situation, year: int
) -> None:
    last_day = dt.date(year, 12, 31)
    full_year = yearly_cost(price, situation)
    assert cost_to_date(price, situation, last_day) == full_year
    assert projected_cost(price, situation, last_day) == full_year
    # Earlier in the year, the projection is never below what is spent.
    assert projected_cost(price, situation, MID_2026) >= cost_to_date(price, situation, MID_2026)


# -- rounding: once, at the end, half up ----------------------------------------------------


def test_half_an_ore_rounds_up() -> None:
    fixed = Price(PriceModel.FIXED, price_ore=183)
    vinje = Situation(population=VINJE)
    # 183 * 1 / 366 = 0.5 -> 1 (banker's rounding would give 0)
    assert cost_to_date(fixed, vinje, dt.date(2028, 1, 1)) == 1
    # 183 * 5 / 366 = 2.5 -> 3 (banker's rounding would give 2; Python's round() too)
    assert round(2.5) == 2
    assert cost_to_date(fixed, vinje, dt.date(2028, 1, 5)) == 3
    # 182 * 1 / 366 = 0.497... -> 0
    assert cost_to_date(Price(PriceModel.FIXED, price_ore=182), vinje, dt.date(2028, 1, 1)) == 0
    # Projected units are not rounded to whole launches first:
    # 1 launch by day 2 -> 1 * 365 / 2 = 182.5 launches * 1 øre = 182.5 -> 183
    one_ore = Price(PriceModel.PER_USE, price_ore=1, usage_unit=UsageUnit.LAUNCH)
    assert projected_cost(one_ore, Situation(population=VINJE, units=1), dt.date(2026, 1, 2)) == 183


def test_rounding_happens_once_not_per_part() -> None:
    # 2 øre, 50 % basis: 1 øre by population, 1 øre by use. Two subscribers alike:
    # basis 1 * 1/2 = 0.5, use 1 * 1/2 = 0.5; together 1.0 -> 1.
    # Rounding each part half up would give 1 + 1 = 2.
    tiny = Price(PriceModel.BASIS_USAGE, price_ore=2, basis_share_percent=50)
    half = Situation(population=1, units=1, subscribers_population=2, subscribers_units=2)
    assert yearly_cost(tiny, half) == 1


# -- joint enablement: the group's cost, split exactly ---------------------------------------


def test_a_group_buying_a_fixed_price_pays_it_per_member() -> None:
    members = [
        Situation(population=BERGEN),
        Situation(population=BODO),
        Situation(population=VINJE),
    ]
    assert split_for_group(FIXED, members) == [4_500_000, 4_500_000, 4_500_000]


def test_a_group_pays_per_inhabitant_and_per_use_member_by_member() -> None:
    members = [Situation(population=OSLO, units=10), Situation(population=VINJE, units=3)]
    # 250 * 717 000 = 179 250 000; 250 * 3 800 = 950 000
    assert split_for_group(PER_INHABITANT, members) == [179_250_000, 950_000]
    # 10 * 300 = 3 000; 3 * 300 = 900
    assert split_for_group(PER_LAUNCH, members) == [3_000, 900]
    assert split_for_group(FREE, members) == [0, 0]


def test_a_group_of_all_subscribers_splits_the_basis_usage_total_exactly() -> None:
    members = [
        Situation(population=BERGEN, units=700),
        Situation(population=BODO, units=250),
        Situation(population=VINJE, units=50),
    ]
    # Exact parts as in the yearly test: 46 114 678.899, 12 058 486.238, 1 826 834.862;
    # rounded down 59 999 998; the 2 øre left go to the largest remainders (.899 Bergen,
    # .862 Vinje).
    shares = split_for_group(BASIS, members)
    assert shares == [46_114_679, 12_058_486, 1_826_835]
    assert sum(shares) == 60_000_000


def test_a_group_inside_a_larger_set_of_subscribers_pays_its_members_parts() -> None:
    # Bergen and Bodø buy together; Vinje subscribes on its own.
    members = [subscriber(BERGEN, 700), subscriber(BODO, 250)]
    # 46 114 678.899 + 12 058 486.238 = 58 173 165.137... -> 58 173 165;
    # rounded down 46 114 678 + 12 058 486 = 58 173 164; 1 øre left to Bergen (.899).
    assert split_for_group(BASIS, members) == [46_114_679, 12_058_486]


def test_no_ore_is_lost_when_three_share_one_krone() -> None:
    # 100 øre by population, three alike: 33.33... each. Rounded one by one they
    # make 99 øre; split, they make 100 and the first member carries the extra øre.
    krone = Price(PriceModel.BASIS_USAGE, price_ore=100, basis_share_percent=100)
    alike = [Situation(population=1), Situation(population=1), Situation(population=1)]
    alone = Situation(population=1, subscribers_population=3)
    assert yearly_cost(krone, alone) * 3 == 99
    assert split_for_group(krone, alike) == [34, 33, 33]
    # 200 øre: 66.66... each; rounded down 198, 2 left: the two first.
    two_kroner = Price(PriceModel.BASIS_USAGE, price_ore=200, basis_share_percent=100)
    assert split_for_group(two_kroner, alike) == [67, 67, 66]


def test_group_shares_always_add_up_to_the_group_cost() -> None:
    rng = random.Random(20260701)  # fixed seed: a failure can be replayed
    for _case in range(500):
        size = rng.randint(1, 12)
        populations = [rng.choice([0, 1, 7, 3_800, rng.randint(1, 800_000)]) for _ in range(size)]
        if not any(populations):
            populations[0] = 1
        units = [rng.choice([0, 1, rng.randint(0, 100_000)]) for _ in range(size)]
        price = Price(
            PriceModel.BASIS_USAGE,
            price_ore=rng.choice([1, 99, 997, 100_003, rng.randint(0, 10**10)]),
            basis_share_percent=rng.randint(0, 100),
        )
        members = [
            Situation(population=p, units=u) for p, u in zip(populations, units, strict=True)
        ]
        shares = split_for_group(price, members)
        # The group is all the subscribers: it pays the total, to the øre.
        assert sum(shares) == price.price_ore, (price, members)
        # And no member is more than one øre from its exact part.
        total_population, total_units = sum(populations), sum(units)
        basis = Fraction(price.basis_share_percent or 0, 100)
        for share, p, u in zip(shares, populations, units, strict=True):
            by_use = Fraction(u, total_units) if total_units else Fraction(p, total_population)
            exact = price.price_ore * (basis * Fraction(p, total_population) + (1 - basis) * by_use)
            assert abs(share - exact) < 1, (price, members)


# -- reading a listing ----------------------------------------------------------------------


def test_price_of_an_application_reads_its_listing() -> None:
    free_app = Application(price_model=PriceModel.FREE, price_ore=None)
    assert Price.of(free_app) == Price(PriceModel.FREE, price_ore=0)
    per_launch_app = Application(
        price_model=PriceModel.PER_USE, price_ore=300, usage_unit=UsageUnit.LAUNCH
    )
    assert Price.of(per_launch_app) == PER_LAUNCH
    # A model given as its stored text is the same price.
    from_text = Price("basis_usage", price_ore=5, basis_share_percent=50)  # type: ignore[arg-type]
    assert from_text.model is PriceModel.BASIS_USAGE


# -- refusals ---------------------------------------------------------------------------------


def test_refuses_a_negative_population_or_count() -> None:
    assert set(refused(lambda: Situation(population=-1))) == {"population"}
    assert set(refused(lambda: Situation(population=10, units=-1))) == {"units"}
    # Every wrong field is named at once.
    assert set(refused(lambda: Situation(population=-1, units=-2))) == {"population", "units"}
    assert refused(lambda: Situation(population=-1))["population"] == [
        "A count cannot be negative."
    ]


def test_refuses_subscriber_totals_below_the_municipalitys_own() -> None:
    fields = refused(lambda: Situation(population=BERGEN, subscribers_population=BODO))
    assert fields == {
        "subscribers_population": [
            "The subscribers' total cannot be less than this municipality's own."
        ]
    }
    assert set(refused(lambda: Situation(population=1, units=700, subscribers_units=699))) == {
        "subscribers_units"
    }
    assert set(refused(lambda: Situation(population=-5, subscribers_population=-3))) == {
        "population",
        "subscribers_population",
    }
    # Equal is fine: the municipality is the only one with inhabitants or use.
    assert Situation(population=1, units=3, subscribers_population=1, subscribers_units=3)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"population": 3.5}, "population"),
        ({"population": True}, "population"),
        ({"population": 3, "units": 2.0}, "units"),
        ({"population": 3, "subscribers_population": 10.0}, "subscribers_population"),
        ({"population": 3, "subscribers_units": "7"}, "subscribers_units"),
    ],
)
def test_refuses_counts_that_are_not_whole_numbers(kwargs: dict, field: str) -> None:
    assert set(refused(lambda: Situation(**kwargs))) == {field}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"model": PriceModel.FIXED, "price_ore": -1}, "price_ore"),
        ({"model": PriceModel.FIXED, "price_ore": 2.5}, "price_ore"),
        (
            {"model": PriceModel.BASIS_USAGE, "price_ore": 1, "basis_share_percent": 101},
            "basis_share_percent",
        ),
        (
            {"model": PriceModel.BASIS_USAGE, "price_ore": 1, "basis_share_percent": -1},
            "basis_share_percent",
        ),
        (
            {"model": PriceModel.BASIS_USAGE, "price_ore": 1, "basis_share_percent": 50.5},
            "basis_share_percent",
        ),
        ({"model": PriceModel.BASIS_USAGE, "price_ore": 1}, "basis_share_percent"),
        ({"model": PriceModel.FIXED, "basis_share_percent": 200}, "basis_share_percent"),
        ({"model": "auction", "price_ore": 1}, "price_model"),
        ({"model": PriceModel.PER_USE, "price_ore": 1, "usage_unit": "hour"}, "usage_unit"),
    ],
)
def test_refuses_impossible_prices(kwargs: dict, field: str) -> None:
    assert set(refused(lambda: Price(**kwargs))) == {field}


def test_refuses_to_split_a_basis_by_population_among_nobody() -> None:
    empty = Situation(population=0, units=5, subscribers_population=0, subscribers_units=5)
    assert set(refused(lambda: yearly_cost(BASIS, empty))) == {"subscribers_population"}
    assert set(refused(lambda: cost_to_date(BASIS, empty, MID_2026))) == {"subscribers_population"}
    # Other models do not read the subscribers: a population of 0 costs nothing per inhabitant.
    assert yearly_cost(PER_INHABITANT, empty) == 0


def test_refuses_impossible_groups() -> None:
    assert set(refused(lambda: split_for_group(FIXED, []))) == {"members"}
    # Members of one group must agree on the subscribers' totals.
    disagree = [subscriber(BERGEN, 700), Situation(population=BODO, units=250)]
    assert set(refused(lambda: split_for_group(BASIS, disagree))) == {"members"}
    # The group's own population and use cannot exceed the totals they give.
    too_big = [
        Situation(population=BERGEN, units=1, subscribers_population=BERGEN, subscribers_units=2),
        Situation(population=BODO, units=2, subscribers_population=BERGEN, subscribers_units=2),
    ]
    assert set(refused(lambda: split_for_group(BASIS, too_big))) == {
        "subscribers_population",
        "subscribers_units",
    }
