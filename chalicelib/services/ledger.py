"""The ledger: the one place that builds transfer records and the balance updates that go with them.

Its contributions (`add_transfer`, `add_hold`, `add_hold_post`, `add_hold_void`, `add_reversal`,
`add_settlement`, `add_forfeit`, `add_wallet`) add typed actions to the unit of work of the
use case that calls them, and say what each refusal means; they never commit. The plain ledger use
cases (a transfer, a hold and its settlement, the expiry sweeper) are those contributions run alone
through the runner. Reads: balances, holds and statements."""

from __future__ import annotations

from typing import NoReturn

from msgspec.structs import replace

from chalicelib import clock, errors
from chalicelib.adapters.dynamodb import ledger_repository as repository
from chalicelib.adapters.dynamodb import member_repository, pages
from chalicelib.adapters.dynamodb.unit_of_work import AlreadyDone, Refusal, UnitOfWork, already_done, stale
from chalicelib.config import settings
from chalicelib.domain.ledger import (
    PLATFORM_LABELS,
    SHARD_SEP,
    SHARDED,
    Balance,
    BalanceChange,
    Hold,
    HoldRequest,
    HoldStatus,
    PlatformAccount,
    Posting,
    StatementLine,
    Transfer,
    TransferKind,
    TransferRequest,
    check_hold,
    check_post_amount,
    check_transfer,
    logical_account,
    may_overdraw,
    member_of,
    settled_as,
    shard_order,
    shards_of,
    wallet_account,
    with_running_balance,
)
from chalicelib.services import transaction

# Contributions


def add_transfer(uow: UnitOfWork, request: TransferRequest) -> Transfer:
    """Moves credits once: the record (its id is the caller's, kept forever), the debit with its funds
    check, and the credit. A sharded payer pays from one shard, chosen by the transfer id."""
    check_transfer(request, settings().max_transfer_amount)
    note = _shard_note(request.transfer_id)
    payer = uow.notes.get(note) or _items(request.payer, request.transfer_id)[0]
    payee = _items(request.payee, request.transfer_id)[0]
    at = clock.now_iso()
    posting = Posting()
    posting.move(request, payer, payee, spends=True)
    _flush(uow, posting, at, record_refused=lambda: _replay(request), note=note)
    return Transfer(request, at, payer, payee)


def add_spread(uow: UnitOfWork, payer: PlatformAccount, requests: list[TransferRequest]) -> None:
    """Transfers from a sharded platform account, each paid by the shards holding the credits, fullest
    first, in one posting: a payment larger than any one shard still fits. A part paid by shard n is
    recorded as `<transfer id>:<n>`."""
    for request in requests:
        check_transfer(request, settings().max_transfer_amount)
    left = {b.account_id: b.available for b in repository.get_balances(shards_of(payer, settings().platform_shards))}
    needed = sum(request.amount for request in requests)
    if needed > sum(max(available, 0) for available in left.values()):
        raise errors.InsufficientCredits(needed, sum(left.values()))
    posting = Posting()
    for request in requests:
        due = request.amount
        for shard in sorted(left, key=lambda item: -left[item]):
            part = min(left[shard], due)
            if part <= 0:
                break
            shard_number = shard.rsplit(SHARD_SEP, 1)[1]
            moved = replace(request, transfer_id=f"{request.transfer_id}:{shard_number}", amount=part)
            posting.move(moved, shard, request.payee, spends=True)
            left[shard] -= part
            due -= part
    _flush(uow, posting, clock.now_iso())


def add_hold(uow: UnitOfWork, request: HoldRequest) -> Hold:
    """Two-phase: `amount` of the payer's available credits is held until posted or voided."""
    check_hold(request, settings().max_transfer_amount)
    at = clock.now_iso()
    repository.add_hold(uow, request, at, refused=lambda: _replay_hold(request))
    repository.add_account_check(uow, request.payee, refused=lambda: _refuse_credit(request.payee))
    posting = Posting()
    posting.reserve(request.payer, request.amount)
    _flush(uow, posting, at)
    return Hold(request, HoldStatus.PENDING, at)


def add_hold_post(uow: UnitOfWork, hold: Hold, amount: int, memo: str = "") -> Hold:
    """Moves `amount` of a pending, unexpired hold to its payee and releases the rest."""
    check_post_amount(hold, amount)
    if hold.status is not HoldStatus.PENDING:
        raise errors.HoldSettled(hold.status.value)
    at = clock.now_iso()
    if hold.request.expires_at <= at:
        raise errors.HoldExpired()
    request = hold.request
    record = TransferRequest(
        transfer_id=f"{request.hold_id}:post",
        payer=request.payer,
        payee=request.payee,
        amount=amount,
        kind=TransferKind.HOLD_POST,
        reason=request.reason,
        memo=memo,
        refs=request.refs,
    )
    repository.add_hold_settled(uow, request.hold_id, HoldStatus.POSTED, amount, at)
    posting = Posting()
    posting.move(record, request.payer, request.payee, spends=False)
    posting.release(request.payer, request.amount)
    _flush(uow, posting, at)
    return Hold(request, HoldStatus.POSTED, hold.created_at, amount)


def add_hold_void(uow: UnitOfWork, hold: Hold) -> Hold:
    if hold.status is not HoldStatus.PENDING:
        raise errors.HoldSettled(hold.status.value)
    at = clock.now_iso()
    repository.add_hold_settled(uow, hold.request.hold_id, HoldStatus.VOIDED, 0, at)
    posting = Posting()
    posting.release(hold.request.payer, hold.request.amount)
    _flush(uow, posting, at)
    return Hold(hold.request, HoldStatus.VOIDED, hold.created_at)


def add_reversal(
    uow: UnitOfWork, wallet: Balance, credits: int, reversal_id: str, refs: dict[str, str], *, disputes: int = 0
) -> None:
    """Takes back `credits` issued to `wallet` (a refund or a lost dispute): what the wallet still has
    goes back to issuance; what was already spent is carried by the receivable account and owed by the
    member, whose spending is frozen until it is settled (and while a card dispute is open: `disputes`
    counts them in or out). Applies only if the wallet is still as read."""
    if credits <= 0 and disputes == 0:
        return
    credits = max(credits, 0)
    from_wallet = min(max(wallet.available, 0), credits)
    owed = credits - from_wallet
    issuance = shard_order(PlatformAccount.ISSUANCE, reversal_id, settings().platform_shards)[0]
    receivable = PlatformAccount.RECEIVABLE.value
    posting = Posting()
    if from_wallet:
        taken = TransferRequest(
            f"reversal:{reversal_id}",
            wallet.account_id,
            PlatformAccount.ISSUANCE.value,
            from_wallet,
            TransferKind.REVERSAL,
            "refund or lost dispute",
            refs=refs,
        )
        posting.move(taken, wallet.account_id, issuance, spends=False)
    if owed:
        carried = TransferRequest(
            f"reversal:{reversal_id}:owed",
            receivable,
            PlatformAccount.ISSUANCE.value,
            owed,
            TransferKind.REVERSAL,
            f"owed by {wallet.account_id}",
            refs=refs,
        )
        posting.move(carried, receivable, issuance, spends=False)
    posting.restand(wallet, owed=owed, disputes=disputes)
    _flush(uow, posting, clock.now_iso())


def add_settlement(uow: UnitOfWork, wallet: Balance, settlement_id: str, refs: dict[str, str]) -> None:
    """New credits pay back what the member owes, as far as they go; spending unfreezes when nothing
    is owed (and no dispute is open). Once per `settlement_id`."""
    amount = min(wallet.owed, wallet.available)
    if amount <= 0:
        return
    receivable = PlatformAccount.RECEIVABLE.value
    request = TransferRequest(
        f"settlement:{settlement_id}",
        wallet.account_id,
        receivable,
        amount,
        TransferKind.SETTLEMENT,
        "credits owed after a reversal",
        refs=refs,
    )
    posting = Posting()
    posting.move(request, wallet.account_id, receivable, spends=False)
    posting.restand(wallet, owed=-amount)
    _flush(uow, posting, clock.now_iso(), record_refused=already_done())


def add_forfeit(uow: UnitOfWork, request: TransferRequest) -> None:
    """Empties a wallet into a platform account (an erased member's credits into the rewards pool) and
    closes it: applies only while the wallet holds exactly `request.amount` and nothing held; anything
    else is stale, so the caller reads the wallet again and decides again."""
    posting = Posting()
    posting.empty(request, request.payer, _items(request.payee, request.transfer_id)[0])
    _flush(uow, posting, clock.now_iso())


def add_closure(uow: UnitOfWork, wallet: Balance) -> None:
    """Closes a wallet that holds nothing, so nothing is credited to it again (stale if it got anything)."""
    repository.add_closure(uow, wallet.account_id, clock.now_iso())


def add_wallet(uow: UnitOfWork, account_id: str, created_at: str) -> None:
    repository.add_account(uow, account_id, created_at)


def _flush(
    uow: UnitOfWork, posting: Posting, at: str, record_refused: Refusal = stale, note: str | None = None
) -> None:
    for request, payer, payee in posting.records:
        repository.add_record(uow, request, payer, payee, at, refused=record_refused)
    for change in posting.changes.values():
        repository.add_balance_change(uow, change, at, refused=_refusal(change, uow.notes, note))


def _refusal(change: BalanceChange, notes: dict[str, object], note: str | None) -> Refusal:
    if change.standing is not None or change.empties:
        return stale  # the wallet's money or standing changed since it was read
    if change.debit:
        return lambda: _refuse_debit(change, notes, note)
    return lambda: _refuse_credit(change.account_id)


def _shard_note(transfer_id: str) -> str:
    return f"payer-shard:{transfer_id}"


def _items(account_id: str, key: str) -> list[str]:
    """The balance items that can stand for an account: its shards, starting at a stable hash of `key`
    (so a retry of one transfer hits the same shard), or the account itself."""
    logical = logical_account(account_id)
    if logical in SHARDED and logical == account_id:
        return shard_order(PlatformAccount(logical), key, settings().platform_shards)
    return [account_id]


# What a refusal means


def _replay(request: TransferRequest) -> NoReturn:
    """The record exists: an earlier try committed (the same transfer), or the id was used for another."""
    found = repository.get_transfer(request.transfer_id)
    if found is None:
        stale()
    existing, fingerprint = found
    if fingerprint != request.fingerprint():
        raise errors.IdReused("ledger.transfer-id-reused", params={"transfer_id": request.transfer_id})
    raise AlreadyDone(
        Transfer(existing.request, existing.created_at, existing.payer_account, existing.payee_account, True)
    )


def _replay_hold(request: HoldRequest) -> NoReturn:
    hold, fingerprint = load_hold(request.hold_id)
    if fingerprint != request.fingerprint():
        raise errors.IdReused("ledger.hold-id-reused", code="hold-id-reused", params={"hold_id": request.hold_id})
    raise AlreadyDone(hold)


def _refuse_debit(change: BalanceChange, notes: dict[str, object], note: str | None) -> NoReturn:
    """Why a debit was refused: a platform account not created yet, an unknown or frozen account, or
    too few credits. A sharded payer whose shard ran dry pays from its fullest shard on the next try
    (`note` tells the contribution which)."""
    item = change.account_id
    if ensure_platform_accounts(item):
        stale()
    logical = logical_account(item)
    if logical != item and not may_overdraw(item) and note is not None:
        shards = repository.get_balances(shards_of(PlatformAccount(logical), settings().platform_shards))
        fullest = max(shards, key=lambda shard: shard.available)
        if fullest.available >= change.debit and fullest.account_id != item:
            notes[note] = fullest.account_id
            stale()
        raise errors.InsufficientCredits(change.debit, fullest.available)
    balance = repository.get_balance(item)
    if balance is None:
        raise errors.UnknownAccount(logical)
    if change.spends and balance.frozen:
        raise errors.WalletFrozen()
    if may_overdraw(item) or balance.available >= change.debit:
        stale()  # created or credited meanwhile
    raise errors.InsufficientCredits(change.debit, balance.available)


def _refuse_credit(account_id: str) -> NoReturn:
    """Never created, or closed when its member was erased (their credits were forfeited)."""
    if ensure_platform_accounts(account_id):
        stale()  # created meanwhile
    balance = repository.get_balance(account_id)
    if balance is not None and balance.closed_at is None:
        stale()  # created meanwhile
    raise errors.UnknownAccount(account_id)


def ensure_platform_accounts(account_id: str | None = None) -> bool:
    """Creates the platform accounts' missing balance items (all of them, or `account_id`'s if it is a
    platform account); True when it created any."""
    if account_id is not None and logical_account(account_id) not in set(PlatformAccount):
        return False
    shards = settings().platform_shards
    return ensure_accounts([item for account in PlatformAccount for item in shards_of(account, shards)])


def ensure_accounts(wanted: list[str]) -> bool:
    """Creates the balance items of `wanted` that do not exist yet; True when it created any."""

    def build(uow: UnitOfWork) -> bool:
        existing = {balance.account_id for balance in repository.get_balances(wanted)}
        at = clock.now_iso()
        for item in wanted:
            if item not in existing:
                repository.add_account(uow, item, at)
        return len(uow) > 0

    return transaction.run(build)


# Use cases of the ledger alone


def transfer(request: TransferRequest) -> Transfer:
    """A transfer and nothing else (a member paying another, a pool funding): retrying with the same
    id returns the original transfer, whatever happened on the wire."""
    return transaction.run(lambda uow: add_transfer(uow, request))


def place_hold(request: HoldRequest) -> Hold:
    return transaction.run(lambda uow: add_hold(uow, request))


def post_hold(hold_id: str, amount: int | None = None, memo: str = "") -> Hold:
    """Moves `amount` (default: all) of a pending, unexpired hold to its payee; releases the rest."""

    def build(uow: UnitOfWork) -> Hold:
        hold, _ = load_hold(hold_id)
        to_post = hold.request.amount if amount is None else amount
        check_post_amount(hold, to_post)
        if hold.status is not HoldStatus.PENDING:
            raise AlreadyDone(settled_as(hold, HoldStatus.POSTED, to_post))
        return add_hold_post(uow, hold, to_post, memo)

    return transaction.run(build)


def void_hold(hold_id: str) -> Hold:
    def build(uow: UnitOfWork) -> Hold:
        hold, _ = load_hold(hold_id)
        if hold.status is not HoldStatus.PENDING:
            raise AlreadyDone(settled_as(hold, HoldStatus.VOIDED, 0))
        return add_hold_void(uow, hold)

    return transaction.run(build)


def void_expired_holds(now: str | None = None, batch: int = 100) -> int:
    """The scheduled sweeper: every pending hold past its expiry is voided (posting it is refused)."""
    voided = 0
    for hold in repository.holds_due(now or clock.now_iso(), batch):
        try:
            void_hold(hold.request.hold_id)
            voided += 1
        except (errors.HoldSettled, errors.Busy):
            continue  # posted meanwhile, or busy: the next run looks again
    return voided


# Reads


def load_hold(hold_id: str) -> tuple[Hold, str]:
    """The hold and the fingerprint it was placed with."""
    found = repository.get_hold(hold_id)
    if found is None:
        raise errors.NotFound("not-found.hold")
    return found


def balance(account_id: str) -> Balance:
    return account(account_id)[0]


def account(account_id: str) -> tuple[Balance, list[str]]:
    """An account's balance and the balance items behind it: a sharded platform account is the sum
    of its shards."""
    logical = logical_account(account_id)
    if logical == account_id and logical in SHARDED:
        shard_ids = shards_of(PlatformAccount(logical), settings().platform_shards)
        shards = repository.get_balances(shard_ids)
        if not shards:
            raise errors.UnknownAccount(account_id)
        total = Balance(
            account_id,
            sum(s.posted for s in shards),
            sum(s.held for s in shards),
            sum(s.available for s in shards),
        )
        return total, shard_ids
    found = repository.get_balance(account_id)
    if found is None:
        raise errors.UnknownAccount(account_id)
    return found, [account_id]


def statement(
    account_id: str, cursor: str | None, limit: int
) -> tuple[list[StatementLine], dict[str, str], str | None]:
    """Entries newest first with the balance after each; the cursor carries the running balance.
    Returns the lines, display names of the counterparties, and the next cursor."""
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
    for account_id in accounts - names.keys():
        names[account_id] = PLATFORM_LABELS.get(logical_account(account_id), account_id)
    return names
