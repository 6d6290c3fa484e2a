"""Every aggregate stored by field name has an attribute for each of its fields, and survives the trip
to an item and back unchanged, read as a model or as DynamoDB returns it (no table needed: items are
serialized as DynamoDB would store them)."""

from __future__ import annotations

import msgspec
import pytest

from chalicelib.adapters.dynamodb.mapping import from_item, to_attributes, to_domain, values_of
from chalicelib.adapters.dynamodb.models import (
    AccountItem,
    ConversationItem,
    ExchangeItem,
    ListingItem,
    MemberItem,
    MessageItem,
    ParticipantItem,
    PurchaseItem,
    ReviewItem,
    TransferItem,
)
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


@pytest.mark.parametrize(("model", "value", "extra"), CASES, ids=lambda case: getattr(case, "__name__", ""))
def test_a_raw_item_reads_as_its_model_does(model, value, extra):
    stored = model("PK", "SK", **extra, **to_attributes(value)).serialize()
    assert values_of(model, stored) == model.from_raw_data(stored).attribute_values
    assert from_item(model, stored, type(value)) == value


def test_defaults_fill_attributes_an_older_raw_item_lacks():
    stored = {"PK": {"S": "PK"}, "SK": {"S": "SK"}, "account_id": {"S": "member:ann"}, "created_at": {"S": "t"}}
    assert from_item(AccountItem, stored, Balance) == Balance("member:ann", 0, 0, 0)
    assert values_of(ListingItem, {})["tags"] is not values_of(ListingItem, {})["tags"], "a default list per item"


def test_numbers_read_as_pynamodb_reads_them():
    stored = {"PK": {"S": "PK"}, "SK": {"S": "SK"}, "posted": {"N": "-12"}, "held": {"N": "1.5"}, "owed": {"N": "1E+2"}}
    assert values_of(AccountItem, stored) == AccountItem.from_raw_data(stored).attribute_values


@pytest.mark.parametrize(
    "item",
    [
        MemberItem("PK", "SK", member_id="m1", display_name="Ann", created_at="t", skills=["bricolage"]),
        MemberItem("PK", "SK", member_id="m2", display_name="Bo", created_at="t", community_ids={"c1", "c2"}),
        ConversationItem("PK", "SK", conversation_id="c1", subject="listing:l1", participants={"m1"}, created_at="t"),
        ParticipantItem("PK", "SK", conversation_id="c1", member_id="m1", unread=3, last_message_at="t", subject="s"),
        MessageItem("PK", "SK", sender_id="m1", body="Bonjour", at="t"),
        TransferItem(
            "TRANSFER#t1",
            "SK",
            payer="member:a",
            payee="member:b",
            payer_account="member:a",
            payee_account="member:b",
            amount=5,
            kind="tip",
            refs='{"exchange": "e1"}',
            fingerprint="f",
            created_at="t",
        ),
        ReviewItem(
            "PK",
            "SK",
            exchange_id="e1",
            author_id="m1",
            subject_id="m2",
            subject_role="provider",
            rating=5,
            kind_words=["punctual"],
            state="published",
            submitted_at="t",
            updated_at="t",
        ),
    ],
    ids=lambda item: type(item).__name__,
)
def test_raw_values_are_the_models_attribute_values(item):
    stored = item.serialize()
    modelled = type(item).from_raw_data(stored).attribute_values
    raw = values_of(type(item), stored)
    if "part" in modelled:  # a discriminator reads as its class on a model; no domain struct holds it
        assert raw.pop("part") == stored["part"]["S"] and modelled.pop("part") is type(item)
    assert raw == modelled
