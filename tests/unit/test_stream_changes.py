"""Stream records, as Lambda delivers them, decoded into typed changes: which item each is, and the time
its change is paired by."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from chalicelib.adapters.dynamodb import changes, keys, ledger_repository
from chalicelib.adapters.dynamodb.models import (
    AccountItem,
    CounterItem,
    DocumentItem,
    ExchangeItem,
    HoldItem,
    MemberItem,
    PurchaseItem,
)
from chalicelib.domain.changes import (
    BalanceMoved,
    ExchangeMoved,
    HoldMoved,
    ProfileMoved,
    PurchaseMoved,
    RevenueCounted,
    StatementWritten,
    TransferRecorded,
    TransferRewritten,
)
from chalicelib.domain.economy import Share, ValueShare
from chalicelib.domain.ledger import HoldStatus, TransferKind, TransferRequest

AT = "2024-05-01T10:00:00.000000Z"
STREAM_TIME = 1714557700.0  # 2024-05-01T10:01:40Z


def record(event: str, old: Any = None, new: Any = None, sequence: str = "100") -> dict[str, Any]:
    item = new if new is not None else old
    body: dict[str, Any] = {
        "ApproximateCreationDateTime": STREAM_TIME,
        "Keys": {"PK": {"S": item.PK}, "SK": {"S": item.SK}},
        "SequenceNumber": sequence,
        "SizeBytes": 100,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if old is not None:
        body["OldImage"] = old.serialize()
    if new is not None:
        body["NewImage"] = new.serialize()
    return {"eventID": "e1", "eventName": event, "awsRegion": "eu-central-2", "dynamodb": body}


def balance(posted: int, moved_at: str | None = AT) -> AccountItem:
    return AccountItem(
        keys.account_pk("member:alice"),
        keys.BALANCE_SK,
        account_id="member:alice",
        posted=posted,
        held=0,
        available=posted,
        created_at=AT,
        moved_at=moved_at,
    )


def test_a_balance_change_is_paired_by_the_time_of_its_contribution():
    change = changes.decode(record("MODIFY", balance(10), balance(15, "2024-05-01T10:00:01.000000Z")))
    assert change is not None and (change.event_id, change.sequence) == ("e1", "100")
    assert change.time == "2024-05-01T10:01:40.000000Z"
    assert isinstance(change.what, BalanceMoved)
    assert (change.what.old.posted, change.what.new.posted) == (10, 15)
    assert change.what.at == "2024-05-01T10:00:01.000000Z"
    # an item written without the time (a direct update of an older item): the stream's time
    assert changes.decode(record("MODIFY", balance(10, None), balance(15, None))).what.at == change.time


def test_a_new_transfer_record_and_a_rewritten_one():
    request = TransferRequest("pay-1", "member:alice", "member:bob", 5, TransferKind.PAYMENT, refs={"x": "y"})
    item = ledger_repository.record_item(request, "member:alice", "member:bob", AT)
    recorded = changes.decode(record("INSERT", new=item)).what
    assert isinstance(recorded, TransferRecorded)
    assert (recorded.transfer.request, recorded.transfer.created_at) == (request, AT)
    assert changes.decode(record("REMOVE", old=item)).what == TransferRewritten("pay-1")


def hold(status: HoldStatus, settled_at: str | None = None) -> HoldItem:
    return HoldItem(
        keys.hold_pk("h1"),
        keys.HOLD_SK,
        hold_id="h1",
        payer="member:alice",
        payee="member:bob",
        amount=20,
        hold_expires_at="2030-01-01",
        status=status.value,
        fingerprint="f",
        created_at=AT,
        settled_at=settled_at,
    )


def test_a_hold_is_paired_by_its_placement_then_by_its_settlement():
    placed = changes.decode(record("INSERT", new=hold(HoldStatus.PENDING))).what
    assert isinstance(placed, HoldMoved) and placed.old is None and placed.at == AT
    settled_at = "2024-05-01T11:00:00.000000Z"
    settled = changes.decode(record("MODIFY", hold(HoldStatus.PENDING), hold(HoldStatus.VOIDED, settled_at))).what
    assert isinstance(settled, HoldMoved) and settled.new.status is HoldStatus.VOIDED and settled.at == settled_at


def test_purchases_revenue_counters_and_statements():
    purchase = PurchaseItem(
        keys.purchase_pk("p1"),
        keys.PURCHASE_SK,
        purchase_id="p1",
        member_id="alice",
        pack_id="pack",
        credits=100,
        amount_cents=1000,
        currency="eur",
        status="succeeded",
        created_at=AT,
        updated_at="2024-05-01T10:05:00.000000Z",
    )
    moved = changes.decode(record("INSERT", new=purchase)).what
    assert isinstance(moved, PurchaseMoved) and moved.new.credits == 100 and moved.at == "2024-05-01T10:05:00.000000Z"

    def counter(total: int) -> CounterItem:
        return CounterItem(keys.revenue_pk("2024-05"), "3", total=total, moved_at=AT)

    assert changes.decode(record("MODIFY", counter(5), counter(12))).what == RevenueCounted("2024-05", 7, AT)
    statement = ValueShare("2024-04", 8, 50, 4, (Share("bob", 1, 4),), {})
    document = DocumentItem(keys.value_share_pk("2024-04"), keys.META_SK, doc=msgspec.json.encode(statement).decode())
    assert changes.decode(record("INSERT", new=document)).what == StatementWritten(None, statement)


def test_items_no_consumer_follows_decode_to_nothing_and_a_malformed_record_raises():
    community = DocumentItem(keys.community_pk("c1"), keys.META_SK, doc="{}")
    assert changes.decode(record("INSERT", new=community)) is None
    broken = record("MODIFY", balance(10), balance(15))
    broken["dynamodb"]["NewImage"]["posted"] = {"S": "many"}
    for bad in ({"eventID": "x"}, broken):
        with pytest.raises((KeyError, ValueError, TypeError, AttributeError)):
            changes.decode(bad)


def test_a_profile_decodes_to_its_creation_and_its_activity_mark():
    def profile(week: str | None) -> MemberItem:
        return MemberItem(
            keys.member_pk("ann"), keys.PROFILE_SK, member_id="ann", display_name="Ann", created_at=AT, active_day=week
        )

    assert changes.decode(record("INSERT", new=profile("2026-05-25"))).what == ProfileMoved(
        "ann", True, None, "2026-05-25"
    )
    moved = changes.decode(record("MODIFY", profile("2026-05-25"), profile("2026-06-01"))).what
    assert moved == ProfileMoved("ann", False, "2026-05-25", "2026-06-01")
    assert changes.decode(record("REMOVE", old=profile("2026-05-25"))) is None


def test_an_exchange_change_decodes_and_a_malformed_one_is_refused_with_a_value_error():
    def exchange(state: str) -> ExchangeItem:
        return ExchangeItem(
            keys.exchange_pk("x1"),
            keys.EXCHANGE_SK,
            exchange_id="x1",
            type="trade",
            listing_id="l1",
            owner_id="olga",
            proposer_id="pete",
            payer_id="pete",
            payee_id="olga",
            amount=30,
            state=state,
            created_at=AT,
            updated_at=AT,
        )

    moved = changes.decode(record("MODIFY", exchange("proposed"), exchange("accepted"))).what
    assert isinstance(moved, ExchangeMoved)
    assert (moved.old.state, moved.new.state) == ("proposed", "accepted")
    with pytest.raises(ValueError):  # the stream handler counts it as rejected (StreamRecordsRejected)
        changes.decode(record("MODIFY", exchange("proposed"), exchange("bogus")))
