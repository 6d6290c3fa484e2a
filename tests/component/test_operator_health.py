"""Operators see every scheduled job's last run and the age of the ledger's last reconciliation: a job that
fails, or that stops running, turns the report to `attention`."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib import clock
from chalicelib.domain import jobs
from chalicelib.jobs import scheduled
from chalicelib.services import exchanges
from tests.component.support import assert_problem
from tests.conftest import OPERATOR


def health(api) -> dict:
    response = api.get("/operator/health", as_="op", groups=OPERATOR)
    assert response.status_code == 200, response.body
    return response.json


def run_every_job() -> None:
    for job in jobs.EVERY:
        getattr(scheduled, job)()


def test_only_operators_read_it(api):
    assert_problem(api.get("/operator/health", as_="alice"), 403)
    assert_problem(api.get("/operator/health", as_=None), 401)


def test_before_any_run_every_job_is_silent_and_no_reconciliation_is_known(api):
    report = health(api)
    assert report["status"] == "attention"
    assert [job["job"] for job in report["jobs"]] == list(jobs.EVERY)
    assert all(job["last_run"] is None and job["silent"] for job in report["jobs"])
    assert report["reconciliation"] == {"last_at": None, "age_seconds": None, "balanced": None, "overdue": True}


def test_when_every_job_ran_and_the_ledger_balanced_all_is_ok(api):
    run_every_job()
    report = health(api)
    assert report["status"] == "ok", report
    for job in report["jobs"]:
        assert job["every_seconds"] == jobs.EVERY[job["job"]].total_seconds()
        run = job["last_run"]
        assert run["succeeded"] and run["error"] is None and run["consecutive_failures"] == 0, job
        assert run["last_success_at"] == run["ended_at"] and run["duration_ms"] >= 0
    reconciliation = report["reconciliation"]
    assert reconciliation["balanced"] is True and not reconciliation["overdue"]
    assert 0 <= reconciliation["age_seconds"] < 60


def test_a_failing_job_counts_its_failures_keeps_its_last_success_and_still_fails(api, monkeypatch):
    scheduled.exchange_deadlines()
    succeeded_at = health(api)["jobs"][1]["last_run"]["ended_at"]

    def broken() -> int:
        raise TimeoutError("the table did not answer")

    monkeypatch.setattr(exchanges, "run_deadlines", broken)
    for _ in range(2):
        with pytest.raises(TimeoutError):
            scheduled.exchange_deadlines()
    others = [job for job in jobs.EVERY if job != "exchange_deadlines"]
    for job in others:
        getattr(scheduled, job)()
    report = health(api)
    failed = report["jobs"][1]
    assert failed["job"] == "exchange_deadlines" and not failed["silent"]
    assert failed["last_run"]["succeeded"] is False and failed["last_run"]["error"] == "TimeoutError"
    assert failed["last_run"]["consecutive_failures"] == 2 and failed["last_run"]["last_success_at"] == succeeded_at
    assert "the table did not answer" not in str(report)  # the type only: a message may carry data
    assert report["status"] == "attention"

    monkeypatch.undo()
    scheduled.exchange_deadlines()
    recovered = health(api)
    assert recovered["status"] == "ok"
    assert recovered["jobs"][1]["last_run"]["consecutive_failures"] == 0


def test_a_job_that_stops_running_goes_silent(api, monkeypatch):
    run_every_job()
    later = clock.now() + 2 * jobs.EVERY["run_ballots"] + jobs.GRACE + timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    report = health(api)
    silent = {job["job"] for job in report["jobs"] if job["silent"]}
    assert silent == {"run_ballots", "continue_ledger_audit"}  # the two jobs run every minute
    assert report["status"] == "attention" and not report["reconciliation"]["overdue"]
