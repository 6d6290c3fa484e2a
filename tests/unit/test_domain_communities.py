"""Community naming and the geohash neighbourhood, without any database."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pygeohash import decode_exactly, get_adjacent

from chalicelib.domain.communities import normalize_name
from chalicelib.domain.geo import GEOHASH_ALPHABET, GEOHASH_PATTERN, neighbourhood, overlaps


class TestNormalizeName:
    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("Genève", "geneve"),
            ("GENÈVE", "geneve"),
            ("genève", "geneve"),
            ("Zürich", "zurich"),
            ("Ñuñoa", "nunoa"),
            ("São Paulo", "sao paulo"),
            ("Straße", "strasse"),  # casefold, not lower
            ("\uff27\uff45\uff4e\uff45\uff56\uff45", "geneve"),  # full-width letters fold (NFKD)
            ("ﬁnance", "finance"),  # ligature
            ("  Genève   Plainpalais \t", "geneve plainpalais"),
            ("Genève\nPlainpalais", "geneve plainpalais"),
            ("e\u0301cole", "ecole"),  # already decomposed accent
            ("École", "ecole"),  # precomposed accent
            ("Saint-Gervais", "saint-gervais"),
            ("", ""),
            ("   ", ""),
        ],
    )
    def test_examples(self, name, expected):
        assert normalize_name(name) == expected

    def test_precomposed_and_decomposed_forms_agree(self):
        assert normalize_name(unicodedata.normalize("NFC", "Genève")) == normalize_name(
            unicodedata.normalize("NFD", "Genève")
        )

    @given(st.text(max_size=40))
    def test_is_idempotent(self, name):
        once = normalize_name(name)
        assert normalize_name(once) == once

    @given(st.text(max_size=40))
    def test_has_no_accents_no_upper_case_and_single_inner_spaces(self, name):
        result = normalize_name(name)
        assert not any(unicodedata.combining(char) for char in result)
        assert result == result.casefold()
        assert result == result.strip()
        assert "  " not in result
        assert not re.search(r"\s", result.replace(" ", ""))

    @given(st.text(max_size=20), st.text(max_size=20))
    def test_a_name_prefix_stays_a_prefix_when_cut_at_a_space(self, left, right):
        # Name search is a key prefix: what a user types first must normalize to a prefix.
        full = normalize_name(left + " " + right)
        head = normalize_name(left)
        assert full.startswith(head)


class TestGeohashPattern:
    @pytest.mark.parametrize("cell", ["u0h", "u0hqg", "9q8yy", "0", "zzzzz"])
    def test_accepts_geohashes(self, cell):
        assert re.search(GEOHASH_PATTERN, cell)

    @pytest.mark.parametrize("cell", ["", "u0ha", "U0HQG", "u0hi", "u0hl", "u0ho", "u0h ", "u0h\n", "48.2,16.3"])
    def test_refuses_anything_else(self, cell):
        assert not re.search(GEOHASH_PATTERN, cell)


def _centre(cell: str) -> tuple[float, float, float, float]:
    found = decode_exactly(cell)
    return found.latitude, found.longitude, found.latitude_error, found.longitude_error


def _touches(a: str, b: str) -> bool:
    """Two same-size cells touch (edge or corner), across the antimeridian too."""
    lat_a, lon_a, dlat, dlon = _centre(a)
    lat_b, lon_b, _, _ = _centre(b)
    dlon_deg = abs(lon_a - lon_b)
    dlon_deg = min(dlon_deg, 360 - dlon_deg)
    return abs(lat_a - lat_b) <= 2 * dlat + 1e-9 and dlon_deg <= 2 * dlon + 1e-9


cells = st.text(alphabet=GEOHASH_ALPHABET, min_size=3, max_size=5)


class TestNeighbourhood:
    def test_interior_cell_has_itself_and_eight_neighbours(self):
        around = neighbourhood("u0hqg")
        assert len(around) == 9
        assert "u0hqg" in around
        assert {get_adjacent("u0hqg", d) for d in ("top", "bottom", "left", "right")} <= around

    @given(cells)
    def test_every_cell_has_the_same_precision_and_touches_the_centre(self, cell):
        around = neighbourhood(cell)
        assert cell in around
        assert 6 <= len(around) <= 9
        for other in around:
            assert len(other) == len(cell)
            assert re.search(GEOHASH_PATTERN, other)
            assert _touches(cell, other), (cell, other)

    def test_a_cell_at_a_border_reaches_into_other_prefixes(self):
        # u0hzz sits on the north-east corner of u0h: its neighbours belong to other 3-char cells.
        around = neighbourhood("u0hzz")
        assert {c[:3] for c in around} - {"u0h"}, around

    @pytest.mark.parametrize("cell", ["zzzzz", "bpbpb", "00000", "pbpbp", "zzz", "000"])
    def test_polar_cells_do_not_fail_and_have_six_cells(self, cell):
        around = neighbourhood(cell)
        assert cell in around
        assert len(around) == 6

    def test_wraps_across_the_antimeridian(self):
        # xbpbp lies just west of 180 degrees; its right neighbour lies just east of -180.
        around = neighbourhood("xbpbp")
        east = get_adjacent("xbpbp", "right")
        assert east in around
        assert _centre(east)[1] < -179


class TestOverlaps:
    @pytest.mark.parametrize(
        ("area_cell", "searched", "expected"),
        [
            ("u0h", {"u0hqg"}, True),  # the area contains the searched cell
            ("u0hqg", {"u0h"}, True),  # the area lies inside the searched cell
            ("u0hqg", {"u0hqg"}, True),
            ("u0hqg", {"u0hqf", "u0hqu"}, False),  # siblings are not overlaps
            ("u0h", {"u0j"}, False),
            ("u0hq", {"u0hr5", "u0hqe"}, True),
            ("u0hq", set(), False),
            ("u0", {"u1abc"}, False),
        ],
    )
    def test_examples(self, area_cell, searched, expected):
        assert overlaps(area_cell, searched) is expected

    @given(cells, cells)
    def test_is_symmetric_for_single_cells(self, a, b):
        assert overlaps(a, {b}) == overlaps(b, {a})

    @given(cells)
    def test_a_far_cell_never_overlaps_the_neighbourhood(self, cell):
        # Flip the first character to a cell on the other side of the world.
        far_first = GEOHASH_ALPHABET[(GEOHASH_ALPHABET.index(cell[0]) + 16) % 32]
        far = far_first + cell[1:]
        assert not overlaps(far, neighbourhood(cell))
