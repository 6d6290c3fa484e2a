"""Balances, transfer records and holds. Functions named add_* put actions into a unit of work (the
ledger service decides which, and what their refusals mean); the others read."""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from typing import Any

from pynamodb.attributes import NumberAttribute
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.adapters.dynamodb import keys, reads
from chalicelib.adapters.dynamodb.mapping import from_item, to_domain, values_of
from chalicelib.adapters.dynamodb.models import AccountItem, HoldItem, TransferItem
from chalicelib.adapters.dynamodb.unit_of_work import Refusal, UnitOfWork, stale
from chalicelib.domain.ledger import (
    Balance,
    BalanceChange,
    Hold,
    HoldRequest,
    HoldStatus,
    Transfer,
    TransferKind,
    TransferRequest,
    may_overdraw,
)


def balance_of(item: AccountItem) -> Balance:
    return to_domain(item, Balance)


def transfer_of(item: TransferItem) -> Transfer:
    return _transfer(item.attribute_values)


def _transfer(values: Mapping[str, Any]) -> Transfer:
    """A transfer record from its attribute values (a model's, or a raw item's: `values_of`)."""
    request = TransferRequest(
        transfer_id=values["PK"].removeprefix(keys.transfer_pk("")),
        payer=values["payer"],
        payee=values["payee"],
        amount=int(values["amount"]),
        kind=TransferKind(values["kind"]),
        reason=values["reason"],
        memo=values["memo"],
        refs=json.loads(values["refs"]),
    )
    return Transfer(request, values["created_at"], values["payer_account"], values["payee_account"])


def hold_of(item: HoldItem) -> Hold:
    request = HoldRequest(
        hold_id=item.hold_id,
        payer=item.payer,
        payee=item.payee,
        amount=int(item.amount),
        expires_at=item.hold_expires_at,
        reason=item.reason,
        refs=json.loads(item.refs),
    )
    return Hold(request, HoldStatus(item.status), item.created_at, int(item.posted_amount))


def _account_ref(account_id: str) -> AccountItem:
    return AccountItem(keys.account_pk(account_id), keys.BALANCE_SK)


def add_account(uow: UnitOfWork, account_id: str, created_at: str, refused: Refusal = stale) -> None:
    item = AccountItem(
        keys.account_pk(account_id),
        keys.BALANCE_SK,
        account_id=account_id,
        posted=0,
        held=0,
        available=0,
        frozen=False,
        owed=0,
        open_disputes=0,
        created_at=created_at,
    )
    uow.put(item, condition=AccountItem.PK.does_not_exist(), refused=refused)


def add_account_check(uow: UnitOfWork, account_id: str, refused: Refusal) -> None:
    """The account exists and may be credited (it was not closed)."""
    condition = AccountItem.PK.exists() & AccountItem.closed_at.does_not_exist()
    uow.check(AccountItem, keys.account_pk(account_id), keys.BALANCE_SK, condition, refused=refused)


def add_closure(uow: UnitOfWork, account_id: str, at: str) -> None:
    """Closes an account that holds nothing (an emptying change closes one that does): stale if it got
    anything since it was read."""
    condition = AccountItem.PK.exists() & (AccountItem.posted == 0) & (AccountItem.held == 0)
    uow.update(_account_ref(account_id), [AccountItem.closed_at.set(at)], condition=condition, refused=stale)


def add_balance_change(uow: UnitOfWork, change: BalanceChange, at: str, refused: Refusal) -> None:
    """One update of a balance item. The funds check (`available >= debit`) and the frozen check are
    in its condition (an emptying change: the item holds exactly what it moves, nothing held); a change
    of standing (owed, open disputes) applies only if the standing is still what was read, and spending
    stays frozen while credits are owed or a dispute is open. `at`, the contribution's time (its
    records' too), lets the reconciliation pair the change with them."""
    actions: list[Action] = [AccountItem.moved_at.set(at)]
    if change.posted:
        actions.append(AccountItem.posted.add(change.posted))
    if change.held:
        actions.append(AccountItem.held.add(change.held))
    if change.available:
        actions.append(AccountItem.available.add(change.available))
    condition = AccountItem.PK.exists()
    if change.debit and not may_overdraw(change.account_id):
        condition &= AccountItem.available >= change.debit
    if change.spends:
        condition &= AccountItem.frozen == False  # noqa: E712 - a condition expression, not a comparison
    if change.posted > 0:
        condition &= AccountItem.closed_at.does_not_exist()
    if change.empties:
        condition &= (AccountItem.posted == -change.posted) & (AccountItem.held == 0)
        actions.append(AccountItem.closed_at.set(at))
    if change.standing is not None:
        owed, disputes = change.standing.owed + change.owed, change.standing.open_disputes + change.disputes
        actions += [
            AccountItem.owed.set(owed),
            AccountItem.open_disputes.set(disputes),
            AccountItem.frozen.set(owed > 0 or disputes > 0),
        ]
        condition &= _equals_or_absent(AccountItem.owed, change.standing.owed)
        condition &= _equals_or_absent(AccountItem.open_disputes, change.standing.open_disputes)
    uow.update(_account_ref(change.account_id), actions, condition=condition, refused=refused)


def _equals_or_absent(attribute: NumberAttribute, value: int) -> Condition:
    """Accounts created before an attribute existed lack it; absent reads as zero."""
    return attribute.does_not_exist() | (attribute == value) if value == 0 else attribute == value


def add_record(uow: UnitOfWork, request: TransferRequest, payer: str, payee: str, at: str, refused: Refusal) -> None:
    """The immutable transfer record; its absence is the idempotency check."""
    uow.put(record_item(request, payer, payee, at), condition=TransferItem.PK.does_not_exist(), refused=refused)


def record_item(request: TransferRequest, payer: str, payee: str, at: str) -> TransferItem:
    """A transfer record, indexed under both accounts (GSI1 payer, GSI2 payee): those two index entries
    are the two statement entries."""
    sort_key = keys.statement_sk(at, request.transfer_id)
    return TransferItem(
        keys.transfer_pk(request.transfer_id),
        keys.TRANSFER_SK,
        GSI1PK=keys.statement_pk(payer),
        GSI1SK=sort_key,
        GSI2PK=keys.statement_pk(payee),
        GSI2SK=sort_key,
        payer=request.payer,
        payee=request.payee,
        payer_account=payer,
        payee_account=payee,
        amount=request.amount,
        kind=request.kind.value,
        reason=request.reason,
        memo=request.memo,
        refs=json.dumps(request.refs, sort_keys=True),
        fingerprint=request.fingerprint(),
        created_at=at,
    )


def add_hold(uow: UnitOfWork, request: HoldRequest, at: str, refused: Refusal) -> None:
    """The pending hold, indexed by its expiry for the sweeper until it settles."""
    bucket = zlib.crc32(request.hold_id.encode()) % keys.HOLD_DUE_BUCKETS
    item = HoldItem(
        keys.hold_pk(request.hold_id),
        keys.HOLD_SK,
        GSI3PK=keys.holds_due_pk(bucket),
        GSI3SK=keys.holds_due_sk(request.expires_at, request.hold_id),
        hold_id=request.hold_id,
        payer=request.payer,
        payee=request.payee,
        amount=request.amount,
        hold_expires_at=request.expires_at,
        status=HoldStatus.PENDING.value,
        reason=request.reason,
        refs=json.dumps(request.refs, sort_keys=True),
        fingerprint=request.fingerprint(),
        created_at=at,
    )
    uow.put(item, condition=HoldItem.PK.does_not_exist(), refused=refused)


def add_hold_settled(uow: UnitOfWork, hold_id: str, status: HoldStatus, posted_amount: int, at: str) -> None:
    """A pending hold settles once, and is posted only before it expires; it leaves the sweeper's index."""
    condition = HoldItem.status == HoldStatus.PENDING.value
    actions: list[Action] = [
        HoldItem.status.set(status.value),
        HoldItem.settled_at.set(at),
        HoldItem.GSI3PK.remove(),
        HoldItem.GSI3SK.remove(),
    ]
    if status is HoldStatus.POSTED:
        condition &= HoldItem.hold_expires_at > at
        actions.append(HoldItem.posted_amount.set(posted_amount))
    uow.update(HoldItem(keys.hold_pk(hold_id), keys.HOLD_SK), actions, condition=condition)


def get_balance(account_id: str, *, consistent: bool = True) -> Balance | None:
    found = reads.get_item(keys.account_pk(account_id), keys.BALANCE_SK, consistent_read=consistent)
    return None if found is None else from_item(AccountItem, found, Balance)


def get_balances(account_ids: list[str]) -> list[Balance]:
    wanted = [(keys.account_pk(account_id), keys.BALANCE_SK) for account_id in account_ids]
    return [from_item(AccountItem, item, Balance) for item in reads.batch_get_items(wanted, consistent_read=True)]


def get_transfer(transfer_id: str) -> tuple[Transfer, str] | None:
    """The transfer and the fingerprint it was recorded with."""
    try:
        item = TransferItem.get(keys.transfer_pk(transfer_id), keys.TRANSFER_SK, consistent_read=True)
    except TransferItem.DoesNotExist:
        return None
    return transfer_of(item), item.fingerprint


def get_hold(hold_id: str) -> tuple[Hold, str] | None:
    try:
        item = HoldItem.get(keys.hold_pk(hold_id), keys.HOLD_SK, consistent_read=True)
    except HoldItem.DoesNotExist:
        return None
    return hold_of(item), item.fingerprint


def statement(account_id: str, before: str | None, limit: int) -> list[tuple[str, Transfer]]:
    """Newest first: the account's records as payer (GSI1) and as payee (GSI2), read at once, merged by time."""
    sides = (TransferItem.gsi1, TransferItem.gsi2)
    found = reads.newest_first([keys.statement_pk(account_id)], index=sides, below=before, limit=limit)
    return [(sort_key, _transfer(values_of(TransferItem, item))) for sort_key, item in found]


def holds_due(now: str, limit_per_bucket: int) -> list[Hold]:
    """Pending holds whose expiry has passed (a posted or voided hold leaves the index)."""
    due: list[Hold] = []
    for bucket in range(keys.HOLD_DUE_BUCKETS):
        items = HoldItem.gsi3.query(
            keys.holds_due_pk(bucket), now > HoldItem.GSI3SK, limit=limit_per_bucket, page_size=limit_per_bucket
        )
        due.extend(hold_of(item) for item in items)
    return due


def pending_holds() -> list[Hold]:
    """Every pending hold (a settled one leaves the index): what the full audit compares `held` with."""
    return [
        hold_of(item)
        for bucket in range(keys.HOLD_DUE_BUCKETS)
        for item in HoldItem.gsi3.query(keys.holds_due_pk(bucket))
    ]


Cursor = dict[str, Any] | None


def entries(
    account_id: str, payer: bool, lower: str | None, upper: str | None, cursor: Cursor, limit: int
) -> tuple[list[tuple[str, Transfer]], Cursor]:
    """One page of an account's statement entries on one side (as payer: GSI1; as payee: GSI2), oldest
    first, with their sort keys (time first): those from `lower` (inclusive) to `upper` (exclusive)."""
    index, sort_key = (TransferItem.gsi1, TransferItem.GSI1SK) if payer else (TransferItem.gsi2, TransferItem.GSI2SK)
    if lower and upper:
        condition: Condition | None = sort_key.between(lower, upper)  # sort keys never equal a bare time
    elif upper:
        condition = sort_key < upper
    else:
        condition = sort_key >= lower if lower else None
    found = index.query(
        keys.statement_pk(account_id), condition, last_evaluated_key=cursor, limit=limit, page_size=limit
    )
    page = [(item.GSI1SK if payer else item.GSI2SK, transfer_of(item)) for item in found]
    return page, found.last_evaluated_key
