"""Stream records of the table, as Lambda hands them over (keys, old and new images as attribute-value
dicts), decoded once into typed changes (`domain/changes.py`) through the models and the repositories'
own converters. Items no consumer follows decode to None."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from msgspec import Struct
from pynamodb.models import Model

from chalicelib import clock
from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.economy_repository import value_share_of
from chalicelib.adapters.dynamodb.governance_repository import result_of
from chalicelib.adapters.dynamodb.ledger_repository import balance_of, hold_of, transfer_of
from chalicelib.adapters.dynamodb.mapping import from_item, values_of
from chalicelib.adapters.dynamodb.models import (
    AccountItem,
    ClaimItem,
    CounterItem,
    DocumentItem,
    ExchangeItem,
    HoldItem,
    ListingItem,
    MemberItem,
    MembershipItem,
    ParticipantItem,
    PurchaseItem,
    ReviewItem,
    ReviewRoundItem,
    RollEntryItem,
    TransferItem,
)
from chalicelib.adapters.dynamodb.purchase_repository import purchase_of
from chalicelib.domain.changes import (
    BalanceMoved,
    Change,
    ClaimMoved,
    ExchangeMoved,
    HoldMoved,
    InboxMoved,
    ListingMoved,
    MembershipMoved,
    ProfileMoved,
    PurchaseMoved,
    ResultStored,
    RevenueCounted,
    ReviewWritten,
    RollEntered,
    RoundMoved,
    StatementWritten,
    TableChange,
    TransferRecorded,
    TransferRewritten,
)
from chalicelib.domain.conversations import InboxEntry
from chalicelib.domain.exchanges import Exchange
from chalicelib.domain.missions import Claim
from chalicelib.domain.reviews import Review, ReviewRound

Record = Mapping[str, Any]
Image = Mapping[str, Any] | None
M = TypeVar("M", bound=Model)
T = TypeVar("T")
S = TypeVar("S", bound=Struct)


def decode(record: Record) -> Change | None:
    """The change one stream record describes; raises KeyError, ValueError or TypeError on a malformed one."""
    body = record["dynamodb"]
    time = clock.iso(datetime.fromtimestamp(float(body["ApproximateCreationDateTime"]), UTC))
    what = _what(body["Keys"]["PK"]["S"], body["Keys"]["SK"]["S"], body.get("OldImage"), body.get("NewImage"), time)
    return None if what is None else Change(str(record["eventID"]), str(body["SequenceNumber"]), time, what)


def item(raw: Mapping[str, Any]) -> TableChange | None:
    """An item as a full read returns it, as if it had just been written (its own times stand for the
    change's): what the audit reads of a balance, a transfer record, a purchase or a revenue counter."""
    return _what(raw["PK"]["S"], raw["SK"]["S"], None, raw, "")


def _what(pk: str, sk: str, old: Image, new: Image, time: str) -> TableChange | None:
    if sk == keys.BALANCE_SK and pk.startswith(keys.account_pk("")):
        accounts = _items(AccountItem, old, new)
        before, after = (_maybe(balance_of, item) for item in accounts)
        return BalanceMoved(before, after, _latest(accounts, "moved_at") or time)
    if sk == keys.TRANSFER_SK and pk.startswith(keys.transfer_pk("")):
        if old is None and new is not None:
            return TransferRecorded(transfer_of(TransferItem.from_raw_data(dict(new))))
        return TransferRewritten(pk.removeprefix(keys.transfer_pk("")))
    if sk == keys.HOLD_SK and pk.startswith(keys.hold_pk("")):
        holds = _items(HoldItem, old, new)
        placed, settled = (_maybe(hold_of, item) for item in holds)
        at = _latest(holds, "settled_at") if old is not None else _latest(holds, "created_at")
        return HoldMoved(placed, settled, at or time)
    if sk == keys.PURCHASE_SK and pk.startswith(keys.purchase_pk("")):
        purchases = _items(PurchaseItem, old, new)
        before_purchase, after_purchase = (_maybe(purchase_of, item) for item in purchases)
        return PurchaseMoved(before_purchase, after_purchase, _latest(purchases, "updated_at") or time)
    if pk.startswith(keys.revenue_pk("")):
        counters = _items(CounterItem, old, new)
        amount = sum(sign * int(item.total) for sign, item in zip((-1, 1), counters, strict=True) if item is not None)
        return RevenueCounted(pk.removeprefix(keys.revenue_pk("")), amount, _latest(counters, "moved_at") or time)
    if sk == keys.META_SK and pk.startswith(keys.value_share_pk("")):
        statements = _items(DocumentItem, old, new)
        written, now_paid = (_maybe(value_share_of, item) for item in statements)
        return StatementWritten(written, now_paid)
    return _followed(pk, sk, old, new, time)


def _followed(pk: str, sk: str, old: Image, new: Image, time: str) -> TableChange | None:
    """Items the notifications follow: exchanges, inbox entries, claims, reviews and their rounds, rolls,
    ballots' results."""
    if sk == keys.EXCHANGE_SK and pk.startswith(keys.exchange_pk("")):
        return ExchangeMoved(*_structs(ExchangeItem, Exchange, old, new))
    if sk.startswith(keys.participant_sk("")) and pk.startswith(keys.conversation_pk("")):
        return InboxMoved(sk.removeprefix(keys.participant_sk("")), *_structs(ParticipantItem, InboxEntry, old, new))
    if sk.startswith(keys.CLAIM_SK_PREFIX) and pk.startswith(keys.mission_pk("")):
        return ClaimMoved(*_structs(ClaimItem, Claim, old, new))
    if sk == keys.REVIEW_ROUND_SK and pk.startswith(keys.exchange_pk("")):
        return RoundMoved(*_structs(ReviewRoundItem, ReviewRound, old, new))
    if sk.startswith(keys.review_sk("")) and pk.startswith(keys.exchange_pk("")):
        return ReviewWritten(from_item(ReviewItem, new, Review)) if old is None and new is not None else None
    if sk.startswith(keys.ROLL_SK_PREFIX) and old is None and new is not None:
        values = values_of(RollEntryItem, new)
        return RollEntered(values["ballot_id"], values["member_id"], values["closes_at"])
    if sk.startswith(keys.MEMBERSHIP_SK_PREFIX) and pk.startswith(keys.community_pk("")):
        before, after = (None if image is None else values_of(MembershipItem, image) for image in (old, new))
        if after is None:
            return None
        weeks = [values.get("active_day") if values is not None else None for values in (before, after)]
        return MembershipMoved(after["community_id"], after["member_id"], before is None, *weeks)
    if sk == keys.LISTING_SK and pk.startswith(keys.listing_pk("")) and new is not None:
        listed = values_of(ListingItem, new)
        status = values_of(ListingItem, old).get("status") if old is not None else None
        at = listed["created_at"] if old is None else time
        return ListingMoved(
            listed["listing_id"], listed["community_id"], listed["category"], status, listed["status"], at
        )
    if sk == keys.PROFILE_SK and pk.startswith(keys.member_pk("")):
        before, after = (None if image is None else values_of(MemberItem, image) for image in (old, new))
        if after is None:
            return None
        weeks = [values.get("active_day") if values is not None else None for values in (before, after)]
        return ProfileMoved(after["member_id"], before is None, *weeks)
    if sk == keys.RESULT_SK and pk.startswith(keys.ballot_pk("")) and old is None and new is not None:
        result = result_of(DocumentItem.from_raw_data(dict(new)))
        return ResultStored(result.ballot_id, result.closed_at or time, result.adopted, result.withheld)
    return None


def _structs(model: type[Model], kind: type[S], old: Image, new: Image) -> tuple[S | None, S | None]:
    before, after = (None if image is None else from_item(model, image, kind) for image in (old, new))
    return before, after


def _maybe(convert: Callable[[M], T], item: M | None) -> T | None:
    return convert(item) if item is not None else None


def _items(model: type[M], old: Image, new: Image) -> tuple[M | None, M | None]:
    return tuple(model.from_raw_data(dict(image)) if image is not None else None for image in (old, new))  # type: ignore[return-value]


def _latest(items: tuple[Model | None, Model | None], attribute: str) -> str | None:
    """The attribute of the new image, else of the old one (a deleted item)."""
    old, new = items
    item = new if new is not None else old
    return getattr(item, attribute, None) if item is not None else None
