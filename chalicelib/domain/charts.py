"""Accessible inline SVG charts, server-rendered for HTML pages: a bar chart and a line chart of one labelled
series. No I/O, no script, nothing fetched: every shape is drawn in the document itself.

Each chart is `<svg role="img">` named by its `<title>` and described by its `<desc>` (`aria-labelledby`),
carries its axis labels, and writes every value next to its bar or point: a value never depends on colour
(bars are hatched and outlined, points are marked). Every text is escaped. The page that shows a chart also
shows its numbers as a table, the text alternative a screen reader can walk."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from html import escape

Point = tuple[str, int]  # a label (a month, a day, a kind) and its value

WIDTH, HEIGHT = 720, 320
LEFT, RIGHT, TOP, BOTTOM = 72, 16, 24, 64  # the margins around the plot: axis labels and ticks live there
CHAR_WIDTH = 7.5  # about what a character of the 12 px labels takes, to leave out labels that would overlap
INK, FILL = "#1d3557", "#a8c5e2"  # dark on light, readable in greyscale too
_ID = re.compile(r"[a-z][a-z0-9-]*")


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    points: Sequence[Point],
    *,
    x_label: str,
    y_label: str,
    no_data: str,
    number: Callable[[int], str] = str,
) -> str:
    """One bar per point, from the zero line (down for a negative value), its value written at its end."""
    low, high, _ = _scale(points)
    slot = _plot_width() / max(len(points), 1)
    hatch = f"{chart_id}-hatch"
    parts = [
        f'<defs><pattern id="{hatch}" width="6" height="6" patternUnits="userSpaceOnUse"'
        ' patternTransform="rotate(45)">'
        f'<rect width="6" height="6" fill="{FILL}"/><line x1="0" y1="0" x2="0" y2="6" stroke="{INK}"'
        ' stroke-width="1.5"/></pattern></defs>'
    ]
    zero = _y(0, low, high)
    show_values = slot >= _width(number(value) for _, value in points)
    for index, (label, value) in enumerate(points):
        x, y = LEFT + index * slot + slot * 0.15, _y(value, low, high)
        top, height = min(y, zero), abs(zero - y)
        parts.append(
            f'<rect x="{x:.1f}" y="{top:.1f}" width="{slot * 0.7:.1f}" height="{height:.1f}"'
            f' fill="url(#{hatch})" stroke="{INK}"><title>{escape(label)}: {escape(number(value))}</title></rect>'
        )
        if show_values:
            below = value < 0
            parts.append(_text(x + slot * 0.35, (y + 14) if below else (y - 4), number(value), anchor="middle"))
    return _svg(chart_id, title, description, points, parts, x_label, y_label, no_data, number)


def line_chart(
    chart_id: str,
    title: str,
    description: str,
    points: Sequence[Point],
    *,
    x_label: str,
    y_label: str,
    no_data: str,
    number: Callable[[int], str] = str,
) -> str:
    """The points joined by a line, each marked with a square and its value written above it."""
    low, high, _ = _scale(points)
    slot = _plot_width() / max(len(points), 1)
    at = [(LEFT + index * slot + slot / 2, _y(value, low, high)) for index, (_, value) in enumerate(points)]
    parts = []
    if len(at) > 1:
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in at)
        parts.append(f'<polyline points="{line}" fill="none" stroke="{INK}" stroke-width="2"/>')
    show_values = slot >= _width(number(value) for _, value in points)
    for (x, y), (label, value) in zip(at, points, strict=True):
        parts.append(
            f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="{FILL}" stroke="{INK}"'
            f' stroke-width="2"><title>{escape(label)}: {escape(number(value))}</title></rect>'
        )
        if show_values:
            parts.append(_text(x, y - 9, number(value), anchor="middle"))
    return _svg(chart_id, title, description, points, parts, x_label, y_label, no_data, number)


def _svg(
    chart_id: str,
    title: str,
    description: str,
    points: Sequence[Point],
    marks: list[str],
    x_label: str,
    y_label: str,
    no_data: str,
    number: Callable[[int], str],
) -> str:
    """The frame around the marks: title, description, axes with their ticks and labels."""
    if not _ID.fullmatch(chart_id):
        raise ValueError(f"a chart id is lower-case letters, digits and dashes: {chart_id!r}")
    low, high, step = _scale(points)
    bottom, right = HEIGHT - BOTTOM, WIDTH - RIGHT
    parts = [
        f'<svg id="{chart_id}" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
        f' aria-labelledby="{chart_id}-title {chart_id}-desc" font-family="sans-serif" font-size="12">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    for tick in range(low, high + 1, step):  # the value axis: a faint line and the value at every step
        y = _y(tick, low, high)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#d0d0d0"/>')
        parts.append(_text(LEFT - 6, y + 4, number(tick), anchor="end"))
    zero = _y(0, low, high)
    parts.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" stroke="{INK}"/>')
    parts.append(f'<line x1="{LEFT}" y1="{zero:.1f}" x2="{right}" y2="{zero:.1f}" stroke="{INK}"/>')
    slot = _plot_width() / max(len(points), 1)
    every = max(1, math.ceil(_width(label for label, _ in points) / slot))
    for index, (label, _) in enumerate(points):
        if index % every == 0:  # labels that would overlap: every n-th one (the table has them all)
            parts.append(_text(LEFT + index * slot + slot / 2, bottom + 18, label, anchor="middle"))
    if not points:
        parts.append(_text(LEFT + _plot_width() / 2, (TOP + bottom) / 2, no_data, anchor="middle"))
    parts += marks
    parts.append(_text(LEFT + _plot_width() / 2, HEIGHT - 12, x_label, anchor="middle", weight="bold"))
    parts.append(
        f'<text x="16" y="{(TOP + bottom) / 2:.1f}" transform="rotate(-90 16 {(TOP + bottom) / 2:.1f})"'
        f' text-anchor="middle" font-weight="bold" fill="{INK}">{escape(y_label)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _scale(points: Sequence[Point]) -> tuple[int, int, int]:
    """The value axis: from a multiple of a round step at or below the lowest value (and zero) to one at or
    above the highest (and zero), in at most about five steps."""
    values = [value for _, value in points]
    low, high = min([0, *values]), max([0, *values])
    step = _round_step((high - low) / 5) if high > low else 1
    low, high = math.floor(low / step) * step, math.ceil(high / step) * step
    return low, max(high, low + step), step


def _round_step(rough: float) -> int:
    """The smallest 1, 2 or 5 times a power of ten at least `rough` (whole numbers only)."""
    if rough <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(rough))
    return int(next(factor * magnitude for factor in (1, 2, 5, 10) if factor * magnitude >= rough))


def _width(texts: Iterable[str]) -> float:
    """About how wide the longest of the texts is written, with a character's gap."""
    return CHAR_WIDTH * (max((len(text) for text in texts), default=0) + 1)


def _plot_width() -> int:
    return WIDTH - LEFT - RIGHT


def _y(value: int, low: int, high: int) -> float:
    return TOP + (high - value) / (high - low) * (HEIGHT - BOTTOM - TOP)


def _text(x: float, y: float, text: str, *, anchor: str, weight: str = "normal") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-weight="{weight}" fill="{INK}">'
        f"{escape(text)}</text>"
    )
