"""Coarse locations as geohashes. Members are never located finer than 5 characters (~5 km)."""

from __future__ import annotations

GEOHASH_ALPHABET = "0123456789bcdefghjkmnpqrstuvwxyz"
GEOHASH_PATTERN = f"^[{GEOHASH_ALPHABET}]+$"
MAX_MEMBER_PRECISION = 5
AREA_PRECISIONS = range(3, 6)
SEARCH_MIN_PRECISION = 3


def neighbourhood(cell: str) -> set[str]:
    """The cell and its eight neighbours, so a search near a cell border still finds what is close."""
    from pygeohash import get_adjacent

    around = {cell}
    for direction in ("top", "bottom"):
        vertical = get_adjacent(cell, direction)
        around.update({vertical, get_adjacent(vertical, "left"), get_adjacent(vertical, "right")})
    around.update({get_adjacent(cell, "left"), get_adjacent(cell, "right")})
    return around


def overlaps(area_cell: str, searched: set[str]) -> bool:
    """An area cell matches when it contains, or lies inside, one of the searched cells."""
    return any(area_cell.startswith(cell) or cell.startswith(area_cell) for cell in searched)
