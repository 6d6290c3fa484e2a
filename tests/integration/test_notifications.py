"""Notifications from the real stream handler (`app.table_changes`) fed with the real stream records of
DynamoDB Local: one item of each followed kind written by its own repository (a ballot's result told to
its roll), every kind of notification made once for the members concerned even when the batches come
twice, a bad record or a failing write counted, never raised."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

from msgspec.structs import replace

import app
from chalicelib import clock
from chalicelib.adapters.dynamodb import (
    conversation_repository,
    exchange_repository,
    governance_repository,
    keys,
    mission_repository,
    review_repository,
)
from chalicelib.adapters.dynamodb.models import PurchaseItem
from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork, already_done
from chalicelib.domain import notifications as rules
from chalicelib.domain.conversations import Conversation, Message
from chalicelib.domain.exchanges import Exchange, ExchangeType, State
from chalicelib.domain.governance import Ballot, BallotKind, BallotState, Result, RollEntry, Rules
from chalicelib.domain.ledger import TransferKind, TransferRequest
from chalicelib.domain.missions import Claim, ClaimState
from chalicelib.domain.notifications import Kind
from chalicelib.domain.reviews import Review, ReviewRound, Role
from chalicelib.jobs import scheduled
from chalicelib.services import ledger, notifications, reminders, transaction
from tests import books
from tests.integration import ledger_kit
from tools.jobs import LambdaContext

OWNER, PROPOSER = "olga", "pete"


def run(write) -> None:
    transaction.run(lambda uow: write(uow))


def exchange_through(*steps: State | dict) -> None:
    """One exchange proposed, then written step by step (to a state, or with fields changed): each write a
    real stream record (the rules judge each change alone; the state machine is not theirs to check)."""
    now = clock.now_iso()
    before = Exchange("x1", ExchangeType.LOAN, "l1", OWNER, PROPOSER, PROPOSER, OWNER, 30, State.PROPOSED, now, now)
    run(lambda uow: exchange_repository.add_new(uow, before, None))
    for step in steps:
        fields = step if isinstance(step, dict) else {"state": step}
        after = replace(before, version=before.version + 1, updated_at=clock.now_iso(), **fields)
        run(lambda uow, before=before, after=after: exchange_repository.add_transition(uow, before, after, None))
        before = after


def every_followed_change() -> None:
    exchange_through(
        State.ACCEPTED,
        {"confirmed_by": frozenset({PROPOSER})},
        {"state": State.DAMAGE_CLAIMED, "claimed_damage": 4},
        State.DISPUTED,
        {"state": State.RESOLVED, "posted_amount": 10},
        State.COMPLETED,
        State.DECLINED,
        State.CANCELLED,
        {"overdue": True},
    )
    now = clock.now_iso()
    conversation = Conversation("c1", "listing:l1", frozenset({OWNER, PROPOSER}), now)
    run(lambda uow: conversation_repository.add_conversation(uow, conversation, Message("m1", PROPOSER, "hi", now)))
    for number in (2, 3):
        message = Message(f"m{number}", PROPOSER, "again", clock.now_iso())
        run(lambda uow, message=message: conversation_repository.add_message(uow, conversation, message))

    owner, proposer = ledger_kit.open_wallet(OWNER), ledger_kit.open_wallet(PROPOSER)
    bought = ledger_kit.fund(proposer, 50, "buy-1")  # a purchase credited
    ledger.transfer(TransferRequest("tip-1", proposer, owner, 3, TransferKind.TIP))
    item = PurchaseItem(keys.purchase_pk(bought.request.transfer_id), keys.PURCHASE_SK)
    item.update(actions=[PurchaseItem.reversed_credits.set(5)])  # a refund took 5 back

    round_ = ReviewRound("x1", ExchangeType.TRADE, "l1", OWNER, PROPOSER, now, now)
    review = Review("x1", PROPOSER, OWNER, Role.PROVIDER, 5, "", now, now)

    def reviewed(uow: UnitOfWork) -> None:
        review_repository.add_round(uow, round_)
        review_repository.add_review(uow, review, None)

    run(reviewed)
    run(lambda uow: review_repository.add_round_change(uow, round_, replace(round_, published_at=clock.now_iso())))

    claim = Claim("mission-1", PROPOSER, 15, now, "Paint", now, now, state=ClaimState.SUBMITTED)
    run(lambda uow: mission_repository.add_claim(uow, claim, None))
    approved = replace(claim, state=ClaimState.APPROVED, updated_at=clock.now_iso())
    run(lambda uow: mission_repository.add_claim(uow, approved, claim))
    governance_repository.write_roll([RollEntry("ballot-1", OWNER, "c", now)])
    result = Result("ballot-1", 1, 1, True, (), {}, {}, adopted=True, closed_at=clock.now_iso())
    run(lambda uow: governance_repository.add_result(uow, result, already_done()))


EXPECTED = {
    (OWNER, Kind.EXCHANGE_PROPOSED): 1,
    (PROPOSER, Kind.EXCHANGE_ACCEPTED): 1,
    (PROPOSER, Kind.EXCHANGE_DECLINED): 1,
    (OWNER, Kind.EXCHANGE_CONFIRMED): 1,
    (OWNER, Kind.EXCHANGE_CANCELLED): 1,
    (PROPOSER, Kind.EXCHANGE_CANCELLED): 1,
    (OWNER, Kind.EXCHANGE_COMPLETED): 1,
    (PROPOSER, Kind.EXCHANGE_COMPLETED): 1,
    (OWNER, Kind.EXCHANGE_DISPUTED): 1,
    (PROPOSER, Kind.EXCHANGE_DISPUTED): 1,
    (OWNER, Kind.EXCHANGE_RESOLVED): 1,
    (PROPOSER, Kind.EXCHANGE_RESOLVED): 1,
    (PROPOSER, Kind.DAMAGE_CLAIMED): 1,
    (PROPOSER, Kind.LOAN_OVERDUE): 1,
    (OWNER, Kind.MESSAGE): 1,  # three messages, one notification
    (OWNER, Kind.CREDITS_RECEIVED): 1,
    (PROPOSER, Kind.PURCHASE_CREDITED): 1,
    (PROPOSER, Kind.PURCHASE_REVERSED): 1,
    (OWNER, Kind.REVIEW_RECEIVED): 1,
    (OWNER, Kind.REVIEWS_PUBLISHED): 1,
    (PROPOSER, Kind.REVIEWS_PUBLISHED): 1,
    (PROPOSER, Kind.MISSION_APPROVED): 1,
    (OWNER, Kind.BALLOT_OPENED): 1,
    (OWNER, Kind.BALLOT_RESULT): 1,
}


def stored() -> Counter[tuple[str, Kind]]:
    found: Counter[tuple[str, Kind]] = Counter()
    for member in (OWNER, PROPOSER):
        page = notifications.page(member, None, 100)
        found.update((member, item.kind) for item, _ in page.items)
    return found


def emitted(text: str) -> dict[str, list[float]]:
    lines = [json.loads(line) for line in text.splitlines() if '"_aws"' in line]
    return {
        name: line[name] for line in lines for name in ("StreamRecordsRejected", "NotificationsFailed") if name in line
    }


def test_every_kind_once_for_whom_it_concerns_whatever_is_delivered_twice(table_name, monkeypatch, capsys):
    every_followed_change()
    events = books._reader().batches()
    context = LambdaContext(aws_request_id="r")
    for event in events:
        app.table_changes(event, context)
        app.table_changes(event, context)  # at least once: delivered again
    found = stored()
    assert found == EXPECTED
    assert {kind for _, kind in found} == set(Kind) - rules.REMINDERS  # those come from a job: below
    (message,) = [item for item, _ in notifications.page(OWNER, None, 100).items if item.kind is Kind.MESSAGE]
    assert message.params == {"count": 3, "subject": "listing:l1"}
    capsys.readouterr()

    calls: list[str] = []

    def failing(notification) -> None:
        calls.append(notification.ref)
        raise RuntimeError("throttled")

    monkeypatch.setattr(notifications, "_store", failing)
    records = [record for event in events for record in event["Records"]]
    app.table_changes({"Records": [{"eventID": "broken"}, *records]}, context)  # never raises
    assert emitted(capsys.readouterr().out) == {
        "StreamRecordsRejected": [1.0],
        "NotificationsFailed": [float(len(calls))],
    }
    assert len(calls) == sum(EXPECTED.values()) + 2, "each one tried (the messages' two earlier ones too)"
    assert stored() == EXPECTED


def test_reminders_come_a_day_ahead_once_from_the_due_indexes(table_name):
    now = clock.now()

    def at(hours: float) -> str:
        return clock.iso(now + timedelta(hours=hours))

    def accepted(exchange_id: str, kind: ExchangeType, deadline: str, **fields: object) -> None:
        exchange = Exchange(exchange_id, kind, "l1", OWNER, PROPOSER, PROPOSER, OWNER, 30, State.ACCEPTED, at(0), at(0))
        run(lambda uow: exchange_repository.add_new(uow, replace(exchange, **fields), deadline))

    accepted("loan-soon", ExchangeType.LOAN, at(2), due_at=at(2))
    accepted("loan-later", ExchangeType.LOAN, at(72), due_at=at(72))
    accepted("trade", ExchangeType.TRADE, at(5), confirmed_by=frozenset({OWNER}))
    review_round = ReviewRound("trade", ExchangeType.TRADE, "l1", OWNER, PROPOSER, at(0), at(10))
    run(lambda uow: review_repository.add_round(uow, replace(review_round, submitted=frozenset({OWNER}))))
    ballot = Ballot("b1", "Statutes", "", Rules(BallotKind.YES_NO), at(-1), at(20), "op", at(-2), BallotState.OPEN)
    run(lambda uow: governance_repository.add_ballot(uow, ballot, None))
    voted = RollEntry("b1", PROPOSER, "c", at(20), voted=True)
    governance_repository.write_roll([RollEntry("b1", OWNER, "c", at(20)), voted])

    assert scheduled.send_reminders() == 4
    assert scheduled.send_reminders() == 0, "the window moved on"
    expected = {
        (PROPOSER, Kind.LOAN_DUE_SOON, "loan-soon"),
        (PROPOSER, Kind.EXCHANGE_TO_CONFIRM, "trade"),
        (PROPOSER, Kind.REVIEW_CLOSING, "trade"),
        (OWNER, Kind.BALLOT_CLOSING, "b1"),
    }
    assert reminded() == expected
    assert reminders.run(now + timedelta(hours=50)) == 1  # the later loan comes within a day
    assert reminded() == {*expected, (PROPOSER, Kind.LOAN_DUE_SOON, "loan-later")}


def reminded() -> set[tuple[str, Kind, str]]:
    return {
        (member, item.kind, item.ref)
        for member in (OWNER, PROPOSER)
        for item, _ in notifications.page(member, None, 100).items
    }
