"""What a listing's edit writes: only what changed (the listing's changed attributes, the browse entries
whose key or copy changed), and nothing when nothing changed. The unit of work is inspected before it
would commit: no table needed."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from msgspec.structs import replace

from chalicelib.adapters.dynamodb import listing_repository
from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork
from chalicelib.auth import Principal
from chalicelib.domain.listings import Kind, Listing, Mode, Status
from chalicelib.domain.search import listing_words
from chalicelib.services import listings, transaction

LISTING = Listing(
    kind=Kind.OFFER,
    category="services.gardening",
    mode=Mode.CREDITS,
    title="Garden help",
    description="Saturday mornings.",
    community_id="c1",
    status=Status.ACTIVE,
    price=20,
    tags=("garden", "hedges"),
    location="u0k8w",
    listing_id="l1",
    owner_id="olga",
    created_at="2030-01-01T00:00:00.000000Z",
    version=3,
    published_at="2030-01-01T00:00:00.000000Z",
)
ENTRIES = {"FACET#community", "FACET#category", "FACET#kind", "FACET#mode", "FACET#tag:garden", "FACET#tag:hedges"}
WORDS = ("garden", "help", "hedge", "jardinage", "gardening")  # title, tags, the category's labels


def keyword_entries(*words: str, area: bool = True) -> set[str]:
    return {f"FACET#word:{word}" for word in words} | ({f"FACET#area-word:{word}" for word in words} if area else set())


AREA = {"FACET#geo"} | {f"FACET#area-word:{word}" for word in WORDS}
ENTRIES |= AREA | keyword_entries(*WORDS)


def written(before: Listing, **changes: Any) -> dict[str, Any]:
    """What add_replacement adds: the listing's update (the attributes it sets or removes), and the browse
    entries put and deleted (by sort key)."""
    uow = UnitOfWork()
    listing_repository.add_replacement(uow, before, replace(before, version=before.version + 1, **changes))
    actions = uow._actions  # what would be committed
    (update,) = [action for action in actions if action.kind == "update"]
    assert update.item.SK == "LISTING"
    return {
        "listing": {action.values[0].path[0] for action in update.actions or []},
        "put": {action.item.SK for action in actions if action.kind == "put"},
        "deleted": {action.item.SK for action in actions if action.kind == "delete"},
    }


def test_the_sort_keys_of_the_entries_are_the_facets():
    assert listing_words(LISTING.title, LISTING.tags, LISTING.category) == WORDS
    assert written(LISTING, status=Status.PAUSED)["deleted"] == ENTRIES


@pytest.mark.parametrize(
    ("changes", "listing", "put", "deleted"),
    [
        pytest.param(
            {"title": "Garden help on Saturdays"},
            {"title"},
            ENTRIES | keyword_entries("saturday"),
            set(),
            id="title: every copy",
        ),
        pytest.param({"price": 25}, {"price"}, ENTRIES - keyword_entries(*WORDS), set(), id="price: the browse copies"),
        pytest.param(
            {"description": "Sundays too."},
            {"description"},
            ENTRIES - keyword_entries(*WORDS),
            set(),
            id="description: the browse copies",
        ),
        pytest.param({"status": Status.PAUSED}, {"status"}, set(), ENTRIES, id="paused: found no more"),
        pytest.param(
            {"tags": ("garden",)},
            {"tags"},
            ENTRIES - {"FACET#tag:hedges"} - keyword_entries("hedge"),
            {"FACET#tag:hedges"} | keyword_entries("hedge"),
            id="a tag removed",
        ),
        pytest.param({"location": None}, {"location"}, ENTRIES - AREA, AREA, id="no more area"),
        pytest.param({}, set(), set(), set(), id="the version alone: no entry"),
        pytest.param({"published_at": "2030-02-01T00:00:00.000000Z"}, {"published_at"}, set(), set(), id="not shown"),
    ],
)
def test_an_edit_writes_what_changed(changes, listing, put, deleted):
    copy = {"packed"} if listing else set()  # the item's copy, when more than its counters changed
    assert written(LISTING, **changes) == {"listing": listing | copy | {"version"}, "put": put, "deleted": deleted}


def test_a_resumed_listing_is_found_again_everywhere():
    paused = replace(LISTING, status=Status.PAUSED)
    expected = {"listing": {"status", "packed", "version"}, "put": ENTRIES, "deleted": set()}
    assert written(paused, status=Status.ACTIVE) == expected


def test_a_listing_whose_featuring_ended_moves_its_community_entry_alone():
    ended = replace(LISTING, featured_until="2030-01-02T00:00:00.000000Z")
    assert written(ended) == {
        "listing": {"version", "GSI3PK", "GSI3SK"},
        "put": {"FACET#community"},
        "deleted": set(),
    }


def test_an_edit_that_changes_nothing_writes_nothing(monkeypatch):
    committed: list[int] = []
    monkeypatch.setattr(listing_repository, "get", lambda listing_id: LISTING)
    monkeypatch.setattr(UnitOfWork, "commit", lambda self: committed.append(len(self)))
    monkeypatch.setattr(transaction, "settings", lambda: SimpleNamespace(retry_budget_seconds=1))  # no table
    owner = Principal("olga", frozenset())
    assert listings.update_listing(owner, "l1", {"title": "Garden help", "price": 20}) is LISTING
    assert committed == [0]
    changed = listings.update_listing(owner, "l1", {"title": "Garden help", "price": 25})
    assert (changed.price, changed.version) == (25, LISTING.version + 1)
    assert committed == [0, 1 + len(ENTRIES - keyword_entries(*WORDS))]  # the keyword entries stay
