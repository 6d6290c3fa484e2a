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

import argparse
import contextlib
import copy
import cProfile
import json
import math
import os
import pstats
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools import devkeys, localstack, table

GOAL_REQUESTS = 1
GOAL_WRITE_UNITS = 8
GOAL_CPU_RATIO = 3.0
KB = 1024
WALLET_FUNDING = 100_000  # credits bought by every benchmark wallet (the default transfer ceiling)
MEMOS = ("Thanks for the coffee!", "", "Bike repair, as agreed", "Merci pour le coup de main", "Tip 🙏")
MAX_MEMO = "🎉" * 200  # the API's longest memo (200 characters), 4 UTF-8 bytes each

AttributeValue = Mapping[str, Any]
Item = Mapping[str, AttributeValue]


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
    parser = argparse.ArgumentParser(prog="python -m bench.ledger", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (smoke test): fewer transfers, 1 s phases")
    parser.add_argument("--transfers", type=int, help="transfers counted for requests and write units (default 200)")
    parser.add_argument("--cpu-calls", type=int, help="stubbed calls per CPU round and side (default 400)")
    parser.add_argument("--cpu-rounds", type=int, help="CPU rounds, alternating which side goes first (default 5)")
    parser.add_argument("--phase-seconds", type=float, help="seconds per throughput configuration (default 5)")
    parser.add_argument("--threads", type=int, default=8, help="threads in the concurrent configurations (default 8)")
    parser.add_argument(
        "--endpoint", help="use this DynamoDB Local instead of starting one (a table is made and dropped)"
    )
    parser.add_argument("--profile", action="store_true", help="print a cProfile of stubbed transfers to stderr")
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    return Options(
        transfers=args.transfers or (20 if quick else 200),
        cpu_calls=args.cpu_calls or (100 if quick else 400),
        cpu_rounds=args.cpu_rounds or (3 if quick else 5),
        phase_seconds=args.phase_seconds or (1.0 if quick else 5.0),
        threads=args.threads,
        endpoint=args.endpoint,
        profile=bool(args.profile),
    )


# Item size and write units, as DynamoDB counts them.


def _number_size(text: str) -> int:
    """1 byte per two significant digits, plus 1 byte (leading and trailing zeros do not count)."""
    digits = text.lstrip("+-").replace(".", "").lstrip("0")
    digits = digits.rstrip("0") if digits else ""
    return math.ceil(len(digits) / 2) + 1


def _binary_size(value: bytes | str) -> int:
    return len(value) if isinstance(value, bytes) else len(value.encode())


def value_size(value: AttributeValue) -> int:
    ((kind, data),) = value.items()
    if kind == "S":
        return len(str(data).encode())
    if kind == "N":
        return _number_size(str(data))
    if kind == "B":
        return _binary_size(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(element).encode()) for element in data)
    if kind == "NS":
        return sum(_number_size(str(element)) for element in data)
    if kind == "BS":
        return sum(_binary_size(element) for element in data)
    if kind == "L":
        return 3 + sum(1 + value_size(element) for element in data)
    if kind == "M":
        return 3 + sum(len(name.encode()) + 1 + value_size(element) for name, element in data.items())
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: Item) -> int:
    """Attribute names (UTF-8) plus values, per DynamoDB's item size rules."""
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def started_kb(size: int) -> int:
    return max(1, math.ceil(size / KB))


@dataclass(frozen=True)
class Index:
    name: str
    key_attributes: tuple[str, ...]


def table_indexes() -> list[Index]:
    return [
        Index(index["IndexName"], tuple(key["AttributeName"] for key in index["KeySchema"]))
        for index in table.table_definition()["GlobalSecondaryIndexes"]
    ]


@dataclass
class WriteUnits:
    transactional: int = 0  # 2 per started KB of every item the transaction writes
    index: int = 0  # 1 per started KB of every GSI entry written
    actions: Counter[str] = field(default_factory=Counter)
    largest_item_bytes: int = 0

    @property
    def total(self) -> int:
        return self.transactional + self.index

    @property
    def total_if_index_doubled(self) -> int:
        """The upper bound if index entries written by a transaction were billed at the transactional rate too."""
        return self.transactional + 2 * self.index


def _update_names(update: Mapping[str, Any]) -> set[str]:
    """Attribute names the UpdateExpression touches (placeholders resolved)."""
    names: Mapping[str, str] = update.get("ExpressionAttributeNames", {})
    tokens = re.findall(r"#?[A-Za-z_][A-Za-z0-9_]*", update.get("UpdateExpression", ""))
    return {names.get(token, token) for token in tokens}


def transact_write_units(
    params: Mapping[str, Any], indexes: Sequence[Index], stored_size: Callable[[str, Item], int | None]
) -> WriteUnits:
    """What AWS bills for one TransactWriteItems (on-demand or provisioned write units)."""
    units = WriteUnits()
    for action in params["TransactItems"]:
        ((kind, body),) = action.items()
        units.actions[kind] += 1
        if kind == "Put":
            size = item_size(body["Item"])
            units.transactional += 2 * started_kb(size)
            written = [index for index in indexes if all(key in body["Item"] for key in index.key_attributes)]
            units.index += len(written) * started_kb(size)  # ALL projection: the entry is the whole item
        else:
            size = stored_size(body["TableName"], body["Key"]) or item_size(body["Key"])
            units.transactional += 2 * started_kb(size)
            if kind == "Update":
                touched = _update_names(body)
                for index in indexes:
                    if touched.intersection(index.key_attributes):
                        # Setting an index key may move the entry (delete + put): counted as two writes.
                        units.index += 2 * started_kb(size)
        units.largest_item_bytes = max(units.largest_item_bytes, size)
    return units


# Event handlers on the shared botocore client.


class _Http:
    """What botocore needs of an HTTP response when a before-call handler answers instead of the network."""

    status_code = 200
    headers: Mapping[str, str] = {}
    content = b""


class Recorder:
    """Counts DynamoDB API calls (by operation) and HTTP attempts, and keeps TransactWriteItems requests."""

    def __init__(self, client: Any, *, consumed_capacity: bool) -> None:
        self._client = client
        self._consumed_capacity = consumed_capacity
        self._id = f"bench-recorder-{uuid.uuid4().hex}"
        self.calls: Counter[str] = Counter()
        self.http_attempts = 0
        self.requests: list[dict[str, Any]] = []
        self.consumed: list[list[dict[str, Any]]] = []

    def _params(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "TransactWriteItems":
            self.requests.append(copy.deepcopy(params))  # as the application built it
            if self._consumed_capacity:
                params["ReturnConsumedCapacity"] = "INDEXES"

    def _call(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def _send(self, **_: Any) -> None:
        self.http_attempts += 1

    def _after(self, parsed: Mapping[str, Any], model: Any, **_: Any) -> None:
        if model.name == "TransactWriteItems" and self._consumed_capacity:
            self.consumed.append(list(parsed.get("ConsumedCapacity", [])))

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @contextlib.contextmanager
    def recording(self) -> Iterator[Recorder]:
        events = self._client.meta.events
        hooks: list[tuple[str, Callable[..., None]]] = [
            ("provide-client-params.dynamodb", self._params),
            ("before-call.dynamodb", self._call),
            ("before-send.dynamodb", self._send),
            ("after-call.dynamodb", self._after),
        ]
        for event, handler in hooks:
            events.register(event, handler, unique_id=f"{self._id}-{event}")
        try:
            yield self
        finally:
            for event, handler in hooks:
                events.unregister(event, handler, unique_id=f"{self._id}-{event}")


@contextlib.contextmanager
def stubbed_transactions(client: Any) -> Iterator[Counter[str]]:
    """TransactWriteItems answered with an empty success before any network; any request that still
    reaches the network is counted by operation (it must stay zero)."""
    leaked: Counter[str] = Counter()
    answer = (_Http(), {"ResponseMetadata": {"HTTPStatusCode": 200, "HTTPHeaders": {}, "RetryAttempts": 0}})
    stub_id, leak_id = f"bench-stub-{uuid.uuid4().hex}", f"bench-leak-{uuid.uuid4().hex}"

    def stub(**_: Any) -> tuple[_Http, dict[str, Any]]:
        return answer

    def leak(model: Any, **_: Any) -> None:
        leaked[model.name] += 1

    events = client.meta.events
    events.register("before-call.dynamodb.TransactWriteItems", stub, unique_id=stub_id)
    events.register("before-send.dynamodb", leak, unique_id=leak_id)
    try:
        yield leaked
    finally:
        events.unregister("before-call.dynamodb.TransactWriteItems", stub, unique_id=stub_id)
        events.unregister("before-send.dynamodb", leak, unique_id=leak_id)


# The ledger, through the application's own services.


def configure(endpoint: str, table_name: str, scratch: Path) -> None:
    from chalicelib import config
    from chalicelib.adapters.dynamodb import store

    env = devkeys.local_env(devkeys.ensure_local_secrets(scratch), dynamodb_endpoint=endpoint, table_name=table_name)
    os.environ.update(env)
    config.reset()
    store.reset()
    store.ready()


def shared_client() -> Any:
    from chalicelib.adapters.dynamodb import models

    return models.connection().client


def new_wallet(label: str) -> str:
    """A member (profile + wallet, as the first authenticated call makes them) with bought credits."""
    from chalicelib import clock
    from chalicelib.adapters.dynamodb import member_repository
    from chalicelib.domain.ledger import PlatformAccount, TransferKind, TransferRequest
    from chalicelib.domain.members import Member
    from chalicelib.services import ledger

    member_id = str(uuid.uuid4())  # shaped like a Cognito sub
    member_repository.create_if_absent(Member(member_id=member_id, display_name=label, created_at=clock.now_iso()))
    account = "member:" + member_id
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

    sizes: dict[str, int | None] = {}

    def stored_size(table_name: str, key: Item) -> int | None:
        cache_key = json.dumps([table_name, key], sort_keys=True)
        if cache_key not in sizes:  # read with the separate admin client: not counted above
            found = admin.get_item(TableName=table_name, Key=dict(key), ConsistentRead=True).get("Item")
            sizes[cache_key] = item_size(found) if found else None
        return sizes[cache_key]

    indexes = table_indexes()
    units = [transact_write_units(request, indexes, stored_size) for request in counted_requests]
    max_memo_units = transact_write_units(max_memo_request, indexes, stored_size)
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
    profiler = cProfile.Profile()
    profiler.enable()
    for request in batch:
        transfer(request)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stderr)
    print(f"cProfile of {len(batch)} stubbed transfers, by own time:", file=sys.stderr)
    stats.sort_stats("tottime").print_stats(25)
    print("by cumulative time:", file=sys.stderr)
    stats.sort_stats("cumulative").print_stats(30)


# d: throughput on DynamoDB Local.


@dataclass
class Run:
    transfers: int = 0
    errors: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    error_samples: list[str] = field(default_factory=list)

    def add(self, other: Run) -> None:
        self.transfers += other.transfers
        self.errors += other.errors
        self.seconds += other.seconds
        self.cpu_seconds += other.cpu_seconds
        self.error_samples = (self.error_samples + other.error_samples)[:3]

    @property
    def per_second(self) -> float:
        return self.transfers / self.seconds if self.seconds else 0.0


def run_threads(threads: int, seconds: float, make_request: Callable[[int, int], Any]) -> Run:
    stop = threading.Event()
    start_line = threading.Barrier(threads + 1)
    done = [0] * threads
    failed = [0] * threads
    samples: list[str] = []

    def work(worker: int) -> None:
        start_line.wait()
        sequence = 0
        while not stop.is_set():
            try:
                transfer(make_request(worker, sequence))
                done[worker] += 1
            except Exception as error:
                failed[worker] += 1
                if len(samples) < 3:
                    samples.append(f"{type(error).__name__}: {error}")
            sequence += 1

    workers = [threading.Thread(target=work, args=(index,), daemon=True) for index in range(threads)]
    for worker in workers:
        worker.start()
    start_line.wait()
    wall, cpu = time.perf_counter(), time.process_time()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join()
    return Run(sum(done), sum(failed), time.perf_counter() - wall, time.process_time() - cpu, samples)


def compare_threads(threads: int, seconds: float, make_request: Callable[[int, int], Any]) -> dict[str, Any]:
    """1 thread against `threads`, in ABBA order, each configuration for `seconds` in total."""
    single, many = Run(), Run()
    for configuration in (single, many, many, single):
        count = 1 if configuration is single else threads
        configuration.add(run_threads(count, seconds / 2, make_request))
    return {
        "threads": threads,
        "transfers_per_second_1_thread": round(single.per_second, 1),
        f"transfers_per_second_{threads}_threads": round(many.per_second, 1),
        "ratio": round(many.per_second / single.per_second, 3) if single.per_second else None,
        "transfers": single.transfers + many.transfers,
        "errors": single.errors + many.errors,
        "error_samples": single.error_samples + many.error_samples,
        "client_cpu_share_1_thread": round(single.cpu_seconds / single.seconds, 3) if single.seconds else None,
        f"client_cpu_share_{threads}_threads": round(many.cpu_seconds / many.seconds, 3) if many.seconds else None,
    }


def fund_pool() -> None:
    from chalicelib.config import settings
    from chalicelib.services import rewards

    rewards.fund_rewards_pool("bench-operator", WALLET_FUNDING * settings().platform_shards, "benchmark", None)


def ledger_balanced() -> bool:
    """Double entry survived: every balance sums to zero and available = posted - held everywhere."""
    from chalicelib.adapters.dynamodb import ledger_repository

    balances, _, _ = ledger_repository.scan_all()
    return sum(b.posted for b in balances) == 0 and all(b.available == b.posted - b.held for b in balances)


def run_all(options: Options, admin: Any, table_name: str) -> dict[str, Any]:
    from chalicelib.config import settings

    threads = options.threads
    pairs = [(new_wallet(f"Payer {i}"), new_wallet(f"Payee {i}")) for i in range(threads)]
    requests_figure, units_figure, payload = measure_requests_and_units(options, pairs, admin, table_name)

    distinct = compare_threads(threads, options.phase_seconds, lambda w, s: payment(*pairs[w], s))
    fund_pool()
    pool_payees = [new_wallet(f"Helper {i}") for i in range(threads)]
    pool = compare_threads(threads, options.phase_seconds, lambda w, s: reward(pool_payees[w], s))

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
    with contextlib.ExitStack() as stack:
        endpoint = options.endpoint or stack.enter_context(localstack.dynamodb_local())
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pwiic-bench-")))
        admin = table.dynamodb_client(endpoint)
        table_name = f"bench-ledger-{uuid.uuid4().hex[:12]}"
        table.ensure_table(admin, table_name)
        stack.callback(_drop_table, admin, table_name)  # runs before a DynamoDB Local we started is stopped
        configure(endpoint, table_name, scratch)
        result = run_all(options, admin, table_name)
    print(json.dumps(result))


def _drop_table(admin: Any, table_name: str) -> None:
    with contextlib.suppress(Exception):
        admin.delete_table(TableName=table_name)


if __name__ == "__main__":
    main()
