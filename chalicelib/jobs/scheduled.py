"""Bodies of the scheduled Lambdas and of the table's stream handler (app.py wires them to their schedules,
`domain.jobs.EVERY`, and to the stream; the local stack runs the same functions on timers). Each binds
storage, then calls one service; a scheduled job's run is recorded when it ends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from chalicelib import observability
from chalicelib.adapters.dynamodb import store
from chalicelib.observability import logger
from chalicelib.services import (
    ballots,
    exchanges,
    job_runs,
    ledger,
    ledger_audit,
    listings,
    missions,
    reconciliation,
    reminders,
    reviews,
    value_sharing,
)
from chalicelib.services import table_changes as stream


@contextmanager
def _invocation(name: str, context: Any) -> Iterator[None]:
    with observability.invocation(f"job {name}", None, context):
        store.bind()
        yield


@contextmanager
def _job(name: str, context: Any) -> Iterator[None]:
    """A scheduled job's run, recorded for the operators' health report."""
    with _invocation(name, context), job_runs.recorded(name):
        yield


def void_expired_holds(context: Any = None) -> int:
    with _job("void_expired_holds", context):
        voided = ledger.void_expired_holds()
        logger.info("expired holds voided", extra={"voided": voided})
    return voided


def exchange_deadlines(context: Any = None) -> int:
    with _job("exchange_deadlines", context):
        moved = exchanges.run_deadlines()
        logger.info("exchange deadlines handled", extra={"moved": moved})
    return moved


def reconcile_ledger(context: Any = None) -> bool:
    with _job("reconcile_ledger", context):
        return reconciliation.run().balanced


def continue_ledger_audit(context: Any = None) -> bool:
    """Every minute: a slice of the running full audit, if one runs (otherwise a single read)."""
    with _job("continue_ledger_audit", context):
        state = ledger_audit.proceed(context)
        if state is not None:
            logger.info(
                "ledger audit worked on",
                extra={"audit_id": state.audit_id, "scanned": state.scanned, "accounts": state.accounts},
            )
    return state is not None


def table_changes(records: list[dict[str, Any]], context: Any = None) -> int:
    """A batch of the table's stream, handed to its consumers; the number of changes they were given."""
    with _invocation("table_changes", context):
        return len(stream.handle(records))


def close_review_windows(context: Any = None) -> int:
    with _job("close_review_windows", context):
        closed = reviews.close_windows()
        logger.info("review windows closed", extra={"closed": closed})
    return closed


def recount_reputations(context: Any = None) -> int:
    with _job("recount_reputations", context):
        checked = reviews.recount_touched()
        logger.info("reputations recounted", extra={"checked": checked})
    return checked


def run_ballots(context: Any = None) -> tuple[int, int]:
    """Every minute: each ballot opens and closes at its own time, not at a coarse sweep's."""
    with _job("run_ballots", context):
        opened, closed = ballots.run_due()
        if opened or closed:
            logger.info("ballots opened and closed", extra={"opened": opened, "closed": closed})
    return opened, closed


def expire_missions(context: Any = None) -> int:
    """Missions past their deadline, and their claims never submitted, expire."""
    with _job("expire_missions", context):
        expired = missions.expire_due()
        logger.info("missions expired", extra={"expired": expired})
    return expired


def end_featuring(context: Any = None) -> int:
    with _job("end_featuring", context):
        ended = listings.end_featuring()
        if ended:
            logger.info("featuring ended", extra={"listings": ended})
    return ended


def share_value(context: Any = None) -> int:
    """Daily: the previous month's value sharing, done once (later runs find it done)."""
    with _job("share_value", context):
        statement = value_sharing.share_last_month()
        logger.info("value shared", extra={"month": statement.month, "distributed": statement.distributed})
    return statement.distributed


def send_reminders(context: Any = None) -> int:
    with _job("send_reminders", context):
        sent = reminders.run()
        logger.info("reminders sent", extra={"sent": sent})
    return sent
