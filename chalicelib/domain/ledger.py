"""Ledger rules: accounts, transfers and holds, in integers only. No I/O.

Every posted movement debits one account and credits another, so the sum of all posted balances
is always zero. `available = posted - held` is stored beside them because a DynamoDB condition can
compare but not subtract: the overdraft check is `available >= amount`, inside the write."""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum

from msgspec import Struct, field
from msgspec.structs import asdict

from chalicelib import errors


class PlatformAccount(StrEnum):
    ISSUANCE = "platform:issuance"  # where sold and minted credits come from; runs negative by design
    REWARDS_POOL = "platform:rewards"  # pays micro-actions, funded from issuance
    REVENUE = "platform:revenue"  # credits spent on platform operations
    STRIPE_CLEARING = "platform:stripe-clearing"
    RECEIVABLE = "platform:receivable"  # credits members owe after a refund or a lost dispute


PLATFORM_LABELS: dict[str, str] = {
    PlatformAccount.ISSUANCE: "Pwiic credit issuance",
    PlatformAccount.REWARDS_POOL: "Pwiic rewards pool",
    PlatformAccount.REVENUE: "Pwiic platform revenue",
    PlatformAccount.STRIPE_CLEARING: "Pwiic card payments",
    PlatformAccount.RECEIVABLE: "Pwiic receivable",
}

# Accounts that may go below zero: the source of all credits and what members owe.
OVERDRAWABLE = frozenset({PlatformAccount.ISSUANCE, PlatformAccount.RECEIVABLE, PlatformAccount.STRIPE_CLEARING})
# Accounts every purchase or reward touches: spread over shards so no single item is hot.
SHARDED = frozenset({PlatformAccount.ISSUANCE, PlatformAccount.REWARDS_POOL, PlatformAccount.REVENUE})

SHARD_SEP = "."
MEMBER_PREFIX = "member:"
EARMARK_PREFIX = "earmark:"  # an account per project funded by a budget ballot; its spending is public


class TransferKind(StrEnum):
    PAYMENT = "payment"  # member to member
    TIP = "tip"  # "offer a coffee": a small thank-you between members
    REWARD = "reward"  # rewards pool to member, for a micro-action
    POOL_FUNDING = "pool_funding"
    PURCHASE = "purchase"
    HOLD_POST = "hold_post"
    REVERSAL = "reversal"  # a refund or a lost dispute takes back purchased credits
    SETTLEMENT = "settlement"  # a member pays back credits owed after a reversal
    FEE = "fee"  # a member pays the platform for an operation (never for an exchange)
    VALUE_SHARE = "value_share"  # a contributor's share of a month's revenue
    EARMARK = "earmark"  # a platform account funds a project a budget ballot chose
    EARMARK_SPENDING = "earmark_spending"  # operators pay a member from a project's earmarked account
    FORFEIT = "forfeit"  # an erased member's remaining credits go to the rewards pool


class HoldStatus(StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"


def wallet_account(member_id: str) -> str:
    return MEMBER_PREFIX + member_id


def earmark_account(ballot_id: str, project_id: str) -> str:
    return f"{EARMARK_PREFIX}{ballot_id}:{project_id}"


def is_earmark(account_id: str) -> bool:
    return account_id.startswith(EARMARK_PREFIX)


def member_of(account_id: str) -> str | None:
    return account_id.removeprefix(MEMBER_PREFIX) if account_id.startswith(MEMBER_PREFIX) else None


def shard_account(account: PlatformAccount, shard: int) -> str:
    return f"{account.value}{SHARD_SEP}{shard}"


def logical_account(account_id: str) -> str:
    return account_id.split(SHARD_SEP, 1)[0]


def shards_of(account: PlatformAccount, shard_count: int) -> list[str]:
    if account not in SHARDED:
        return [account.value]
    return [shard_account(account, shard) for shard in range(shard_count)]


def shard_order(account: PlatformAccount, key: str, shard_count: int) -> list[str]:
    """Shards to try for `key`, starting at a stable hash, so a retry of one transfer hits the same shard."""
    shards = shards_of(account, shard_count)
    start = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % len(shards)
    return shards[start:] + shards[:start]


def may_overdraw(account_id: str) -> bool:
    return logical_account(account_id) in OVERDRAWABLE


def split_evenly(amount: int, parts: int) -> list[int]:
    base, remainder = divmod(amount, parts)
    return [base + (1 if index < remainder else 0) for index in range(parts)]


class Balance(Struct, frozen=True):
    account_id: str
    posted: int
    held: int
    available: int  # stored beside posted and held; reconciliation proves it equals posted - held
    frozen: bool = False
    owed: int = 0  # credits reversed after they were spent: the receivable account carries them
    open_disputes: int = 0
    closed_at: str | None = None  # its member was erased: never credited again


class TransferRequest(Struct, frozen=True):
    """What the caller asks for. Its id is the caller's, kept forever: the same id with the same
    fields is the same transfer; with other fields it is a conflict."""

    transfer_id: str
    payer: str
    payee: str
    amount: int
    kind: TransferKind
    reason: str = ""
    memo: str = ""
    refs: dict[str, str] = field(default_factory=dict)

    def fingerprint(self) -> str:
        content = asdict(self)
        return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:32]


class Transfer(Struct, frozen=True):
    request: TransferRequest
    created_at: str
    payer_account: str  # the balance items moved: the logical account, or one shard of it
    payee_account: str
    replayed: bool = False


class HoldRequest(Struct, frozen=True):
    hold_id: str
    payer: str
    payee: str
    amount: int
    expires_at: str
    reason: str = ""
    refs: dict[str, str] = field(default_factory=dict)

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:32]


class Hold(Struct, frozen=True):
    request: HoldRequest
    status: HoldStatus
    created_at: str
    posted_amount: int = 0


def check_transfer(request: TransferRequest, max_amount: int) -> None:
    check_amount(request.amount, max_amount)
    if request.payer == request.payee or logical_account(request.payer) == logical_account(request.payee):
        raise errors.Unprocessable("ledger.account-cannot-pay-itself", code="self-transfer")


def check_hold(request: HoldRequest, max_amount: int) -> None:
    check_amount(request.amount, max_amount)
    if request.payer == request.payee:
        raise errors.Unprocessable("ledger.account-cannot-hold-credits", code="self-transfer")


def check_amount(amount: int, max_amount: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= max_amount:
        raise errors.Unprocessable("ledger.amount-range", code="invalid-amount", params={"max": max_amount})


def check_post_amount(hold: Hold, amount: int) -> None:
    if not 0 < amount <= hold.request.amount:
        raise errors.Unprocessable(
            "ledger.post-amount-range",
            params={"amount": hold.request.amount},
            code="invalid-amount",
        )


def settled_as(hold: Hold, wanted: HoldStatus, amount: int) -> Hold:
    """A settled hold asked to settle again: the same outcome is the hold itself (a retry); another
    outcome is refused."""
    if hold.status is wanted and (wanted is HoldStatus.VOIDED or hold.posted_amount == amount):
        return hold
    raise errors.HoldSettled(hold.status.value)


class BalanceChange(Struct):
    """What one contribution does to one balance item: deltas, and the conditions that guard them."""

    account_id: str
    posted: int = 0
    held: int = 0
    spends: bool = False  # the owner spends: refused while the wallet is frozen
    standing: Balance | None = None  # owed and open disputes as read: the change applies only if they are unchanged
    owed: int = 0
    disputes: int = 0
    empties: bool = False  # leaves nothing and closes the item: only if it holds exactly what it moves

    @property
    def available(self) -> int:
        return self.posted - self.held

    @property
    def debit(self) -> int:
        """Credits this change makes unavailable (what the funds check must cover)."""
        return max(-self.available, 0)


class Posting:
    """Every record and balance change of one ledger contribution, merged per balance item (one
    transaction writes an item once: two legs paying the same shard become one update)."""

    def __init__(self) -> None:
        self.records: list[tuple[TransferRequest, str, str]] = []  # request, payer item, payee item
        self.changes: dict[str, BalanceChange] = {}

    def _change(self, account_id: str) -> BalanceChange:
        return self.changes.setdefault(account_id, BalanceChange(account_id))

    def move(self, request: TransferRequest, payer_item: str, payee_item: str, *, spends: bool) -> None:
        self.records.append((request, payer_item, payee_item))
        payer = self._change(payer_item)
        payer.posted -= request.amount
        payer.spends |= spends
        self._change(payee_item).posted += request.amount

    def empty(self, request: TransferRequest, payer_item: str, payee_item: str) -> None:
        """Moves everything the payer holds: nothing may arrive between the read and the write."""
        self.move(request, payer_item, payee_item, spends=True)
        self._change(payer_item).empties = True

    def reserve(self, account_id: str, amount: int) -> None:
        """A hold: `amount` stops being available."""
        change = self._change(account_id)
        change.held += amount
        change.spends = True

    def release(self, account_id: str, amount: int) -> None:
        """A settled hold: `amount` is no longer held (posting it also moves it)."""
        self._change(account_id).held -= amount

    def restand(self, wallet: Balance, *, owed: int = 0, disputes: int = 0) -> None:
        change = self._change(wallet.account_id)
        change.standing = wallet
        change.owed += owed
        change.disputes += disputes


class StatementLine(Struct, frozen=True):
    transfer_id: str
    amount: int  # signed, from the account's point of view
    balance_after: int
    counterparty: str
    kind: str
    reason: str
    memo: str
    refs: dict[str, str]
    created_at: str


def with_running_balance(
    account_id: str, newest_first: list[Transfer], balance_after_newest: int
) -> list[StatementLine]:
    """Entries newest first; each one's balance after is the next newer one's, minus its amount."""
    lines: list[StatementLine] = []
    balance = balance_after_newest
    for transfer in newest_first:
        request = transfer.request
        incoming = transfer.payee_account == account_id
        signed = request.amount if incoming else -request.amount
        lines.append(
            StatementLine(
                transfer_id=request.transfer_id,
                amount=signed,
                balance_after=balance,
                counterparty=transfer.payer_account if incoming else transfer.payee_account,
                kind=request.kind.value,
                reason=request.reason,
                memo=request.memo,
                refs=dict(request.refs),
                created_at=transfer.created_at,
            )
        )
        balance -= signed
    return lines
