"""The inline SVG charts: named and described for assistive technology, every text escaped, values written
out (not told by colour), well-formed, and nothing referenced outside the chart itself."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from chalicelib.domain import charts

DRAWINGS = [charts.bar_chart, charts.line_chart]
MONTHS = [("2026-01", 120), ("2026-02", 80), ("2026-03", 1500)]


def draw(drawing, points, **texts):
    given = {"title": "Credits", "description": "Credits per month", "x_label": "Month", "y_label": "Credits"}
    given |= texts
    return drawing(
        "chart-1",
        given["title"],
        given["description"],
        points,
        x_label=given["x_label"],
        y_label=given["y_label"],
        no_data="No data",
    )


def parsed(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # well-formed, or this raises


def texts(svg: str) -> list[str]:
    return ["".join(element.itertext()) for element in parsed(svg).iter("text")]


@pytest.mark.parametrize("drawing", DRAWINGS)
def test_a_chart_is_an_image_named_by_its_title_and_described(drawing):
    svg = draw(drawing, MONTHS, title="Credits in circulation", description="From 120 to 1,500")
    root = parsed(svg)
    assert root.tag == "svg" and root.get("role") == "img"
    title, desc = root[0], root[1]
    assert (title.tag, title.text) == ("title", "Credits in circulation")
    assert (desc.tag, desc.text) == ("desc", "From 120 to 1,500")
    assert root.get("aria-labelledby").split() == [title.get("id"), desc.get("id")]
    assert {"Month", "Credits"} <= set(texts(svg)), "axis labels"


@pytest.mark.parametrize("drawing", DRAWINGS)
def test_every_value_is_written_out_and_marked_not_only_coloured(drawing):
    svg = draw(drawing, MONTHS)
    written = texts(svg)
    assert {"120", "80", "1500", "2026-01", "2026-02", "2026-03"} <= set(written)
    marks = [element for element in parsed(svg).iter("rect") if element.find("title") is not None]
    assert [mark.find("title").text for mark in marks] == ["2026-01: 120", "2026-02: 80", "2026-03: 1500"]
    assert all(mark.get("stroke") for mark in marks), "outlined: a shape, not a colour"
    if drawing is charts.bar_chart:
        assert all(mark.get("fill") == "url(#chart-1-hatch)" for mark in marks), "hatched"


@pytest.mark.parametrize("drawing", DRAWINGS)
def test_every_text_is_escaped(drawing):
    evil = "<script>alert(\"x\")</script> & 'quotes'"
    svg = draw(drawing, [(evil, 3)], title=evil, description=evil, x_label=evil, y_label=evil)
    assert "<script" not in svg
    root = parsed(svg)
    assert root[0].text == root[1].text == evil
    assert evil in texts(svg)
    assert all(element.tag != "script" for element in root.iter())


@pytest.mark.parametrize("drawing", DRAWINGS)
def test_nothing_outside_the_chart_is_referenced(drawing):
    svg = draw(drawing, MONTHS)
    assert not re.search(r"https?:|href|<image|<use|@import|<foreignObject|<script|\son\w+=", svg, re.IGNORECASE)
    assert set(re.findall(r"url\(([^)]*)\)", svg)) <= {"#chart-1-hatch"}, "its own pattern only"


@pytest.mark.parametrize("drawing", DRAWINGS)
def test_an_empty_series_says_so(drawing):
    svg = draw(drawing, [])
    assert "No data" in texts(svg)
    assert not [element for element in parsed(svg).iter("rect") if element.find("title") is not None]
    assert "<polyline" not in svg


def test_negative_and_zero_bars_stand_on_the_zero_line():
    svg = draw(charts.bar_chart, [("a", -40), ("b", 0), ("c", 25)])
    assert {"-40", "0", "25"} <= set(texts(svg))
    low, high, step = charts._scale([("a", -40), ("b", 0), ("c", 25)])
    assert low <= -40 and high >= 25 and low < 0 < high and step > 0
    zero = charts._y(0, low, high)
    bars = {rect.find("title").text: rect for rect in parsed(svg).iter("rect") if rect.find("title") is not None}
    negative, nothing, positive = bars["a: -40"], bars["b: 0"], bars["c: 25"]
    assert float(negative.get("y")) == pytest.approx(zero, abs=0.1), "a negative bar hangs from zero"
    assert float(nothing.get("height")) == 0 and float(nothing.get("y")) == pytest.approx(zero, abs=0.1)
    assert float(positive.get("y")) + float(positive.get("height")) == pytest.approx(zero, abs=0.1)


def test_all_zero_and_single_point_series_draw():
    for drawing in DRAWINGS:
        svg = draw(drawing, [("2026-01", 0)])
        assert "0" in texts(svg)
    assert "<polyline" not in draw(charts.line_chart, [("2026-01", 5)]), "one point: a marker, no line"


def test_crowded_labels_are_thinned_and_the_numbers_formatted():
    days = [(f"2026-11-{day:02d}", day * 1000) for day in range(1, 32)]
    svg = charts.bar_chart(
        "days", "t", "d", days, x_label="Day", y_label="Credits", no_data="-", number=lambda n: f"{n:,}"
    )
    shown = [text for text in texts(svg) if text.startswith("2026-11-")]
    assert "2026-11-01" in shown and 3 < len(shown) < 31, "every n-th day: the table has them all"
    assert "31,000" not in texts(svg), "values that do not fit are left to the table"
    assert "30,000" in texts(svg), "the value axis uses the number format"


def test_a_chart_id_is_a_plain_token():
    for drawing in DRAWINGS:
        with pytest.raises(ValueError):
            drawing('x" onload="alert(1)', "t", "d", MONTHS, x_label="x", y_label="y", no_data="-")


@pytest.mark.parametrize(
    ("values", "expected"),
    [([], (0, 1, 1)), ([0], (0, 1, 1)), ([7], (0, 8, 2)), ([1234], (0, 1500, 500)), ([-7, 3], (-8, 4, 2))],
)
def test_the_value_axis_uses_round_steps(values, expected):
    low, high, step = charts._scale([(str(index), value) for index, value in enumerate(values)])
    assert (low, high, step) == expected
    assert low % step == 0 and high % step == 0 and (high - low) / step <= 6
