"""Keyword search over listings: the words a listing is found by, the words a member types, and ranking.

Words are accent- and case-folded and lightly stemmed (plural endings in French and English), so that
"Perceuses" finds "perceuse" and "vélo" finds "velo". The last word typed matches as a prefix, as the
member types it. Results that hold every word come first, then those that hold fewer, newest first."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from msgspec import Struct

from chalicelib import i18n
from chalicelib.i18n import Language

MAX_QUERY_WORDS = 4  # one index Query each, at most, in a community
MAX_LISTING_WORDS = 16  # index entries per listing (and per area) at most
MIN_PREFIX = 2

_CATALOGUE = Path(__file__).resolve().parent.parent / "catalogue"
_WORD = re.compile(r"[^\W_]+")
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "ł": "l", "đ": "d"})


def fold(text: str) -> str:
    """Lower case, without accents, ligatures or invisible format characters (a soft hyphen, a zero-width
    space): "Vélo Œuvre" -> "velo oeuvre"."""
    decomposed = unicodedata.normalize("NFKD", text.lower().translate(_LIGATURES))
    kept = (char for char in decomposed if not unicodedata.combining(char) and unicodedata.category(char) != "Cf")
    return "".join(kept).lower()  # "ᴬ" is "A" once decomposed


def stem(word: str) -> str:
    """A light stemmer of plurals: perceuses -> perceuse, jeux -> jeu, batteries -> battery, boxes -> box."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "xes", "zes", "sses")):
        return word[:-2]
    if len(word) > 3 and word.endswith("ux"):
        return word[:-1]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    """The searchable words of a text, folded and stemmed, in order, without stop words or repeats."""
    stop = stop_words()
    found = (stem(word) for word in _WORD.findall(fold(text)) if len(word) >= MIN_PREFIX and word not in stop)
    return list(dict.fromkeys(found))


@cache
def stop_words() -> frozenset[str]:
    """Words too common to search by, in French and English (the catalogue file)."""
    by_language: dict[str, list[str]] = json.loads((_CATALOGUE / "stop_words.json").read_text(encoding="utf-8"))
    return frozenset(word for found in by_language.values() for word in found)


@cache
def category_labels() -> dict[str, dict[str, str]]:
    """Each category's label per language (the catalogues' `category.*`), French first."""
    prefix = "category."
    categories = [
        message_id.removeprefix(prefix) for message_id in i18n.catalogue(i18n.DEFAULT) if message_id.startswith(prefix)
    ]
    return {
        category: {language.value: i18n.text(prefix + category, language) for language in Language}
        for category in categories
    }


def listing_words(title: str, tags: Iterable[str], category: str) -> tuple[str, ...]:
    """What a listing is found by: the words of its title, its tags and its category's labels."""
    labels = category_labels().get(category, {})
    texts = [title, *tags, *labels.values()]
    return tuple(dict.fromkeys(word for text in texts for word in words(text)))[:MAX_LISTING_WORDS]


class SearchTerms(Struct, frozen=True):
    """What a member typed: whole words, and the last word as a prefix while it is being typed."""

    whole: tuple[str, ...]
    prefix: str | None

    @property
    def count(self) -> int:
        return len(self.whole) + (self.prefix is not None)

    def matched(self, found_by: Iterable[str]) -> int:
        """How many of the terms a listing found by these words holds."""
        listing = set(found_by)
        hits = sum(word in listing for word in self.whole)
        if self.prefix is not None and any(word.startswith(self.prefix) for word in listing):
            hits += 1
        return hits

    def lookups(self) -> list[tuple[str, bool]]:
        """Each term as an index lookup: (word, whether it is a prefix)."""
        return [(word, False) for word in self.whole] + ([(self.prefix, True)] if self.prefix else [])

    def most_selective(self) -> tuple[str, bool]:
        """The one lookup that narrows most: the longest whole word, else the prefix."""
        if self.whole:
            return max(self.whole, key=len), False
        assert self.prefix is not None, "search terms hold a word at least"
        return self.prefix, True


def parse(typed: str) -> SearchTerms | None:
    """The terms of a query, or None when it holds no searchable word. The last word is a prefix unless
    the query ends with a space (the member finished typing it)."""
    found = words(typed)[:MAX_QUERY_WORDS]
    if not found:
        return None
    if typed[-1:].isspace():
        return SearchTerms(tuple(found), None)
    *whole, last = found
    return SearchTerms(tuple(word for word in whole if word != last), last)
