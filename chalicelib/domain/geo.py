"""Coarse locations as geohashes. Members are never located finer than 5 characters (~5 km)."""

from __future__ import annotations

GEOHASH_ALPHABET = "0123456789bcdefghjkmnpqrstuvwxyz"
# `(?!\n)$`, not a bare `$`: in Python (msgspec) `$` also matches before a trailing newline, so
# "u0hq\n" would pass; the look-ahead means the same as `$` in JSON Schema (ECMA-262) regexes.
END = r"(?!\n)$"
GEOHASH_PATTERN = f"^[{GEOHASH_ALPHABET}]+{END}"
MAX_MEMBER_PRECISION = 5
AREA_PRECISIONS = range(3, 6)
SEARCH_MIN_PRECISION = 3


def neighbourhood(cell: str) -> set[str]:
    """The cell and its eight neighbours, so a search near a cell border still finds what is close."""
    from pygeohash import get_adjacent

    around = {cell, get_adjacent(cell, "left"), get_adjacent(cell, "right")}
    for direction in ("top", "bottom"):
        try:
            vertical = get_adjacent(cell, direction)
        except ValueError:  # beyond a pole: a polar cell has no neighbours on that side
            continue
        around.update({vertical, get_adjacent(vertical, "left"), get_adjacent(vertical, "right")})
    return around


def overlaps(area_cell: str, searched: set[str]) -> bool:
    """An area cell matches when it contains, or lies inside, one of the searched cells."""
    return any(area_cell.startswith(cell) or cell.startswith(area_cell) for cell in searched)
