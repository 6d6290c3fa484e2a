"""The scheduled proof that the ledger adds up, and its last report."""

from __future__ import annotations

import json

import msgspec
from aws_lambda_powertools.metrics import MetricUnit

from chalicelib import clock, errors
from chalicelib.adapters.dynamodb import economy_repository, ledger_repository, purchase_repository, report_repository
from chalicelib.domain.reconciliation import Mismatch, Report, economy_mismatches, reconcile
from chalicelib.observability import logger, metrics
from chalicelib.services import transaction

REPORT_NAME = "reconciliation"


def run() -> Report:
    balances, transfers, holds = ledger_repository.scan_all()
    report = reconcile(clock.now_iso(), balances, transfers, holds, purchase_repository.scan_all())
    months = {transfer.created_at[:7] for transfer in transfers}
    revenues = {month: economy_repository.revenue(month) for month in months}
    statements = {month: found for month in months if (found := economy_repository.value_share(month))}
    extra = economy_mismatches(transfers, revenues, statements)
    report = msgspec.structs.replace(report, mismatches=[*report.mismatches, *extra])
    body = msgspec.json.encode(report).decode()
    transaction.run(lambda uow: report_repository.add_report(uow, REPORT_NAME, report.at, body))
    metrics.add_metric(name="LedgerMismatches", unit=MetricUnit.Count, value=len(report.mismatches))
    metrics.add_metric(name="LedgerTotalPosted", unit=MetricUnit.Count, value=report.total_posted)
    metrics.flush_metrics()
    if report.balanced:
        logger.info("ledger reconciled", extra={"accounts": report.accounts, "transfers": report.transfers})
    else:
        logger.error(
            "ledger mismatch",
            extra={"total_posted": report.total_posted, "mismatches": msgspec.to_builtins(report.mismatches[:50])},
        )
    return report


def latest() -> Report:
    stored = report_repository.latest(REPORT_NAME)
    if stored is None:
        raise errors.NotFound("A reconciliation report")
    data = json.loads(stored)
    data["mismatches"] = [Mismatch(**m) for m in data["mismatches"]]
    return Report(**data)
