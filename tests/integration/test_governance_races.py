"""Governance races on DynamoDB Local, through the services: one voter on several devices, a proxy
holder and the principal voting at the same instant, grants racing for a holder's proxy cap, votes
racing the close, two closes (and two scheduled runs) applying a ballot's decision, and what the stored
items of a secret ballot reveal. The write conditions, not Python, must count each voter once, keep a
secret vote final, hold the cap, store one result and apply a decision once."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from chalicelib import clock, config, errors
from chalicelib.adapters.dynamodb import governance_repository as repository
from chalicelib.adapters.dynamodb import keys
from chalicelib.api.problems import status_of
from chalicelib.domain.governance import (
    BallotKind,
    BallotState,
    College,
    Decision,
    Governed,
    Option,
    Proxy,
    Result,
    Rules,
    receipt_hash,
)
from chalicelib.services import ballots, governance
from chalicelib.services.ballots import BallotDraft, Voted
from tests.integration import ledger_kit
from tests.integration.ledger_kit import at_once

COLLEGES = [College("users", "Users", 50), College("pros", "Local professionals", 30), College("staff", "Staff", 20)]
OPTIONS = tuple(Option(f"opt-{name}", name.title()) for name in ("garden", "tools", "bikes", "oven"))
YES, NO = ("yes",), ("no",)
ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


racer = threading.local()  # who the current thread votes (or runs) as: see `cast`
REAL_ROLL_ENTRIES = repository.roll_entries


def voted(ballot_id: str, member_id: str) -> Callable[[], None]:
    """Waits until the member's vote is stored (read past any patched read)."""

    def wait() -> None:
        deadline = time.monotonic() + 10
        while not getattr(REAL_ROLL_ENTRIES(ballot_id, [member_id]).get(member_id), "voted", False):
            assert time.monotonic() < deadline, "the vote waited for never landed"
            time.sleep(0.01)

    return wait


def read_together(
    monkeypatch: pytest.MonkeyPatch, name: str, parties: int, hold: dict[str, Callable[[], None]] | None = None
) -> None:
    """The next `parties` calls of `governance_repository.<name>` (the read each racer decides on) wait
    for one another before going on: every racer decides on the same state, before any has written,
    and their writes then race. Later calls (a retry's) pass at once. `hold`: after the read, the racer
    of that name (see `racer`) waits for the call given (another's write) before going on."""
    real = getattr(repository, name)
    barrier = threading.Barrier(parties, timeout=10)
    left = [parties]
    lock = threading.Lock()

    def read(*args: Any, **kwargs: Any) -> Any:
        found = real(*args, **kwargs)
        with lock:
            waits = left[0] > 0
            left[0] -= 1
        if waits:
            barrier.wait()
            wait = (hold or {}).get(getattr(racer, "voter", ""))
            if wait is not None:
                wait()
        return found

    monkeypatch.setattr(repository, name, read)


class Cooperative:
    """Three colleges and cooperators placed in them, made through the services as operators make them."""

    def __init__(self) -> None:
        self.prefix = uuid.uuid4().hex[:6]
        governance.set_colleges("op", COLLEGES, "statutes")
        self.members: list[str] = []

    def seat(self, college_id: str, count: int) -> list[str]:
        names = [f"{self.prefix}-{college_id}{len(self.members) + index}" for index in range(count)]

        def enrol(name: str) -> None:
            ledger_kit.open_wallet(name)
            governance.place("op", name, college_id, "general assembly")

        with ThreadPoolExecutor(4) as pool:  # setup only: the races themselves use at_once
            list(pool.map(enrol, names))
        self.members += names
        return names

    def ballot(self, *, seconds: float = 3600, opened: bool = True, **rules: Any) -> str:
        """A ballot (a single choice among OPTIONS unless told), opened now: the roll is every
        cooperator seated so far."""
        wanted = {"kind": BallotKind.SINGLE, "options": OPTIONS, **rules}
        if wanted["kind"] is BallotKind.YES_NO:
            wanted["options"] = ()
        now = clock.now()
        draft = BallotDraft(
            title="Which shared project first?",
            description="",
            rules=Rules(**wanted),
            opens_at=clock.iso(now),
            closes_at=clock.iso(now + timedelta(seconds=seconds)),
        )
        ballot = ballots.create("op", draft, "board decision")
        if opened:
            ballots.open_ballot(ballot)
        return ballot.ballot_id


@pytest.fixture
def coop(table_name: str) -> Cooperative:
    return Cooperative()


def cast(voter: str, ballot_id: str, option: tuple[str, ...], on_behalf_of: str | None = None) -> Callable[[], Any]:
    def run() -> Voted:
        racer.voter = voter
        return ballots.cast(voter, ballot_id, ballots.Choice(options=option), on_behalf_of)

    return run


def refusal(result: Any) -> tuple[int, str]:
    assert isinstance(result, errors.AppError), result
    return status_of(result), result.code


def partition(ballot_id: str, prefix: str = "") -> list[dict[str, Any]]:
    """The ballot's partition as stored (every item whose SK starts with `prefix`), read consistently."""
    client = ledger_kit.dynamodb_client()
    found: list[dict[str, Any]] = []
    start: dict[str, Any] | None = None
    while True:
        page = client.query(
            TableName=config.settings().table_name,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues={":pk": {"S": keys.ballot_pk(ballot_id)}, ":prefix": {"S": prefix}},
            ConsistentRead=True,
            **({"ExclusiveStartKey": start} if start else {}),
        )
        found += page["Items"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return found


def whole_table() -> list[dict[str, Any]]:
    client = ledger_kit.dynamodb_client()
    found: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=config.settings().table_name, ConsistentRead=True):
        found += page["Items"]
    return found


def texts(item: dict[str, Any]) -> list[str]:
    """Every string and number stored in an item, its keys included."""
    values: list[str] = []
    for value in item.values():
        for kind, raw in value.items():
            if kind in ("S", "N"):
                values.append(str(raw))
            elif kind in ("SS", "NS"):
                values += [str(one) for one in raw]
    return values


def counted_once(ballot_id: str, member_id: str, college_id: str) -> None:
    """The member's vote is the only one on the ballot: one roll entry voted, one participation."""
    assert [entry.member_id for entry in repository.all_votes(ballot_id)] == [member_id]
    assert repository.participation(ballot_id) == {college_id: 1}
    assert sum(int(item["total"]["N"]) for item in partition(ballot_id, keys.COUNT_SK_PREFIX)) == 1
    assert len(partition(ballot_id, keys.roll_sk(member_id))) == 1


def later_than(ballot_id: str) -> str:
    """A moment past the ballot's close and its grace."""
    grace = timedelta(seconds=config.settings().ballot_close_grace_seconds)
    return clock.iso(clock.parse(ballots.get(ballot_id).closes_at) + grace + timedelta(minutes=1))


# 1. one voter, several devices at once


@pytest.mark.parametrize("together", [False, True], ids=["as-threads-go", "all-read-first"])
def test_one_voter_on_several_devices_named(coop, monkeypatch, together):
    voter, *_ = coop.seat("users", 2)
    coop.seat("pros", 1)
    ballot_id = coop.ballot()
    sent = [OPTIONS[index % len(OPTIONS)].option_id for index in range(8)]
    if together:
        read_together(monkeypatch, "roll_entries", 8)
    results = at_once([cast(voter, ballot_id, (option,)) for option in sent])
    accepted = [result for result in results if isinstance(result, Voted)]
    for result in results:  # a device outpaced six times over is told to try again, never more
        assert isinstance(result, Voted) or refusal(result) == (409, "ballot-changed"), result
    assert accepted, results
    # every accepted vote wrote one version of the one entry; the last one written is what stands
    assert sorted(result.entry.version for result in accepted) == list(range(1, len(accepted) + 1))
    entry = repository.roll_entries(ballot_id, [voter])[voter]
    last = max(accepted, key=lambda result: result.entry.version)
    assert (entry.voted, entry.voted_by, entry.version) == (True, None, len(accepted)), entry
    assert entry.choice == last.entry.choice and entry.choice is not None
    assert entry.choice.options[0] in sent
    counted_once(ballot_id, voter, "users")
    assert partition(ballot_id, keys.BOX_SK_PREFIX) == []
    print(f"accepted {len(accepted)} of {len(results)}")


@pytest.mark.parametrize("together", [False, True], ids=["as-threads-go", "all-read-first"])
def test_one_voter_on_several_devices_secret(coop, monkeypatch, together):
    voter, *_ = coop.seat("users", 2)
    coop.seat("pros", 1)
    ballot_id = coop.ballot(secret=True)
    sent = [OPTIONS[index % len(OPTIONS)].option_id for index in range(8)]
    if together:
        read_together(monkeypatch, "roll_entries", 8)
    results = at_once([cast(voter, ballot_id, (option,)) for option in sent])
    accepted = [(option, result) for option, result in zip(sent, results, strict=True) if isinstance(result, Voted)]
    assert len(accepted) == 1, results
    assert [refusal(result) for result in results if not isinstance(result, Voted)] == [(409, "already-voted")] * 7
    (option, voted), boxes = accepted[0], partition(ballot_id, keys.BOX_SK_PREFIX)
    assert len(boxes) == 1, boxes  # one sealed ballot: the others' never committed
    assert voted.receipt is not None and boxes[0]["receipt_hash"]["S"] == receipt_hash(voted.receipt)
    assert repository.all_sealed(ballot_id)[0].choice.options == (option,)
    entry = repository.roll_entries(ballot_id, [voter])[voter]
    assert (entry.voted, entry.choice, entry.version) == (True, None, 1), entry
    counted_once(ballot_id, voter, "users")


# 2. a proxy holder and the principal at the same instant


def together(monkeypatch: pytest.MonkeyPatch, round_: int, ballot_id: str, principal: str, holder: str) -> None:
    """Round 0: as the threads go. Round 1: both read the roll entry before either writes. Round 2: the
    same, and the principal writes once the holder's vote has landed (over a version gone stale). Round 3:
    the same, the holder writing after the principal."""
    if round_ == 1:
        read_together(monkeypatch, "roll_entries", 2)
    elif round_ >= 2:
        late = principal if round_ == 2 else holder
        read_together(monkeypatch, "roll_entries", 2, hold={late: voted(ballot_id, principal)})


def test_holder_and_principal_vote_at_once_named(coop, monkeypatch):
    principal, holder, *_ = coop.seat("users", 3)
    coop.seat("pros", 1)
    governance.give_proxy(principal, holder, None)
    outcomes: Counter[str] = Counter()
    for round_ in range(4):
        ballot_id = coop.ballot()
        together(monkeypatch, round_, ballot_id, principal, holder)
        in_person, by_proxy = at_once(
            [cast(principal, ballot_id, ("opt-garden",)), cast(holder, ballot_id, ("opt-tools",), principal)]
        )
        assert isinstance(in_person, Voted), in_person  # the principal's own vote is never refused
        entry = repository.roll_entries(ballot_id, [principal])[principal]
        # whatever the order, the principal's in-person choice is what stands
        assert entry.choice is not None and entry.choice.options == ("opt-garden",), entry
        assert (entry.voted, entry.voted_by) == (True, None), entry
        if isinstance(by_proxy, Voted):  # the holder went first, the principal's vote replaced it
            outcomes["holder first, replaced"] += 1
            assert (by_proxy.entry.voted_by, by_proxy.entry.version, in_person.entry.version) == (holder, 1, 2)
            assert entry.version == 2
        else:
            outcomes["holder refused"] += 1
            assert refusal(by_proxy) == (409, "voted-in-person")
            assert entry.version == 1
        counted_once(ballot_id, principal, "users")
    assert outcomes["holder first, replaced"] and outcomes["holder refused"], outcomes  # round 2, round 3
    print(f"outcomes: {dict(outcomes)}")


def test_holder_and_principal_vote_at_once_secret(coop, monkeypatch):
    principal, holder, *_ = coop.seat("users", 3)
    coop.seat("pros", 1)
    governance.give_proxy(principal, holder, None)
    winners: Counter[str] = Counter()
    for round_ in range(4):
        ballot_id = coop.ballot(secret=True)
        together(monkeypatch, round_, ballot_id, principal, holder)
        results = at_once(
            [cast(principal, ballot_id, ("opt-garden",)), cast(holder, ballot_id, ("opt-tools",), principal)]
        )
        accepted = [index for index, result in enumerate(results) if isinstance(result, Voted)]
        assert len(accepted) == 1, results
        assert refusal(results[1 - accepted[0]]) == (409, "already-voted")
        won = accepted[0]
        winners["principal" if won == 0 else "holder"] += 1
        boxes = repository.all_sealed(ballot_id)
        assert [box.choice.options for box in boxes] == [("opt-garden",) if won == 0 else ("opt-tools",)], boxes
        assert len(partition(ballot_id, keys.BOX_SK_PREFIX)) == 1
        entry = repository.roll_entries(ballot_id, [principal])[principal]
        assert (entry.voted, entry.voted_by, entry.choice, entry.version) == (True, holder if won else None, None, 1)
        counted_once(ballot_id, principal, "users")
    assert winners["holder"] and winners["principal"], winners  # round 2, round 3
    print(f"winners: {dict(winners)}")


# 3. the proxy cap under concurrent grants


@pytest.mark.parametrize("together", [False, True], ids=["as-threads-go", "all-read-first"])
def test_concurrent_grants_stop_at_the_proxy_cap(coop, monkeypatch, together):
    holder, *principals = coop.seat("users", 7)
    coop.seat("pros", 1)
    assert governance.parameters().proxy_cap == 2  # the governed default
    if together:  # every grant reads the holder's count (0) before any writes
        read_together(monkeypatch, "held_count", 6)
    results = at_once([lambda p=principal: governance.give_proxy(p, holder, None) for principal in principals])
    granted = [result.principal_id for result in results if isinstance(result, Proxy)]
    assert len(granted) == 2, results
    refused = [refusal(result) for result in results if not isinstance(result, Proxy)]
    assert refused == [(409, "proxy-cap-reached")] * 4
    assert repository.held_count(holder) == 2
    assert sorted(proxy.principal_id for proxy in governance.proxies(holder)[1]) == sorted(granted)
    for principal in principals:
        assert len(governance.proxies(principal)[0]) == (principal in granted)
    # the counter stays exact: a revocation frees one place, and only one
    governance.revoke_proxy(granted[0], None)
    spare = [principal for principal in principals if principal not in granted]
    again = at_once([lambda p=principal: governance.give_proxy(p, holder, None) for principal in spare[:2]])
    assert sorted(type(result).__name__ for result in again) == ["Conflict", "Proxy"], again
    assert repository.held_count(holder) == len(governance.proxies(holder)[1]) == 2


# 4. votes racing the close


def test_votes_racing_the_close(coop, monkeypatch):
    """On the real clock: each voter votes at its own moment around `closes_at` (some keep their vote in
    flight for a while after deciding), while two closes and two scheduled runs start once the grace has
    passed, as the scheduler starts them, racing the last (late) votes. Every vote is counted or
    refused, and the result, stored once, counts exactly the accepted votes."""
    grace = 2
    monkeypatch.setenv("PWIIC_BALLOT_CLOSE_GRACE_SECONDS", str(grace))
    config.reset()
    voters = coop.seat("users", 5) + coop.seat("pros", 4) + coop.seat("staff", 3)
    real_add_vote = repository.add_vote

    def slow_add_vote(uow: Any, before: Any, after: Any, now: str) -> None:
        if int(before.member_id[-1]) % 2:  # decided, then in flight for 0.3 s: the grace outlasts it
            time.sleep(0.3)
        real_add_vote(uow, before, after, now)

    monkeypatch.setattr(repository, "add_vote", slow_add_vote)
    ballot_id = coop.ballot(seconds=1.5)
    closes_at = clock.parse(ballots.get(ballot_id).closes_at)
    due = closes_at + timedelta(seconds=grace)
    close_started: list[float] = []

    def at(moment: Any, call: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            time.sleep(max(0.0, (moment - clock.now()).total_seconds()))
            return call()

        return run

    def closer(call: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            close_started.append(time.monotonic())
            return call()

        return at(due, run)

    finished: dict[str, float] = {}

    def voter_call(index: int, voter: str) -> Callable[[], Any]:
        option = OPTIONS[index % 3].option_id
        moment = closes_at + timedelta(seconds=-0.6 + index * (grace + 1.0) / len(voters))

        def run() -> Any:
            try:
                return cast(voter, ballot_id, (option,))()
            finally:
                finished[voter] = time.monotonic()

        return at(moment, run)

    calls = [voter_call(index, voter) for index, voter in enumerate(voters)]
    calls += [closer(lambda: ballots.close(ballot_id)) for _ in range(2)]
    calls += [closer(ballots.run_due) for _ in range(2)]
    results = at_once(calls)
    votes, closes, runs = results[: len(voters)], results[len(voters) : -2], results[-2:]

    accepted = {voter: result for voter, result in zip(voters, votes, strict=True) if isinstance(result, Voted)}
    refused = [refusal(result) for result in votes if not isinstance(result, Voted)]
    assert refused == [(409, "ballot-not-open")] * len(refused), votes
    assert accepted and refused, votes  # the votes straddled the close
    assert all(finished[voter] < min(close_started) for voter in accepted)  # the grace outlasted them
    # one close stored the result; the other and the scheduled runs found nothing to do
    stored = [result for result in closes if isinstance(result, Result)]
    assert len(stored) + sum(closed for _, closed in runs) == 1, (closes, runs)
    assert all(result is None or isinstance(result, Result) for result in closes), closes
    assert len(partition(ballot_id, keys.RESULT_SK)) == 1
    result = ballots.result(ballot_id)
    assert stored in ([], [result])
    # every accepted vote is counted, and nothing else
    assert result.voted == len(accepted) == sum(repository.participation(ballot_id).values())
    assert {entry.member_id for entry in repository.all_votes(ballot_id)} == set(accepted)
    wanted = Counter(
        option for voted in accepted.values() if voted.entry.choice for option in voted.entry.choice.options
    )
    assert {option: count for option, count in result.counts.items() if count} == dict(wanted)
    assert ballots.close(ballot_id) is None and ballots.run_due() == (0, 0)
    print(f"accepted {len(accepted)}, refused {len(refused)}")


# 5. a secret ballot's stored items link no member to a choice


def test_a_secret_ballot_stores_no_link_between_member_and_choice(coop):
    users, pros, staff = coop.seat("users", 3), coop.seat("pros", 2), coop.seat("staff", 2)
    governance.give_proxy(users[0], users[1], None)
    ballot_id = coop.ballot(secret=True, min_secret_voters=2)
    votes = [
        cast(users[1], ballot_id, ("opt-garden",), users[0]),  # by proxy
        cast(users[1], ballot_id, ("opt-tools",)),
        cast(users[2], ballot_id, ("opt-garden",)),
        cast(pros[0], ballot_id, ("opt-bikes",)),
        cast(pros[1], ballot_id, ("opt-garden",)),
        cast(staff[0], ballot_id, ("opt-tools",)),
    ]
    receipts = [result.receipt for result in at_once(votes)]
    assert all(receipts), receipts
    result = ballots.close(ballot_id, later_than(ballot_id))
    assert result is not None and result.voted == 6 and result.winners == ("opt-garden",)

    members = set(coop.members)
    option_ids = {option.option_id for option in OPTIONS}
    hashes = {receipt_hash(receipt) for receipt in receipts if receipt}
    items = whole_table()
    boxes = [item for item in items if item["SK"]["S"].startswith(keys.BOX_SK_PREFIX)]
    assert len(boxes) == 6 and {box["receipt_hash"]["S"] for box in boxes} == hashes
    for box in boxes:  # a choice, its college and the receipt's hash: no member, no time
        assert set(box) == {"PK", "SK", "receipt_hash", "college_id", "choice"}, box
        for value in texts(box):
            assert not any(member in value for member in members), box
            assert not ISO_MOMENT.search(value), box
    roll = [item for item in items if item["SK"]["S"].startswith(keys.ROLL_SK_PREFIX)]
    assert len(roll) == len(coop.members) and sum(item["voted"]["BOOL"] for item in roll) == 6
    assert all("choice" not in item for item in roll), roll
    for item in items:  # nothing else ties a member to a choice or to a receipt; no receipt is kept
        stored = texts(item)
        assert not any(receipt in value for value in stored for receipt in receipts if receipt), item
        if item in boxes:
            continue
        if any(member in value for value in stored for member in members):
            assert not any(option in value for value in stored for option in option_ids), item
        assert not any(digest in value for value in stored for digest in hashes), item


# 6. a ballot applies its decision once


@pytest.mark.parametrize("together", [False, True], ids=["as-threads-go", "all-read-first"])
def test_concurrent_closes_apply_a_parameter_change_once(coop, monkeypatch, together):
    users, pros, staff = coop.seat("users", 2), coop.seat("pros", 2), coop.seat("staff", 1)
    decision = Decision(parameter=Governed.PROXY_CAP, value=3)
    ballot_id = coop.ballot(kind=BallotKind.YES_NO, decision=decision)
    for voter, choice in zip(users + pros + staff, [YES, NO, YES, YES, NO], strict=True):
        cast(voter, ballot_id, choice)()
    moment = later_than(ballot_id)
    if together:  # two closers count the ballots before either writes
        read_together(monkeypatch, "all_votes", 2)
    results = at_once(
        [
            lambda: ballots.close(ballot_id, moment),
            lambda: ballots.close(ballot_id, moment),
            lambda: ballots.run_due(moment),
            lambda: ballots.run_due(moment),
        ]
    )
    closes, runs = results[:2], results[2:]
    assert all(result is None or isinstance(result, Result) for result in closes), closes
    assert all(isinstance(run, tuple) for run in runs), runs
    assert sum(isinstance(result, Result) for result in closes) + sum(closed for _, closed in runs) == 1, results
    result = ballots.result(ballot_id)
    # users 1/2 yes, pros 2/2, staff 0/1: 25 + 30 + 0 = 55 % > half
    assert result.adopted is True and result.applied == ("proxy_cap = 3",), result
    assert [int(item["version"]["N"]) for item in partition(ballot_id, keys.RESULT_SK)] == [1]
    assert repository.parameters() == ({"proxy_cap": 3}, 1)  # written once
    applied = [item for item in whole_table() if item.get("action", {}).get("S") == "apply_decision"]
    assert len(applied) == 1 and applied[0]["target"]["S"] == ballot_id, applied
    governance.reset()
    assert governance.parameters().proxy_cap == 3
    assert ballots.close(ballot_id, moment) is None and ballots.run_due(moment) == (0, 0)
    assert repository.parameters()[1] == 1


# 7. two scheduled runs opening one ballot


def test_a_second_opening_never_erases_a_vote(coop, monkeypatch):
    """Two runs of the scheduled job find the same ballot due and both see it scheduled; one writes the
    roll and opens it, a cooperator votes, then the other, late, goes on opening it. The late one must
    not write the roll over the vote (each part of the roll is written only while the ballot is still
    the scheduled version read; parts of two entries here)."""
    voter, *_ = coop.seat("users", 2)
    coop.seat("pros", 1)
    ballot_id = coop.ballot(opened=False)
    moment = clock.now_iso()
    monkeypatch.setattr(repository, "ROLL_CHUNK", 2)
    read_together(monkeypatch, "all_cooperators", 2, hold={"late run": voted(ballot_id, voter)})
    opened = threading.Event()

    def run(name: str) -> Callable[[], Any]:
        def go() -> Any:
            racer.voter = name
            return ballots.run_due(moment)

        return go

    def vote_once_open() -> Any:
        while ballots.get(ballot_id).state is not BallotState.OPEN:
            time.sleep(0.02)
        opened.set()
        return cast(voter, ballot_id, ("opt-garden",))()

    first, late, vote = at_once([run("first run"), run("late run"), vote_once_open])
    assert opened.is_set() and isinstance(vote, Voted), vote
    assert (first, late) == ((1, 0), (0, 0)), (first, late)  # the late run left the ballot as it was
    entry = repository.roll_entries(ballot_id, [voter])[voter]
    assert (entry.voted, entry.version) == (True, 1), entry
    counted_once(ballot_id, voter, "users")
    assert ballots.get(ballot_id).eligible == {"users": 2, "pros": 1}
