"""The local timers as `scripts/run` starts them: `python -m tools.jobs`, a child process running the
scheduled Lambdas against DynamoDB Local, stopped cleanly with its context."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest

from chalicelib import clock
from chalicelib.adapters.dynamodb import reconciliation_repository
from chalicelib.domain.ledger import HoldRequest, HoldStatus
from chalicelib.services import ledger, reconciliation
from tests.integration.ledger_kit import fund, open_wallet
from tools import devkeys, jobs, localstack

pytestmark = pytest.mark.e2e


def eventually(check: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def residues_stored() -> bool:
    now = clock.system_now()
    hours = [clock.iso(now - timedelta(hours=1))[:13], clock.iso(now)[:13]]
    return any(reconciliation_repository.residues_written(hours, "0", "~"))


def test_the_jobs_process_runs_every_schedule_on_its_timer_and_stops_cleanly(
    table_name: str, dynamodb_endpoint: str, local_secrets: devkeys.LocalSecrets
) -> None:
    alice, bob = open_wallet("alice"), open_wallet("bob")
    fund(alice, 30)
    expires = clock.iso(clock.now() + timedelta(seconds=1))
    ledger.place_hold(HoldRequest("lesson", alice, bob, 10, expires))
    env = devkeys.local_env(local_secrets, dynamodb_endpoint=dynamodb_endpoint, table_name=table_name)
    env |= {jobs.interval_variable(name): "0.3" for name in jobs.LOCAL_INTERVALS}

    with localstack.periodic_tasks(env) as process:
        first = reconciliation.latest()  # the first runs are done when the context is entered
        assert first.balanced
        eventually(lambda: ledger.load_hold("lesson")[0].status is HoldStatus.VOIDED)  # expired, then voided
        eventually(lambda: reconciliation.latest().at > first.at)  # reconciled again, on its timer
        eventually(residues_stored)  # the stream task read DynamoDB Local's stream and fed the handler
        assert ledger.balance(alice).available == 30
    assert process.returncode == 0  # SIGTERM ended the timers cleanly: no SIGKILL was needed
