"""When a scheduled job counts as silent, and that app.py schedules exactly the jobs the health report knows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalice.app import Rate, ScheduledEventConfig

import app
from chalicelib import clock
from chalicelib.domain import jobs

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def run(job: str, ended: datetime, *, error: str | None = None) -> jobs.JobRun:
    return jobs.JobRun(job, clock.iso(ended), error is None, 40, error, None, 0 if error is None else 1)


def test_a_job_is_silent_only_past_two_periods_and_the_grace():
    limit = NOW - 2 * jobs.EVERY["void_expired_holds"] - jobs.GRACE
    assert not jobs.overdue(clock.iso(limit), jobs.EVERY["void_expired_holds"], NOW)
    assert jobs.overdue(clock.iso(limit - timedelta(milliseconds=1)), jobs.EVERY["void_expired_holds"], NOW)
    assert jobs.overdue(None, jobs.EVERY["void_expired_holds"], NOW)


def test_every_scheduled_job_has_a_status_even_when_it_never_ran():
    statuses = jobs.statuses({"run_ballots": run("run_ballots", NOW - timedelta(minutes=1))}, NOW)
    assert [status.job for status in statuses] == list(jobs.EVERY)
    by_job = {status.job: status for status in statuses}
    assert by_job["run_ballots"].healthy and not by_job["run_ballots"].silent
    assert by_job["share_value"].last_run is None and by_job["share_value"].silent
    assert not by_job["share_value"].healthy


def test_a_recent_failed_run_is_not_silent_but_not_healthy():
    status = jobs.statuses({"end_featuring": run("end_featuring", NOW, error="TimeoutError")}, NOW)[6]
    assert status.job == "end_featuring" and not status.silent and not status.healthy


def test_a_daily_job_is_silent_after_two_days():
    ran = run("share_value", NOW - timedelta(days=2, minutes=6))
    assert {s.job: s.silent for s in jobs.statuses({"share_value": ran}, NOW)}["share_value"]
    ran = run("share_value", NOW - timedelta(days=1, hours=23))
    assert not {s.job: s.silent for s in jobs.statuses({"share_value": ran}, NOW)}["share_value"]


def test_app_schedules_exactly_the_known_jobs_at_their_periods():
    unit_seconds = {Rate.MINUTES: 60, Rate.HOURS: 3600, Rate.DAYS: 86400}
    scheduled = {
        source.name: timedelta(seconds=rate.value * unit_seconds[rate.unit])
        for source in app.app.event_sources
        if isinstance(source, ScheduledEventConfig) and isinstance(rate := source.schedule_expression, Rate)
    }
    assert scheduled == jobs.EVERY
