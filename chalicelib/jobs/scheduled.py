"""Bodies of the scheduled Lambdas (app.py wires them to their schedules)."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from chalicelib.services import exchanges, ledger, reconciliation

logger = Logger(service="pwiic")


def void_expired_holds() -> int:
    voided = ledger.void_expired_holds()
    logger.info("expired holds voided", extra={"voided": voided})
    return voided


def exchange_deadlines() -> int:
    moved = exchanges.run_deadlines()
    logger.info("exchange deadlines handled", extra={"moved": moved})
    return moved


def reconcile_ledger() -> bool:
    return reconciliation.run().balanced
