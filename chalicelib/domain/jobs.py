"""Scheduled jobs as operators watch them: how often each runs, what its last run did, and when a job
has gone silent (a scheduler that stopped, a function that no longer deploys, a run that times out)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import msgspec

from chalicelib import clock

# How often AWS runs each scheduled Lambda (app.py builds its schedules from this table).
EVERY: Mapping[str, timedelta] = {
    "void_expired_holds": timedelta(minutes=5),
    "exchange_deadlines": timedelta(minutes=15),
    "reconcile_ledger": timedelta(hours=1),
    "continue_ledger_audit": timedelta(minutes=1),
    "close_review_windows": timedelta(minutes=15),
    "run_ballots": timedelta(minutes=1),
    "end_featuring": timedelta(minutes=15),
    "share_value": timedelta(days=1),
    "recount_reputations": timedelta(hours=1),
    "expire_missions": timedelta(minutes=15),
    "send_reminders": timedelta(hours=1),
}
# A run may start late and last up to the functions' timeout: a job is silent only past two periods and this.
GRACE = timedelta(minutes=5)


class JobRun(msgspec.Struct, frozen=True):
    """The last run of a job, as recorded when it ended."""

    job: str
    ended_at: str
    succeeded: bool
    duration_ms: int
    error: str | None  # the exception's type when it failed (never its message: it may carry data)
    last_success_at: str | None
    consecutive_failures: int


class JobStatus(msgspec.Struct, frozen=True):
    job: str
    every: timedelta
    last_run: JobRun | None
    silent: bool  # no run ended within two periods (or never)

    @property
    def healthy(self) -> bool:
        return not self.silent and self.last_run is not None and self.last_run.succeeded


def overdue(last_at: str | None, every: timedelta, now: datetime) -> bool:
    """Nothing since two periods (and the grace), or never."""
    return last_at is None or clock.parse(last_at) < now - 2 * every - GRACE


def statuses(runs: Mapping[str, JobRun], now: datetime) -> list[JobStatus]:
    """Every scheduled job, in schedule order, whether or not it ever ran."""
    statuses = []
    for job, every in EVERY.items():
        run = runs.get(job)
        statuses.append(JobStatus(job, every, run, overdue(run.ended_at if run else None, every, now)))
    return statuses


def reconciliation_overdue(report_at: str | None, now: datetime) -> bool:
    """The ledger's proof is as old as the last report the hourly reconciliation wrote."""
    return overdue(report_at, EVERY["reconcile_ledger"], now)
