"""Ledger use cases: transfers, holds, balances and statements, with retries that keep ids."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import NoReturn, TypeVar

from chalicelib import clock, errors
from chalicelib.adapters.dynamodb import ledger_repository as repository
from chalicelib.adapters.dynamodb import member_repository, pages, store
from chalicelib.adapters.dynamodb.unit_of_work import Rejected, Retryable, UnitOfWork
from chalicelib.config import settings
from chalicelib.domain.ledger import (
    PLATFORM_LABELS,
    SHARDED,
    Balance,
    Hold,
    HoldRequest,
    HoldStatus,
    PlatformAccount,
    StatementLine,
    Transfer,
    TransferKind,
    TransferRequest,
    check_amount,
    check_post_amount,
    check_transfer,
    logical_account,
    may_overdraw,
    member_of,
    shard_order,
    shards_of,
    wallet_account,
    with_running_balance,
)

T = TypeVar("T")
MAX_ATTEMPTS = 6
TRANSFER_LABELS = frozenset({"record", "payer", "payee"})
HOLD_LABELS = frozenset({"hold", "record", "payer", "payee"})


def with_retries(attempt: Callable[[], T]) -> T:
    """Contention and lost responses are retried with the same ids: a committed first try makes the
    retry find its own record, so exactly one transfer exists whatever happened on the wire."""
    for tries in range(1, MAX_ATTEMPTS + 1):
        try:
            return attempt()
        except Retryable:
            if tries == MAX_ATTEMPTS:
                raise errors.AppError(
                    "The ledger is busy; retry with the same id.", 503, "ledger-busy", "Service busy"
                ) from None
            time.sleep(random.uniform(0, 0.02 * 2**tries))
    raise AssertionError("unreachable")


def _candidates(account_id: str, key: str) -> list[str]:
    logical = logical_account(account_id)
    if logical in SHARDED and logical == account_id:
        return shard_order(PlatformAccount(logical), key, settings().platform_shards)
    return [account_id]


Also = Callable[[UnitOfWork], None]


def transfer(request: TransferRequest, also: Also | None = None) -> Transfer:
    """Move credits once. `also` adds the caller's own writes (state change, audit) to the same transaction."""
    check_transfer(request, settings().max_transfer_amount)
    store.ready()
    return with_retries(lambda: _transfer_once(request, also))


def _transfer_once(request: TransferRequest, also: Also | None) -> Transfer:
    payee_account = _candidates(request.payee, request.transfer_id)[0]
    payers = _candidates(request.payer, request.transfer_id)
    for payer_account in payers:
        at = clock.now_iso()
        uow = UnitOfWork()
        repository.add_transfer(uow, request, payer_account, payee_account, at)
        if also is not None:
            also(uow)
        try:
            uow.commit()
            return Transfer(request, at, payer_account, payee_account)
        except Rejected as rejected:
            if rejected.failed - TRANSFER_LABELS:
                raise  # the caller's own writes (`also`) were refused: its state changed meanwhile
            if "record" in rejected.failed:
                return _existing_transfer(request)
            if "payee" in rejected.failed:
                # Unknown only if it still is: a concurrent first use may have created it meanwhile.
                created = _ensure_platform_account(request.payee)
                if not created and repository.get_balance(payee_account) is None:
                    _raise_unknown(request.payee)
                return _transfer_once(request, also)
            if "payer" in rejected.failed and payer_account == payers[-1]:
                _refuse_debit(request.payer, payer_account, request.amount)
    raise AssertionError("unreachable: the last shard's refusal raises")


def _existing_transfer(request: TransferRequest) -> Transfer:
    found = repository.get_transfer(request.transfer_id)
    assert found is not None, "the record's condition failed, so it exists"
    existing, fingerprint = found
    if fingerprint != request.fingerprint():
        raise errors.conflict(
            f"Transfer '{request.transfer_id}' already exists with other details.", "transfer-id-reused"
        )
    return Transfer(existing.request, existing.created_at, existing.payer_account, existing.payee_account, True)


def _refuse_debit(account_id: str, item_account: str, amount: int) -> None:
    if _ensure_platform_account(account_id):
        raise Retryable("platform accounts created")
    balance = repository.get_balance(item_account)
    if balance is None:
        _raise_unknown(account_id)
    if may_overdraw(item_account):
        # Its only refusal is "missing": a concurrent first use created it meanwhile.
        raise Retryable("platform account created concurrently")
    if balance.frozen:
        raise errors.conflict("This wallet's spending is frozen until what it owes is settled.", "wallet-frozen")
    raise errors.conflict(
        f"Insufficient credits: {amount} needed, {max(balance.available, 0)} available.",
        "insufficient-funds",
        available=max(balance.available, 0),
    )


def _raise_unknown(account_id: str) -> NoReturn:
    raise errors.AppError(f"Account '{account_id}' does not exist.", 404, "unknown-account", "Unknown account")


def _ensure_platform_account(account_id: str) -> bool:
    """Platform accounts are created on first use; True when that just happened."""
    logical = logical_account(account_id)
    if logical not in {account.value for account in PlatformAccount}:
        return False
    shards = shards_of(PlatformAccount(logical), settings().platform_shards)
    missing = [shard for shard in shards if repository.get_balance(shard) is None]
    repository.create_accounts(missing, clock.now_iso())
    return bool(missing)


def ensure_platform_accounts() -> None:
    store.ready()
    for account in PlatformAccount:
        _ensure_platform_account(account.value)


# Holds: two-phase, for escrow, deposits and bookings.


def place_hold(request: HoldRequest, also: Also | None = None) -> Hold:
    check_amount(request.amount, settings().max_transfer_amount)
    if request.payer == request.payee:
        raise errors.unprocessable("An account cannot hold credits for itself.", "self-transfer")
    store.ready()

    def attempt() -> Hold:
        at = clock.now_iso()
        uow = UnitOfWork()
        repository.add_hold(uow, request, at)
        if also is not None:
            also(uow)
        try:
            uow.commit()
            return Hold(request, HoldStatus.PENDING, at)
        except Rejected as rejected:
            if rejected.failed - HOLD_LABELS:
                raise
            if "hold" in rejected.failed:
                hold, fingerprint = _load_hold(request.hold_id)
                if fingerprint != request.fingerprint():
                    raise errors.conflict(
                        f"Hold '{request.hold_id}' already exists with other details.", "hold-id-reused"
                    ) from None
                return hold
            if "payee" in rejected.failed:
                _raise_unknown(request.payee)
            _refuse_debit(request.payer, request.payer, request.amount)
            raise

    return with_retries(attempt)


def post_hold(hold_id: str, amount: int | None = None, memo: str = "", also: Also | None = None) -> Hold:
    """Move `amount` (default: all) of a pending, unexpired hold to its payee; release the rest."""
    store.ready()

    def attempt() -> Hold:
        hold, _ = _load_hold(hold_id)
        to_post = hold.request.amount if amount is None else amount
        check_post_amount(hold, to_post)
        record = TransferRequest(
            transfer_id=f"{hold_id}:post",
            payer=hold.request.payer,
            payee=hold.request.payee,
            amount=to_post,
            kind=TransferKind.HOLD_POST,
            reason=hold.request.reason,
            memo=memo,
            refs=hold.request.refs,
        )
        if hold.status is not HoldStatus.PENDING:
            return _settled(hold, HoldStatus.POSTED, to_post)
        at = clock.now_iso()
        if hold.request.expires_at <= at:
            raise errors.conflict("The hold has expired and can no longer be posted.", "hold-expired", state="expired")
        uow = UnitOfWork()
        repository.add_hold_post(uow, hold, to_post, record, at)
        if also is not None:
            also(uow)
        try:
            uow.commit()
        except Rejected as rejected:
            if rejected.failed - HOLD_LABELS:
                raise
            return _settled(_load_hold(hold_id)[0], HoldStatus.POSTED, to_post)
        return Hold(hold.request, HoldStatus.POSTED, hold.created_at, to_post)

    return with_retries(attempt)


def void_hold(hold_id: str, also: Also | None = None) -> Hold:
    store.ready()

    def attempt() -> Hold:
        hold, _ = _load_hold(hold_id)
        if hold.status is not HoldStatus.PENDING:
            return _settled(hold, HoldStatus.VOIDED, 0)
        uow = UnitOfWork()
        repository.add_hold_void(uow, hold)
        if also is not None:
            also(uow)
        try:
            uow.commit()
        except Rejected as rejected:
            if rejected.failed - HOLD_LABELS:
                raise
            return _settled(_load_hold(hold_id)[0], HoldStatus.VOIDED, 0)
        return Hold(hold.request, HoldStatus.VOIDED, hold.created_at)

    return with_retries(attempt)


def _settled(hold: Hold, wanted: HoldStatus, amount: int) -> Hold:
    """A hold settles once: asking again for the same outcome returns it; another outcome is a 409."""
    if hold.status is wanted and (wanted is HoldStatus.VOIDED or hold.posted_amount == amount):
        return hold
    if hold.status is HoldStatus.PENDING:
        raise errors.conflict("The hold has expired and can no longer be posted.", "hold-expired", state="expired")
    raise errors.conflict(f"The hold is already {hold.status.value}.", "hold-settled", state=hold.status.value)


def _load_hold(hold_id: str) -> tuple[Hold, str]:
    found = repository.get_hold(hold_id)
    if found is None:
        raise errors.not_found("The hold")
    return found


def void_expired_holds(now: str | None = None, batch: int = 100) -> int:
    """The scheduled sweeper: every pending hold past its expiry is voided (posting it is refused)."""
    store.ready()
    moment = now or clock.now_iso()
    voided = 0
    for hold in repository.holds_due(moment, batch):
        try:
            void_hold(hold.request.hold_id)
            voided += 1
        except errors.AppError:
            continue  # settled meanwhile
    return voided


# Balances and statements


def balance(account_id: str) -> Balance:
    return account(account_id)[0]


def account(account_id: str) -> tuple[Balance, list[str]]:
    """An account's balance and the balance items behind it: a sharded platform account is the sum
    of its shards."""
    store.ready()
    logical = logical_account(account_id)
    if logical == account_id and logical in SHARDED:
        shard_ids = shards_of(PlatformAccount(logical), settings().platform_shards)
        shards = repository.get_balances(shard_ids)
        if not shards:
            _raise_unknown(account_id)
        total = Balance(
            account_id,
            sum(s.posted for s in shards),
            sum(s.held for s in shards),
            sum(s.available for s in shards),
        )
        return total, shard_ids
    found = repository.get_balance(account_id)
    if found is None:
        _raise_unknown(account_id)
    return found, [account_id]


def statement(
    account_id: str, cursor: str | None, limit: int
) -> tuple[list[StatementLine], dict[str, str], str | None]:
    """Entries newest first with the balance after each; the cursor carries the running balance.
    Returns the lines, display names of the counterparties, and the next cursor."""
    store.ready()
    scope = f"statement:{account_id}"
    if cursor:
        position = pages.decode_cursor(scope, cursor)
        before, balance_after = str(position["before"]), int(position["balance"])
    else:
        before, balance_after = None, balance(account_id).posted
    found = repository.statement(account_id, before, limit + 1)
    lines = with_running_balance(account_id, [transfer for _, transfer in found[:limit]], balance_after)
    next_cursor = None
    if len(found) > limit:
        last = lines[-1]
        next_cursor = pages.encode_cursor(
            scope, {"before": found[limit - 1][0], "balance": last.balance_after - last.amount}
        )
    return lines, _display_names({line.counterparty for line in lines}), next_cursor


def _display_names(accounts: set[str]) -> dict[str, str]:
    """Members by their display name (one batch read), platform accounts by their label."""
    member_ids = {member_id for account in accounts if (member_id := member_of(account))}
    profiles = member_repository.get_many(member_ids) if member_ids else {}
    names = {wallet_account(member_id): profile.display_name for member_id, profile in profiles.items()}
    for account in accounts - names.keys():
        names[account] = PLATFORM_LABELS.get(logical_account(account), account)
    return names
