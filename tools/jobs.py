"""Periodic tasks of the local stack: what AWS runs by itself, run here on local timers.

They are read from the Chalice app's event sources, so the local stack runs exactly what AWS runs, and
an event source added to app.py runs locally too (or the local stack refuses to start until it knows
its local interval):
- each scheduled Lambda: its own handler (`app.<name>`) called with an EventBridge-shaped event;
- the table's stream handler: a task that reads what DynamoDB Local's stream received since its last
  run (`tools/streams.py`) and calls the handler (`app.table_changes`) with Lambda-shaped DynamoDB
  stream events, one per shard page, as Lambda's poller does.

`scripts/run` starts `python -m tools.jobs --ready-file PATH` after seeding, as a child process (log:
.local/logs/jobs.log) that runs every task once (what the schedules would have done by now: the API
never starts without a reconciliation report), creates PATH, then runs each task on its timer, one run
at a time. Each run is isolated: an exception is logged and the timer goes on. SIGTERM or SIGINT stops
the timers after the current run.

Intervals, in seconds: PWIIC_LOCAL_<JOB>_SECONDS, e.g. PWIIC_LOCAL_RECONCILE_LEDGER_SECONDS=30.
"""

from __future__ import annotations

import argparse
import heapq
import importlib
import logging
import math
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

log = logging.getLogger("tools.jobs")

# Seconds between two runs of each scheduled Lambda on the local stack: much shorter than in AWS, so
# that holds expire, exchanges complete and reconciliation reports appear while one watches.
LOCAL_INTERVALS: dict[str, float] = {
    "void_expired_holds": 30,  # AWS: every 5 minutes
    "exchange_deadlines": 60,  # AWS: every 15 minutes
    "reconcile_ledger": 120,  # AWS: every hour
    "close_review_windows": 60,  # AWS: every 15 minutes
    "recount_reputations": 120,  # AWS: every hour
    "run_ballots": 20,  # AWS: every minute
    "end_featuring": 60,  # AWS: every 15 minutes
    "share_value": 3600,  # AWS: every day (the previous month's, once)
    "expire_missions": 60,  # AWS: every 15 minutes
    "send_reminders": 60,  # AWS: every hour (a day ahead)
    "continue_ledger_audit": 20,  # AWS: every minute
    "table_changes": 2,  # AWS: Lambda polls the stream continuously, batching up to 10 s
}


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    interval: float
    run: Callable[[], object]


@dataclass(frozen=True)
class LambdaContext:
    """The part of the Lambda context the app reads (observability.invocation)."""

    aws_request_id: str


Handler = Callable[[dict[str, Any], LambdaContext], object]


def interval_variable(name: str) -> str:
    return f"PWIIC_LOCAL_{name.upper()}_SECONDS"


def local_tasks(environ: Mapping[str, str] = os.environ) -> list[PeriodicTask]:
    """Every periodic task of the local stack, in the order app.py declares them."""
    from chalice.app import DynamoDBEventConfig, ScheduledEventConfig

    from app import app

    tasks = []
    for source in app.event_sources:
        run: Callable[[], object]
        if isinstance(source, ScheduledEventConfig):
            run = partial(_invoke, _lambda_handler(source.handler_string), source.name)
        elif isinstance(source, DynamoDBEventConfig):
            run = StreamTask(_lambda_handler(source.handler_string))
        else:
            raise SystemExit(
                f"app.py wires {source.name} ({type(source).__name__}), which the local stack does not run: "
                "add it to tools/jobs.py."
            )
        if source.name not in LOCAL_INTERVALS:
            raise SystemExit(f"app.py wires {source.name}: give it a local interval in tools/jobs.py.")
        tasks.append(PeriodicTask(source.name, _interval(source.name, environ), run))
    return tasks


class Reader(Protocol):
    def batches(self) -> list[dict[str, Any]]: ...


def table_stream() -> Reader:
    """The stream of the local stack's table (the environment `scripts/run` gives the jobs)."""
    from tools.streams import StreamReader

    return StreamReader(os.environ["PWIIC_DYNAMODB_ENDPOINT"], os.environ["PWIIC_TABLE_NAME"])


class StreamTask:
    """Each run hands what the table's stream received since the last run to the stream handler, one
    Lambda-shaped event per batch; the stream is followed from its oldest record on the first run."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.reader: Reader | None = None

    def __call__(self) -> None:
        if self.reader is None:
            self.reader = table_stream()
        deliver(self.reader, self.handler)


def deliver(reader: Reader, handler: Handler) -> int:
    """Hands what `reader` received since its last read to `handler` as Lambda does, one event per batch
    and one request id per call; returns the number of records."""
    records = 0
    for event in reader.batches():
        records += len(event["Records"])
        handler(event, LambdaContext(aws_request_id=str(uuid.uuid4())))
    return records


def _lambda_handler(handler_string: str) -> Handler:
    """The function Lambda calls for a handler string such as 'app.void_expired_holds'."""
    module, _, attribute = handler_string.rpartition(".")
    handler: Handler = getattr(importlib.import_module(module), attribute)
    return handler


def _interval(name: str, environ: Mapping[str, str]) -> float:
    variable = interval_variable(name)
    raw = environ.get(variable)
    if raw is None:
        return LOCAL_INTERVALS[name]
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise SystemExit(f"{variable} must be a number of seconds above 0, not {raw!r}.")
    return seconds


def _invoke(handler: Handler, name: str) -> None:
    region = os.environ.get("AWS_DEFAULT_REGION", "local")
    event = {  # what EventBridge sends a scheduled Lambda
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:000000000000:rule/pwiic-local-{name}"],
        "detail": {},
    }
    handler(event, LambdaContext(aws_request_id=str(uuid.uuid4())))


def describe(tasks: Sequence[PeriodicTask]) -> str:
    return ", ".join(f"{task.name} every {task.interval:g} s" for task in tasks)


def run_once(task: PeriodicTask) -> None:
    """One isolated run: an exception is logged, never raised."""
    started = time.monotonic()
    try:
        task.run()
    except Exception:
        log.exception("%s failed after %.1f s", task.name, time.monotonic() - started)
    else:
        log.info("%s done in %.1f s", task.name, time.monotonic() - started)


def run_periodically(tasks: Sequence[PeriodicTask], stop: threading.Event) -> None:
    """Run each task every `interval` seconds, the first time one interval from now, until `stop` is set.
    One run at a time: a run that overruns delays the next ones, which then run at once (never piled up)."""
    started = time.monotonic()
    due = [(started + task.interval, index) for index, task in enumerate(tasks)]
    heapq.heapify(due)
    while due:
        at, index = heapq.heappop(due)
        if stop.wait(max(0.0, at - time.monotonic())):
            return
        task = tasks[index]
        run_once(task)
        heapq.heappush(due, (max(at + task.interval, time.monotonic()), index))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.jobs", description="The scheduled jobs on local timers.")
    parser.add_argument("--ready-file", type=Path, required=True, help="created once every job has run once")
    args = parser.parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    tasks = local_tasks()
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    for task in tasks:
        run_once(task)
    log.info("first runs done; timers: %s", describe(tasks))
    args.ready_file.touch()
    run_periodically(tasks, stop)
    log.info("timers stopped")


if __name__ == "__main__":
    main()
