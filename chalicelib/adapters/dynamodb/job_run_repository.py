"""The last run of each scheduled job: one item per job, all in one partition, read with one Query."""

from __future__ import annotations

from pynamodb.expressions.update import Action

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.models import JobRunItem
from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork
from chalicelib.domain.jobs import JobRun


def add_run(uow: UnitOfWork, job: str, ended_at: str, duration_ms: int, error: str | None) -> None:
    """One update whatever came before: a success clears the failure streak, a failure adds to it."""
    item = JobRunItem(keys.JOBS_PK, job)
    actions: list[Action] = [
        JobRunItem.ended_at.set(ended_at),
        JobRunItem.succeeded.set(error is None),
        JobRunItem.duration_ms.set(duration_ms),
    ]
    if error is None:
        actions += [
            JobRunItem.error.remove(),
            JobRunItem.last_success_at.set(ended_at),
            JobRunItem.consecutive_failures.set(0),
        ]
    else:
        actions += [JobRunItem.error.set(error), JobRunItem.consecutive_failures.add(1)]
    uow.update(item, actions)


def runs() -> dict[str, JobRun]:
    return {
        item.SK: JobRun(
            item.SK,
            item.ended_at,
            item.succeeded,
            int(item.duration_ms),
            item.error,
            item.last_success_at,
            int(item.consecutive_failures),
        )
        for item in JobRunItem.query(keys.JOBS_PK)
    }
