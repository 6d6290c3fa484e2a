"""Balances, transfer records and holds. Functions named add_* put actions into a unit of work,
so a use case can commit its own state change and its ledger effect in one transaction."""

from __future__ import annotations

import heapq
import json
import zlib
from typing import Any

from msgspec.structs import replace
from pynamodb.attributes import NumberAttribute
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.models import AccountItem, HoldItem, TransferItem
from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork
from chalicelib.domain.ledger import (
    Balance,
    Hold,
    HoldRequest,
    HoldStatus,
    Transfer,
    TransferKind,
    TransferRequest,
    may_overdraw,
)


def _balance(item: AccountItem) -> Balance:
    return Balance(
        item.account_id,
        int(item.posted),
        int(item.held),
        int(item.available),
        bool(item.frozen),
        int(item.owed or 0),
        int(item.open_disputes or 0),
    )


def _transfer(item: TransferItem) -> Transfer:
    request = TransferRequest(
        transfer_id=item.PK.removeprefix(keys.transfer_pk("")),
        payer=item.payer,
        payee=item.payee,
        amount=int(item.amount),
        kind=TransferKind(item.kind),
        reason=item.reason,
        memo=item.memo,
        refs=json.loads(item.refs),
    )
    return Transfer(request, item.created_at, item.payer_account, item.payee_account)


def _hold(item: HoldItem) -> Hold:
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


def new_account(account_id: str, created_at: str) -> AccountItem:
    return AccountItem(
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


def add_account(uow: UnitOfWork, account_id: str, created_at: str) -> None:
    uow.put("account", new_account(account_id, created_at), condition=AccountItem.PK.does_not_exist())


def create_accounts(account_ids: list[str], created_at: str) -> None:
    """Idempotent: existing accounts are left as they are."""
    for account_id in account_ids:
        try:
            new_account(account_id, created_at).save(condition=AccountItem.PK.does_not_exist())
        except Exception as error:  # PutError with a failed condition: it exists already
            if getattr(error, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise


def _debit(uow: UnitOfWork, label: str, account_id: str, posted: int, held: int = 0) -> None:
    """Posted decreases by `posted` and held by `held`; the funds check covers what becomes unavailable."""
    condition = AccountItem.PK.exists()
    unavailable = posted - held
    if not may_overdraw(account_id) and unavailable > 0:
        condition &= AccountItem.available >= unavailable
    if held == 0:
        condition &= AccountItem.frozen == False  # noqa: E712 - a condition expression, not a comparison
    actions = [AccountItem.available.add(-unavailable)]
    if posted:
        actions.append(AccountItem.posted.add(-posted))
    if held:
        actions.append(AccountItem.held.add(-held))
    uow.update(label, _account_ref(account_id), actions, condition=condition)


def _credit(uow: UnitOfWork, label: str, account_id: str, amount: int) -> None:
    uow.update(
        label,
        _account_ref(account_id),
        [AccountItem.posted.add(amount), AccountItem.available.add(amount)],
        condition=AccountItem.PK.exists(),
    )


def add_record(uow: UnitOfWork, label: str, request: TransferRequest, payer: str, payee: str, at: str) -> None:
    """The immutable transfer record; its absence is the idempotency check. It is indexed under both
    accounts (GSI1 payer, GSI2 payee): those two index entries are the two statement entries."""
    sort_key = keys.statement_sk(at, request.transfer_id)
    record = TransferItem(
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
    uow.put(label, record, condition=TransferItem.PK.does_not_exist())


def add_transfer(uow: UnitOfWork, request: TransferRequest, payer_account: str, payee_account: str, at: str) -> None:
    """The record, the debit with its overdraft check, and the credit."""
    add_record(uow, "record", request, payer_account, payee_account, at)
    _debit(uow, "payer", payer_account, request.amount)
    _credit(uow, "payee", payee_account, request.amount)


def add_hold(uow: UnitOfWork, request: HoldRequest, at: str) -> None:
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
    uow.put("hold", item, condition=HoldItem.PK.does_not_exist())
    uow.update(
        "payer",
        _account_ref(request.payer),
        [AccountItem.held.add(request.amount), AccountItem.available.add(-request.amount)],
        condition=AccountItem.PK.exists() & (AccountItem.available >= request.amount) & (AccountItem.frozen == False),  # noqa: E712
    )
    uow.check("payee", AccountItem, keys.account_pk(request.payee), keys.BALANCE_SK, AccountItem.PK.exists())


def add_hold_post(uow: UnitOfWork, hold: Hold, amount: int, transfer: TransferRequest, at: str) -> None:
    """Posting settles the hold once, before it expires: `amount` moves, the rest is released."""
    request = hold.request
    uow.update(
        "hold",
        HoldItem(keys.hold_pk(request.hold_id), keys.HOLD_SK),
        [
            HoldItem.status.set(HoldStatus.POSTED.value),
            HoldItem.posted_amount.set(amount),
            HoldItem.GSI3PK.remove(),
            HoldItem.GSI3SK.remove(),
        ],
        condition=(HoldItem.status == HoldStatus.PENDING.value) & (HoldItem.hold_expires_at > at),
    )
    add_record(uow, "record", replace(transfer, amount=amount), request.payer, request.payee, at)
    _debit(uow, "payer", request.payer, posted=amount, held=request.amount)
    _credit(uow, "payee", request.payee, amount)


def add_hold_void(uow: UnitOfWork, hold: Hold) -> None:
    request = hold.request
    uow.update(
        "hold",
        HoldItem(keys.hold_pk(request.hold_id), keys.HOLD_SK),
        [HoldItem.status.set(HoldStatus.VOIDED.value), HoldItem.GSI3PK.remove(), HoldItem.GSI3SK.remove()],
        condition=HoldItem.status == HoldStatus.PENDING.value,
    )
    _debit(uow, "payer", request.payer, posted=0, held=request.amount)


def get_balance(account_id: str, *, consistent: bool = True) -> Balance | None:
    try:
        return _balance(AccountItem.get(keys.account_pk(account_id), keys.BALANCE_SK, consistent_read=consistent))
    except AccountItem.DoesNotExist:
        return None


def get_balances(account_ids: list[str]) -> list[Balance]:
    wanted = [(keys.account_pk(account_id), keys.BALANCE_SK) for account_id in account_ids]
    return [_balance(item) for item in AccountItem.batch_get(wanted)]


def set_frozen(account_id: str, frozen: bool) -> None:
    _account_ref(account_id).update(actions=[AccountItem.frozen.set(frozen)], condition=AccountItem.PK.exists())


def get_transfer(transfer_id: str) -> tuple[Transfer, str] | None:
    """The transfer and the fingerprint it was recorded with."""
    try:
        item = TransferItem.get(keys.transfer_pk(transfer_id), keys.TRANSFER_SK, consistent_read=True)
    except TransferItem.DoesNotExist:
        return None
    return _transfer(item), item.fingerprint


def get_hold(hold_id: str) -> tuple[Hold, str] | None:
    try:
        item = HoldItem.get(keys.hold_pk(hold_id), keys.HOLD_SK, consistent_read=True)
    except HoldItem.DoesNotExist:
        return None
    return _hold(item), item.fingerprint


def statement(account_id: str, before: str | None, limit: int) -> list[tuple[str, Transfer]]:
    """Newest first: the account's records as payer (GSI1) and as payee (GSI2), merged by time."""
    pk = keys.statement_pk(account_id)
    as_payer = TransferItem.gsi1.query(
        pk, before > TransferItem.GSI1SK if before else None, scan_index_forward=False, limit=limit, page_size=limit
    )
    as_payee = TransferItem.gsi2.query(
        pk, before > TransferItem.GSI2SK if before else None, scan_index_forward=False, limit=limit, page_size=limit
    )
    keyed: list[Any] = [
        ((item.GSI1SK, _transfer(item)) for item in as_payer),
        ((item.GSI2SK, _transfer(item)) for item in as_payee),
    ]
    merged = heapq.merge(*keyed, key=lambda pair: pair[0], reverse=True)
    return [entry for _, entry in zip(range(limit), merged, strict=False)]


def holds_due(now: str, limit_per_bucket: int) -> list[Hold]:
    """Pending holds whose expiry has passed (a posted or voided hold leaves the index)."""
    due: list[Hold] = []
    for bucket in range(keys.HOLD_DUE_BUCKETS):
        items = HoldItem.gsi3.query(
            keys.holds_due_pk(bucket), now > HoldItem.GSI3SK, limit=limit_per_bucket, page_size=limit_per_bucket
        )
        due.extend(_hold(item) for item in items)
    return due


def scan_all() -> tuple[list[Balance], list[Transfer], list[Hold]]:
    """Reconciliation only (a scheduled job, never a route): every balance, transfer and hold."""
    balances = [_balance(item) for item in AccountItem.scan(AccountItem.SK == keys.BALANCE_SK)]
    transfers = [_transfer(item) for item in TransferItem.scan(TransferItem.SK == keys.TRANSFER_SK)]
    holds = [_hold(item) for item in HoldItem.scan(HoldItem.SK == keys.HOLD_SK)]
    return balances, transfers, holds


def add_credit(uow: UnitOfWork, label: str, account_id: str, amount: int) -> None:
    _credit(uow, label, account_id, amount)


def add_debit(uow: UnitOfWork, label: str, account_id: str, amount: int) -> None:
    _debit(uow, label, account_id, amount)


def add_wallet_state(
    uow: UnitOfWork,
    wallet: Balance,
    *,
    debit: int = 0,
    owed_delta: int = 0,
    disputes_delta: int = 0,
) -> None:
    """One update of a wallet's money and standing, valid only if its standing is still what was read
    (label: wallet). Spending stays frozen while credits are owed or a dispute is open."""
    owed, disputes = wallet.owed + owed_delta, wallet.open_disputes + disputes_delta
    actions: list[Action] = [
        AccountItem.owed.set(owed),
        AccountItem.open_disputes.set(disputes),
        AccountItem.frozen.set(owed > 0 or disputes > 0),
    ]
    condition = AccountItem.PK.exists() & _equals_or_absent(AccountItem.owed, wallet.owed)
    condition &= _equals_or_absent(AccountItem.open_disputes, wallet.open_disputes)
    if debit:
        actions += [AccountItem.posted.add(-debit), AccountItem.available.add(-debit)]
        condition &= AccountItem.available >= debit
    uow.update("wallet", _account_ref(wallet.account_id), actions, condition=condition)


def _equals_or_absent(attribute: NumberAttribute, value: int) -> Condition:
    """Accounts created before an attribute existed lack it; absent reads as zero."""
    return attribute.does_not_exist() | (attribute == value) if value == 0 else attribute == value
