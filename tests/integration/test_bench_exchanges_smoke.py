"""bench.exchanges runs, prints one JSON object, and the budgets that do not depend on machine noise hold:
exactly one TransactWriteItems per exchange transition, exactly one Query (and nothing else) per search
except `near`, which makes one Query per distinct cell of the neighbourhood. CPU ratios are only checked
for sanity here (shared CI machines are noisy); bench/README.md says how to read them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
TRANSITIONS = (
    "propose",
    "accept",
    "confirm",
    "confirm_completes",
    "cancel",
    "decline",
    "join_seat",
    "book",
    "loan_return",
)
ONE_QUERY_SEARCHES = ("community", "category", "kind", "mode", "tag", "owner")


def run_bench(*args: str, timeout: float) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=REPO_ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, f"expected one JSON line on stdout, got: {result.stdout[-2000:]}"
    figures: dict[str, Any] = json.loads(lines[0])
    return figures


def test_exchanges_benchmark(dynamodb_endpoint):
    figures = run_bench("bench.exchanges", "--quick", "--endpoint", dynamodb_endpoint, timeout=180)

    for route in ONE_QUERY_SEARCHES:
        search = figures["searches"][route]
        assert search["reads_by_operation"] == {"Query": 1}, (route, search)
        assert search["writes_by_operation"] == {}, (route, search)
        assert search["requests_histogram"] == {"1": search["searches"]}, (route, search)
        assert search["statuses"] == [200], (route, search)
    assert figures["searches"]["community"]["listings_in_response"] == 20, "a full first page"
    near = figures["searches"]["near"]
    assert near["reads_by_operation"] == {"Query": figures["near_cells_searched"]} and near["writes_by_operation"] == {}
    assert figures["near_cells_searched"] == 9

    for name in TRANSITIONS:
        transition = figures["transitions"][name]
        assert transition["writes_by_operation"] == {"TransactWriteItems": 1}, (name, transition)
        assert transition["requests_histogram"] == {
            str(int(transition["requests_per_transition"])): transition["transitions"]
        }, (name, transition)
        assert set(transition["reads_by_operation"]) <= {"GetItem"}, (name, transition)
        assert transition["statuses"] in ([200], [201]), (name, transition)
        assert figures["within_goals"]["one_transaction_per_transition"][name] is True

    assert figures["first_call_of_day"]["steady_state_call"] == {"Query": 1}

    cpu = figures["cpu"]
    assert cpu["network_requests_during_stub"] == {}, "the stubbed phase must not reach DynamoDB"
    assert cpu["canned_page_items"] == 20 and cpu["canned_page_has_cursor"] is True
    assert cpu["response_items_http_call_stub"] == 20 and cpu["response_status_http_call_stub"] == 200
    assert cpu["response_items_http_wire_stub"] == 20 and cpu["response_items_service_call_stub"] == 20
    assert all(value > 0 for value in cpu["cpu_us"].values()), cpu["cpu_us"]
    assert figures["cpu_ratio_http"] > 1, "a search cannot cost less CPU than the Query it makes"
    assert figures["cpu_ratio_service"] > 1
