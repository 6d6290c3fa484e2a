"""The scheduled proof that the ledger adds up, and its last report."""

from __future__ import annotations

import json

import msgspec
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from chalicelib import clock, errors
from chalicelib.adapters.dynamodb import ledger_repository, purchase_repository, report_repository, store
from chalicelib.domain.reconciliation import Mismatch, Report, reconcile

REPORT_NAME = "reconciliation"
logger = Logger(service="pwiic")
metrics = Metrics(namespace="Pwiic", service="pwiic")


def run() -> Report:
    store.ready()
    balances, transfers, holds = ledger_repository.scan_all()
    report = reconcile(clock.now_iso(), balances, transfers, holds, purchase_repository.scan_all())
    report_repository.save(REPORT_NAME, report.at, msgspec.json.encode(report).decode())
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
    store.ready()
    stored = report_repository.latest(REPORT_NAME)
    if stored is None:
        raise errors.not_found("A reconciliation report")
    data = json.loads(stored)
    data["mismatches"] = [Mismatch(**m) for m in data["mismatches"]]
    return Report(**data)
