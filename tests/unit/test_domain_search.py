"""Keyword search's pure rules: folding, light stemming, what a listing is found by, parsing, ranking."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.listings import (
    CATEGORIES,
    Kind,
    Listing,
    Mode,
    Status,
    facet_word,
    facets,
    keyword_entry,
    ranked,
)
from chalicelib.domain.search import (
    MAX_LISTING_WORDS,
    MAX_QUERY_WORDS,
    SearchTerms,
    category_labels,
    fold,
    listing_words,
    parse,
    stem,
    words,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Vélo", "velo"),
        ("ÉCOLE Œuvre", "ecole oeuvre"),
        ("garçon naïf", "garcon naif"),
        ("Straße", "strasse"),
        ("per\u00adceuse", "perceuse"),  # a soft hyphen
        ("vé\u200blo", "velo"),  # a zero-width space
    ],
)
def test_folding_drops_case_accents_ligatures_and_invisible_characters(text, expected):
    assert fold(text) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("perceuses", "perceuse"),
        ("velos", "velo"),
        ("jeux", "jeu"),
        ("bijoux", "bijou"),
        ("batteries", "battery"),
        ("boxes", "box"),
        ("brushes", "brush"),
        ("drills", "drill"),
        ("dress", "dress"),
        ("bus", "bus"),
        ("velo", "velo"),
    ],
)
def test_light_stemming_of_plurals(word, expected):
    assert stem(word) == expected


def test_words_skip_stop_words_short_words_and_repeats():
    assert words("Les vélos de la ville, un vélo à Paris") == [
        "velo",
        "ville",
        "pari",
    ]  # "paris" as "pari": the same stem on both sides
    assert words("The drill and the drills") == ["drill"]
    assert words("le la de a") == []


def test_a_listing_is_found_by_its_title_tags_and_category_labels_in_both_languages():
    found = listing_words("Perceuse à percussion", ("bricolage",), "goods.tools")
    assert found == ("perceuse", "percussion", "bricolage", "outil", "tool", "diy")
    long_title = " ".join(f"mot{n}" for n in range(40))
    assert len(listing_words(long_title, (), "goods.tools")) == MAX_LISTING_WORDS


def test_every_category_has_a_french_and_an_english_label():
    labels = category_labels()
    assert set(labels) == set(CATEGORIES)
    assert all(set(found) == {"fr", "en"} and all(found.values()) for found in labels.values())


def test_the_last_word_is_a_prefix_until_a_space_follows_it():
    assert parse("perceuses") == SearchTerms((), "perceuse")
    assert parse("velo enf") == SearchTerms(("velo",), "enf")
    assert parse("Vélos ") == SearchTerms(("velo",), None)
    assert parse("velo velo") == SearchTerms((), "velo")
    assert parse("le la") is None
    assert parse("x") is None
    assert parse("un deux trois quatre cinq six") == SearchTerms(("deu", "troi", "quatre"), "cinq")
    assert parse("un deux trois quatre cinq six").count == MAX_QUERY_WORDS


def test_the_most_selective_lookup_is_the_longest_whole_word_else_the_prefix():
    assert SearchTerms(("velo", "enfant"), "rou").most_selective() == ("enfant", False)
    assert SearchTerms((), "rou").most_selective() == ("rou", True)
    assert SearchTerms(("velo",), "rou").lookups() == [("velo", False), ("rou", True)]


def listing(n: int, title: str, **changes: object) -> Listing:
    fields: dict[str, object] = {
        "kind": Kind.OFFER,
        "category": "goods.other",
        "mode": Mode.GIFT,
        "title": title,
        "description": "",
        "community_id": "c1",
        "status": Status.ACTIVE,
        "listing_id": f"l{n}",
        "owner_id": "m1",
        "created_at": f"2026-01-0{n}T00:00:00Z",
    }
    return Listing(**{**fields, **changes})  # type: ignore[arg-type]


def test_ranking_puts_every_word_first_then_the_newest_and_drops_the_others():
    red_bike, child_bike, city_bike = listing(1, "Vélo rouge"), listing(2, "Vélo enfant"), listing(3, "Vélo de ville")
    sitter, lamp = listing(4, "Garde d'enfant"), listing(5, "Lampe")
    terms = parse("velo enfant ")
    assert terms is not None
    entries = [keyword_entry(found) for found in (red_bike, lamp, sitter, city_bike, child_bike)]
    expected = [child_bike, sitter, city_bike, red_bike]
    assert [entry.listing_id for entry in ranked(entries, terms)] == [found.listing_id for found in expected]


def test_keyword_entries_follow_visibility_and_carry_their_word():
    found = facets(listing(1, "Perceuse", location="u0hqe"))
    assert found["word:perceuse"] == ("words", "c1")
    assert found["area-word:perceuse"] == ("area-words", "u0hq")
    assert {facet_word(name) for name in found} - {None} == set(listing_words("Perceuse", (), "goods.other"))
    assert not any(facet_word(name) for name in facets(listing(1, "Perceuse", location="u0hqe", hidden=True)))


@given(st.text(max_size=60))
def test_any_text_parses_to_terms_of_folded_searchable_words_or_nothing(text):
    terms = parse(text)
    if terms is None:
        return
    assert 1 <= terms.count <= MAX_QUERY_WORDS
    for word, _ in terms.lookups():
        assert word and word == fold(word) and "#" not in word
