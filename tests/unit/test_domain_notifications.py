"""Which change of the table notifies whom of what (domain/notifications.py), preferences, read state,
and that every kind has its English text."""

from __future__ import annotations

import pytest
from msgspec.structs import replace

from chalicelib.api.notifications import text
from chalicelib.domain import notifications as rules
from chalicelib.domain.changes import (
    BalanceMoved,
    Change,
    ClaimMoved,
    ExchangeMoved,
    InboxMoved,
    PurchaseMoved,
    ResultStored,
    ReviewWritten,
    RollEntered,
    RoundMoved,
    TableChange,
    TransferRecorded,
)
from chalicelib.domain.conversations import InboxEntry
from chalicelib.domain.exchanges import Exchange, ExchangeType, State
from chalicelib.domain.ledger import Transfer, TransferKind, TransferRequest, wallet_account
from chalicelib.domain.missions import Claim, ClaimState
from chalicelib.domain.notifications import Inbox, Kind, Notification, Preferences, Stored
from chalicelib.domain.purchases import Currency, Purchase, PurchaseStatus
from chalicelib.domain.reviews import Review, ReviewRound, Role

T0, T1 = "2026-05-01T10:00:00.000000Z", "2026-05-01T11:00:00.000000Z"
OWNER, PROPOSER = "olga", "pete"


def change(what: TableChange, time: str = T1) -> Change:
    return Change("event-1", "1", time, what)


def told(what: TableChange) -> list[tuple[str, Kind]]:
    return [(n.member_id, n.kind) for n in rules.for_change(change(what))]


def exchange(state: State = State.PROPOSED, kind: ExchangeType = ExchangeType.TRADE, **fields) -> Exchange:
    return Exchange("x1", kind, "l1", OWNER, PROPOSER, PROPOSER, OWNER, 30, state, T0, T0, **fields)


def moved(before: Exchange, **after) -> ExchangeMoved:
    return ExchangeMoved(before, replace(before, updated_at=T1, **after))


@pytest.mark.parametrize(
    ("what", "expected"),
    [
        (ExchangeMoved(None, exchange()), [(OWNER, Kind.EXCHANGE_PROPOSED)]),
        (ExchangeMoved(None, exchange(State.ACCEPTED, ExchangeType.BOOKING)), [(OWNER, Kind.EXCHANGE_PROPOSED)]),
        (moved(exchange(), state=State.ACCEPTED), [(PROPOSER, Kind.EXCHANGE_ACCEPTED)]),
        (moved(exchange(), state=State.DECLINED), [(PROPOSER, Kind.EXCHANGE_DECLINED)]),
        (
            moved(exchange(), state=State.CANCELLED),
            [(OWNER, Kind.EXCHANGE_CANCELLED), (PROPOSER, Kind.EXCHANGE_CANCELLED)],
        ),
        (
            moved(exchange(State.ACCEPTED), confirmed_by=frozenset({PROPOSER})),
            [(OWNER, Kind.EXCHANGE_CONFIRMED)],
        ),
        (
            moved(exchange(State.ACCEPTED), state=State.COMPLETED, posted_amount=30),
            [(OWNER, Kind.EXCHANGE_COMPLETED), (PROPOSER, Kind.EXCHANGE_COMPLETED)],
        ),
        (
            moved(exchange(State.ACCEPTED, ExchangeType.LOAN), state=State.DAMAGE_CLAIMED, claimed_damage=5),
            [(PROPOSER, Kind.DAMAGE_CLAIMED)],
        ),
        (
            moved(exchange(State.ACCEPTED), state=State.DISPUTED),
            [(OWNER, Kind.EXCHANGE_DISPUTED), (PROPOSER, Kind.EXCHANGE_DISPUTED)],
        ),
        (
            moved(exchange(State.DISPUTED), state=State.RESOLVED, posted_amount=10),
            [(OWNER, Kind.EXCHANGE_RESOLVED), (PROPOSER, Kind.EXCHANGE_RESOLVED)],
        ),
        (
            moved(exchange(State.ACCEPTED, ExchangeType.LOAN, due_at=T0), overdue=True),
            [(PROPOSER, Kind.LOAN_OVERDUE)],
        ),
        (moved(exchange(State.ACCEPTED), version=3), []),  # nothing a member hears of
        (ExchangeMoved(exchange(), None), []),
    ],
)
def test_each_exchange_transition_tells_the_members_concerned(what, expected):
    assert told(what) == expected


def test_an_exchange_notification_is_keyed_by_the_exchange_and_its_change_time():
    notification, _ = rules.for_change(change(moved(exchange(State.DISPUTED), state=State.RESOLVED, posted_amount=10)))
    assert (notification.ref, notification.at) == ("x1", T1)
    assert notification.params == {"type": "trade", "credits": 10}


def entry(unread: int, at: str) -> InboxEntry:
    return InboxEntry("c1", "listing:l1", unread, at)


def test_messages_are_one_notification_per_conversation_that_replaces_the_previous_one():
    (first,) = rules.for_change(change(InboxMoved(OWNER, None, entry(1, T0))))
    assert (first.kind, first.ref, first.at, first.params["count"], first.replaces) == (Kind.MESSAGE, "c1", T0, 1, None)
    (second,) = rules.for_change(change(InboxMoved(OWNER, entry(1, T0), entry(2, T1))))
    assert (second.at, second.params["count"], second.replaces) == (T1, 2, T0)
    assert told(InboxMoved(PROPOSER, entry(0, T0), entry(0, T1))) == [], "the sender's own message"
    assert told(InboxMoved(OWNER, entry(2, T1), entry(0, T1))) == [], "read"


def transfer(kind: TransferKind, payee: str = wallet_account(OWNER), **refs: str) -> TransferRecorded:
    request = TransferRequest("t1", wallet_account(PROPOSER), payee, 7, kind, refs=dict(refs))
    return TransferRecorded(Transfer(request, T0, request.payer, request.payee))


@pytest.mark.parametrize(
    ("what", "expected"),
    [
        (transfer(TransferKind.TIP), [(OWNER, Kind.CREDITS_RECEIVED)]),
        (transfer(TransferKind.REWARD), [(OWNER, Kind.CREDITS_RECEIVED)]),
        (transfer(TransferKind.REWARD, mission_id="m1"), []),  # the mission's approval says it
        (transfer(TransferKind.HOLD_POST), []),  # the exchange's completion says it
        (transfer(TransferKind.PURCHASE), []),  # the purchase says it
        (transfer(TransferKind.PAYMENT, payee="platform:fees"), []),
    ],
)
def test_credits_received_by_a_member_outside_exchanges_and_purchases(what, expected):
    assert told(what) == expected


def purchase(status: PurchaseStatus, reversed_credits: int = 0) -> Purchase:
    return Purchase("p1", OWNER, "pack", 50, 500, Currency.EUR, status, T0, reversed_credits=reversed_credits)


def test_a_purchase_credited_then_partly_reversed():
    credited = PurchaseMoved(purchase(PurchaseStatus.PENDING), purchase(PurchaseStatus.SUCCEEDED), T1)
    assert told(credited) == [(OWNER, Kind.PURCHASE_CREDITED)]
    reversed_ = PurchaseMoved(purchase(PurchaseStatus.SUCCEEDED), purchase(PurchaseStatus.SUCCEEDED, 20), T1)
    (notification,) = rules.for_change(change(reversed_))
    assert (notification.kind, notification.params) == (Kind.PURCHASE_REVERSED, {"credits": 20})
    assert told(PurchaseMoved(purchase(PurchaseStatus.SUCCEEDED), purchase(PurchaseStatus.SUCCEEDED), T1)) == []


def test_reviews_missions_and_ballots():
    review = Review("x1", PROPOSER, OWNER, Role.PROVIDER, 5, "", T0, T0)
    assert told(ReviewWritten(review)) == [(OWNER, Kind.REVIEW_RECEIVED)]
    open_round = ReviewRound("x1", ExchangeType.TRADE, "l1", OWNER, PROPOSER, T0, T1)
    published = RoundMoved(open_round, replace(open_round, published_at=T1))
    assert sorted(told(published)) == [(OWNER, Kind.REVIEWS_PUBLISHED), (PROPOSER, Kind.REVIEWS_PUBLISHED)]
    assert told(RoundMoved(published.new, replace(published.new, version=2))) == []
    claim = Claim("m1", PROPOSER, 15, T1, "Paint", T0, T0, state=ClaimState.SUBMITTED)
    assert told(ClaimMoved(claim, replace(claim, state=ClaimState.APPROVED))) == [(PROPOSER, Kind.MISSION_APPROVED)]
    assert told(ClaimMoved(claim, replace(claim, state=ClaimState.REJECTED))) == []
    assert told(RollEntered("b1", OWNER, T1)) == [(OWNER, Kind.BALLOT_OPENED)]
    assert told(BalanceMoved(None, None, T0)) == []


@pytest.mark.parametrize(
    ("adopted", "withheld", "params"),
    [
        (True, False, {"withheld": "no", "adopted": "yes"}),
        (False, False, {"withheld": "no", "adopted": "no"}),  # rejected, or no quorum
        (None, False, {"withheld": "no"}),  # an election, a budget...: winners, not adoption
        (None, True, {"withheld": "yes"}),  # a secret ballot with too few voters: only that it closed
        (True, True, {"withheld": "yes"}),  # withheld says nothing of the outcome, whatever it holds
    ],
)
def test_a_ballot_result_tells_everyone_on_the_roll_what_a_client_shows(adopted, withheld, params):
    stored = ResultStored("b1", T1, adopted, withheld)
    made = rules.ballot_results(stored, [PROPOSER, OWNER, PROPOSER])
    assert [(n.member_id, n.kind, n.ref, n.at) for n in made] == [
        (OWNER, Kind.BALLOT_RESULT, "b1", T1),
        (PROPOSER, Kind.BALLOT_RESULT, "b1", T1),
    ]
    assert all(n.params == params for n in made)
    assert rules.ballot_results(stored, []) == []
    assert told(stored) == [], "the change alone names nobody: the service reads the roll"


def test_preferences_and_read_state():
    assert Preferences().wants(Kind.MESSAGE)
    assert not Preferences(frozenset({Kind.MESSAGE})).wants(Kind.MESSAGE)
    stored = [Stored(f"id{at}", Kind.MESSAGE, "c1", at, {}, marked, 10) for at, marked in ((T0, False), (T1, False))]
    assert rules.unread(Inbox(), stored, now=5) == 2
    assert rules.unread(Inbox(until=T0), stored, now=5) == 1
    assert rules.unread(Inbox(), [replace(stored[1], marked=True)], now=5) == 0
    assert rules.unread(Inbox(), stored, now=10) == 0, "expired: the TTL has not removed them yet"
    assert rules.expires_at(T0) - rules.expires_at("2026-04-01T10:00:00.000000Z") == 30 * 86400


def every_notification() -> list[Notification]:
    """One of each kind, as the rules make them."""
    claim = Claim("m1", PROPOSER, 15, T1, "Paint", T0, T0, state=ClaimState.SUBMITTED)
    review_round = ReviewRound("x1", ExchangeType.TRADE, "l1", OWNER, PROPOSER, T0, T1)
    changes = [
        ExchangeMoved(None, exchange()),
        moved(exchange(), state=State.ACCEPTED),
        moved(exchange(), state=State.DECLINED),
        moved(exchange(), state=State.CANCELLED),
        moved(exchange(State.ACCEPTED), confirmed_by=frozenset({PROPOSER})),
        moved(exchange(State.ACCEPTED), state=State.COMPLETED, posted_amount=30),
        moved(exchange(State.ACCEPTED, ExchangeType.LOAN), state=State.DAMAGE_CLAIMED, claimed_damage=5),
        moved(exchange(State.ACCEPTED), state=State.DISPUTED),
        moved(exchange(State.DISPUTED), state=State.RESOLVED, posted_amount=10),
        moved(exchange(State.ACCEPTED, ExchangeType.LOAN, due_at=T0), overdue=True),
        InboxMoved(OWNER, None, entry(1, T0)),
        transfer(TransferKind.TIP),
        PurchaseMoved(purchase(PurchaseStatus.PENDING), purchase(PurchaseStatus.SUCCEEDED, 5), T1),
        ReviewWritten(Review("x1", PROPOSER, OWNER, Role.PROVIDER, 5, "", T0, T0)),
        RoundMoved(review_round, replace(review_round, published_at=T1)),
        ClaimMoved(claim, replace(claim, state=ClaimState.APPROVED)),
        RollEntered("b1", OWNER, T1),
    ]
    due = exchange(State.ACCEPTED, ExchangeType.LOAN, due_at=T1)
    reminders = [
        *rules.exchange_reminders(due, T1),
        *rules.exchange_reminders(exchange(State.ACCEPTED, confirmed_by=frozenset({PROPOSER})), T1),
        *rules.review_reminders(review_round),
        *rules.ballot_reminders("b1", T1, [OWNER]),
    ]
    outcomes = [(True, False), (False, False), (None, False), (None, True)]  # a template fills each one
    results = [n for o in outcomes for n in rules.ballot_results(ResultStored("b1", T1, *o), [OWNER])]
    return rules.for_changes(change(what) for what in changes) + results + reminders


def test_every_kind_is_made_and_has_an_english_text_its_parameters_fill():
    made = every_notification()
    assert {n.kind for n in made} == set(Kind)
    for notification in made:
        rendered = text(notification.kind, notification.params)
        assert "{" not in rendered and rendered.endswith("."), rendered


def test_reminders_a_day_ahead_for_whom_something_waits():
    def reminded(made: list[Notification]) -> list[tuple[str, Kind, str]]:
        return [(n.member_id, n.kind, n.at) for n in made]

    day_before = "2026-04-30T11:00:00.000000Z"
    loan = exchange(State.ACCEPTED, ExchangeType.LOAN, due_at=T1)
    assert reminded(rules.exchange_reminders(loan, T1)) == [(PROPOSER, Kind.LOAN_DUE_SOON, day_before)]
    assert rules.exchange_reminders(replace(loan, overdue=True), T1) == [], "past due: the overdue notice says it"
    trade = exchange(State.ACCEPTED, confirmed_by=frozenset({OWNER}))
    assert reminded(rules.exchange_reminders(trade, T1)) == [(PROPOSER, Kind.EXCHANGE_TO_CONFIRM, day_before)]
    assert rules.exchange_reminders(exchange(State.ACCEPTED), T1) == [], "nobody confirmed: cancelled, not completed"
    seat = exchange(State.ACCEPTED, ExchangeType.SHARE, due_at=T0)
    assert reminded(rules.exchange_reminders(seat, T1)) == [(OWNER, Kind.EXCHANGE_TO_CONFIRM, day_before)]
    assert rules.exchange_reminders(exchange(State.DISPUTED), T1) == []

    review_round = ReviewRound("x1", ExchangeType.TRADE, "l1", OWNER, PROPOSER, T0, T1, submitted=frozenset({OWNER}))
    assert reminded(rules.review_reminders(review_round)) == [(PROPOSER, Kind.REVIEW_CLOSING, day_before)]
    assert rules.review_reminders(replace(review_round, published_at=T0)) == []
    (ballot,) = rules.ballot_reminders("b1", T1, [OWNER])
    assert (ballot.kind, ballot.ref, ballot.params) == (Kind.BALLOT_CLOSING, "b1", {"due_at": T1})
