"""Reconciliation that scales: what the stream-driven proof costs for the same new transfers whatever the
ledger's history, and what the full audit costs to set its base.

For each history size (`--history`, default 10,000 and 200,000 transfer records), in a table of its own on
DynamoDB Local:

a. History: N consistent transfer records (the rewards pool funded from issuance, a reward to every
   wallet, then payments between random wallets, dated over the last 30 days) and the balance items they
   add up to, written with BatchWriteItem on a client of the benchmark's own (not measured). The old
   hourly reconciliation read the whole table four times: its read units are computed from the items'
   sizes (four eventually consistent Scans), for contrast.
b. The base: the full audit (`services/ledger_audit.py`), run slice by slice with its time budget as
   the scheduled job runs it: invocations, the longest one against the budget, requests and read units.
c. The stream is taken at LATEST after loading; the hourly job runs once to set its checkpoint. Then
   `--new` real transfers (`services/ledger.transfer`, the same seeded ones at every size, between the
   same number of active wallets), their real stream records fed to the Lambda handler
   (`app.table_changes`), and the hourly job (`services/reconciliation.run`): requests, read and write
   units of both, as AWS bills them (bench/_harness.py). DynamoDB Local's stream has one shard, where
   the parts of a transaction arrive together and cancel out; AWS spreads a table's partitions over
   several shards, so each batch is split by partition key over `--shards` (4) as AWS would deliver it.

d. The public books: the next day (the clock moved past its end), the same job closes the day of the new
   transfers and publishes it (`domain/books.py`): requests, read and write units of that run, the periods
   written, and the books' whole cost (the handler, the job and the closing run) per new ledger record.

The headline `incremental_cost_ratio_<largest>_vs_<smallest>` is the billed units (read + write) of the
handler and the job at the largest history over the smallest: ~1.0 when the cost follows what changed;
`books_cost_ratio_<largest>_vs_<smallest>` is the same for closing the day.

Usage: python -m bench.reconciliation [--quick] [--history 10000,200000] [--new 1000] [--endpoint URL]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import random
import sys
import time
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bench._harness import READ_UNIT_BYTES, Meter, bench_table, item_size, shared_client, summary
from tools import localstack

GOAL_RATIO = (0.9, 1.1)
ACTIVE_WALLETS = 200  # the wallets the new transfers move between, at every size
WALLETS_PER_RECORDS = 100  # the history has one wallet per this many records (at least ACTIVE_WALLETS)
POOL_SHARDS = 8  # the rewards pool's and issuance's shards the history uses (2 with --quick)
BATCH_WRITE = 25  # items per BatchWriteItem


@dataclass(frozen=True)
class Options:
    history: tuple[int, ...]
    new: int
    active: int
    audit_budget: float
    shards: int
    pool_shards: int
    endpoint: str | None


def parse_options(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.reconciliation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (smoke test)")
    parser.add_argument("--history", help="transfer records of history, comma-separated (default 10000,200000)")
    parser.add_argument("--new", type=int, help="new transfers to reconcile (default 1000)")
    parser.add_argument("--audit-budget", type=float, help="seconds per audit invocation (default: the configured)")
    parser.add_argument("--shards", type=int, default=4, help="stream shards the records are spread over (4)")
    parser.add_argument("--endpoint", help="use this DynamoDB Local instead of starting one")
    args = parser.parse_args(argv)
    default = "100,200" if args.quick else "10000,200000"
    history = tuple(sorted(int(size) for size in (args.history or default).split(",")))
    if len(history) < 2 or history[0] <= 0:
        parser.error("--history needs at least two positive sizes")
    new = args.new or (10 if args.quick else 1000)
    active = 8 if args.quick else ACTIVE_WALLETS
    budget = args.audit_budget or (0.5 if args.quick else 0.0)  # 0: the configured budget (12 s)
    pool_shards = 2 if args.quick else POOL_SHARDS
    return Options(history, new, active, budget, max(args.shards, 1), pool_shards, args.endpoint)


# The history, written directly


@dataclass
class History:
    records: int
    wallets: list[str]
    bytes: int = 0


def write_history(admin: Any, table_name: str, records: int, options: Options) -> History:
    """`records` consistent transfer records and the balances they add up to, as the ledger writes them."""
    from chalicelib import clock
    from chalicelib.adapters.dynamodb import keys, ledger_repository
    from chalicelib.adapters.dynamodb.models import AccountItem
    from chalicelib.domain.ledger import TransferKind, TransferRequest

    rng = random.Random(records)
    wallets = [f"member:bench-{index:06d}" for index in range(max(options.active, records // WALLETS_PER_RECORDS))]
    shards = options.pool_shards
    pool = [f"platform:rewards.{shard}" for shard in range(shards)]
    issuance = [f"platform:issuance.{shard}" for shard in range(shards)]
    moves: list[tuple[str, str, str, int, TransferKind]] = []
    reward = 1_000_000
    for shard in range(shards):
        funded = reward * math.ceil(len(wallets) / shards)
        moves.append((f"funding:bench:{shard}", issuance[shard], pool[shard], funded, TransferKind.POOL_FUNDING))
    for index, wallet in enumerate(wallets):
        moves.append((f"reward:bench:{index}", pool[index % shards], wallet, reward, TransferKind.REWARD))
    while len(moves) < records:
        payer, payee = rng.sample(wallets, 2)
        moves.append((f"pay:bench:{len(moves)}", payer, payee, rng.randint(1, 50), TransferKind.PAYMENT))
    start = clock.now() - timedelta(days=30)
    step = timedelta(days=30) / len(moves)
    posted: dict[str, int] = {}
    items: list[Any] = []
    for number, (transfer_id, payer, payee, amount, kind) in enumerate(moves):
        request = TransferRequest(transfer_id, payer.split(".")[0], payee.split(".")[0], amount, kind)
        items.append(ledger_repository.record_item(request, payer, payee, clock.iso(start + number * step)))
        posted[payer] = posted.get(payer, 0) - amount
        posted[payee] = posted.get(payee, 0) + amount
    moved_at = clock.iso(start + len(moves) * step)
    for account, balance in posted.items():
        items.append(
            AccountItem(
                keys.account_pk(account),
                keys.BALANCE_SK,
                account_id=account,
                posted=balance,
                held=0,
                available=balance,
                created_at=clock.iso(start),
                moved_at=moved_at,
            )
        )
    raw = [item.serialize() for item in items]
    batches = [raw[index : index + BATCH_WRITE] for index in range(0, len(raw), BATCH_WRITE)]
    with ThreadPoolExecutor(8) as pool_of_writers:
        list(pool_of_writers.map(lambda batch: _write(admin, table_name, batch), batches))
    return History(len(moves), wallets, sum(item_size(item) for item in raw))


def _write(admin: Any, table_name: str, batch: list[dict[str, Any]]) -> None:
    requests = {table_name: [{"PutRequest": {"Item": item}} for item in batch]}
    while requests:
        requests = admin.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}


def old_reconciliation_read_units(history: History) -> float:
    """The old hourly job's four Scans (balances, transfers, holds, purchases), each reading every item of
    the table: eventually consistent, half a unit per 4 KB read."""
    return 4 * math.ceil(history.bytes / READ_UNIT_BYTES) * 0.5


# The measured phases


class Sharded:
    """The local stream's batches split as AWS would deliver them: each partition key's records on one of
    `shards` shards, in order (one batch per shard and page)."""

    def __init__(self, reader: Any, shards: int) -> None:
        self.reader = reader
        self.shards = shards

    def batches(self) -> list[dict[str, Any]]:
        split = []
        for event in self.reader.batches():
            by_shard: dict[int, list[dict[str, Any]]] = {}
            for record in event["Records"]:
                partition = json.dumps(record["dynamodb"]["Keys"]["PK"], sort_keys=True).encode()
                by_shard.setdefault(zlib.crc32(partition) % self.shards, []).append(record)
            split += [{"Records": records} for _, records in sorted(by_shard.items())]
        return split


def run_audit(meter: Meter, admin: Any, budget: float) -> dict[str, Any]:
    from chalicelib.services import ledger_audit

    ledger_audit.start("bench")
    samples, report, seconds = [], None, []
    while report is None:
        started = time.perf_counter()
        sample, state = meter.measure(lambda: ledger_audit.advance(budget))
        seconds.append(time.perf_counter() - started)
        samples.append(sample)
        report = state.report if state is not None else None
    figures = summary(samples, "invocation", admin)
    invocations = len(samples)
    return {
        "balanced": report.balanced,
        "accounts": report.accounts,
        "transfers_before_base": report.transfers,
        "invocations": invocations,
        "budget_seconds": budget,
        "seconds_max": round(max(seconds), 3),
        "seconds_max_over_budget": round(max(seconds) / budget, 3),
        "requests": round(figures["requests_per_invocation"] * invocations),
        "requests_by_operation": {
            op: round(count * invocations) for op, count in figures["requests_by_operation"].items()
        },
        "read_units": round(figures["read_units"] * invocations, 1),
        "write_units": round(figures.get("write_units", 0.0) * invocations, 1),
        "mismatches": [[mismatch.account_id, mismatch.check] for mismatch in report.mismatches[:5]],
    }


def run_incremental(meter: Meter, admin: Any, reader: Any, options: Options, wallets: list[str]) -> dict[str, Any]:
    import app
    from chalicelib.domain.ledger import TransferKind, TransferRequest
    from chalicelib.services import ledger, reconciliation
    from tools.jobs import deliver

    quiet = {"settle": timedelta(0), "write_margin": timedelta(0)}
    reader = Sharded(reader, options.shards)
    _clear_of_the_hour()
    deliver(reader, app.table_changes)  # what the audit wrote: nothing the reconciliation follows
    reconciliation.run(**quiet)  # the previous hourly run: the checkpoint's cut
    rng = random.Random(7)
    active = wallets[: options.active]
    for number in range(options.new):
        payer, payee = rng.sample(active, 2)
        ledger.transfer(TransferRequest(f"new:{number}", payer, payee, 1, TransferKind.PAYMENT))
    handler, records = meter.measure(lambda: deliver(reader, app.table_changes))
    job, report = meter.measure(lambda: reconciliation.run(**quiet))
    closing, closed = meter.measure(lambda: _close_next_day(quiet))
    phases = {"handler": summary([handler], "run", admin), "job": summary([job], "run", admin)}
    books = _brief(summary([closing], "run", admin))
    books_units = books["read_units"] + books["write_units"]
    total = {
        "requests": sum(phase["requests_per_run"] for phase in phases.values()),
        "read_units": round(sum(phase["read_units"] for phase in phases.values()), 1),
        "write_units": round(sum(phase.get("write_units", 0.0) for phase in phases.values()), 1),
    }
    return {
        **total,
        "units": round(total["read_units"] + total["write_units"], 1),
        "stream_records": records,
        "report_balanced": report.balanced,
        "report_transfers": report.transfers,
        "handler": _brief(phases["handler"]),
        "job": _brief(phases["job"]),
        "books": {
            "close_day": books,
            "close_day_units": round(books_units, 1),
            "periods_written": closed,
            "units_per_new_record": round((total["read_units"] + total["write_units"] + books_units) / options.new, 3),
        },
    }


def _close_next_day(quiet: dict[str, timedelta]) -> int:
    """The hourly job the next day, once the day of the new transfers is over: it publishes that day."""
    from chalicelib import clock
    from chalicelib.adapters.dynamodb import books_repository
    from chalicelib.services import reconciliation

    today = clock.now()
    moved = today + timedelta(days=1, hours=2)
    real_now = clock.now
    clock.now = lambda: moved
    try:
        reconciliation.run(**quiet)
    finally:
        clock.now = real_now
    day = today.date().isoformat()
    return len(books_repository.periods(books_repository.DAY, day, day)) + len(
        books_repository.periods(books_repository.MONTH, day[:7], day[:7])
    )


def _clear_of_the_hour() -> None:
    """The job reads one index partition per bucket and hour since its last run: a phase that straddles an
    hour reads both hours' (4 more Queries). Phases here last seconds: start them clear of the hour."""
    from chalicelib import clock

    now = clock.system_now()
    if now.minute == 59 and now.second >= 30:
        time.sleep(60 - now.second + 1)


def _brief(figures: dict[str, Any]) -> dict[str, Any]:
    return {
        "requests": figures["requests_per_run"],
        "requests_by_operation": figures["requests_by_operation"],
        "read_units": figures["read_units"],
        "write_units": figures.get("write_units", 0.0),
        "largest_item_bytes": figures.get("largest_item_bytes"),
    }


def measure_size(endpoint: str, options: Options, records: int) -> dict[str, Any]:
    from chalicelib.config import settings
    from tools.streams import StreamReader

    with bench_table(endpoint, "bench-recon") as (admin, table_name):
        started = time.perf_counter()
        history = write_history(admin, table_name, records, options)
        loaded = time.perf_counter() - started
        reader = StreamReader(endpoint, table_name, start="LATEST")
        meter = Meter(shared_client(), admin, table_name)
        budget = options.audit_budget or settings().audit_budget_seconds
        with meter.metering():
            audit = run_audit(meter, admin, budget)
        meter = Meter(shared_client(), admin, table_name)  # a fresh log for the incremental phase
        with meter.metering():
            incremental = run_incremental(meter, admin, reader, options, history.wallets)
        print(f"history {records}: loaded in {loaded:.0f} s, audit {audit['invocations']} invocations", file=sys.stderr)
        return {
            "history_records": history.records,
            "wallets": len(history.wallets),
            "history_bytes": history.bytes,
            "load_seconds": round(loaded, 1),
            "incremental": incremental,
            "audit": audit,
            "old_full_reconciliation_read_units": old_reconciliation_read_units(history),
        }


def label(size: int) -> str:
    return f"{size // 1000}k" if size % 1000 == 0 else str(size)


def run_all(endpoint: str, options: Options) -> dict[str, Any]:
    sizes = {str(size): measure_size(endpoint, options, size) for size in options.history}
    smallest, largest = sizes[str(options.history[0])], sizes[str(options.history[-1])]
    ratios = {
        figure: round(largest["incremental"][figure] / smallest["incremental"][figure], 3)
        if smallest["incremental"][figure]
        else None
        for figure in ("units", "requests", "read_units", "write_units")
    }
    ratio = ratios["units"]
    name = f"incremental_cost_ratio_{label(options.history[-1])}_vs_{label(options.history[0])}"
    books_units = [size["incremental"]["books"]["close_day_units"] for size in (smallest, largest)]
    books_ratio = round(books_units[1] / books_units[0], 3) if books_units[0] else None
    return {
        name: ratio,
        f"books_cost_ratio_{label(options.history[-1])}_vs_{label(options.history[0])}": books_ratio,
        "books_units_per_new_record": {
            key: size["incremental"]["books"]["units_per_new_record"] for key, size in sizes.items()
        },
        "incremental_cost_ratio": ratio,
        "incremental_ratios": ratios,
        "new_transfers": options.new,
        "stream_shards": options.shards,
        "goals": {"incremental_cost_ratio": list(GOAL_RATIO), "books_cost_ratio": list(GOAL_RATIO)},
        "within_goals": {
            "incremental_cost_ratio": ratio is not None and GOAL_RATIO[0] <= ratio <= GOAL_RATIO[1],
            "books_cost_ratio": books_ratio is not None and GOAL_RATIO[0] <= books_ratio <= GOAL_RATIO[1],
            "books_published_the_day": all(
                size["incremental"]["books"]["periods_written"] >= 1 for size in sizes.values()
            ),
            "audits_balanced": all(size["audit"]["balanced"] for size in sizes.values()),
            "incremental_balanced": all(
                size["incremental"]["report_balanced"] and size["incremental"]["report_transfers"] == options.new
                for size in sizes.values()
            ),
        },
        "sizes": sizes,
        "dynamodb": "DynamoDB Local (one JVM here): requests and units as AWS bills them, seconds local only",
        "python": sys.version.split()[0],
    }


@contextlib.contextmanager
def _dynamodb(endpoint: str | None) -> Iterator[str]:
    if endpoint:
        yield endpoint
    else:
        with localstack.dynamodb_local() as url:
            yield url


def main(argv: Sequence[str] | None = None) -> None:
    options = parse_options(argv)
    with _dynamodb(options.endpoint) as endpoint, contextlib.redirect_stdout(sys.stderr):  # the app's logs
        result = run_all(endpoint, options)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
