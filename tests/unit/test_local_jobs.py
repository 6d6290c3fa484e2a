"""The local timers run what AWS schedules: every scheduled Lambda of app.py, through the Lambda's own
handler, on an interval the environment may change; a failing run never stops a timer."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from chalice.app import DynamoDBEventConfig, Rate, ScheduledEventConfig

from app import app
from chalicelib.jobs import scheduled
from tools import jobs
from tools.jobs import PeriodicTask

RATE_SECONDS = {Rate.MINUTES: 60, Rate.HOURS: 3600, Rate.DAYS: 86400}


def test_every_event_source_of_the_app_has_its_local_task():
    """A schedule (or any event source) added to app.py must run on the local stack too."""
    assert all(isinstance(source, ScheduledEventConfig | DynamoDBEventConfig) for source in app.event_sources)
    names = [source.name for source in app.event_sources]
    assert [task.name for task in jobs.local_tasks({})] == names
    assert sorted(jobs.LOCAL_INTERVALS) == sorted(names)


def test_local_intervals_are_shorter_than_in_aws():
    for source in app.event_sources:
        if not isinstance(source, ScheduledEventConfig):
            continue
        rate = source.schedule_expression
        assert jobs.LOCAL_INTERVALS[source.name] < rate.value * RATE_SECONDS[rate.unit], source.name


class Stream:
    """The table's stream, as far as the stream task reads it: one new record per read."""

    def __init__(self) -> None:
        self.reads = 0

    def batches(self) -> list[dict]:
        self.reads += 1
        record = {
            "eventID": str(self.reads),
            "eventName": "INSERT",
            "awsRegion": "local",
            "eventSourceARN": "arn:aws:dynamodb:local:0:table/t/stream/s",
            "dynamodb": {
                "ApproximateCreationDateTime": 1.7e9,
                "Keys": {"PK": {"S": "X"}, "SK": {"S": "Y"}},
                "SequenceNumber": str(self.reads),
                "SizeBytes": 10,
                "StreamViewType": "NEW_AND_OLD_IMAGES",
            },
        }
        return [{"Records": [record]}]


def test_each_task_calls_what_its_lambda_calls(monkeypatch):
    calls = []
    delivered: list[str] = []
    for source in app.event_sources:
        if isinstance(source, DynamoDBEventConfig):  # the stream handler: records, then the context

            def stream_handler(records, context, name=source.name):
                calls.append((name, context))
                delivered.extend(record["eventID"] for record in records)

            monkeypatch.setattr(scheduled, source.name, stream_handler)
        else:
            monkeypatch.setattr(scheduled, source.name, lambda context, name=source.name: calls.append((name, context)))
    stream = Stream()
    monkeypatch.setattr(jobs, "table_stream", lambda: stream)
    for task in jobs.local_tasks({}):
        task.run()
        task.run()
    assert [name for name, _ in calls] == [name for source in app.event_sources for name in [source.name] * 2]
    assert delivered == ["1", "2"]  # each run of the stream task hands over what arrived since the last
    request_ids = [context.aws_request_id for _, context in calls]
    assert all(request_ids) and len(set(request_ids)) == len(request_ids)  # one Lambda request per run


def test_intervals_come_from_the_environment():
    variable = jobs.interval_variable("reconcile_ledger")
    assert variable == "PWIIC_LOCAL_RECONCILE_LEDGER_SECONDS"
    tasks = jobs.local_tasks({variable: "2.5"})
    assert {task.name: task.interval for task in tasks} == {**jobs.LOCAL_INTERVALS, "reconcile_ledger": 2.5}
    assert "reconcile_ledger every 2.5 s" in jobs.describe(tasks)


@pytest.mark.parametrize("value", ["0", "-1", "soon", "", "nan", "inf"])
def test_a_bad_interval_is_refused_before_anything_runs(value):
    with pytest.raises(SystemExit, match="PWIIC_LOCAL_VOID_EXPIRED_HOLDS_SECONDS must be a number"):
        jobs.local_tasks({"PWIIC_LOCAL_VOID_EXPIRED_HOLDS_SECONDS": value})


def run_for(tasks: list[PeriodicTask], until, timeout: float = 5.0) -> threading.Thread:
    """Runs the timers in a thread until `until()` holds (or `timeout`), stops them and returns the
    thread, joined."""
    stop = threading.Event()
    timers = threading.Thread(target=jobs.run_periodically, args=(tasks, stop))
    timers.start()
    deadline = time.monotonic() + timeout
    while not until() and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    timers.join(timeout=2)
    return timers


def test_a_failing_run_is_logged_and_every_timer_goes_on(caplog):
    caplog.set_level(logging.INFO, logger="tools.jobs")
    runs = {"steady": 0, "flaky": 0}

    def steady() -> None:
        runs["steady"] += 1

    def flaky() -> None:
        runs["flaky"] += 1
        raise RuntimeError("the table is busy")

    tasks = [PeriodicTask("steady", 0.01, steady), PeriodicTask("flaky", 0.01, flaky)]
    timers = run_for(tasks, until=lambda: min(runs.values()) >= 3)
    assert not timers.is_alive()
    assert min(runs.values()) >= 3
    failures = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(failures) == runs["flaky"]
    assert all(record.getMessage().startswith("flaky failed") and record.exc_info for record in failures)
    assert any(record.getMessage().startswith("steady done") for record in caplog.records)


def test_each_task_runs_on_its_own_interval_the_first_time_one_interval_from_now():
    runs: dict[str, list[float]] = {"fast": [], "slow": []}
    started = time.monotonic()
    tasks = [
        PeriodicTask("fast", 0.05, lambda: runs["fast"].append(time.monotonic() - started)),
        PeriodicTask("slow", 0.4, lambda: runs["slow"].append(time.monotonic() - started)),
    ]
    run_for(tasks, until=lambda: len(runs["slow"]) >= 2)
    assert len(runs["slow"]) == 2
    assert runs["fast"][0] >= 0.05 and runs["slow"][0] >= 0.4
    assert 4 <= len(runs["fast"]) <= 17  # every 0.05 s for about 0.8 s, at most


def test_stopping_is_prompt_and_a_stopped_timer_runs_nothing():
    runs = []
    started = time.monotonic()
    timers = run_for([PeriodicTask("hourly", 3600, lambda: runs.append(1))], until=lambda: True)
    assert not timers.is_alive() and time.monotonic() - started < 1
    assert runs == []


def test_a_failing_first_run_does_not_raise(caplog):
    jobs.run_once(PeriodicTask("broken", 1, lambda: 1 / 0))
    assert "broken failed" in caplog.text and "ZeroDivisionError" in caplog.text
