"""The proofs the ledger must satisfy, computed from what changed: residues. No I/O.

Every invariant is a difference that must be zero: for an account, its new transfer entries minus the
change of its posted balance; its holds entering or leaving `pending` minus the change of `held`; for
a purchase, what its status and facts say must be issued or reversed minus what its transfers issued
or reversed; for a month, its fees minus the change of its revenue counter. Each stream record adds
its part to a *residue*, keyed so that every part of one transaction lands on the same key: accounts
and months by the contributing transaction's own time (its transfer records, holds, balance items and
revenue counters all carry it), purchases by id alone (a purchase changes rarely). The parts of one
transaction reach the stream on different shards and in different batches, so a residue is zero only
once all of them are in; one still open after the settle window is a mismatch. Some checks need no
partner and are decided on the record itself (`available = posted - held` on every new balance image,
the rewards pool paying only known flows, records and statements never rewritten): faults."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum

from msgspec import Struct, field
from msgspec.structs import replace

from chalicelib.domain import books
from chalicelib.domain.changes import (
    BalanceMoved,
    Change,
    HoldMoved,
    PurchaseMoved,
    RevenueCounted,
    StatementWritten,
    TransferRecorded,
    TransferRewritten,
)
from chalicelib.domain.economy import ValueShare
from chalicelib.domain.ledger import Balance, Hold, HoldStatus, PlatformAccount, Transfer, TransferKind
from chalicelib.domain.purchases import Purchase, PurchaseStatus, reversal_target


class Check(StrEnum):
    ENTRIES = "posted equals the sum of its entries"
    HELD = "held equals its pending holds"
    AVAILABLE = "available equals posted minus held"
    UNKNOWN_ACCOUNT = "entries for an account that does not exist"
    ISSUED = "issued credits equal the succeeded purchase's"
    UNPURCHASED = "credits issued without a succeeded purchase"
    REVERSED = "reversed credits equal its refunds and lost disputes"
    REVENUE = "the month's revenue equals its fees"
    POOL = "the rewards pool pays only its known flows"
    SHARES = "the month's shares equal its statement"
    RECORD_CHANGED = "a transfer record never changes"
    STATEMENT_CHANGED = "a month's statement never changes once written"
    LOST_TRACK = "the incremental proof lost changes: run the full audit"


class Mismatch(Struct, frozen=True):
    account_id: str
    check: str
    expected: int
    actual: int


class Report(Struct, frozen=True):
    at: str
    accounts: int
    transfers: int
    total_posted: int  # the sum of posted balances: zero, by double entry
    mismatches: list[Mismatch] = field(default_factory=list)
    purchases: int = 0

    @property
    def balanced(self) -> bool:
        return self.total_posted == 0 and not self.mismatches


# The rewards pool pays only these flows (by their transfer id's family): operators' grants, missions,
# automatic rewards and budget ballots' earmarks.
POOL_FLOWS = ("reward:", "mission:", "auto:", "earmark:")


def pool_fault(transfer: Transfer) -> Mismatch | None:
    request = transfer.request
    if request.payer == PlatformAccount.REWARDS_POOL.value and not request.transfer_id.startswith(POOL_FLOWS):
        return Mismatch(request.transfer_id, Check.POOL, 0, request.amount)
    return None


def share_fault(month: str, payee: str, amount: int, statement: ValueShare | None) -> Mismatch | None:
    """A value-sharing transfer pays exactly the statement's share of its payee (the statement is
    written before any share is paid; each share is one transfer, its id made of month and member)."""
    shares = {f"member:{share.member_id}": share.credits for share in statement.shares} if statement else {}
    expected = shares.get(payee, 0)
    return None if expected == amount else Mismatch(f"value-share:{month}", Check.SHARES, expected, amount)


def issued_for(purchase: Purchase | None) -> int:
    return purchase.credits if purchase is not None and purchase.status is PurchaseStatus.SUCCEEDED else 0


# Residues of what changed


class Residue(Struct, frozen=True, array_like=True):
    """What `subject` still owes to `check`: `want` (what the facts say must move: entries, pending holds,
    a purchase's credits, fees) against `got` (what did move: posted, held, issued, revenue). `at` is the
    contributing transaction's time ("" when the key settles by age alone); `since`, its oldest open part."""

    check: Check
    subject: str
    at: str
    want: int = 0
    got: int = 0
    since: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return self.check, self.subject, self.at

    @property
    def open(self) -> bool:
        return self.want != self.got


class Fault(Struct, frozen=True, array_like=True):
    """A mismatch a record shows on its own, at the time of the change that showed it."""

    mismatch: Mismatch
    at: str


class SharePaid(Struct, frozen=True, array_like=True):
    month: str
    payee: str
    amount: int
    at: str


class Observed(Struct, frozen=True):
    """What one batch of stream records adds: its residues (zero ones left out), faults, value-sharing
    payments to check against their statement, counts for the report, and each day's figures for the
    public books (`domain/books.flows`)."""

    residues: list[Residue] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    shares: list[SharePaid] = field(default_factory=list)
    balances: int = 0
    transfers: int = 0
    purchases: int = 0
    books: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        counted = self.balances or self.transfers or self.purchases
        return not (self.residues or self.faults or self.shares or counted or self.books)


class _Residues:
    def __init__(self) -> None:
        self.by_key: dict[tuple[str, str, str], Residue] = {}

    def add(self, residue: Residue) -> None:
        found = self.by_key.get(residue.key)
        if found is not None:
            since = min(found.since, residue.since) if found.open else residue.since
            residue = replace(found, want=found.want + residue.want, got=found.got + residue.got, since=since)
        self.by_key[residue.key] = residue

    def want(self, check: Check, subject: str, at: str, amount: int, since: str) -> None:
        if amount:
            self.add(Residue(check, subject, at, want=amount, since=since))

    def got(self, check: Check, subject: str, at: str, amount: int, since: str) -> None:
        if amount:
            self.add(Residue(check, subject, at, got=amount, since=since))

    def opened(self) -> list[Residue]:
        return [residue for residue in self.by_key.values() if residue.open]


def _pending(hold: Hold | None) -> int:
    return hold.request.amount if hold is not None and hold.status is HoldStatus.PENDING else 0


def _target(purchase: Purchase | None) -> int:
    return reversal_target(purchase) if purchase is not None else 0


def observe(changes: Sequence[Change]) -> Observed:
    """Every residue a batch of changes contributes, merged per key, and its figures for the books."""
    residues = _Residues()
    faults: list[Fault] = []
    shares: list[SharePaid] = []
    balances = transfers = purchases = 0
    for change in changes:
        what = change.what
        if isinstance(what, TransferRecorded):
            transfers += 1
            _recorded(residues, faults, shares, what.transfer)
        elif isinstance(what, TransferRewritten):
            faults.append(Fault(Mismatch(what.transfer_id, Check.RECORD_CHANGED, 0, 1), change.time))
        elif isinstance(what, BalanceMoved):
            balances += 1
            _balance_moved(residues, faults, what)
        elif isinstance(what, HoldMoved):
            payer = (what.new or what.old).request.payer  # type: ignore[union-attr]  # one of them exists
            residues.want(Check.HELD, payer, what.at, _pending(what.new) - _pending(what.old), what.at)
        elif isinstance(what, PurchaseMoved):
            purchases += 1
            subject = f"purchase:{(what.new or what.old).purchase_id}"  # type: ignore[union-attr]
            residues.want(Check.ISSUED, subject, "", issued_for(what.new) - issued_for(what.old), what.at)
            residues.want(Check.REVERSED, subject, "", _target(what.new) - _target(what.old), what.at)
        elif isinstance(what, RevenueCounted):
            residues.got(Check.REVENUE, f"revenue:{what.month}", what.at, what.amount, what.at)
        elif isinstance(what, StatementWritten):
            faults += _statement_faults(what, change.time)
    return Observed(residues.opened(), faults, shares, balances, transfers, purchases, books.flows(changes))


def _recorded(residues: _Residues, faults: list[Fault], shares: list[SharePaid], transfer: Transfer) -> None:
    request, at = transfer.request, transfer.created_at
    residues.want(Check.ENTRIES, transfer.payer_account, at, -request.amount, at)
    residues.want(Check.ENTRIES, transfer.payee_account, at, request.amount, at)
    purchase_id = request.refs.get("purchase_id", "")
    if request.kind is TransferKind.PURCHASE:
        residues.got(Check.ISSUED, f"purchase:{purchase_id}", "", request.amount, at)
    elif request.kind is TransferKind.REVERSAL:
        residues.got(Check.REVERSED, f"purchase:{purchase_id}", "", request.amount, at)
    elif request.kind is TransferKind.FEE:
        residues.want(Check.REVENUE, f"revenue:{at[:7]}", at, request.amount, at)
    elif request.kind is TransferKind.VALUE_SHARE:
        shares.append(SharePaid(request.reason, request.payee, request.amount, at))
    fault = pool_fault(transfer)
    if fault is not None:
        faults.append(Fault(fault, at))


def _balance_moved(residues: _Residues, faults: list[Fault], moved: BalanceMoved) -> None:
    old, new = moved.old, moved.new
    account = (new or old).account_id  # type: ignore[union-attr]  # one of them exists
    posted = (new.posted if new else 0) - (old.posted if old else 0)
    held = (new.held if new else 0) - (old.held if old else 0)
    residues.got(Check.ENTRIES, account, moved.at, posted, moved.at)
    residues.got(Check.HELD, account, moved.at, held, moved.at)
    if new is not None and new.available != new.posted - new.held:
        faults.append(Fault(Mismatch(account, Check.AVAILABLE, new.posted - new.held, new.available), moved.at))


def _statement_faults(written: StatementWritten, time: str) -> list[Fault]:
    old, new = written.old, written.new
    if old is None or (new is not None and replace(old, paid=new.paid) == new):
        return []
    after = new.distributed if new is not None else 0
    return [Fault(Mismatch(f"value-share:{old.month}", Check.STATEMENT_CHANGED, old.distributed, after), time)]


Store = Callable[[Change, Change, Observed], str | None]


def record_once(changes: Sequence[Change], store: Store) -> None:
    """Hands what a batch adds to `store` once. `store(first, last, observed)` keeps it under the batch's
    first change and answers None, or, when something is already kept under that change (the batch was
    delivered before), the last sequence number that covers: a redelivered batch adds nothing, and one
    that comes back longer (a retried batch with what arrived since) adds only the changes after it
    (sequence numbers grow within a stream shard, and a batch comes from one shard)."""
    while changes:
        observed = observe(changes)
        if observed.empty:
            return
        covered = store(changes[0], changes[-1], observed)
        if covered is None:
            return
        changes = [change for change in changes if int(change.sequence) > int(covered)]


# What the scheduled job carries from one run to the next


class Carried(Struct, frozen=True):
    """Residues still open and faults found since the base (the last full audit, or an empty table), and
    since when changes were lost (too many open residues, or a gap longer than residues are kept)."""

    residues: list[Residue] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    lost_since: str = ""


def carry(
    carried: Carried, batches: Iterable[Observed], base_at: str, cap: int, now: str, lost: bool = False
) -> Carried:
    """The open residues and faults after adding `batches`; what happened before `base_at` is proven by
    the audit that set it and dropped. Beyond `cap` entries the newest are dropped and the proof is lost
    until the next audit (a bug that opens thousands of residues is reported, not stored), as it is when
    the caller knows batches were `lost`."""
    residues = _Residues()
    faults = [fault for fault in carried.faults if fault.at >= base_at]
    for residue in carried.residues:
        if residue.since >= base_at:
            residues.add(residue)
    for batch in batches:
        for residue in batch.residues:
            if residue.since >= base_at:
                residues.add(residue)
        faults += [fault for fault in batch.faults if fault.at >= base_at]
    opened = sorted(residues.opened(), key=lambda residue: residue.since)
    lost_since = carried.lost_since if carried.lost_since >= base_at else ""
    overflow = len(opened) + len(faults) > cap
    if lost or overflow:
        lost_since = lost_since or now
    if overflow:
        faults = faults[:cap]
        opened = opened[: max(cap - len(faults), 0)]
    return Carried(opened, faults, lost_since)


def judge(carried: Carried, settled_before: str) -> tuple[list[Mismatch], int]:
    """The mismatches (faults, residues still open after the settle window, summed per subject and check)
    and the sum of posted balances moved since the base, counting transactions still settling as arrived:
    double entry makes it minus the open residues of entries, so zero when none is overdue."""
    overdue: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    total_posted = 0
    for residue in carried.residues:
        if residue.since > settled_before:
            continue
        sums = overdue[(residue.subject, residue.check)]
        sums[0] += residue.want
        sums[1] += residue.got
        if residue.check is Check.ENTRIES:
            total_posted += residue.got - residue.want
    mismatches = [fault.mismatch for fault in carried.faults]
    for (subject, check), (want, got) in sorted(overdue.items()):
        named = Check.UNPURCHASED if check is Check.ISSUED and want == 0 else check
        mismatches.append(Mismatch(subject, named, want, got))
    if carried.lost_since:
        mismatches.append(Mismatch("reconciliation", Check.LOST_TRACK, 0, 0))
    return mismatches, total_posted


def share_faults(shares: Sequence[SharePaid], statements: dict[str, ValueShare | None]) -> list[Fault]:
    faults = []
    for share in shares:
        fault = share_fault(share.month, share.payee, share.amount, statements.get(share.month))
        if fault is not None:
            faults.append(Fault(fault, share.at))
    return faults


def account_mismatches(
    balance: Balance, entries: int, pending: int, issued: dict[str, int], purchases: Sequence[Purchase]
) -> list[Mismatch]:
    """One account as a full audit reads it: posted against the sum of its entries, held against its
    pending holds, available against both; for a member's wallet, the credits issued into it (by
    purchase id) against the member's purchases."""
    account = balance.account_id
    checks = (
        (Check.ENTRIES, entries, balance.posted),
        (Check.HELD, pending, balance.held),
        (Check.AVAILABLE, balance.posted - balance.held, balance.available),
    )
    mismatches = [Mismatch(account, check, want, got) for check, want, got in checks if want != got]
    left = dict(issued)
    for purchase in purchases:
        got = left.pop(purchase.purchase_id, 0)
        if got != issued_for(purchase):
            mismatches.append(Mismatch(f"purchase:{purchase.purchase_id}", Check.ISSUED, issued_for(purchase), got))
    mismatches += [Mismatch(f"purchase:{pid}", Check.UNPURCHASED, 0, amount) for pid, amount in sorted(left.items())]
    return mismatches
