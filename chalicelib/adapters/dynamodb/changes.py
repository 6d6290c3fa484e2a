"""Stream records of the table, as Lambda hands them over (keys, old and new images as attribute-value
dicts), decoded once into typed changes (`domain/changes.py`) through the models and the repositories'
own converters. Items no consumer follows decode to None."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from pynamodb.models import Model

from chalicelib import clock
from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.economy_repository import value_share_of
from chalicelib.adapters.dynamodb.ledger_repository import balance_of, hold_of, transfer_of
from chalicelib.adapters.dynamodb.models import (
    AccountItem,
    CounterItem,
    DocumentItem,
    HoldItem,
    PurchaseItem,
    TransferItem,
)
from chalicelib.adapters.dynamodb.purchase_repository import purchase_of
from chalicelib.domain.changes import (
    BalanceMoved,
    Change,
    HoldMoved,
    PurchaseMoved,
    RevenueCounted,
    StatementWritten,
    TableChange,
    TransferRecorded,
    TransferRewritten,
)

Record = Mapping[str, Any]
Image = Mapping[str, Any] | None
M = TypeVar("M", bound=Model)
T = TypeVar("T")


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
    return None


def _maybe(convert: Callable[[M], T], item: M | None) -> T | None:
    return convert(item) if item is not None else None


def _items(model: type[M], old: Image, new: Image) -> tuple[M | None, M | None]:
    return tuple(model.from_raw_data(dict(image)) if image is not None else None for image in (old, new))  # type: ignore[return-value]


def _latest(items: tuple[Model | None, Model | None], attribute: str) -> str | None:
    """The attribute of the new image, else of the old one (a deleted item)."""
    old, new = items
    item = new if new is not None else old
    return getattr(item, attribute, None) if item is not None else None
