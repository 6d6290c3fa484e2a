"""The proof that the ledger adds up, at a cost proportional to what changed: the stream handler stores
each batch's residues (`observe`), the hourly job sums those written since its last run with the ones
it carries and reports what stays open past the settle window (`run`). The rules are in
`domain/reconciliation.py`; the full audit that sets the base is `services/ledger_audit.py`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NoReturn

import msgspec
from aws_lambda_powertools.metrics import MetricUnit

from chalicelib import clock, errors
from chalicelib.adapters.dynamodb import books_repository, economy_repository, report_repository
from chalicelib.adapters.dynamodb import reconciliation_repository as repository
from chalicelib.adapters.dynamodb.unit_of_work import AlreadyDone, UnitOfWork
from chalicelib.config import settings
from chalicelib.domain import books as books_rules
from chalicelib.domain import reconciliation as rules
from chalicelib.domain.books import OpenBooks
from chalicelib.domain.changes import Change
from chalicelib.domain.reconciliation import Carried, Mismatch, Observed, Report
from chalicelib.observability import logger, metrics
from chalicelib.services import transaction

REPORT_NAME = "reconciliation"
CARRIED_MAX = 5000  # open residues and faults kept between runs (the checkpoint stays well under 400 KB)
REPORTED_MAX = 500  # mismatches listed in a report (all are counted in the metric)
# A residue item written longer ago than this is in the index the job reads (its clock, the writer's and
# the index's propagation all agree within it).
WRITE_MARGIN = timedelta(minutes=1)
FIRST_LOOKBACK = timedelta(hours=24)  # the first run reads what the stream can still have delivered
# A checkpoint older than this may have missed residue items the table's TTL already removed.
GAP_MAX = timedelta(seconds=repository.RESIDUE_TTL_SECONDS) - timedelta(days=1)


class Checkpoint(msgspec.Struct, frozen=True):
    cut: str = ""  # residue items written before it are summed into `carried`
    carried: Carried = msgspec.field(default_factory=Carried)
    books: OpenBooks = msgspec.field(default_factory=OpenBooks)  # the public books' days not closed yet


# The stream handler's side


def observe(changes: Sequence[Change]) -> None:
    """Stores what a batch of the stream adds to the proof, once (`rules.record_once`)."""
    rules.record_once(changes, _store)


def _store(first: Change, last: Change, observed: Observed) -> str | None:
    """One item keyed by the batch's first change: None once stored; if one exists, the last sequence
    number it covers. Throttling that outlasts the runner's tries raises, and Lambda retries the batch:
    dropping it would leave residues open that never close."""
    body = msgspec.json.encode(observed)

    def covered() -> NoReturn:
        raise AlreadyDone(repository.residues_last_sequence(first.event_id) or last.sequence)

    def build(uow: UnitOfWork) -> str | None:
        written_at = clock.iso(clock.system_now())
        repository.add_residues(uow, first.event_id, last.sequence, written_at, body, covered)
        return None

    return transaction.run(build)


# The scheduled job


def run(settle: timedelta | None = None, write_margin: timedelta = WRITE_MARGIN) -> Report:
    """Sums the residues written since the last run with the carried ones, reports what stays open past
    the settle window (the configured one by default; 0 for a quiet table, where every part of every
    transaction is in) and moves the checkpoint: reads and writes in proportion to what changed, never
    to the ledger's size."""
    if settle is None:
        settle = timedelta(seconds=settings().reconciliation_settle_seconds)
    report, more = transaction.run(lambda uow: _run(uow, settle, write_margin))
    while more:  # the books were behind by more days than a run closes (the job was down): catch up
        more = transaction.run(lambda uow: _catch_up_books(uow, report, settle + write_margin))
    metrics.add_metric(name="LedgerMismatches", unit=MetricUnit.Count, value=len(report.mismatches))
    metrics.add_metric(name="LedgerTotalPosted", unit=MetricUnit.Count, value=report.total_posted)
    metrics.flush_metrics()
    if report.balanced:
        logger.info(
            "ledger reconciled",
            extra={"balances": report.accounts, "transfers": report.transfers, "purchases": report.purchases},
        )
    else:
        logger.error(
            "ledger mismatch",
            extra={"total_posted": report.total_posted, "mismatches": msgspec.to_builtins(report.mismatches[:50])},
        )
    return report


def _run(uow: UnitOfWork, settle: timedelta, write_margin: timedelta) -> tuple[Report, bool]:
    stored = repository.checkpoint()
    checkpoint = msgspec.json.decode(stored.body, type=Checkpoint) if stored.body else Checkpoint()
    machine = clock.system_now()  # residue items are dated by the machine's clock, facts by `clock.now`
    cut = clock.iso(machine - write_margin)
    start = checkpoint.cut or clock.iso(machine - FIRST_LOOKBACK)
    written = repository.residues_written(_hours(start, cut), start, cut) if start < cut else iter(())
    batches = [msgspec.json.decode(body, type=Observed) for body in written]
    shares = [share for batch in batches for share in batch.shares]
    statements = {month: economy_repository.value_share(month) for month in {share.month for share in shares}}
    checked = Observed(faults=rules.share_faults(shares, statements))
    lost = bool(checkpoint.cut) and checkpoint.cut < clock.iso(machine - GAP_MAX)
    now = clock.now()
    carried = rules.carry(checkpoint.carried, [*batches, checked], stored.base_at, CARRIED_MAX, clock.iso(now), lost)
    mismatches, total_posted = rules.judge(carried, clock.iso(now - settle))
    report = Report(
        clock.iso(now),
        sum(batch.balances for batch in batches),
        sum(batch.transfers for batch in batches),
        total_posted,
        mismatches[:REPORTED_MAX],
        sum(batch.purchases for batch in batches),
    )
    open_books, more = _close_books(uow, checkpoint.books, batches, report, settle + write_margin)
    repository.add_checkpoint(uow, stored, msgspec.json.encode(Checkpoint(max(cut, start), carried, open_books)))
    report_repository.add_report(uow, REPORT_NAME, report.at, msgspec.json.encode(report).decode())
    return report, more


def _catch_up_books(uow: UnitOfWork, report: Report, behind: timedelta) -> bool:
    """More days closed after the run, over the checkpoint it wrote; True while some are still due."""
    stored = repository.checkpoint()
    checkpoint = msgspec.json.decode(stored.body or b"{}", type=Checkpoint)
    books, more = _close_books(uow, checkpoint.books, [], report, behind)
    repository.add_checkpoint(uow, stored, msgspec.json.encode(msgspec.structs.replace(checkpoint, books=books)))
    return more


def _close_books(
    uow: UnitOfWork, books: OpenBooks, batches: list[Observed], report: Report, behind: timedelta
) -> tuple[OpenBooks, bool]:
    """The batches' figures added to the days still open, and every day whose changes are all in closed
    and published (with its month, on its last day), in the same unit of work as the checkpoint; True
    when more days are due than one unit of work closes."""
    opened = books_rules.add(books, [batch.books for batch in batches])
    until = clock.iso(clock.parse(report.at) - behind - timedelta(days=1))[:10]
    still_open, closed, communities = books_rules.close(opened, until, report.balanced, report.at)
    books_repository.put_community_months(communities)  # idempotent, ahead of the unit of work: no item limit
    for period in closed:
        books_repository.add_period(uow, period)
    if closed:
        logger.info("books closed", extra={"periods": [period.period for period in closed], "late": still_open.late})
    return still_open, still_open.last_day < until and len(closed) >= books_rules.MAX_CLOSED_PER_RUN


def _hours(start: str, end: str) -> list[str]:
    """Every hour (YYYY-MM-DDTHH) from `start`'s to `end`'s."""
    hour, last = _hour(start), _hour(end)
    hours = []
    while hour <= last:
        hours.append(clock.iso(hour)[:13])
        hour += timedelta(hours=1)
    return hours


def _hour(at: str) -> datetime:
    return clock.parse(at).replace(minute=0, second=0, microsecond=0)


def latest() -> Report:
    stored = report_repository.latest(REPORT_NAME)
    if stored is None:
        raise errors.NotFound("not-found.reconciliation-report")
    data = json.loads(stored)
    data["mismatches"] = [Mismatch(**m) for m in data["mismatches"]]
    return Report(**data)
