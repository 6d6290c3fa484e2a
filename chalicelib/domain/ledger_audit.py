"""The full audit of the ledger, worked through in slices: its progress, kept between invocations, and
the checks it makes once everything is read. No I/O.

A Scan is not a snapshot: it reads each partition once, at its own time, while transfers go on. So the
audit compares each account with itself, at one time: its balance as read at `t` with its statement
entries (the transfer records indexed under it, by time) up to `t`. A transaction in flight at `t`, or
an index entry not there yet when the entries are read, makes them differ: the account is checked
again after a pause, with a consistent read of its balance, summing again only the entries of its last
minute (older ones are settled: every transaction built before then has committed and is indexed).
Only what still differs after every attempt is a mismatch. Figures kept across accounts (fees per
month, entry counts) count only what precedes the audit's base time, a minute before it started, which
every read made after it finds settled."""

from __future__ import annotations

from typing import Any

from msgspec import Struct, field

from chalicelib.domain.ledger import Balance
from chalicelib.domain.reconciliation import Check, Mismatch, Report

MISMATCHES_KEPT = 100  # in the progress item; all are counted


class AccountWork(Struct, kw_only=True):
    """An account being checked: `balance` as read at `read_at` (first the scan's image, then a
    consistent read) against its entries up to that time. Entries before `cut`, a minute before the
    read, are settled: summed into `settled` once, for good. Those from `cut` to the read are `recent`,
    summed again at each attempt. The statement is read side after side (payer: GSI1, payee: GSI2) from
    `lower`, page after page from `cursor`, so a long one continues in the next slice."""

    account_id: str
    balance: Balance
    read_at: str  # "" until the balance is read again
    cut: str
    lower: str = ""
    settled: int = 0
    recent: int = 0
    issued: dict[str, int] = field(default_factory=dict)  # credits bought into a wallet, by purchase id
    recent_issued: dict[str, int] = field(default_factory=dict)
    side: str = "payer"  # "" once both sides are read
    cursor: dict[str, Any] | None = None
    before_base: int = 0  # entries preceding the audit's base, found by the first pass
    posted_before_base: int = 0  # and their sum
    attempts: int = 0
    due: str = ""  # checked again not before


class RevenueWork(Struct, kw_only=True):
    """A month still open at the base: its counter against its fees before the base plus those after."""

    month: str
    attempts: int = 0
    due: str = ""


class AuditState(Struct, kw_only=True):
    audit_id: str
    started_by: str
    started_at: str
    base_at: str  # everything before it is settled; the incremental proof restarts from it
    finished_at: str = ""
    invocations: int = 0
    seconds_max: float = 0.0  # the longest invocation
    requests: int = 0
    scanned: int = 0
    scan_key: dict[str, Any] | None = None
    scan_done: bool = False
    waiting: list[Balance] = field(default_factory=list)  # balances of the last page, not checked yet
    page_read_at: str = ""
    checking: list[AccountWork] = field(default_factory=list)  # at once, each in its thread
    recheck: list[AccountWork] = field(default_factory=list)
    months: list[RevenueWork] | None = None  # None until the scan is done
    accounts: int = 0
    transfers: int = 0  # records before the base
    entries: int = 0  # statement entries before the base: two per record
    purchases: int = 0
    total_posted: int = 0  # the sum of balances at the base, from the entries before it
    fees: dict[str, int] = field(default_factory=dict)  # before the base, by month
    counters: dict[str, int] = field(default_factory=dict)  # revenue counters, by month
    reversed: dict[str, int] = field(default_factory=dict)  # reversal transfers before the base, by purchase
    targets: dict[str, int] = field(default_factory=dict)  # what each purchase's facts take back (non-zero)
    changed: list[str] = field(default_factory=list)  # purchases changed after the base: the incremental's
    mismatch_count: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    report: Report | None = None

    @property
    def running(self) -> bool:
        return not self.finished_at

    def found(self, mismatches: list[Mismatch]) -> None:
        self.mismatch_count += len(mismatches)
        self.mismatches = (self.mismatches + mismatches)[:MISMATCHES_KEPT]


def revenue_mismatch(month: str, fees: int, revenue: int) -> Mismatch | None:
    return None if fees == revenue else Mismatch(f"revenue:{month}", Check.REVENUE, fees, revenue)


def reversal_mismatches(state: AuditState) -> list[Mismatch]:
    """Each purchase's reversal transfers against what its facts take back, except purchases changed after
    the base (their transfers and facts may straddle the scan: the incremental proof has them)."""
    skipped = set(state.changed)
    mismatches = []
    for purchase_id in sorted((state.targets.keys() | state.reversed.keys()) - skipped):
        want, got = state.targets.get(purchase_id, 0), state.reversed.get(purchase_id, 0)
        if want != got:
            mismatches.append(Mismatch(f"purchase:{purchase_id}", Check.REVERSED, want, got))
    return mismatches


def entry_count_mismatch(state: AuditState) -> Mismatch | None:
    """Every record before the base is indexed under its two accounts: fewer entries found under the
    accounts that exist means records naming accounts that do not."""
    expected = 2 * state.transfers
    if state.entries == expected:
        return None
    return Mismatch("ledger", Check.UNKNOWN_ACCOUNT, expected, state.entries)


def closing_report(state: AuditState, at: str) -> Report:
    return Report(at, state.accounts, state.transfers, state.total_posted, list(state.mismatches), state.purchases)
