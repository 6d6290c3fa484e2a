"""The exchange state machines (trade, loan, share, booking), transition by transition: who may make
each move (403 otherwise), from which states (409 stating the state otherwise), and what happens to
the credits (hold placed, posted in whole or part, voided, or nothing). Pure: no database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from msgspec.structs import replace

from chalicelib import clock, errors
from chalicelib.api.problems import status_of
from chalicelib.domain.exchanges import (
    FINAL,
    TRADE_LIFETIME,
    Action,
    Effect,
    Exchange,
    ExchangeType,
    Role,
    State,
    awaited_from,
    decide,
    next_deadline,
    on_deadline,
    resolve,
)

OWNER, PROPOSER, STRANGER = "olga", "pete", "sam"
T0 = "2030-01-01T12:00:00.000000Z"
NOW = "2030-01-02T12:00:00.000000Z"
EVENT = "2030-01-10T18:00:00.000000Z"  # share event, booking end, loan due
DELAY = timedelta(hours=72)
GRACE = timedelta(days=14)
ALL_STATES = list(State)


def at(moment: str, **delta: float) -> str:
    return clock.iso(clock.parse(moment) + timedelta(**delta))


def exchange(kind: ExchangeType = ExchangeType.TRADE, state: State = State.PROPOSED, **changes) -> Exchange:
    fields = {
        "exchange_id": "x1",
        "type": kind,
        "listing_id": "l1",
        "owner_id": OWNER,
        "proposer_id": PROPOSER,
        "payer_id": PROPOSER,
        "payee_id": OWNER,
        "amount": 30,
        "state": state,
        "created_at": T0,
        "updated_at": T0,
        "version": 3,
    }
    if kind is ExchangeType.LOAN:
        fields |= {"amount": 45, "fee": 5, "due_at": EVENT}
    elif kind is ExchangeType.SHARE:
        fields |= {"amount": 10, "due_at": EVENT}
    elif kind is ExchangeType.BOOKING:
        fields |= {"amount": 8, "starts_at": at(EVENT, hours=-2), "due_at": EVENT}
    return Exchange(**{**fields, **changes})


ACTOR = {Role.OWNER: OWNER, Role.PROPOSER: PROPOSER, Role.OPERATOR: "op", Role.SCHEDULER: "cron"}


def move(x: Exchange, action: Action, role: Role, now: str = NOW, **kwargs):
    return decide(x, action, role, ACTOR[role], now, **kwargs)


def refused(call, status: int, code: str) -> errors.AppError:
    with pytest.raises(errors.AppError) as caught:
        call()
    assert (status_of(caught.value), caught.value.code) == (status, code), caught.value
    return caught.value


def illegal(x: Exchange, action: Action, role: Role, now: str = NOW, **kwargs) -> errors.AppError:
    """A 409 that states the current state."""
    with pytest.raises(errors.AppError) as caught:
        move(x, action, role, now, **kwargs)
    assert status_of(caught.value) == 409, caught.value
    assert caught.value.extra["state"] == x.state.value, caught.value
    return caught.value


def forbidden(x: Exchange, action: Action, role: Role, now: str = NOW, **kwargs) -> None:
    refused(lambda: move(x, action, role, now, **kwargs), 403, "forbidden")


def moved(decision, x: Exchange, to: State, effect: Effect, post: int = 0, now: str = NOW) -> Exchange:
    after = decision.exchange
    assert (after.state, decision.effect, decision.post_amount) == (to, effect, post), decision
    assert after.updated_at == now
    assert after.version == x.version + 1
    # the identity and the money at stake never change with a transition
    same = ("exchange_id", "type", "listing_id", "owner_id", "proposer_id", "payer_id", "payee_id", "amount", "fee")
    assert all(getattr(after, name) == getattr(x, name) for name in same)
    return after


def others(*allowed: State) -> list[State]:
    return [state for state in ALL_STATES if state not in allowed]


# the exchange itself


def test_roles_hold_and_credits():
    x = exchange()
    assert x.role_of(OWNER) is Role.OWNER
    assert x.role_of(PROPOSER) is Role.PROPOSER
    assert x.role_of(STRANGER) is None
    assert x.hold_id == "exchange:x1"
    assert x.moves_credits
    assert not exchange(amount=0).moves_credits
    assert {State.COMPLETED, State.DECLINED, State.CANCELLED, State.RESOLVED} == FINAL


@pytest.mark.parametrize("kind", list(ExchangeType))
@pytest.mark.parametrize("action", list(Action))
def test_operators_never_move_an_exchange_with_member_actions(kind, action):
    for state in ALL_STATES:
        forbidden(exchange(kind, state), action, Role.OPERATOR)


# trade: propose -> accept (hold) | decline; cancel (void); confirm x2 (post); dispute


def test_trade_accept_by_the_owner_holds_the_credits():
    x = exchange()
    after = moved(move(x, Action.ACCEPT, Role.OWNER), x, State.ACCEPTED, Effect.HOLD)
    assert after.confirmed_by == frozenset() and after.posted_amount == 0


def test_only_the_owner_accepts_or_declines():
    forbidden(exchange(), Action.ACCEPT, Role.PROPOSER)
    forbidden(exchange(), Action.DECLINE, Role.PROPOSER)


@pytest.mark.parametrize("state", others(State.PROPOSED))
@pytest.mark.parametrize("action", [Action.ACCEPT, Action.DECLINE])
def test_accept_and_decline_only_a_proposal(state, action):
    problem = illegal(exchange(state=state), action, Role.OWNER)
    assert problem.code == "illegal-transition"


def test_decline_moves_nothing():
    x = exchange()
    moved(move(x, Action.DECLINE, Role.OWNER), x, State.DECLINED, Effect.NONE)


@pytest.mark.parametrize("role", [Role.OWNER, Role.PROPOSER])
def test_either_side_withdraws_a_proposal_without_moving_credits(role):
    x = exchange()
    moved(move(x, Action.CANCEL, role), x, State.CANCELLED, Effect.NONE)


@pytest.mark.parametrize("role", [Role.OWNER, Role.PROPOSER])
def test_either_side_cancels_an_accepted_trade_and_the_hold_is_voided(role):
    x = exchange(state=State.ACCEPTED)
    moved(move(x, Action.CANCEL, role), x, State.CANCELLED, Effect.VOID)
    half_confirmed = exchange(state=State.ACCEPTED, confirmed_by=frozenset({OWNER}))
    moved(move(half_confirmed, Action.CANCEL, role), half_confirmed, State.CANCELLED, Effect.VOID)


@pytest.mark.parametrize("state", others(State.PROPOSED, State.ACCEPTED))
@pytest.mark.parametrize("role", [Role.OWNER, Role.PROPOSER])
def test_no_cancel_after_completion_or_during_a_dispute(state, role):
    assert illegal(exchange(state=state), Action.CANCEL, role).code == "illegal-transition"


def test_both_sides_confirm_then_the_hold_is_posted():
    x = exchange(state=State.ACCEPTED)
    first = moved(move(x, Action.CONFIRM, Role.PROPOSER), x, State.ACCEPTED, Effect.NONE)
    assert first.confirmed_by == {PROPOSER}
    # a repeated confirmation would push back the silent completion: refused, stating the state
    problem = refused(lambda: move(first, Action.CONFIRM, Role.PROPOSER), 409, "already-confirmed")
    assert problem.extra["state"] == "accepted"
    done = moved(move(first, Action.CONFIRM, Role.OWNER), first, State.COMPLETED, Effect.POST, 30)
    assert done.confirmed_by == {OWNER, PROPOSER} and done.posted_amount == 30


def test_the_owner_may_confirm_first():
    x = exchange(state=State.ACCEPTED)
    first = moved(move(x, Action.CONFIRM, Role.OWNER), x, State.ACCEPTED, Effect.NONE)
    moved(move(first, Action.CONFIRM, Role.PROPOSER), first, State.COMPLETED, Effect.POST, 30)


@pytest.mark.parametrize("state", others(State.ACCEPTED))
def test_confirm_only_an_accepted_trade(state):
    illegal(exchange(state=state), Action.CONFIRM, Role.PROPOSER)
    illegal(exchange(state=state), Action.CONFIRM, Role.OWNER)


def test_a_gift_moves_no_credits_at_any_step():
    gift = exchange(amount=0)
    accepted = moved(move(gift, Action.ACCEPT, Role.OWNER), gift, State.ACCEPTED, Effect.NONE)
    half = moved(move(accepted, Action.CONFIRM, Role.OWNER), accepted, State.ACCEPTED, Effect.NONE)
    done = moved(move(half, Action.CONFIRM, Role.PROPOSER), half, State.COMPLETED, Effect.NONE)
    assert done.posted_amount == 0
    moved(move(accepted, Action.CANCEL, Role.OWNER), accepted, State.CANCELLED, Effect.NONE)
    disputed = moved(move(accepted, Action.DISPUTE, Role.PROPOSER), accepted, State.DISPUTED, Effect.NONE)
    assert resolve(disputed, 0, NOW).effect is Effect.NONE


def test_on_a_request_the_owner_pays_and_the_hold_is_theirs():
    request = exchange(payer_id=OWNER, payee_id=PROPOSER)
    accepted = moved(move(request, Action.ACCEPT, Role.OWNER), request, State.ACCEPTED, Effect.HOLD)
    assert (accepted.payer_id, accepted.payee_id) == (OWNER, PROPOSER)


@pytest.mark.parametrize("role", [Role.OWNER, Role.PROPOSER])
def test_either_side_disputes_an_accepted_trade(role):
    x = exchange(state=State.ACCEPTED, confirmed_by=frozenset({OWNER}))
    moved(move(x, Action.DISPUTE, role), x, State.DISPUTED, Effect.NONE)


@pytest.mark.parametrize("state", others(State.ACCEPTED))
def test_dispute_only_an_accepted_trade(state):
    illegal(exchange(state=state), Action.DISPUTE, Role.PROPOSER)


@pytest.mark.parametrize("action", [Action.CONFIRM_RETURN, Action.CLAIM_DAMAGE, Action.ACCEPT_CLAIM])
@pytest.mark.parametrize("role", [Role.OWNER, Role.PROPOSER])
def test_loan_moves_do_not_apply_to_a_trade(action, role):
    forbidden(exchange(state=State.ACCEPTED), action, role, amount=5)


# loan: the deposit and fee are held; return posts the fee; a damage claim posts fee + claim


def test_loan_accept_holds_deposit_and_fee():
    loan = exchange(ExchangeType.LOAN)
    after = moved(move(loan, Action.ACCEPT, Role.OWNER), loan, State.ACCEPTED, Effect.HOLD)
    assert after.amount == 45 and after.fee == 5


def test_loan_decline_and_withdrawal():
    loan = exchange(ExchangeType.LOAN)
    forbidden(loan, Action.ACCEPT, Role.PROPOSER)
    moved(move(loan, Action.DECLINE, Role.OWNER), loan, State.DECLINED, Effect.NONE)
    moved(move(loan, Action.CANCEL, Role.PROPOSER), loan, State.CANCELLED, Effect.NONE)


@pytest.mark.parametrize("role", [Role.OWNER, Role.PROPOSER])
def test_a_loan_in_progress_cannot_be_cancelled(role):
    assert illegal(exchange(ExchangeType.LOAN, State.ACCEPTED), Action.CANCEL, role).code == "illegal-transition"
    illegal(exchange(ExchangeType.LOAN, State.ACCEPTED, overdue=True), Action.CANCEL, role)


@pytest.mark.parametrize("role", [Role.OWNER, Role.PROPOSER])
def test_a_loan_is_not_confirmed_like_a_trade(role):
    illegal(exchange(ExchangeType.LOAN, State.ACCEPTED), Action.CONFIRM, role)


def test_return_posts_the_fee_and_releases_the_deposit():
    loan = exchange(ExchangeType.LOAN, State.ACCEPTED)
    done = moved(move(loan, Action.CONFIRM_RETURN, Role.OWNER), loan, State.COMPLETED, Effect.POST, 5)
    assert done.posted_amount == 5
    overdue = replace(loan, overdue=True)
    moved(move(overdue, Action.CONFIRM_RETURN, Role.OWNER), overdue, State.COMPLETED, Effect.POST, 5)


def test_return_of_a_free_loan_voids_the_hold():
    loan = exchange(ExchangeType.LOAN, State.ACCEPTED, amount=40, fee=0)
    done = moved(move(loan, Action.CONFIRM_RETURN, Role.OWNER), loan, State.COMPLETED, Effect.VOID)
    assert done.posted_amount == 0


def test_only_the_lender_confirms_the_return_or_claims_damage():
    loan = exchange(ExchangeType.LOAN, State.ACCEPTED)
    forbidden(loan, Action.CONFIRM_RETURN, Role.PROPOSER)
    forbidden(loan, Action.CLAIM_DAMAGE, Role.PROPOSER, amount=10)


@pytest.mark.parametrize("state", others(State.ACCEPTED))
def test_return_and_claim_only_while_the_object_is_out(state):
    loan = exchange(ExchangeType.LOAN, state)
    illegal(loan, Action.CONFIRM_RETURN, Role.OWNER)
    illegal(loan, Action.CLAIM_DAMAGE, Role.OWNER, amount=10)


@pytest.mark.parametrize("amount", [1, 17, 40])
def test_a_damage_claim_is_up_to_the_deposit_and_moves_nothing_yet(amount):
    loan = exchange(ExchangeType.LOAN, State.ACCEPTED)
    claimed = moved(move(loan, Action.CLAIM_DAMAGE, Role.OWNER, amount=amount), loan, State.DAMAGE_CLAIMED, Effect.NONE)
    assert claimed.claimed_damage == amount


@pytest.mark.parametrize("amount", [None, 0, -3, 41, 45])
def test_a_damage_claim_beyond_the_deposit_is_refused(amount):
    loan = exchange(ExchangeType.LOAN, State.ACCEPTED)
    problem = refused(lambda: move(loan, Action.CLAIM_DAMAGE, Role.OWNER, amount=amount), 422, "invalid-amount")
    assert "40" in problem.detail()


def test_the_borrower_accepts_the_claim_and_fee_plus_claim_are_posted():
    claimed = exchange(ExchangeType.LOAN, State.DAMAGE_CLAIMED, claimed_damage=12)
    forbidden(claimed, Action.ACCEPT_CLAIM, Role.OWNER)
    done = moved(move(claimed, Action.ACCEPT_CLAIM, Role.PROPOSER), claimed, State.COMPLETED, Effect.POST, 17)
    assert done.posted_amount == 17


@pytest.mark.parametrize("state", others(State.DAMAGE_CLAIMED))
def test_accept_a_claim_only_when_there_is_one(state):
    illegal(exchange(ExchangeType.LOAN, state, claimed_damage=12), Action.ACCEPT_CLAIM, Role.PROPOSER)


def test_the_borrower_disputes_a_damage_claim():
    claimed = exchange(ExchangeType.LOAN, State.DAMAGE_CLAIMED, claimed_damage=12)
    moved(move(claimed, Action.DISPUTE, Role.PROPOSER), claimed, State.DISPUTED, Effect.NONE)
    forbidden(claimed, Action.DISPUTE, Role.OWNER)


@pytest.mark.parametrize("state", others(State.DAMAGE_CLAIMED))
def test_a_loan_is_disputed_only_over_a_damage_claim(state):
    illegal(exchange(ExchangeType.LOAN, state), Action.DISPUTE, Role.PROPOSER)


@pytest.mark.parametrize("state", [State.DAMAGE_CLAIMED, State.DISPUTED])
@pytest.mark.parametrize("role", [Role.OWNER, Role.PROPOSER])
def test_a_claimed_or_disputed_loan_cannot_be_cancelled(state, role):
    illegal(exchange(ExchangeType.LOAN, state, claimed_damage=12), Action.CANCEL, role)


# share (a seat) and booking (hours of a pooled object): accepted at once; cancel before the start;
# the owner confirms after the event


@pytest.mark.parametrize("kind", [ExchangeType.SHARE, ExchangeType.BOOKING])
def test_the_participant_cancels_before_the_start_and_the_hold_is_voided(kind):
    x = exchange(kind, State.ACCEPTED)
    begins = x.starts_at or x.due_at
    moved(move(x, Action.CANCEL, Role.PROPOSER), x, State.CANCELLED, Effect.VOID)
    late = at(begins, microseconds=-1)
    moved(move(x, Action.CANCEL, Role.PROPOSER, late), x, State.CANCELLED, Effect.VOID, now=late)
    for too_late in (begins, at(begins, minutes=1), at(EVENT, days=5)):
        problem = refused(lambda now=too_late: move(x, Action.CANCEL, Role.PROPOSER, now), 409, "too-late")
        assert problem.extra["state"] == "accepted"


@pytest.mark.parametrize("kind", [ExchangeType.SHARE, ExchangeType.BOOKING])
def test_only_the_participant_cancels_a_seat_or_a_booking(kind):
    forbidden(exchange(kind, State.ACCEPTED), Action.CANCEL, Role.OWNER)


@pytest.mark.parametrize("kind", [ExchangeType.SHARE, ExchangeType.BOOKING])
def test_the_owner_confirms_after_the_event_and_the_whole_price_is_posted(kind):
    x = exchange(kind, State.ACCEPTED)
    done = moved(move(x, Action.CONFIRM, Role.OWNER, EVENT), x, State.COMPLETED, Effect.POST, x.amount, now=EVENT)
    assert done.posted_amount == x.amount
    later = at(EVENT, days=3)
    moved(move(x, Action.CONFIRM, Role.OWNER, later), x, State.COMPLETED, Effect.POST, x.amount, now=later)


@pytest.mark.parametrize("kind", [ExchangeType.SHARE, ExchangeType.BOOKING])
def test_not_confirmed_before_the_event_nor_by_the_participant(kind):
    x = exchange(kind, State.ACCEPTED)
    for early in (NOW, at(EVENT, microseconds=-1)):
        problem = refused(lambda now=early: move(x, Action.CONFIRM, Role.OWNER, now), 409, "too-early")
        assert problem.extra["state"] == "accepted"
    forbidden(x, Action.CONFIRM, Role.PROPOSER, at(EVENT, hours=1))


@pytest.mark.parametrize("kind", [ExchangeType.SHARE, ExchangeType.BOOKING])
@pytest.mark.parametrize("state", others(State.ACCEPTED))
def test_seats_and_bookings_in_other_states(kind, state):
    x = exchange(kind, state)
    illegal(x, Action.CONFIRM, Role.OWNER, at(EVENT, hours=1))
    if state is not State.PROPOSED:
        illegal(x, Action.CANCEL, Role.PROPOSER)


@pytest.mark.parametrize("kind", [ExchangeType.SHARE, ExchangeType.BOOKING])
def test_a_seat_or_booking_is_never_accepted_twice(kind):
    illegal(exchange(kind, State.ACCEPTED), Action.ACCEPT, Role.OWNER)
    illegal(exchange(kind, State.ACCEPTED), Action.DECLINE, Role.OWNER)


@pytest.mark.parametrize("kind", [ExchangeType.SHARE, ExchangeType.BOOKING])
@pytest.mark.parametrize("role", [Role.OWNER, Role.PROPOSER])
def test_a_seat_or_booking_can_be_disputed(kind, role):
    x = exchange(kind, State.ACCEPTED)
    moved(move(x, Action.DISPUTE, role), x, State.DISPUTED, Effect.NONE)


@pytest.mark.parametrize("kind", [ExchangeType.SHARE, ExchangeType.BOOKING])
def test_a_free_seat_or_booking_moves_no_credits(kind):
    x = exchange(kind, State.ACCEPTED, amount=0)
    moved(move(x, Action.CANCEL, Role.PROPOSER), x, State.CANCELLED, Effect.NONE)
    moved(move(x, Action.CONFIRM, Role.OWNER, EVENT), x, State.COMPLETED, Effect.NONE, now=EVENT)


# resolve: an operator posts all, none or a split of a disputed exchange's hold


@pytest.mark.parametrize(
    ("share", "effect"), [(0, Effect.VOID), (1, Effect.POST), (12, Effect.POST), (29, Effect.POST), (30, Effect.POST)]
)
def test_resolve_posts_the_payees_share_and_releases_the_rest(share, effect):
    x = exchange(state=State.DISPUTED)
    decision = resolve(x, share, NOW)
    after = moved(decision, x, State.RESOLVED, effect, share)
    assert after.posted_amount == share


@pytest.mark.parametrize("kind", list(ExchangeType))
def test_resolve_any_kind_of_dispute(kind):
    x = exchange(kind, State.DISPUTED, claimed_damage=10)
    moved(resolve(x, x.amount, NOW), x, State.RESOLVED, Effect.POST, x.amount)
    moved(resolve(x, 0, NOW), x, State.RESOLVED, Effect.VOID, 0)


@pytest.mark.parametrize("share", [-1, 31, 10_000])
def test_resolve_beyond_the_hold_is_refused(share):
    problem = refused(lambda: resolve(exchange(state=State.DISPUTED), share, NOW), 422, "invalid-amount")
    assert "30" in problem.detail()


@pytest.mark.parametrize("state", others(State.DISPUTED))
def test_only_a_disputed_exchange_is_resolved(state):
    problem = refused(lambda: resolve(exchange(state=state), 10, NOW), 409, "illegal-transition")
    assert problem.extra["state"] == state.value


@pytest.mark.parametrize("action", [Action.CONFIRM, Action.CANCEL, Action.DISPUTE])
def test_a_dispute_waits_for_the_operators(action):
    for kind in ExchangeType:
        illegal(exchange(kind, State.DISPUTED), action, Role.OWNER, at(EVENT, days=1))
        illegal(exchange(kind, State.DISPUTED), action, Role.PROPOSER, at(EVENT, days=1))
        illegal(exchange(kind, State.DISPUTED), Action.ACCEPT, Role.OWNER)


# the scheduler: on_deadline and next_deadline


def tick(x: Exchange, now: str):
    """What the scheduler does at `now`, as run_deadlines computes its bounds."""
    moment = clock.parse(now)
    return on_deadline(x, now, clock.iso(moment - DELAY), clock.iso(moment - GRACE))


def scheduled(decision, x: Exchange, to: State, effect: Effect, post: int, now: str) -> Exchange:
    assert decision is not None
    after = moved(decision, x, to, effect, post, now=now)
    assert after.posted_amount == post
    return after


def test_one_sided_confirmation_completes_after_the_delay():
    x = exchange(state=State.ACCEPTED, confirmed_by=frozenset({PROPOSER}), updated_at=T0)
    assert tick(x, at(T0, hours=71)) is None
    due = at(T0, hours=72)
    scheduled(tick(x, due), x, State.COMPLETED, Effect.POST, 30, due)
    late = at(T0, days=30)
    scheduled(tick(x, late), x, State.COMPLETED, Effect.POST, 30, late)


def test_silence_on_both_sides_never_completes_and_an_abandoned_trade_is_cancelled():
    x = exchange(state=State.ACCEPTED)
    abandoned = clock.iso(clock.parse(T0) + TRADE_LIFETIME)
    assert next_deadline(x, DELAY, GRACE) == abandoned
    assert tick(x, at(abandoned, seconds=-1)) is None
    scheduled(tick(x, abandoned), x, State.CANCELLED, Effect.VOID, 0, abandoned)


def test_a_silent_gift_completes_without_moving_credits():
    x = exchange(state=State.ACCEPTED, amount=0, confirmed_by=frozenset({OWNER}))
    due = at(T0, hours=72)
    scheduled(tick(x, due), x, State.COMPLETED, Effect.NONE, 0, due)


@pytest.mark.parametrize("kind", [ExchangeType.SHARE, ExchangeType.BOOKING])
def test_seats_and_bookings_complete_after_the_event(kind):
    x = exchange(kind, State.ACCEPTED)
    assert tick(x, EVENT) is None
    assert tick(x, at(EVENT, hours=71)) is None
    due = at(EVENT, hours=72)
    scheduled(tick(x, due), x, State.COMPLETED, Effect.POST, x.amount, due)


def test_a_silent_damage_claim_is_posted():
    x = exchange(ExchangeType.LOAN, State.DAMAGE_CLAIMED, claimed_damage=12, updated_at=NOW)
    assert tick(x, at(NOW, hours=71)) is None
    due = at(NOW, hours=72)
    scheduled(tick(x, due), x, State.COMPLETED, Effect.POST, 17, due)


def test_an_overdue_loan_is_flagged_then_settled_after_grace():
    loan = exchange(ExchangeType.LOAN, State.ACCEPTED)
    assert tick(loan, at(EVENT, seconds=-1)) is None
    flagged_at = at(EVENT, hours=1)
    decision = tick(loan, flagged_at)
    flagged = moved(decision, loan, State.ACCEPTED, Effect.NONE, now=flagged_at)
    assert flagged.overdue and flagged.posted_amount == 0
    assert tick(flagged, at(EVENT, days=13)) is None  # flagged once, then it waits out the grace
    settled_at = at(EVENT, days=14)
    scheduled(tick(flagged, settled_at), flagged, State.COMPLETED, Effect.POST, 45, settled_at)


def test_a_loan_found_past_its_grace_is_settled_at_once():
    loan = exchange(ExchangeType.LOAN, State.ACCEPTED)
    late = at(EVENT, days=20)
    scheduled(tick(loan, late), loan, State.COMPLETED, Effect.POST, 45, late)


@pytest.mark.parametrize("kind", list(ExchangeType))
@pytest.mark.parametrize("state", [State.PROPOSED, State.DISPUTED, *sorted(FINAL)])
def test_the_scheduler_leaves_other_states_alone(kind, state):
    x = exchange(kind, state, confirmed_by=frozenset({OWNER}), claimed_damage=3)
    assert tick(x, at(EVENT, days=400)) is None
    assert next_deadline(x, DELAY, GRACE) is None


DEADLINE_CASES = [
    pytest.param(exchange(state=State.ACCEPTED, confirmed_by=frozenset({OWNER})), at(T0, hours=72), id="trade"),
    pytest.param(exchange(state=State.ACCEPTED), clock.iso(clock.parse(T0) + TRADE_LIFETIME), id="abandoned-trade"),
    pytest.param(exchange(ExchangeType.SHARE, State.ACCEPTED), at(EVENT, hours=72), id="share"),
    pytest.param(exchange(ExchangeType.BOOKING, State.ACCEPTED), at(EVENT, hours=72), id="booking"),
    pytest.param(exchange(ExchangeType.LOAN, State.DAMAGE_CLAIMED, claimed_damage=4), at(T0, hours=72), id="claim"),
    pytest.param(exchange(ExchangeType.LOAN, State.ACCEPTED), EVENT, id="loan-due"),
    pytest.param(exchange(ExchangeType.LOAN, State.ACCEPTED, overdue=True), at(EVENT, days=14), id="loan-grace"),
]


@pytest.mark.parametrize(("x", "expected"), DEADLINE_CASES)
def test_next_deadline_is_exactly_when_the_scheduler_acts(x, expected):
    deadline = next_deadline(x, DELAY, GRACE)
    assert deadline == expected
    assert tick(x, at(deadline, microseconds=-1)) is None
    assert tick(x, deadline) is not None


def test_a_loan_without_a_due_date_has_no_deadline():
    assert next_deadline(exchange(ExchangeType.LOAN, State.ACCEPTED, due_at=None), DELAY, GRACE) is None


# What an exchange waits for from each member (the app's to-do on GET /me/home)

AWAITED_CASES = [
    pytest.param(exchange(), NOW, {OWNER: {"accept", "decline"}, PROPOSER: set()}, id="proposed"),
    pytest.param(exchange(state=State.ACCEPTED), NOW, {OWNER: {"confirm"}, PROPOSER: {"confirm"}}, id="trade"),
    pytest.param(
        exchange(state=State.ACCEPTED, confirmed_by=frozenset({PROPOSER})),
        NOW,
        {OWNER: {"confirm"}, PROPOSER: set()},
        id="trade-half-confirmed",
    ),
    pytest.param(exchange(ExchangeType.SHARE, State.ACCEPTED), NOW, {OWNER: set(), PROPOSER: set()}, id="share-ahead"),
    pytest.param(
        exchange(ExchangeType.BOOKING, State.ACCEPTED), EVENT, {OWNER: {"confirm"}, PROPOSER: set()}, id="booking-over"
    ),
    pytest.param(exchange(ExchangeType.LOAN, State.ACCEPTED), NOW, {OWNER: set(), PROPOSER: set()}, id="loan-out"),
    pytest.param(
        exchange(ExchangeType.LOAN, State.ACCEPTED),
        at(EVENT, hours=1),
        {OWNER: {"confirm_return", "claim_damage"}, PROPOSER: set()},
        id="loan-due",
    ),
    pytest.param(
        exchange(ExchangeType.LOAN, State.DAMAGE_CLAIMED, claimed_damage=4),
        NOW,
        {OWNER: set(), PROPOSER: {"accept_claim", "dispute"}},
        id="damage-claimed",
    ),
    *(
        pytest.param(exchange(state=state), NOW, {OWNER: set(), PROPOSER: set()}, id=state.value)
        for state in (State.DISPUTED, *sorted(FINAL))
    ),
]


@pytest.mark.parametrize(("x", "now", "expected"), AWAITED_CASES)
def test_an_exchange_waits_for_the_member_whose_turn_it_is(x, now, expected):
    assert {member: {a.value for a in awaited_from(x, member, now)} for member in expected} == expected
    assert awaited_from(x, STRANGER, now) == ()


@pytest.mark.parametrize("kind", list(ExchangeType))
@pytest.mark.parametrize("state", ALL_STATES)
@pytest.mark.parametrize("now", [NOW, at(EVENT, hours=1)])
def test_every_awaited_action_is_one_the_member_may_make(kind, state, now):
    x = exchange(kind, state, claimed_damage=4 if state is State.DAMAGE_CLAIMED else 0)
    for role in (Role.OWNER, Role.PROPOSER):
        for action in awaited_from(x, ACTOR[role], now):
            move(x, action, role, now, amount=1 if action is Action.CLAIM_DAMAGE else None)  # never raises
