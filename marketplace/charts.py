"""Server-rendered SVG charts of twelve monthly values: no script, nothing off-site.

A chart is an inline `<svg role="img">` named by its `<title>` and described
by its `<desc>`, with the same figures in a table beside it, so a screen
reader (or anyone who prefers numbers) reads the table, not the drawing.
Colours are presentation attributes (`fill`, `stroke`): the CSP allows no
style attributes. Bars and line differ in shape as well as colour, and both
colours have at least 3:1 contrast on white (WCAG 1.4.11).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from flask import render_template
from flask_babel import format_date, format_number
from flask_babel import gettext as _
from markupsafe import Markup

from marketplace.usage import MonthUsage

MONTHS = 12
WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 64
PLOT_WIDTH, PLOT_HEIGHT = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
SLOT = PLOT_WIDTH / MONTHS
BAR_WIDTH = SLOT * 0.6
MOST_TICKS = 5
BAR_COLOUR = "#0b5563"  # the brand colour: 8.0:1 on white
LINE_COLOUR = "#a34700"  # 5.6:1 on white


@dataclass(frozen=True)
class Series:
    """One measure over the twelve months of a year: whole, non-negative counts.

    None is a month that has not come yet: no bar, no point, "not yet" in the table.
    """

    label: str
    values: tuple[int | None, ...]

    def __post_init__(self) -> None:
        if len(self.values) != MONTHS or any(v is not None and v < 0 for v in self.values):
            raise ValueError("a series is twelve counts, none negative")

    @property
    def total(self) -> int:
        return sum(v for v in self.values if v is not None)


@dataclass(frozen=True)
class MonthlyChart:
    """Twelve months of `bars`, with an optional `line` drawn over them."""

    title: str
    year: int
    bars: Series
    line: Series | None = None

    @property
    def series(self) -> list[Series]:
        return [self.bars] if self.line is None else [self.bars, self.line]


def nice_step(top: int, most: int = MOST_TICKS) -> int:
    """The smallest step (1, 2 or 5 times a power of ten) reaching `top` in `most` steps."""
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * magnitude
            if step * most >= top:
                return step
        magnitude *= 10


def _y(value: int, scale_top: int) -> float:
    return TOP + PLOT_HEIGHT - PLOT_HEIGHT * value / scale_top


def _x(month: int) -> float:
    """The centre of month `month` (0-based)."""
    return LEFT + SLOT * (month + 0.5)


def _geometry(chart: MonthlyChart) -> dict[str, object]:
    top = max((v for s in chart.series for v in s.values if v is not None), default=0)
    step = nice_step(top)
    scale_top = max(step, step * -(-top // step))  # at least one step: an empty chart has an axis
    ticks = [
        {"y": round(_y(v, scale_top), 1), "label": format_number(v)}
        for v in range(0, scale_top + 1, step)
    ]
    bars = [
        {
            "x": round(_x(m) - BAR_WIDTH / 2, 1),
            "y": round(_y(v, scale_top), 1),
            "height": round(PLOT_HEIGHT * v / scale_top, 1),
        }
        for m, v in enumerate(chart.bars.values)
        if v is not None
    ]
    points = (
        [
            (round(_x(m), 1), round(_y(v, scale_top), 1))
            for m, v in enumerate(chart.line.values)
            if v is not None
        ]
        if chart.line
        else []
    )
    return {
        "ticks": ticks,
        "bars": bars,
        "points": points,
        "polyline": " ".join(f"{x},{y}" for x, y in points),
    }


def month_labels(year: int, width: str = "MMM") -> list[str]:
    """The months' names in the reader's language ("jan.", "Jan")."""
    return [format_date(dt.date(year, m, 1), width) for m in range(1, MONTHS + 1)]


def render(chart: MonthlyChart, *, chart_id: str) -> Markup:
    """The chart and its data table as one `<figure>`; `chart_id` is unique on the page."""
    # The template escapes every value it is given; its output is safe markup.
    return Markup(  # noqa: S704 - the output of an autoescaped template
        render_template(
            "marketplace/usage/_chart.html",
            chart=chart,
            chart_id=chart_id,
            months=month_labels(chart.year),
            month_names=month_labels(chart.year, "LLLL"),
            geometry=_geometry(chart),
            width=WIDTH,
            height=HEIGHT,
            left=LEFT,
            right=WIDTH - RIGHT,
            baseline=TOP + PLOT_HEIGHT,
            bar_width=round(BAR_WIDTH, 1),
            month_x=[round(_x(m), 1) for m in range(MONTHS)],
            bar_colour=BAR_COLOUR,
            line_colour=LINE_COLOUR,
        )
    )


def usage_chart(
    months: Sequence[MonthUsage], *, title: str, chart_id: str, until: dt.date | None = None
) -> Markup:
    """Launches per month as bars, active users as a line; months after `until` not yet."""
    due = [until is None or m.month <= until for m in months]
    chart = MonthlyChart(
        title=title,
        year=months[0].month.year,
        bars=Series(
            _("Launches"),
            tuple(m.launches if d else None for m, d in zip(months, due, strict=True)),
        ),
        line=Series(
            _("Active users"),
            tuple(m.active_users if d else None for m, d in zip(months, due, strict=True)),
        ),
    )
    return render(chart, chart_id=chart_id)
