"""Cooperative governance: DynamoDB requests, billed write units and reads per vote, votes per second on
one ballot, and the cost of the official recount (the close) per 10,000 ballots.

Runs the real application against DynamoDB Local, in a table of its own created from infra/template.json,
and prints one JSON object on stdout:

a. Per vote over HTTP (PUT /ballots/{id}/vote through `app.app` and `chalice.test.Client`), in steady
   state: a first named vote, the same voter changing it, a first secret vote (a sealed ballot under the
   receipt's hash) and a first vote by proxy (`on_behalf_of`). DynamoDB requests by operation (botocore
   event handlers on the client every model shares), items per transaction, billed write units (the
   harness' formula, from the requests sent) and the reads with their read units.
b. Votes per second on ONE open ballot (`ballots.cast`, the service the route calls: no HTTP, so the
   client's CPU stays out of the way), 8 threads against 1 (ABBA), every vote by a distinct voter on the
   roll: transaction conflicts and retries seen, and the participation counters written (sharded over
   `keys.BALLOT_COUNT_SHARDS` items per college): how many distinct counter items take the votes.
c. The official recount (`ballots.close`) of a named ballot and of a secret ballot holding N ballots
   (10,000; 500 with --quick), loaded in batches with the repository's own writes of a vote (roll
   entries, sealed ballots, participation counters), exactly as votes leave them. Requests, consistent
   Query pages and read units of the close, scaled per 10,000 ballots; its time as a ratio against
   replaying the very reads it makes (the same requests on the same client), interleaved over rounds;
   and that the stored result counts every ballot, with the digest of the ballots loaded.
d. The result's notification to everyone on the roll: the stream handler's fan-out (`notifications.observe`
   of the result's change: one Query of the roll, then one conditional put per member) for a roll of N
   members (2,000; 100 with --quick), its members written STORE_CONCURRENCY at a time against one at a
   time (ABBA), in seconds per 1,000 members, and the time a 2,000-member roll takes against the stream
   handler's timeout.

Usage: python -m bench.governance [--quick] [--endpoint URL] [--profile]
(--cpu-calls does not apply; --cpu-rounds sets the recount's timed rounds, default 5, 2 with --quick.)
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import random
import secrets
import statistics
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bench._harness import (
    KB,
    READ_OPERATIONS,
    Api,
    Meter,
    Recorder,
    Run,
    Sample,
    app_log_to,
    bench_parser,
    bench_table,
    compare_threads,
    item_size,
    profile_calls,
    run_threads,
    secrets_root,
    shared_client,
    summary,
    transact_actions,
)

GOAL_WRITE_REQUESTS_PER_VOTE = 1  # one atomic write: a TransactWriteItems, or one conditional PutItem
GOAL_TRANSACTIONS_PER_FIRST_VOTE = 1  # the roll entry, its sealed ballot or proxy check, and one counter
PER_BALLOTS = 10_000  # recount figures are given per this many ballots
ROLL_TOLD = 2_000  # members told of a result in section d
STREAM_HANDLER_TIMEOUT_SECONDS = 20  # .chalice/config.json's lambda_timeout of table_changes
OPERATOR = "bench-operator"
COLLEGES = (("users", "Users", 50), ("pros", "Local professionals", 30), ("staff", "Staff", 20))
SECRET_OPTIONS = (("garden", "Shared garden"), ("tools", "Tool library"), ("repair", "Repair café"))
VOTE_KINDS = ("first_named", "changed_named", "secret", "proxy")
LOAD_BATCH = 1_000
LOAD_THREADS = 4
PAGE_BYTES = 1024 * KB  # a Query page stops at 1 MB of items read
PARTITION_KEY_WRITE_UNITS = 1_000  # per second, what AWS lets one partition key take (before any split for heat)


@dataclass(frozen=True)
class Options:
    votes: int
    throughput_votes: int
    threads: int
    ballots: int
    roll: int
    rounds: int
    endpoint: str | None
    profile: bool


def parse_options(argv: Sequence[str] | None) -> Options:
    parser = bench_parser("governance", __doc__ or "", profiled="closes", cpu_calls=0)
    parser.add_argument("--votes", type=int, help="counted votes of each kind over HTTP (default 20)")
    parser.add_argument(
        "--throughput-votes", type=int, help="votes per throughput pass, each configuration twice (default 400)"
    )
    parser.add_argument("--threads", type=int, default=8, help="threads in the concurrent configuration (default 8)")
    parser.add_argument("--ballots", type=int, help=f"ballots in each recounted ballot box (default {PER_BALLOTS})")
    parser.add_argument("--roll", type=int, help="members told of a result (default 2,000)")
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    return Options(
        votes=args.votes or (3 if quick else 20),
        throughput_votes=args.throughput_votes or (40 if quick else 400),
        threads=args.threads,
        ballots=args.ballots or (500 if quick else PER_BALLOTS),
        roll=args.roll or (100 if quick else ROLL_TOLD),
        rounds=args.cpu_rounds or (2 if quick else 5),
        endpoint=args.endpoint,
        profile=bool(args.profile),
    )


# The cooperative: colleges, ballots opened with a roll of our choosing.


def set_colleges() -> None:
    from chalicelib.domain.governance import College
    from chalicelib.services import governance

    governance.set_colleges(OPERATOR, [College(*college) for college in COLLEGES], "benchmark statutes")


def open_ballot(secret: bool, title: str) -> Any:
    """A ballot created by the service and opened now (the roll frozen from the active cooperators)."""
    from chalicelib import clock
    from chalicelib.domain.governance import BallotKind, Option, Rules
    from chalicelib.services import ballots

    now = clock.now()
    if secret:
        options = tuple(Option(option_id, label) for option_id, label in SECRET_OPTIONS)
        rules = Rules(kind=BallotKind.SINGLE, options=options, secret=True)
    else:
        rules = Rules(kind=BallotKind.YES_NO)
    draft = ballots.BallotDraft(
        title=title,
        description="A question put to the cooperators by the benchmark.",
        rules=rules,
        opens_at=clock.iso(now + timedelta(seconds=1)),
        closes_at=clock.iso(now + timedelta(days=1)),
    )
    return ballots.open_ballot(ballots.create(OPERATOR, draft, "benchmark"))


def set_eligible(ballot: Any, eligible: Mapping[str, int]) -> Any:
    """The ballot as if its roll had been frozen with these voters (the roll is written apart)."""
    from msgspec.structs import replace

    from chalicelib.adapters.dynamodb import governance_repository as repository
    from chalicelib.services import transaction

    after = replace(ballot, eligible=dict(eligible), version=ballot.version + 1)
    transaction.run(lambda uow: repository.add_ballot(uow, after, ballot))
    return after


def college_of(sequence: int) -> str:
    return COLLEGES[sequence % len(COLLEGES)][0]


def synthetic_voter() -> str:
    """A voter on a roll the benchmark writes: an id shaped like a Cognito sub, no profile needed."""
    return str(uuid.uuid4())


# d: a result told to the roll.


def measure_result_fanout(options: Options) -> dict[str, Any]:
    """The stream handler's fan-out of a result, STORE_CONCURRENCY members at a time against one at a time,
    in ABBA order; each pass tells the same roll of a new result (a new time: new notifications)."""
    from chalicelib import clock
    from chalicelib.adapters.dynamodb import governance_repository as repository
    from chalicelib.domain.changes import Change, ResultStored
    from chalicelib.domain.governance import RollEntry
    from chalicelib.domain.notifications import Kind
    from chalicelib.services import notifications

    ballot = open_ballot(False, "Paint the shared workshop")
    entries = [
        RollEntry(ballot.ballot_id, synthetic_voter(), college_of(i), ballot.closes_at) for i in range(options.roll)
    ]
    repository.write_roll(entries)
    concurrent = notifications.STORE_CONCURRENCY
    seconds: dict[int, list[float]] = defaultdict(list)
    for number, workers in enumerate((1, concurrent, concurrent, 1)):
        closed_at = clock.iso(clock.now() + timedelta(seconds=number))
        change = Change(
            f"bench-{number}", str(number), closed_at, ResultStored(ballot.ballot_id, closed_at, True, False)
        )
        notifications.STORE_CONCURRENCY = workers
        try:
            started = time.perf_counter()
            notifications.observe([change])
            seconds[workers].append(time.perf_counter() - started)
        finally:
            notifications.STORE_CONCURRENCY = concurrent
    told = sum(
        1
        for entry in entries[:20]
        for stored, _ in notifications.page(entry.member_id, None, 10).items
        if stored.kind is Kind.BALLOT_RESULT
    )
    per_thousand = {workers: statistics.mean(found) / options.roll * 1000 for workers, found in seconds.items()}
    roll_seconds = per_thousand[concurrent] * ROLL_TOLD / 1000
    return {
        "roll": options.roll,
        "seconds_per_1000_members": {
            f"{workers}_at_a_time": round(found, 3) for workers, found in per_thousand.items()
        },
        "speedup": round(per_thousand[1] / per_thousand[concurrent], 2),
        f"seconds_for_{ROLL_TOLD}_members": round(roll_seconds, 2),
        "handler_timeout_seconds": STREAM_HANDLER_TIMEOUT_SECONDS,
        "within_timeout": roll_seconds < STREAM_HANDLER_TIMEOUT_SECONDS / 2,
        "every_member_told_each_pass": told == 4 * min(20, options.roll),
    }


# a: votes over HTTP.


def add_cooperator(api: Api, label: str, college_id: str) -> str:
    """A member (made by their first call of the day, uncounted) placed in a college by an operator."""
    from chalicelib.auth import Principal
    from chalicelib.services import governance, members

    member_id = str(uuid.uuid4())
    members.ensure_member(Principal(member_id, frozenset(), label))
    api.add_member(member_id, label)
    status, body = api.call("GET", "/me", member_id)
    assert status == 200, body
    governance.place(OPERATOR, member_id, college_id, "benchmark assembly")
    return member_id


def measure_votes(options: Options, api: Api, meter: Meter, admin: Any) -> dict[str, Any]:
    """Voter i of each kind (i = 0 warms every path, uncounted): a first named vote and its change, a
    first secret vote, and holder i voting for principal i (same college) with a proxy for every ballot."""
    from chalicelib.services import governance

    n = options.votes + 1
    named_voters = [add_cooperator(api, f"Named {i}", college_of(i)) for i in range(n)]
    secret_voters = [add_cooperator(api, f"Secret {i}", college_of(i)) for i in range(n)]
    principals = [add_cooperator(api, f"Principal {i}", college_of(i)) for i in range(n)]
    holders = [add_cooperator(api, f"Holder {i}", college_of(i)) for i in range(n)]
    for principal, holder in zip(principals, holders, strict=True):
        governance.give_proxy(principal, holder, None)
    named = open_ballot(False, "Lengthen the review window").ballot_id
    secret = open_ballot(True, "This year's project").ballot_id

    samples: dict[str, list[Sample]] = {kind: [] for kind in VOTE_KINDS}
    checks: Counter[str] = Counter()

    def vote(kind: str, sequence: int, ballot_id: str, voter: str, body: dict[str, Any]) -> dict[str, Any]:
        path = f"/ballots/{ballot_id}/vote"
        sample, (status, answer) = meter.measure(functools.partial(api.call, "PUT", path, voter, body))
        assert status == 200, (kind, status, answer)
        if sequence:
            samples[kind].append(sample)
        return dict(answer)

    for i in range(n):
        first = vote("first_named", i, named, named_voters[i], {"options": ["yes"]})
        changed = vote("changed_named", i, named, named_voters[i], {"options": ["no"]})
        picked = (first["choice"]["options"], changed["choice"]["options"])
        checks["named_choice_changed"] += picked == (["yes"], ["no"])
        option = SECRET_OPTIONS[i % len(SECRET_OPTIONS)][0]
        sealed = vote("secret", i, secret, secret_voters[i], {"options": [option]})
        checks["secret_with_receipt_and_no_choice"] += bool(sealed["receipt"]) and sealed["choice"] is None
        by_proxy = vote("proxy", i, named, holders[i], {"options": ["yes"], "on_behalf_of": principals[i]})
        checks["proxy_voted_by_holder"] += by_proxy["voted_by"] == holders[i]
    figures = {kind: summary(found, "vote", admin) for kind, found in samples.items()}
    for kind, figure in figures.items():
        figure["transact_items_by_action"] = action_counts(samples[kind])
    figures["checks"] = {name: count == n for name, count in sorted(checks.items())}
    return figures


def action_counts(samples: Sequence[Sample]) -> dict[str, float]:
    """Per vote: the transaction's actions by kind (Put, Update, ConditionCheck) and what they write."""
    from chalicelib.adapters.dynamodb import keys

    return transact_actions(samples, lambda pk, sk: sk.split(keys.SEP)[0])


# b: votes per second on one ballot.


def counter_items(requests: Sequence[Mapping[str, Any]]) -> Counter[str]:
    """Participation counter items updated by these TransactWriteItems, by key."""
    from chalicelib.adapters.dynamodb import keys

    found: Counter[str] = Counter()
    for params in requests:
        for action in params["TransactItems"]:
            body = action.get("Update")
            if body and str(body["Key"]["SK"]["S"]).startswith(keys.COUNT_SK_PREFIX):
                found[f"{body['Key']['PK']['S']} {body['Key']['SK']['S']}"] += 1
    return found


def partition_keys(requests: Sequence[Mapping[str, Any]]) -> set[str]:
    keys_written: set[str] = set()
    for params in requests:
        for action in params["TransactItems"]:
            ((_, body),) = action.items()
            keys_written.add(str((body["Item"] if "Item" in body else body["Key"])["PK"]["S"]))
    return keys_written


def measure_throughput(options: Options) -> dict[str, Any]:
    """Each pass casts `throughput_votes` first votes (named, yes/no) on one ballot, split over its threads;
    every vote by its own voter, whose roll entry is written before the ballot is used (as the open does)."""
    from chalicelib.adapters.dynamodb import governance_repository as repository
    from chalicelib.adapters.dynamodb import keys
    from chalicelib.domain.governance import Choice, RollEntry
    from chalicelib.services import ballots

    threads = options.threads
    per_thread = max(1, options.throughput_votes // threads)
    passes = 4  # ABBA: 1, threads, threads, 1
    ballot = open_ballot(False, "Open the garden on Sundays")
    voters = [[synthetic_voter() for i in range(per_thread * threads)] for _ in range(passes)]
    entries = [
        RollEntry(ballot.ballot_id, voter, college_of(i), ballot.closes_at)
        for pass_voters in voters
        for i, voter in enumerate(pass_voters)
    ]
    repository.write_roll(entries)
    ballot = set_eligible(ballot, Counter(entry.college_id for entry in entries))
    client = shared_client()
    recorders: dict[int, list[Recorder]] = defaultdict(list)
    choice = Choice(options=("yes",))
    done: list[int] = []

    def run(count: int) -> Run:
        pass_voters = voters[len(done)]
        per_worker = per_thread * threads // count
        recorder = Recorder(client, consumed_capacity=False)

        def work(worker: int, sequence: int) -> None:
            ballots.cast(pass_voters[worker * per_worker + sequence], ballot.ballot_id, choice)

        with recorder.recording():
            result = run_threads(count, work, per_worker=per_worker)
        recorders[count].append(recorder)
        done.append(result.done)
        return result

    figure = compare_threads(threads, run, "votes")
    stats: dict[str, Any] = {}
    for count, found in sorted(recorders.items()):
        requests = [params for recorder in found for params in recorder.requests]
        counters = counter_items(requests)
        transactions = sum(recorder.calls["TransactWriteItems"] for recorder in found)
        attempts = sum(recorder.http_attempts for recorder in found)
        calls = sum(recorder.total_calls for recorder in found)
        reasons: Counter[str] = Counter()
        errors: Counter[str] = Counter()
        for recorder in found:
            reasons.update(recorder.cancellation_reasons)
            errors.update(recorder.errors)
        votes = per_thread * threads * len(found)
        stats[f"{count}_thread{'s' if count > 1 else ''}"] = {
            "votes": votes,
            "transact_write_items_per_vote": round(transactions / votes, 3),
            "requests_per_vote": round(calls / votes, 3),
            "transaction_conflicts": reasons["TransactionConflict"],
            "cancellation_reasons": dict(reasons),
            "error_codes": dict(errors),
            "retries": transactions - votes + (attempts - calls),
            "distinct_counter_items": len(counters),
            "hottest_counter_item_share": round(max(counters.values()) / counters.total(), 3) if counters else None,
            "partition_keys_written": len(partition_keys(requests)),
        }
    many = stats[f"{threads}_threads"]
    counted = sum(repository.participation(ballot.ballot_id).values())
    return {
        **figure,
        "transaction_conflicts": sum(s["transaction_conflicts"] for s in stats.values()),
        "retries": sum(s["retries"] for s in stats.values()),
        "counter_items_possible": keys.BALLOT_COUNT_SHARDS * len(COLLEGES),
        f"distinct_counter_items_{threads}_threads": many["distinct_counter_items"],
        "partition_keys_written": many["partition_keys_written"],  # every vote of a ballot: its partition key
        "by_configuration": stats,
        "participation_counted": counted,
        "participation_counts_every_vote": counted == sum(done),
    }


# c: the recount of N ballots.


def loader() -> Any:
    """A unit of work that keeps what the repository adds instead of committing it, to load in batches."""
    from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork

    class Loaded(UnitOfWork):
        def __init__(self) -> None:
            super().__init__()
            self.items: list[Any] = []
            self.counters: Counter[tuple[str, str]] = Counter()  # add_participation adds 1 per first vote

        def put(self, item: Any, condition: Any = None, refused: Any = None) -> None:
            self.items.append(item)

        def update(self, item: Any, actions: list[Any], condition: Any = None, refused: Any = None) -> None:
            self.counters[(item.PK, item.SK)] += 1

    return Loaded()


def write_items(items: Sequence[Any]) -> None:
    """Batch writes (25 items each), a few at a time: loading is not what is measured."""
    by_model: dict[Any, list[Any]] = defaultdict(list)
    for item in items:
        by_model[type(item)].append(item)
    chunks = [found[i : i + 25] for found in by_model.values() for i in range(0, len(found), 25)]

    def write(chunk: Sequence[Any]) -> None:
        with type(chunk[0]).batch_write() as batch:
            for item in chunk:
                batch.save(item)

    with ThreadPoolExecutor(LOAD_THREADS) as pool:
        list(pool.map(write, chunks))


def load_ballots(ballot: Any, n: int) -> tuple[Any, str]:
    """`n` first votes on `ballot`, each written as `ballots.cast` writes it (the repository's roll entry,
    sealed ballot and participation counter, over a roll entry as the open froze it), in batches. Returns
    the ballot with those voters as its roll, and the digest the recount should find."""
    from chalicelib import clock
    from chalicelib.adapters.dynamodb import governance_repository as repository
    from chalicelib.adapters.dynamodb import keys
    from chalicelib.adapters.dynamodb.models import CounterItem
    from chalicelib.domain.governance import Choice, RollEntry, SealedBallot, digest_of, receipt_hash, vote

    options = ballot.option_ids()
    secret = ballot.rules.secret
    now = clock.now_iso()
    counters: Counter[tuple[str, str]] = Counter()
    records: list[dict[str, object]] = []
    eligible: Counter[str] = Counter()
    for start in range(0, n, LOAD_BATCH):
        batch = loader()
        for sequence in range(start, min(n, start + LOAD_BATCH)):
            member_id, college_id = synthetic_voter(), college_of(sequence)
            choice = Choice(options=(options[sequence * 7 % len(options)],))
            before = RollEntry(ballot.ballot_id, member_id, college_id, ballot.closes_at)
            done = vote(ballot, before, member_id, None, choice, now)
            repository.add_vote(batch, before, done.entry, now)
            plain = {"options": list(choice.options), "scores": {}}
            if secret:
                token_hash = receipt_hash(secrets.token_urlsafe(24))
                repository.add_sealed(batch, ballot.ballot_id, SealedBallot(token_hash, college_id, choice))
                records.append({"receipt": token_hash, "college": college_id, "choice": plain})
            else:
                records.append({"member": member_id, "college": college_id, "choice": plain})
            repository.add_participation(
                batch, ballot.ballot_id, college_id, random.randrange(keys.BALLOT_COUNT_SHARDS)
            )
            eligible[college_id] += 1
        write_items(batch.items)
        counters.update(batch.counters)
    write_items([CounterItem(pk, sk, total=total) for (pk, sk), total in counters.items()])
    return set_eligible(ballot, eligible), digest_of(records)


def timed(call: Callable[[], Any]) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    answer = call()
    return time.perf_counter() - wall, time.process_time() - cpu, answer


def measure_recount(options: Options, meter: Meter, admin: Any, table_name: str, secret: bool) -> dict[str, Any]:
    """Loads N ballots, closes the ballot once metered (requests, pages, read units), then times the close
    against replaying its reads, in alternating order over rounds (the ballot reopened between closes:
    its item put back as it was, the result deleted)."""
    import botocore

    from chalicelib import clock
    from chalicelib.adapters.dynamodb import governance_repository as repository
    from chalicelib.adapters.dynamodb import keys
    from chalicelib.services import ballots

    n = options.ballots
    ballot = open_ballot(secret, "This year's project" if secret else "Adopt the new statutes")
    started = time.perf_counter()
    ballot, digest = load_ballots(ballot, n)
    load_seconds = time.perf_counter() - started
    print(f"{n} ballots loaded in {load_seconds:.1f} s", file=sys.stderr)
    moment = clock.iso(clock.parse(ballot.closes_at) + timedelta(minutes=5))
    ballot_key = {"PK": {"S": keys.ballot_pk(ballot.ballot_id)}, "SK": {"S": keys.BALLOT_SK}}
    result_key = {"PK": {"S": keys.ballot_pk(ballot.ballot_id)}, "SK": {"S": keys.RESULT_SK}}
    snapshot = admin.get_item(TableName=table_name, Key=ballot_key, ConsistentRead=True)["Item"]

    def reopen() -> None:
        admin.put_item(TableName=table_name, Item=snapshot)
        admin.delete_item(TableName=table_name, Key=result_key)

    def close() -> Any:
        return ballots.close(ballot.ballot_id, moment)

    with meter.metering():
        sample, counted = meter.measure(close)
    stored = repository.result(ballot.ballot_id)
    figure = summary([sample], "close", admin)
    queries = [call for call in sample.calls if call.operation == "Query"]
    reads = [call for call in sample.calls if call.operation in READ_OPERATIONS]
    client = shared_client()
    replay = [(getattr(client, botocore.xform_name(call.operation)), call.params) for call in reads]

    def bare_reads() -> None:
        for method, params in replay:
            method(**params)

    sides: dict[str, Callable[[], Any]] = {"close": close, "bare_reads": bare_reads}
    walls: dict[str, list[float]] = {name: [] for name in sides}
    cpus: dict[str, list[float]] = {name: [] for name in sides}
    for round_ in range(options.rounds):
        for name in list(sides)[:: 1 if round_ % 2 else -1]:
            reopen()
            took, used, answer = timed(sides[name])
            if name == "close":
                assert answer is not None and answer.voted == n, answer
            walls[name].append(took)
            cpus[name].append(used)
    if options.profile:
        reopen()
        profile_calls(f"closes of a {'secret' if secret else 'named'} ballot of {n} ballots", [None], lambda _: close())
    wall = {name: statistics.median(values) for name, values in walls.items()}
    cpu = {name: statistics.median(values) for name, values in cpus.items()}
    scale = PER_BALLOTS / n
    query_bytes = sum(item_size(item) for call in queries for item in call.parsed.get("Items", []))
    pages = len(queries) if n == PER_BALLOTS else max(1, math.ceil(query_bytes * scale / PAGE_BYTES))
    colleges_counted = sum(college.voted for college in stored.colleges) if stored else None
    return {
        "ballots": n,
        "scaled_by": round(scale, 3),
        "requests_per_10k": figure["requests_per_close"] - len(queries) + pages,
        "query_pages_per_10k": pages,
        "read_units_per_10k": round(figure["read_units"] * scale, 1),
        "seconds_per_10k": round(wall["close"] * scale, 3),
        "ratio_vs_bare_reads": round(wall["close"] / wall["bare_reads"], 3),
        "cpu_ratio_vs_bare_reads": round(cpu["close"] / cpu["bare_reads"], 3),
        "per_10k": "measured" if n == PER_BALLOTS else "from N: Query pages by the 1 MB limit, the rest linearly",
        "close": figure,
        "requests": figure["requests_per_close"],
        "query_pages": len(queries),
        "query_bytes": query_bytes,
        "query_items_scanned": sum(int(call.parsed.get("ScannedCount", 0)) for call in queries),
        "query_items_returned": sum(int(call.parsed.get("Count", 0)) for call in queries),
        "queries_consistent": all(call.params.get("ConsistentRead") is True for call in queries),
        "close_seconds_median": round(wall["close"], 4),
        "bare_reads_seconds_median": round(wall["bare_reads"], 4),
        "close_cpu_seconds_median": round(cpu["close"], 4),
        "bare_reads_cpu_seconds_median": round(cpu["bare_reads"], 4),
        "round_ratios": [round(c / b, 3) for c, b in zip(walls["close"], walls["bare_reads"], strict=True)],
        "load_seconds": round(load_seconds, 2),
        "result_voted": stored.voted if stored else None,
        "result_colleges_voted": colleges_counted,
        "counted_every_ballot": bool(counted and stored and stored.voted == n == colleges_counted),
        "digest_matches_ballots_loaded": bool(stored and stored.digest == digest),
    }


# Together.


def vote_headlines(votes: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {kind: votes[kind][key] for kind in VOTE_KINDS}


def report(
    options: Options, votes: Mapping[str, Any], throughput: Mapping[str, Any], recounts: Mapping[str, Any]
) -> dict[str, Any]:
    threads = options.threads
    write_requests = vote_headlines(votes, "write_requests")
    transactions = vote_headlines(votes, "transact_write_items")
    first_votes = ("first_named", "secret", "proxy")
    return {
        "transact_write_items_per_vote": transactions,
        "write_requests_per_vote": write_requests,
        "write_units_per_vote": vote_headlines(votes, "write_units"),
        "reads_per_vote": vote_headlines(votes, "reads"),
        "read_units_per_vote": vote_headlines(votes, "read_units"),
        "votes_per_second_ratio": throughput["ratio"],
        f"distinct_counter_items_{threads}_threads": throughput[f"distinct_counter_items_{threads}_threads"],
        "partition_keys_written_per_ballot": throughput["partition_keys_written"],
        "first_votes_per_second_at_partition_key_limit": {
            kind: round(PARTITION_KEY_WRITE_UNITS / votes[kind]["write_units"], 1) for kind in first_votes
        },
        "recount_per_10k_ballots": {
            kind: {
                key: figure[key]
                for key in (
                    "requests_per_10k",
                    "query_pages_per_10k",
                    "read_units_per_10k",
                    "seconds_per_10k",
                    "ratio_vs_bare_reads",
                    "ballots",
                )
            }
            for kind, figure in recounts.items()
        },
        "goals": {
            "write_requests_per_vote": GOAL_WRITE_REQUESTS_PER_VOTE,
            "transact_write_items_per_first_vote": GOAL_TRANSACTIONS_PER_FIRST_VOTE,
            f"distinct_counter_items_{threads}_threads": "> 1 (no single hot counter)",
            "recount": "counts every ballot loaded, with one consistent Query per page",
            "first_votes_per_second_at_partition_key_limit": "- (1,000 write units/s per partition key on AWS; "
            "every vote on a ballot writes under the ballot's partition key)",
        },
        "within_goals": {
            "write_requests_per_vote": {
                kind: count == GOAL_WRITE_REQUESTS_PER_VOTE for kind, count in write_requests.items()
            },
            "transact_write_items_per_first_vote": {
                kind: transactions[kind] == GOAL_TRANSACTIONS_PER_FIRST_VOTE for kind in first_votes
            },
            f"distinct_counter_items_{threads}_threads": throughput[f"distinct_counter_items_{threads}_threads"] > 1,
            "throughput_without_errors": throughput["errors"] == 0,
            "participation_counts_every_vote": throughput["participation_counts_every_vote"],
            "recount_counted_every_ballot": {
                kind: figure["counted_every_ballot"] and figure["digest_matches_ballots_loaded"]
                for kind, figure in recounts.items()
            },
            "recount_queries_consistent": {kind: figure["queries_consistent"] for kind, figure in recounts.items()},
        },
        "votes": dict(votes),
        "throughput": dict(throughput),
        "recounts": dict(recounts),
        "votes_through": "PUT /ballots/{id}/vote (app.app via chalice.test.Client); throughput: ballots.cast",
        "dynamodb": "DynamoDB Local (one JVM on this machine): throughput and timing ratios are local only",
        "python": sys.version.split()[0],
    }


def run_all(options: Options, admin: Any, table_name: str) -> dict[str, Any]:
    """Ballots whose roll the benchmark writes (throughput, recounts) open before any cooperator is placed,
    so their roll holds only those voters; then the cooperators who vote over HTTP."""
    from chalice.test import Client

    from app import app

    started = time.perf_counter()

    def done(phase: str) -> None:
        print(f"{phase} done at {time.perf_counter() - started:.1f} s", file=sys.stderr)

    set_colleges()
    meter = Meter(shared_client(), admin, table_name)
    recounts = {
        kind: measure_recount(options, meter, admin, table_name, secret=kind == "secret")
        for kind in ("named", "secret")
    }
    done(f"recounts of {options.ballots} ballots")
    throughput = measure_throughput(options)
    done("throughput")
    fanout = measure_result_fanout(options)
    done(f"results told to a roll of {options.roll}")
    with (
        open(os.devnull, "w", encoding="utf-8") as sink,
        app_log_to(sink),
        Client(app, stage_name="local") as test_client,
    ):
        api = Api(test_client, secrets_root())
        with meter.metering():
            votes = measure_votes(options, api, meter, admin)
    done("votes over HTTP")
    return {**report(options, votes, throughput, recounts), "result_fanout": fanout}


def main(argv: Sequence[str] | None = None) -> None:
    options = parse_options(argv)
    with (
        bench_table(options.endpoint, "bench-governance") as (admin, table_name),
        contextlib.redirect_stdout(sys.stderr),
    ):
        result = run_all(options, admin, table_name)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
