"""The full audit of the ledger, on demand: an operator starts it, a job scheduled every minute works
through it in slices that each stop within a time budget and save where they are (the scan's position,
the account being summed, the running figures), so an audit of any size finishes in invocations that
each end well within a Lambda's timeout. When it finishes it stores its report and moves the base of the
incremental proof (`services/reconciliation.py`) to its own base time. Why reads at different times can
still prove each account: `domain/ledger_audit.py`."""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import cache
from typing import Any

import msgspec
from aws_lambda_powertools.metrics import MetricUnit

from chalicelib import clock, errors
from chalicelib.adapters.dynamodb import economy_repository, ledger_repository, purchase_repository
from chalicelib.adapters.dynamodb import reconciliation_repository as repository
from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork, raises
from chalicelib.config import settings
from chalicelib.domain.audit import AuditAction
from chalicelib.domain.changes import BalanceMoved, PurchaseMoved, RevenueCounted, TableChange, TransferRecorded
from chalicelib.domain.economy import ValueShare
from chalicelib.domain.ledger import Balance, PlatformAccount, Transfer, TransferKind, member_of, shards_of
from chalicelib.domain.ledger_audit import (
    AccountWork,
    AuditState,
    RevenueWork,
    closing_report,
    entry_count_mismatch,
    revenue_mismatch,
    reversal_mismatches,
)
from chalicelib.domain.purchases import reversal_target
from chalicelib.domain.reconciliation import Mismatch, Report, account_mismatches, pool_fault, share_fault
from chalicelib.observability import logger, metrics
from chalicelib.services import audit, transaction

PAGE_ITEMS = 500  # items read per scan page: its balances are queued, so a slice can stop anywhere
PARALLEL = 8  # accounts checked at once (reads wait on the network, not the CPU)
ENTRY_PAGE = 500  # statement entries per query page
ATTEMPTS = 3  # an account (or a month's revenue) that still disagrees after this many reads is a mismatch
# A transaction commits within this of its time (the runner gives up after 8 s, a call after 4 s), and its
# statement entries reach the index soon after: entries older than this are settled.
SETTLED_AFTER = timedelta(minutes=1)
BUDGET_SHARE = 0.6  # of the Lambda's remaining time


def start(operator_id: str) -> AuditState:
    """Starts a full audit (one at a time); the scheduled job works through it."""

    def build(uow: UnitOfWork) -> AuditState:
        stored = repository.audit()
        if stored.body and _decode(stored.body).running:
            raise errors.Conflict("ledger-audit.ledger-audit-already-running", code="audit-running")
        now = clock.now()
        state = AuditState(
            audit_id=uuid.uuid4().hex,
            started_by=operator_id,
            started_at=clock.iso(now),
            base_at=clock.iso(now - SETTLED_AFTER),
        )
        repository.add_audit(uow, stored, msgspec.json.encode(state))  # another start won: read it again
        audit.record(uow, operator_id, AuditAction.AUDIT_LEDGER, state.audit_id, "")
        return state

    return transaction.run(build)


def progress() -> AuditState:
    stored = repository.audit()
    if not stored.body:
        raise errors.NotFound("not-found.ledger-audit")
    return _decode(stored.body)


def proceed(context: Any = None) -> AuditState | None:
    """One slice of the running audit, within a share of the Lambda's remaining time (or the configured
    budget where there is no Lambda). With no audit running it is a single read."""
    budget = settings().audit_budget_seconds
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        budget = min(budget, BUDGET_SHARE * remaining() / 1000)
    return advance(budget)


def advance(budget_seconds: float) -> AuditState | None:
    started = time.monotonic()
    stored = repository.audit()
    state = _decode(stored.body) if stored.body else None
    if state is None or not state.running:
        return None
    _Slice(state, started + budget_seconds).run()
    state.invocations += 1
    state.seconds_max = max(state.seconds_max, round(time.monotonic() - started, 3))
    body = msgspec.json.encode(state)

    def save(uow: UnitOfWork) -> None:
        repository.add_audit(uow, stored, body, refused=raises(_saved_meanwhile()))
        if not state.running:
            repository.add_base(uow, state.base_at)

    transaction.run(save)
    if state.report is not None:
        _announce(state, state.report)
    return state


def run_to_end(budget_seconds: float = 60.0) -> Report:
    """Starts an audit and works through it here, slice after slice (tests, benchmarks, a quiet table)."""
    start("system")
    while True:
        state = advance(budget_seconds)
        if state is not None and state.report is not None:
            return state.report


def _decode(body: bytes) -> AuditState:
    return msgspec.json.decode(body, type=AuditState)


def _saved_meanwhile() -> errors.Conflict:
    """A slice that overran met the next one: the first to save wins, the other's work is dropped."""
    return errors.Conflict("ledger-audit.another-audit-slice-saved", code="audit-running")


def _announce(state: AuditState, report: Report) -> None:
    metrics.add_metric(name="LedgerMismatches", unit=MetricUnit.Count, value=state.mismatch_count)
    metrics.flush_metrics()
    figures = {"audit_id": state.audit_id, "accounts": report.accounts, "invocations": state.invocations}
    if report.balanced:
        logger.info("ledger audited", extra=figures)
    else:
        logger.error("ledger audit mismatch", extra={**figures, "mismatches": msgspec.to_builtins(report.mismatches)})


class _Slice:
    """One invocation's share of the audit: accounts first (the one being summed, those due again, those
    queued from the last page), then the next page of the scan; once the scan is done and every account
    proven, the months' revenue, then the closing checks."""

    def __init__(self, state: AuditState, deadline: float) -> None:
        self.state = state
        self.deadline = deadline
        self.holds: dict[str, int] | None = None
        self.holds_read_at = ""
        self.statements: dict[str, ValueShare | None] = {}

    def time_left(self) -> bool:
        return time.monotonic() < self.deadline

    def run(self) -> None:
        """Step after step until the budget is spent; the first step always runs, so every slice moves on."""
        state = self.state
        while True:
            self._fill()
            if state.checking:
                self._check_all()
            elif not state.scan_done:
                self._scan()
            elif state.recheck:
                self._wait_for(min(work.due for work in state.recheck))
            elif state.months is None:
                state.months = self._months()
            elif state.months:
                self._revenue(state.months)
            else:
                self._close()
                return
            if not self.time_left():
                return

    # Accounts

    def _fill(self) -> None:
        """Up to `PARALLEL` accounts at once: those due for another look first, then the last page's."""
        state, now = self.state, clock.now_iso()
        for work in [work for work in state.recheck if work.due <= now][: PARALLEL - len(state.checking)]:
            state.recheck.remove(work)
            work.read_at, work.recent, work.recent_issued, work.side, work.cursor = "", 0, {}, "payer", None
            state.checking.append(work)
        while state.waiting and len(state.checking) < PARALLEL:
            balance = state.waiting.pop(0)
            read_at = state.page_read_at  # compared first as the scan read it
            work = AccountWork(account_id=balance.account_id, balance=balance, read_at=read_at, cut=_settled(read_at))
            state.checking.append(work)

    def _check_all(self) -> None:
        """Checks the accounts in progress side by side; keeps those the time budget cut short."""
        state = self.state
        pending = self._pending(max((work.due for work in state.checking if work.attempts), default=""))
        outcomes = list(_pool().map(lambda work: self._check(work, pending), state.checking))
        for work, found in zip(list(state.checking), outcomes, strict=True):
            if found is None:
                continue
            state.checking.remove(work)
            state.entries += work.before_base
            state.total_posted += work.posted_before_base
            work.before_base = work.posted_before_base = 0
            if found and work.attempts + 1 < ATTEMPTS:
                work.attempts += 1
                work.due = clock.iso(clock.now() + timedelta(seconds=settings().audit_recheck_seconds))
                state.recheck.append(work)
            else:
                state.accounts += 1
                state.found(found)

    def _check(self, work: AccountWork, pending: dict[str, int]) -> list[Mismatch] | None:
        """In its own thread: the account's mismatches at this attempt (None when time ran out first). Looked
        at again, its balance is read consistently and only its entries since its last cut are summed
        again."""
        if not work.read_at:
            work.read_at = clock.now_iso()
            work.balance = ledger_repository.get_balance(work.account_id) or Balance(work.account_id, 0, 0, 0)
            work.lower, work.cut = work.cut, max(work.cut, _settled(work.read_at))
        if not self._sum(work):
            return None
        member_id = member_of(work.account_id)
        purchases = purchase_repository.member_purchases(member_id) if member_id else []
        issued = dict(work.issued)
        for purchase_id, amount in work.recent_issued.items():
            issued[purchase_id] = issued.get(purchase_id, 0) + amount
        entries = work.settled + work.recent
        return account_mismatches(work.balance, entries, pending.get(work.account_id, 0), issued, purchases)

    def _sum(self, work: AccountWork) -> bool:
        """Reads the statement from `lower` on, side after side, page after page: entries before the cut are
        settled, those up to the read recent, later ones ignored. False when time ran out."""
        while work.side:
            payer = work.side == "payer"
            page, work.cursor = ledger_repository.entries(
                work.account_id, payer, work.lower or None, None, work.cursor, ENTRY_PAGE
            )
            for sort_key, transfer in page:
                signed = _signed(transfer, payer)
                if sort_key < work.cut:
                    work.settled += signed
                    _issued(work.issued, transfer, payer)
                    if not work.lower and sort_key < self.state.base_at:  # counted once, by the first pass
                        work.before_base += 1
                        work.posted_before_base += signed
                elif transfer.created_at <= work.read_at:
                    work.recent += signed
                    _issued(work.recent_issued, transfer, payer)
            if work.cursor is None:
                work.side = "payee" if payer else ""
            if work.side and not self.time_left():
                return False
        return True

    def _pending(self, queued: str) -> dict[str, int]:
        """Pending holds by payer, read again if accounts looked at again were queued after the last read."""
        if self.holds is None or self.holds_read_at < queued:
            self.holds_read_at = clock.now_iso()
            pending: dict[str, int] = defaultdict(int)
            for hold in ledger_repository.pending_holds():
                pending[hold.request.payer] += hold.request.amount
            self.holds = dict(pending)
        return self.holds

    def _wait_for(self, due: str) -> None:
        pause = (clock.parse(due) - clock.now()).total_seconds()
        time.sleep(max(0.0, min(pause, self.deadline - time.monotonic())))

    # The scan

    def _scan(self) -> None:
        state = self.state
        state.page_read_at = clock.now_iso()
        found, state.scan_key = repository.scan_page(state.scan_key, PAGE_ITEMS)
        state.scan_done = state.scan_key is None
        state.scanned += len(found)
        for change in found:
            self._seen(change)

    def _seen(self, change: TableChange) -> None:
        state = self.state
        if isinstance(change, BalanceMoved) and change.new is not None:
            state.waiting.append(change.new)
        elif isinstance(change, TransferRecorded):
            self._transfer(change.transfer)
        elif isinstance(change, PurchaseMoved) and change.new is not None:
            state.purchases += 1
            purchase_id = change.new.purchase_id
            target = reversal_target(change.new)
            if target and change.at >= state.base_at:
                state.changed.append(purchase_id)  # facts only accumulate: with no target, none before either
            elif target:
                state.targets[purchase_id] = target
        elif isinstance(change, RevenueCounted):
            state.counters[change.month] = state.counters.get(change.month, 0) + change.amount

    def _transfer(self, transfer: Transfer) -> None:
        state, request = self.state, transfer.request
        if transfer.created_at < state.base_at:
            state.transfers += 1
            if request.kind is TransferKind.FEE:
                month = transfer.created_at[:7]
                state.fees[month] = state.fees.get(month, 0) + request.amount
            elif request.kind is TransferKind.REVERSAL:
                purchase_id = request.refs.get("purchase_id", "")
                state.reversed[purchase_id] = state.reversed.get(purchase_id, 0) + request.amount
        faults = [pool_fault(transfer)]
        if request.kind is TransferKind.VALUE_SHARE:
            if request.reason not in self.statements:
                self.statements[request.reason] = economy_repository.value_share(request.reason)
            faults.append(share_fault(request.reason, request.payee, request.amount, self.statements[request.reason]))
        state.found([fault for fault in faults if fault is not None])

    # The months' revenue, and the end

    def _months(self) -> list[RevenueWork]:
        """Months closed before the base compare the scan's figures now; later ones are read again."""
        state = self.state
        months = sorted(state.fees.keys() | state.counters.keys() | {state.base_at[:7]})
        closed = [month for month in months if month < state.base_at[:7]]
        for month in closed:
            found = revenue_mismatch(month, state.fees.get(month, 0), state.counters.get(month, 0))
            state.found([found] if found else [])
        return [RevenueWork(month=month) for month in months if month not in closed]

    def _revenue(self, months: list[RevenueWork]) -> None:
        """An open month: its counter, read now, against its fees before the base plus those after it up to
        the read (from the revenue shards' statements, since the base only)."""
        now = clock.now_iso()
        month = next((work for work in months if work.due <= now), None)
        if month is None:
            self._wait_for(min(work.due for work in months))
            return
        read_at = clock.now_iso()
        revenue = economy_repository.revenue(month.month)
        fees = self.state.fees.get(month.month, 0)
        for shard in shards_of(PlatformAccount.REVENUE, settings().platform_shards):
            fees += sum(
                transfer.request.amount
                for transfer in _entries(shard, False, self.state.base_at)
                if transfer.request.kind is TransferKind.FEE
                and transfer.created_at[:7] == month.month
                and transfer.created_at <= read_at
            )
        found = revenue_mismatch(month.month, fees, revenue)
        months.remove(month)
        if found and month.attempts + 1 < ATTEMPTS:
            month.attempts += 1
            month.due = clock.iso(clock.now() + timedelta(seconds=settings().audit_recheck_seconds))
            months.append(month)
        elif found:
            self.state.found([found])

    def _close(self) -> None:
        state = self.state
        counted = entry_count_mismatch(state)
        state.found([*reversal_mismatches(state), *([counted] if counted else [])])
        state.finished_at = clock.now_iso()
        state.report = closing_report(state, state.finished_at)


@cache
def _pool() -> ThreadPoolExecutor:
    """One per container: its threads outlive an invocation (a container runs one at a time)."""
    return ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="audit")


def _settled(read_at: str) -> str:
    return clock.iso(clock.parse(read_at) - SETTLED_AFTER)


def _entries(account_id: str, payer: bool, since: str) -> Iterator[Transfer]:
    """An account's entries on one side from `since` on: recent ones, a few pages at most."""
    cursor: ledger_repository.Cursor = None
    while True:
        page, cursor = ledger_repository.entries(account_id, payer, since, None, cursor, ENTRY_PAGE)
        yield from (transfer for _, transfer in page)
        if cursor is None:
            return


def _signed(transfer: Transfer, payer: bool) -> int:
    return -transfer.request.amount if payer else transfer.request.amount


def _issued(issued: dict[str, int], transfer: Transfer, payer: bool) -> None:
    """Credits bought into a wallet, by purchase id (the wallet is the payee of its purchases)."""
    if not payer and transfer.request.kind is TransferKind.PURCHASE:
        purchase_id = transfer.request.refs.get("purchase_id", "")
        issued[purchase_id] = issued.get(purchase_id, 0) + transfer.request.amount
