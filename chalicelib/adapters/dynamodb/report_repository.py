"""The latest report of a scheduled job, as JSON."""

from __future__ import annotations

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.models import ReportItem
from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork


def add_report(uow: UnitOfWork, name: str, at: str, body: str) -> None:
    uow.put(ReportItem(keys.report_pk(name), keys.LATEST_SK, body=body, at=at))


def latest(name: str) -> str | None:
    try:
        return ReportItem.get(keys.report_pk(name), keys.LATEST_SK).body
    except ReportItem.DoesNotExist:
        return None
