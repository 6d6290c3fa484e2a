"""What operators need to see a silent scheduler: each scheduled job records how its run ended, and the
health report reads every job's last run and the age of the ledger's last reconciliation."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from chalicelib import clock, errors
from chalicelib.adapters.dynamodb import job_run_repository as repository
from chalicelib.domain import jobs as rules
from chalicelib.domain.reconciliation import Report
from chalicelib.observability import logger
from chalicelib.services import reconciliation, transaction


@contextmanager
def recorded(job: str) -> Iterator[None]:
    """Records the run's end: its duration, and the type of the exception that ended it, which goes on."""
    started = time.monotonic()
    try:
        yield
    except Exception as error:
        _record(job, started, type(error).__name__)
        raise
    _record(job, started, None)


def _record(job: str, started: float, error: str | None) -> None:
    duration_ms = round((time.monotonic() - started) * 1000)
    try:
        transaction.run(lambda uow: repository.add_run(uow, job, clock.now_iso(), duration_ms, error))
    except Exception:  # the job's own outcome matters more; a missing record shows as a silent job
        logger.exception("job run not recorded", extra={"job": job})


@dataclass(frozen=True)
class Health:
    checked_at: str
    jobs: list[rules.JobStatus]
    reconciliation: Report | None
    reconciliation_age_seconds: int | None
    reconciliation_overdue: bool

    @property
    def healthy(self) -> bool:
        balanced = self.reconciliation is not None and self.reconciliation.balanced
        return balanced and not self.reconciliation_overdue and all(status.healthy for status in self.jobs)


def health() -> Health:
    now = clock.now()
    try:
        report: Report | None = reconciliation.latest()
    except errors.NotFound:
        report = None
    return Health(
        clock.iso(now),
        rules.statuses(repository.runs(), now),
        report,
        int((now - clock.parse(report.at)).total_seconds()) if report else None,
        rules.reconciliation_overdue(report.at if report else None, now),
    )
