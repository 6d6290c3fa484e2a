"""Every aggregate stored by field name has an attribute for each of its fields, and survives the trip
to an item and back unchanged (no table needed: items are serialized as DynamoDB would store them)."""

from __future__ import annotations

import msgspec
import pytest

from chalicelib.adapters.dynamodb.mapping import to_attributes, to_domain
from chalicelib.adapters.dynamodb.models import AccountItem, ExchangeItem, ListingItem, PurchaseItem
from chalicelib.domain.exchanges import Exchange, ExchangeType, State
from chalicelib.domain.ledger import Balance
from chalicelib.domain.listings import Kind, Listing, Mode, Status
from chalicelib.domain.purchases import Currency, Purchase, PurchaseStatus

EXCHANGE = Exchange(
    exchange_id="e1",
    type=ExchangeType.LOAN,
    listing_id="l1",
    owner_id="olga",
    proposer_id="paul",
    payer_id="paul",
    payee_id="olga",
    amount=55,
    state=State.DAMAGE_CLAIMED,
    created_at="2026-01-01T00:00:00.000000Z",
    updated_at="2026-01-02T00:00:00.000000Z",
    fee=5,
    swap_listing_id="l2",
    message="hello",
    confirmed_by=frozenset({"olga", "paul"}),
    claimed_damage=20,
    posted_amount=3,
    due_at="2026-02-01T00:00:00.000000Z",
    starts_at="2026-01-15T10:00:00.000000Z",
    overdue=True,
    version=4,
)
LISTING = Listing(
    listing_id="l1",
    owner_id="olga",
    kind=Kind.OFFER,
    category="sharing.carpool",
    mode=Mode.CREDITS,
    title="To Lausanne",
    description="Seats",
    community_id="c1",
    status=Status.PAUSED,
    created_at="2026-01-01T00:00:00.000000Z",
    price=7,
    tags=("lausanne", "train"),
    location="u0hqg",
    seats=3,
    seats_taken=1,
    event_at="2026-03-01T08:00:00.000000Z",
    hidden=True,
    version=2,
)
PURCHASE = Purchase(
    purchase_id="p1",
    member_id="paul",
    pack_id="starter-chf",
    credits=50,
    amount_cents=500,
    currency=Currency.CHF,
    status=PurchaseStatus.SUCCEEDED,
    created_at="2026-01-01T00:00:00.000000Z",
    payment_intent_id="pi_1",
    reversed_credits=16,
    refunded_cents=166,
    lost_dispute_cents=0,
    open_dispute_ids=frozenset({"dp_1"}),
    closed_dispute_ids=frozenset(),
    version=2,
)
BALANCE = Balance("member:paul", 40, 10, 30, True, 5, 1)
CASES = [
    (ExchangeItem, EXCHANGE, {}),
    (ListingItem, LISTING, {}),
    (PurchaseItem, PURCHASE, {"updated_at": PURCHASE.created_at}),
    (AccountItem, BALANCE, {"created_at": "2026-01-01T00:00:00.000000Z"}),
]


@pytest.mark.parametrize(("model", "value", "extra"), CASES, ids=lambda case: getattr(case, "__name__", ""))
def test_every_field_has_an_attribute(model, value, extra):
    attributes = set(model.get_attributes())
    assert {field.name for field in msgspec.structs.fields(value)} <= attributes


@pytest.mark.parametrize(("model", "value", "extra"), CASES, ids=lambda case: getattr(case, "__name__", ""))
def test_an_aggregate_survives_the_trip_to_an_item_and_back(model, value, extra):
    stored = model("PK", "SK", **extra, **to_attributes(value)).serialize()
    assert to_domain(model.from_raw_data(stored), type(value)) == value


def test_defaults_fill_attributes_an_older_item_lacks():
    stored = {"PK": {"S": "PK"}, "SK": {"S": "SK"}, "account_id": {"S": "member:ann"}, "created_at": {"S": "t"}}
    assert to_domain(AccountItem.from_raw_data(stored), Balance) == Balance("member:ann", 0, 0, 0)
