"""A listing's or an exchange's item carries a copy of it (`packed`) that hot reads decode in one call:
after each write that changes the item (a listing's put, edit, seat taken; an exchange's put and
transitions), the copy and the attributes read the same value. Writes are applied to the serialized item
as DynamoDB would apply them: no table needed."""

from __future__ import annotations

from typing import Any

import pytest
from msgspec.structs import replace
from pynamodb.expressions.update import AddAction, RemoveAction, SetAction

from chalicelib.adapters.dynamodb import exchange_repository, listing_repository
from chalicelib.adapters.dynamodb.mapping import from_item, from_packed
from chalicelib.adapters.dynamodb.models import ExchangeItem, ListingItem
from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork
from chalicelib.domain.exchanges import Action, Exchange, ExchangeType, Role, State, decide
from chalicelib.domain.listings import Listing, Status
from tests.unit.test_listing_writes import LISTING
from tests.unit.test_mapping import EXCHANGE

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
    return from_packed(ListingItem, item, Listing, listing_repository._COUNTERS), from_item(ListingItem, item, Listing)


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


def _exchange_both(item: Item) -> tuple[Exchange, Exchange]:
    return from_packed(ExchangeItem, item, Exchange), from_item(ExchangeItem, item, Exchange)


def test_an_exchange_carries_itself_through_its_transitions():
    proposed = replace(
        EXCHANGE, type=ExchangeType.TRADE, state=State.PROPOSED, confirmed_by=frozenset(), claimed_damage=0, fee=0
    )
    uow = UnitOfWork()
    exchange_repository.add_new(uow, proposed, None)
    item = _applied({}, uow, "EXCHANGE")
    assert _exchange_both(item) == (proposed, proposed)
    before = proposed
    for action, role, actor in ((Action.ACCEPT, Role.OWNER, "olga"), (Action.CONFIRM, Role.OWNER, "olga")):
        after = decide(before, action, role, actor, "2026-01-03T00:00:00.000000Z").exchange
        uow = UnitOfWork()
        exchange_repository.add_transition(uow, before, after, "2026-01-09T00:00:00.000000Z")
        item = _applied(item, uow, "EXCHANGE")
        assert _exchange_both(item) == (after, after)
        before = after
    assert before.state is State.ACCEPTED and before.confirmed_by == {"olga"}, "the walk moved the exchange"
