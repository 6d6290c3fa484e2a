"""A listing's item carries a copy of the listing (`packed`) that hot reads decode in one call: after each
write that changes the item (put, edit, seat taken), the copy and the attributes read the same listing.
Writes are applied to the serialized item as DynamoDB would apply them: no table needed."""

from __future__ import annotations

from typing import Any

import pytest
from msgspec.structs import replace
from pynamodb.expressions.update import AddAction, RemoveAction, SetAction

from chalicelib.adapters.dynamodb import listing_repository
from chalicelib.adapters.dynamodb.mapping import from_item, from_packed
from chalicelib.adapters.dynamodb.models import ListingItem
from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork
from chalicelib.domain.listings import Listing, Status
from tests.unit.test_listing_writes import LISTING

Item = dict[str, dict[str, Any]]


def _applied(item: Item, uow: UnitOfWork, sk: str) -> Item:
    """The item after the unit of work's put or update of it (SET, REMOVE, ADD of a number)."""
    changed = dict(item)
    for action in uow._actions:  # what would be committed
        if sk != action.item.SK:
            continue
        if action.kind == "put":
            changed = action.item.serialize()
            continue
        for update in action.actions or []:
            name = update.values[0].path[0]
            if isinstance(update, SetAction):
                changed[name] = update.values[1].value
            elif isinstance(update, RemoveAction):
                changed.pop(name, None)
            elif isinstance(update, AddAction):
                changed[name] = {"N": str(int(changed[name]["N"]) + int(update.values[1].value["N"]))}
    return changed


def _both(item: Item) -> tuple[Listing, Listing]:
    """The listing read by its copy, and read attribute by attribute."""
    return from_packed(ListingItem, item, Listing, listing_repository._LIVE), from_item(ListingItem, item, Listing)


def test_a_new_listing_carries_itself():
    uow = UnitOfWork()
    listing_repository.add_new(uow, LISTING)
    item = _applied({}, uow, "LISTING")
    assert "packed" in item
    assert _both(item) == (LISTING, LISTING)


@pytest.mark.parametrize(
    "changes",
    [
        {"title": "Garden help on Saturdays", "price": 25},
        {"status": Status.PAUSED},
        {"location": None, "tags": ()},
        {"featured_until": "2030-01-09T00:00:00.000000Z"},
        {},
    ],
    ids=["shown fields", "paused", "removed attributes", "featured", "the version alone"],
)
def test_an_edit_leaves_the_copy_and_the_attributes_agreeing(changes):
    uow = UnitOfWork()
    listing_repository.add_new(uow, LISTING)
    item = _applied({}, uow, "LISTING")
    after = replace(LISTING, version=LISTING.version + 1, **changes)
    uow = UnitOfWork()
    listing_repository.add_replacement(uow, LISTING, after)
    assert _both(_applied(item, uow, "LISTING")) == (after, after)


def test_a_seat_taken_is_read_from_its_attribute():
    uow = UnitOfWork()
    listing_repository.add_new(uow, LISTING)
    item = _applied({}, uow, "LISTING")
    uow = UnitOfWork()
    listing_repository.add_seat_change(uow, LISTING.listing_id, 1)
    taken = replace(LISTING, seats_taken=LISTING.seats_taken + 1, version=LISTING.version + 1)
    assert _both(_applied(item, uow, "LISTING")) == (taken, taken)


def test_an_item_without_a_copy_is_read_attribute_by_attribute():
    uow = UnitOfWork()
    listing_repository.add_new(uow, LISTING)
    item = _applied({}, uow, "LISTING")
    del item["packed"]
    assert _both(item) == (LISTING, LISTING)
