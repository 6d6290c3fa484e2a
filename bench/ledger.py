"""Ledger transfers: DynamoDB requests, billed write units, handler CPU and throughput.

Runs the real service (`chalicelib.services.ledger.transfer`) against DynamoDB Local, in a table of
its own created from infra/template.json, and prints one JSON object on stdout:

a. DynamoDB requests per member-to-member transfer, counted by botocore event handlers on the
   client every model shares (API calls by operation, and HTTP attempts including retries).
b. Write units per transfer as AWS bills them, computed from the TransactWriteItems requests
   actually sent (formula in bench/README.md), next to DynamoDB Local's own ConsumedCapacity.
c. Handler CPU per transfer (time.process_time) with the client stubbed, against the CPU of a bare
   `transact_write_items` with the very payload a transfer sends, on the same stubbed client.
d. Transfers per second with 8 threads on distinct wallets and 8 threads paying out of the sharded
   rewards pool, each against 1 thread (ABBA order: 1, 8, 8, 1 to cancel drift).

Usage: python -m bench.ledger [--quick] [--endpoint URL] [--profile]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bench._harness import (
    KB,
    Recorder,
    bench_parser,
    bench_table,
    compare_threads,
    cpu_rounds,
    ledger_balanced,
    new_member,
    profile_calls,
    run_threads,
    shared_client,
    stored_items,
    stubbed_transactions,
    table_indexes,
    transact_write_units,
    value_size,
)

GOAL_REQUESTS = 1
GOAL_WRITE_UNITS = 8
GOAL_CPU_RATIO = 3.0
WALLET_FUNDING = 100_000  # credits bought by every benchmark wallet (the default transfer ceiling)
MEMOS = ("Thanks for the coffee!", "", "Bike repair, as agreed", "Merci pour le coup de main", "Tip 🙏")
MAX_MEMO = "🎉" * 80  # the API's longest memo (80 characters), 4 UTF-8 bytes each


@dataclass(frozen=True)
class Options:
    transfers: int
    cpu_calls: int
    cpu_rounds: int
    phase_seconds: float
    threads: int
    endpoint: str | None
    profile: bool


def parse_options(argv: Sequence[str] | None) -> Options:
    parser = bench_parser("ledger", __doc__ or "", profiled="transfers", cpu_calls=400)
    parser.add_argument("--transfers", type=int, help="transfers counted for requests and write units (default 200)")
    parser.add_argument("--phase-seconds", type=float, help="seconds per throughput configuration (default 5)")
    parser.add_argument("--threads", type=int, default=8, help="threads in the concurrent configurations (default 8)")
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    return Options(
        transfers=args.transfers or (20 if quick else 200),
        cpu_calls=args.cpu_calls or (100 if quick else 400),
        cpu_rounds=cpu_rounds(args),
        phase_seconds=args.phase_seconds or (1.0 if quick else 5.0),
        threads=args.threads,
        endpoint=args.endpoint,
        profile=bool(args.profile),
    )


# The ledger, through the application's own services.


def new_wallet(label: str) -> str:
    """A member (profile + wallet, as the first authenticated call makes them) with bought credits."""
    from chalicelib.domain.ledger import PlatformAccount, TransferKind, TransferRequest
    from chalicelib.services import ledger

    account = new_member(label)
    ledger.transfer(
        TransferRequest(
            transfer_id=f"purchase:{uuid.uuid4().hex}",
            payer=PlatformAccount.ISSUANCE.value,
            payee=account,
            amount=WALLET_FUNDING,
            kind=TransferKind.PURCHASE,
            refs={"payment_intent": f"pi_{uuid.uuid4().hex[:24]}"},
        )
    )
    return account


def payment(payer: str, payee: str, sequence: int, memo: str | None = None) -> Any:
    """A member-to-member payment shaped like the API's (`payments.pay_member`)."""
    from chalicelib.domain.ledger import TransferKind, TransferRequest

    payer_id = payer.removeprefix("member:")
    return TransferRequest(
        transfer_id=f"pay:{payer_id}:{uuid.uuid4().hex}",
        payer=payer,
        payee=payee,
        amount=1 + sequence % 5,
        kind=TransferKind.TIP if sequence % 2 else TransferKind.PAYMENT,
        memo=MEMOS[sequence % len(MEMOS)] if memo is None else memo,
    )


def reward(payee: str, sequence: int) -> Any:
    from chalicelib.domain.ledger import PlatformAccount, TransferKind, TransferRequest

    return TransferRequest(
        transfer_id=f"reward:{uuid.uuid4().hex}",
        payer=PlatformAccount.REWARDS_POOL.value,
        payee=payee,
        amount=1,
        kind=TransferKind.REWARD,
        reason="community_help",
        memo="Helped at the repair café",
    )


def transfer(request: Any) -> None:
    from chalicelib.services import ledger

    ledger.transfer(request)


# a + b: requests and write units on DynamoDB Local.


def measure_requests_and_units(
    options: Options, pairs: Sequence[tuple[str, str]], admin: Any, table_name: str
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    client = shared_client()
    for sequence in range(3):  # warm: connections open, caches filled
        transfer(payment(*pairs[sequence % len(pairs)], sequence))

    recorder = Recorder(client, consumed_capacity=True)
    per_transfer: Counter[int] = Counter()
    with recorder.recording():
        for sequence in range(options.transfers):
            before = recorder.total_calls
            transfer(payment(*pairs[sequence % len(pairs)], sequence))
            per_transfer[recorder.total_calls - before] += 1
        counted_calls, counted_attempts = Counter(recorder.calls), recorder.http_attempts
        counted_requests, counted_consumed = list(recorder.requests), list(recorder.consumed)
        transfer(payment(*pairs[0], 0, memo=MAX_MEMO))
    max_memo_request, max_memo_consumed = recorder.requests[-1], recorder.consumed[-1]

    stored_item = stored_items(admin)

    indexes = table_indexes()
    units = [transact_write_units(request, indexes, stored_item) for request in counted_requests]
    max_memo_units = transact_write_units(max_memo_request, indexes, stored_item)
    record = next(action["Put"]["Item"] for action in counted_requests[0]["TransactItems"] if "Put" in action)
    record_bytes = {name: len(name.encode()) + value_size(value) for name, value in record.items()}
    local_units = [sum(float(c.get("CapacityUnits", 0)) for c in consumed) for consumed in counted_consumed]

    n = options.transfers
    requests_figure: dict[str, Any] = {
        "transfers": n,
        "requests_per_transfer": sum(counted_calls.values()) / n,  # every DynamoDB operation counts
        "requests_by_operation": dict(counted_calls),
        "requests_per_transfer_histogram": {str(k): v for k, v in sorted(per_transfer.items())},
        "http_attempts_per_transfer": counted_attempts / n,
        "goal": GOAL_REQUESTS,
    }
    requests_figure["within_goal"] = requests_figure["requests_per_transfer"] <= GOAL_REQUESTS

    actions: Counter[str] = Counter()
    for unit in units:
        actions.update(unit.actions)
    mean_units = statistics.fmean(unit.total for unit in units)
    units_figure: dict[str, Any] = {
        "write_units_per_transfer": mean_units,
        "write_units_per_transfer_max": max(unit.total for unit in units),
        "transactional_units_per_transfer": statistics.fmean(unit.transactional for unit in units),
        "index_units_per_transfer": statistics.fmean(unit.index for unit in units),
        "transact_items_per_transfer": statistics.fmean(sum(unit.actions.values()) for unit in units),
        "actions_per_transfer": {kind: count / len(units) for kind, count in actions.items()},
        "largest_item_bytes": max(unit.largest_item_bytes for unit in units),
        "write_units_per_transfer_if_index_writes_doubled": statistics.fmean(u.total_if_index_doubled for u in units),
        "record_item_bytes_by_attribute": record_bytes,
        "memo_bytes_before_record_exceeds_1kb": KB - (sum(record_bytes.values()) - record_bytes.get("memo", 0)),
        "max_memo_write_units": max_memo_units.total,
        "max_memo_largest_item_bytes": max_memo_units.largest_item_bytes,
        "dynamodb_local_consumed_capacity_per_transfer": statistics.fmean(local_units) if local_units else None,
        "dynamodb_local_consumed_capacity_max_memo": sum(float(c.get("CapacityUnits", 0)) for c in max_memo_consumed),
        "goal": GOAL_WRITE_UNITS,
    }
    units_figure["within_goal"] = units_figure["write_units_per_transfer_max"] <= GOAL_WRITE_UNITS
    units_figure["max_memo_within_goal"] = max_memo_units.total <= GOAL_WRITE_UNITS
    return requests_figure, units_figure, counted_requests[0]


# c: handler CPU against the bare stubbed call.


def measure_cpu(options: Options, pairs: Sequence[tuple[str, str]], payload: Mapping[str, Any]) -> dict[str, Any]:
    client = shared_client()
    bare_kwargs = {name: value for name, value in payload.items() if name != "ReturnConsumedCapacity"}
    n = options.cpu_calls
    bare: list[float] = []
    handler: list[float] = []
    sequence = 0

    def requests(count: int) -> list[Any]:
        nonlocal sequence
        made = [payment(*pairs[(sequence + i) % len(pairs)], sequence + i) for i in range(count)]
        sequence += count
        return made

    def time_bare() -> float:
        start = time.process_time()
        for _ in range(n):
            client.transact_write_items(**bare_kwargs)
        return (time.process_time() - start) / n

    def time_handler() -> float:
        batch = requests(n)  # built outside the timed loop, as the API view would hand them over
        start = time.process_time()
        for request in batch:
            transfer(request)
        return (time.process_time() - start) / n

    with stubbed_transactions(client) as leaked:
        for _ in range(max(10, n // 10)):  # warm both paths
            client.transact_write_items(**bare_kwargs)
        for request in requests(max(10, n // 10)):
            transfer(request)
        for round_ in range(options.cpu_rounds):
            if round_ % 2 == 0:
                bare.append(time_bare())
                handler.append(time_handler())
            else:
                handler.append(time_handler())
                bare.append(time_bare())
        if options.profile:
            profile_handler(requests(n))

    bare_us, handler_us = statistics.median(bare) * 1e6, statistics.median(handler) * 1e6
    ratio = handler_us / bare_us
    return {
        "handler_cpu_us_per_transfer": round(handler_us, 1),
        "bare_transact_write_items_cpu_us": round(bare_us, 1),
        "ratio": round(ratio, 3),
        "goal": GOAL_CPU_RATIO,
        "within_goal": ratio <= GOAL_CPU_RATIO,
        "calls_per_round": n,
        "rounds": options.cpu_rounds,
        "round_ratios": [round(h / b, 3) for h, b in zip(handler, bare, strict=True)],
        "bare_payload_transact_items": len(bare_kwargs["TransactItems"]),
        "network_requests_during_stub": dict(leaked),
    }


def profile_handler(batch: Sequence[Any]) -> None:
    profile_calls("stubbed transfers", batch, transfer)


# d: throughput on DynamoDB Local.


def compare_transfers(threads: int, seconds: float, make_request: Callable[[int, int], Any]) -> dict[str, Any]:
    """1 thread against `threads`, in ABBA order, each configuration for `seconds` in total."""

    def work(worker: int, sequence: int) -> None:
        transfer(make_request(worker, sequence))

    return compare_threads(threads, lambda count: run_threads(count, work, seconds=seconds / 2), "transfers")


def fund_pool() -> None:
    from chalicelib.config import settings
    from chalicelib.services import rewards

    rewards.fund_rewards_pool("bench-operator", WALLET_FUNDING * settings().platform_shards, "benchmark", None)


def run_all(options: Options, admin: Any, table_name: str) -> dict[str, Any]:
    from chalicelib.config import settings

    threads = options.threads
    pairs = [(new_wallet(f"Payer {i}"), new_wallet(f"Payee {i}")) for i in range(threads)]
    requests_figure, units_figure, payload = measure_requests_and_units(options, pairs, admin, table_name)

    distinct = compare_transfers(threads, options.phase_seconds, lambda w, s: payment(*pairs[w], s))
    fund_pool()
    pool_payees = [new_wallet(f"Helper {i}") for i in range(threads)]
    pool = compare_transfers(threads, options.phase_seconds, lambda w, s: reward(pool_payees[w], s))

    cpu = measure_cpu(options, pairs, payload)
    return {
        "requests_per_transfer": requests_figure["requests_per_transfer"],
        "write_units_per_transfer": units_figure["write_units_per_transfer"],
        "cpu_ratio": cpu["ratio"],
        "tps_ratio_distinct_wallets": distinct["ratio"],
        "tps_ratio_rewards_pool": pool["ratio"],
        "goals": {
            "requests_per_transfer": GOAL_REQUESTS,
            "write_units_per_transfer": GOAL_WRITE_UNITS,
            "cpu_ratio": GOAL_CPU_RATIO,
        },
        "within_goals": {
            "requests_per_transfer": requests_figure["within_goal"],
            "write_units_per_transfer": units_figure["within_goal"],
            "cpu_ratio": cpu["within_goal"],
        },
        "requests": requests_figure,
        "write_units": units_figure,
        "cpu": cpu,
        "throughput_distinct_wallets": distinct,
        "throughput_rewards_pool": {**pool, "pool_shards": settings().platform_shards},
        "ledger_balanced": ledger_balanced(),
        "dynamodb": "DynamoDB Local (one JVM on this machine): throughput figures are local only",
        "python": sys.version.split()[0],
    }


def main(argv: Sequence[str] | None = None) -> None:
    options = parse_options(argv)
    with bench_table(options.endpoint, "bench-ledger") as (admin, table_name):
        result = run_all(options, admin, table_name)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
