"""The server-rendered SVG chart: accessible, well-formed, to scale, and its figures in a table."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from html import unescape

import pytest
from flask_babel import force_locale

from marketplace import charts
from marketplace.charts import MonthlyChart, Series
from marketplace.usage import MonthUsage

SVG = "{http://www.w3.org/2000/svg}"
LAUNCHES = (0, 5, 10, 2, 0, 0, 0, 0, 0, 0, 0, 1_234)
USERS = (0, 1, 2, 2, 0, 0, 0, 0, 0, 0, 0, 3)


@pytest.fixture
def english(app):
    with app.test_request_context(), force_locale("en"):
        yield


def _svg(markup: str) -> ET.Element:
    """The chart's <svg>, parsed as XML: it must be well-formed to be drawn inline."""
    match = re.search(r"<svg.*</svg>", markup, re.DOTALL)
    assert match
    return ET.fromstring(match.group(0))  # noqa: S314 - our own markup, not untrusted input


def _chart(**kwargs) -> MonthlyChart:
    fields = {
        "title": "NEWS2 Varsel: launches and active users per month in 2026",
        "year": 2026,
        "bars": Series("Launches", LAUNCHES),
        "line": Series("Active users", USERS),
    }
    return MonthlyChart(**{**fields, **kwargs})


@pytest.mark.parametrize(
    ("top", "step"),
    [
        (0, 1),
        (3, 1),
        (5, 1),
        (6, 2),
        (10, 2),
        (11, 5),
        (25, 5),
        (26, 10),
        (1_000, 200),
        (1_001, 500),
    ],
)
def test_the_axis_steps_are_round_numbers(top, step) -> None:
    assert charts.nice_step(top) == step


@pytest.mark.usefixtures("english")
def test_the_chart_is_an_image_named_by_its_title_and_described() -> None:
    markup = str(charts.render(_chart(), chart_id="news2"))
    svg = _svg(markup)
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "news2-title news2-desc"
    title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
    assert (title.get("id"), title.text) == (
        "news2-title",
        "NEWS2 Varsel: launches and active users per month in 2026",
    )
    assert desc.get("id") == "news2-desc"
    assert desc.text == (
        "Launches as bars and Active users as a line, per month of 2026. "
        "The table after the chart gives the figures."
    )
    # The CSP allows no script and no style attribute; nothing comes from elsewhere.
    assert "<script" not in markup
    assert "style=" not in markup
    assert "http://" not in markup.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in markup


@pytest.mark.usefixtures("english")
def test_bars_and_line_are_drawn_to_scale() -> None:
    values = (0, 5, 10, 2, 0, 0, 0, 0, 0, 0, 0, 0)
    svg = _svg(str(charts.render(_chart(bars=Series("Launches", values)), chart_id="c")))
    # The highest value, 10, takes step 2 and fills the plot: 10 is the top of the scale.
    bars = [r for r in svg.iter(f"{SVG}rect") if r.get("width") != "14"]  # not the legend's
    assert len(bars) == 12
    heights = [float(r.get("height")) for r in bars]
    assert heights[2] == charts.PLOT_HEIGHT
    assert heights[1] == charts.PLOT_HEIGHT / 2
    assert heights[3] == charts.PLOT_HEIGHT / 5
    assert heights[0] == 0
    # Each bar stands on the baseline.
    baseline = charts.TOP + charts.PLOT_HEIGHT
    assert all(float(r.get("y")) + float(r.get("height")) == baseline for r in bars)
    # The axis labels 0, 2, 4, 6, 8, 10.
    labels = [t.text for t in svg.iter(f"{SVG}text") if t.get("text-anchor") == "end"]
    assert labels == ["0", "2", "4", "6", "8", "10"]
    # The line has a point per month, in month order.
    (line,) = svg.iter(f"{SVG}polyline")
    points = [tuple(map(float, p.split(","))) for p in line.get("points").split()]
    assert len(points) == 12
    assert [x for x, _y in points] == sorted(x for x, _y in points)
    assert svg.find(f".//{SVG}g").get("fill")  # colours are presentation attributes


@pytest.mark.usefixtures("english")
def test_the_figures_are_in_a_table_beside_the_chart() -> None:
    markup = unescape(str(charts.render(_chart(), chart_id="news2")))
    table = markup[markup.index("<table") :]
    assert '<caption id="news2-caption">NEWS2 Varsel: launches' in table
    headers = re.findall(r'<th scope="col">(.*?)</th>', table, re.DOTALL)
    assert headers[0] == "Measure"
    assert headers[-1] == "Sum"
    assert '<abbr title="January">Jan</abbr>' in headers[1]
    assert '<abbr title="December">Dec</abbr>' in headers[12]
    rows = re.findall(r'<th scope="row">(.*?)</th>(.*?)</tr>', table, re.DOTALL)
    assert [name for name, _cells in rows] == ["Launches", "Active users"]
    launches = re.findall(r"<td>(.*?)</td>", rows[0][1])
    assert launches == ["0", "5", "10", "2", "0", "0", "0", "0", "0", "0", "0", "1,234", "1,251"]
    users = re.findall(r"<td>(.*?)</td>", rows[1][1])
    assert users[-1] == "8"  # 1 + 2 + 2 + 3
    # A scrolling region a keyboard can reach, named by the caption.
    assert 'role="region" aria-labelledby="news2-caption" tabindex="0"' in markup


def test_figures_follow_the_readers_language(app) -> None:
    with app.test_request_context(), force_locale("nb"):
        markup = str(charts.render(_chart(), chart_id="c"))
    assert "<td>1\xa0234</td>" in markup
    assert ">jan.</abbr>" in markup


@pytest.mark.usefixtures("english")
def test_an_empty_year_still_has_an_axis() -> None:
    empty = _chart(bars=Series("Launches", (0,) * 12), line=None)
    svg = _svg(str(charts.render(empty, chart_id="e")))
    labels = [t.text for t in svg.iter(f"{SVG}text") if t.get("text-anchor") == "end"]
    assert labels == ["0", "1"]
    assert list(svg.iter(f"{SVG}polyline")) == []
    assert "as bars, per month of 2026" in svg.find(f"{SVG}desc").text


@pytest.mark.usefixtures("english")
def test_text_is_escaped() -> None:
    markup = str(charts.render(_chart(title='<script>alert("x")</script>'), chart_id="x"))
    assert "<script>" not in markup
    assert "&lt;script&gt;" in markup
    _svg(markup)  # still well-formed


@pytest.mark.parametrize("values", [(1,) * 11, (1,) * 13, (-1,) + (0,) * 11])
def test_a_series_is_twelve_counts_none_negative(values) -> None:
    with pytest.raises(ValueError, match="twelve counts"):
        Series("Launches", values)


@pytest.mark.usefixtures("english")
def test_usage_chart_draws_launches_as_bars_and_active_users_as_a_line() -> None:
    months = [
        MonthUsage(dt.date(2025, m, 1), launches=m, tokens=2 * m, active_users=1)
        for m in range(1, 13)
    ]
    markup = unescape(str(charts.usage_chart(months, title="Alfa in 2025", chart_id="alfa")))
    rows = re.findall(r'<th scope="row">(.*?)</th>(.*?)</tr>', markup, re.DOTALL)
    assert rows[0][0] == "Launches"
    assert re.findall(r"<td>(.*?)</td>", rows[0][1])[-1] == "78"  # 1 + 2 + ... + 12
    assert rows[1][0] == "Active users"
    assert re.findall(r"<td>(.*?)</td>", rows[1][1])[-1] == "12"
    assert "per month of 2025" in markup


@pytest.mark.usefixtures("english")
def test_months_that_have_not_come_are_not_drawn_as_zero() -> None:
    months = [
        MonthUsage(dt.date(2026, m, 1), launches=3, tokens=3, active_users=2) for m in range(1, 13)
    ]
    markup = str(
        charts.usage_chart(months, title="Alfa", chart_id="alfa", until=dt.date(2026, 10, 15))
    )
    svg = _svg(markup)
    bars = [r for r in svg.iter(f"{SVG}rect") if r.get("width") != "14"]
    assert len(bars) == 10  # January to October
    (line,) = svg.iter(f"{SVG}polyline")
    assert len(line.get("points").split()) == 10
    rows = re.findall(r'<th scope="row">(.*?)</th>(.*?)</tr>', markup, re.DOTALL)
    cells = re.findall(r"<td>(.*?)</td>", rows[0][1])
    assert cells[9] == "3"
    not_yet = '<span aria-hidden="true">\u2013</span><span class="visually-hidden">not yet</span>'
    assert cells[10] == cells[11] == not_yet
    assert cells[12] == "30"  # the months so far
