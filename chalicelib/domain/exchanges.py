"""Exchanges and their state machines. Every transition says who may make it, from which state, and
what it does to the credits (place, post or void the exchange's hold), so that the state change and
its ledger effect can be written in one transaction. No I/O.

Four types share one lifecycle:
- trade: a proposal on a listing (credits, a swap, both, or a gift), accepted or declined by the
  owner; both sides confirm completion (or one does and the other stays silent past a delay).
- loan: the borrower's deposit (and fee) is held while the object is out; the lender confirms the
  return (fee posted, deposit released) or claims damage (part of the deposit posted).
- share: a seat in a carpool, shared meal or garden; joining holds the seat's price; the organiser
  marks the event done and the shares are posted.
- booking: hours of a pooled object; the price is held at booking and posted after use."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Protocol

from msgspec import Struct, field
from msgspec.structs import replace

from chalicelib import clock, errors
from chalicelib.domain.conversations import about_exchange


class ExchangeType(StrEnum):
    TRADE = "trade"
    LOAN = "loan"
    SHARE = "share"
    BOOKING = "booking"


class State(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"  # credits on hold; for a loan, the object is out
    DAMAGE_CLAIMED = "damage_claimed"
    DISPUTED = "disputed"
    COMPLETED = "completed"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    RESOLVED = "resolved"  # settled by an operator after a dispute


FINAL = frozenset({State.COMPLETED, State.DECLINED, State.CANCELLED, State.RESOLVED})
# An accepted trade nobody confirms is cancelled after this, before its hold could expire.
TRADE_LIFETIME = timedelta(days=180)


class Action(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    CANCEL = "cancel"
    CONFIRM = "confirm"  # trade: each side confirms completion; share/booking: the owner confirms
    CONFIRM_RETURN = "confirm_return"
    CLAIM_DAMAGE = "claim_damage"
    ACCEPT_CLAIM = "accept_claim"
    DISPUTE = "dispute"


class Role(StrEnum):
    PROPOSER = "proposer"  # proposer, borrower, participant or booker
    OWNER = "owner"  # the listing's owner: lender, organiser, pooled object's owner
    OPERATOR = "operator"
    SCHEDULER = "scheduler"


class Effect(StrEnum):
    NONE = "none"
    HOLD = "hold"
    POST = "post"  # post `post_amount` of the hold, release the rest
    VOID = "void"


class Exchange(Struct, frozen=True):
    exchange_id: str
    type: ExchangeType
    listing_id: str
    owner_id: str
    proposer_id: str
    payer_id: str  # who pays: the proposer on an offer, the owner on a request
    payee_id: str
    amount: int  # credits on hold: price, seat, booking, or a loan's deposit plus fee
    state: State
    created_at: str
    updated_at: str
    fee: int = 0  # loan fee, part of `amount`
    swap_listing_id: str | None = None
    message: str = ""
    confirmed_by: frozenset[str] = field(default_factory=frozenset)
    claimed_damage: int = 0
    posted_amount: int = 0
    due_at: str | None = None  # loan due, booking end, share event
    starts_at: str | None = None  # booking start
    overdue: bool = False
    version: int = 0
    community_id: str = ""  # the listing's, for the public statistics
    family: str = ""  # the listing's category's family

    def role_of(self, member_id: str) -> Role | None:
        if member_id == self.owner_id:
            return Role.OWNER
        if member_id == self.proposer_id:
            return Role.PROPOSER
        return None

    @property
    def confirmers(self) -> list[str]:
        return sorted(self.confirmed_by)

    @property
    def conversation_id(self) -> str | None:
        """Trades and loans have a thread of their own; seats and bookings do not."""
        return about_exchange(self.exchange_id) if self.type in (ExchangeType.TRADE, ExchangeType.LOAN) else None

    @property
    def hold_id(self) -> str:
        return f"exchange:{self.exchange_id}"

    @property
    def moves_credits(self) -> bool:
        return self.amount > 0


class Decision(Struct, frozen=True):
    """The exchange after the transition, and what happens to its hold in the same transaction."""

    exchange: Exchange
    effect: Effect
    post_amount: int = 0


def _illegal(exchange: Exchange, action: Action) -> errors.AppError:
    return errors.IllegalTransition(
        "exchanges.illegal-action", params={"action": action.value}, state=exchange.state.value
    )


def _money(exchange: Exchange, effect: Effect) -> Effect:
    return effect if exchange.moves_credits else Effect.NONE


def decide(
    exchange: Exchange, action: Action, role: Role, actor_id: str, now: str, *, amount: int | None = None
) -> Decision:
    """Apply `action` by `actor_id` acting as `role`; an illegal move is a 409 stating the state."""
    state, kind = exchange.state, exchange.type

    def moved(to: State, effect: Effect, post: int = 0, **changes: object) -> Decision:
        updated = replace(exchange, state=to, updated_at=now, version=exchange.version + 1, **changes)
        return Decision(updated, _money(exchange, effect), post)

    if role is Role.OPERATOR:
        raise errors.Forbidden("exchanges.operators-settle-disputes-resolve")
    if action is Action.ACCEPT:
        _require(role is Role.OWNER, "exchanges.owner-accepts")
        if state is not State.PROPOSED:
            raise _illegal(exchange, action)
        return moved(State.ACCEPTED, Effect.HOLD)
    if action is Action.DECLINE:
        _require(role is Role.OWNER, "exchanges.owner-declines")
        if state is not State.PROPOSED:
            raise _illegal(exchange, action)
        return moved(State.DECLINED, Effect.NONE)
    if action is Action.CANCEL:
        return _cancel(exchange, role, now, moved)
    if action is Action.CONFIRM:
        return _confirm(exchange, role, actor_id, now, moved)
    if action is Action.CONFIRM_RETURN:
        _require(kind is ExchangeType.LOAN and role is Role.OWNER, "exchanges.lender-confirms-return")
        if state is not State.ACCEPTED:
            raise _illegal(exchange, action)
        return moved(
            State.COMPLETED, Effect.POST if exchange.fee else Effect.VOID, exchange.fee, posted_amount=exchange.fee
        )
    if action is Action.CLAIM_DAMAGE:
        _require(kind is ExchangeType.LOAN and role is Role.OWNER, "exchanges.lender-claims-damage")
        if state is not State.ACCEPTED:
            raise _illegal(exchange, action)
        deposit = exchange.amount - exchange.fee
        if amount is None or not 0 < amount <= deposit:
            raise errors.Unprocessable("exchanges.damage-claim", code="invalid-amount", params={"deposit": deposit})
        return moved(State.DAMAGE_CLAIMED, Effect.NONE, claimed_damage=amount)
    if action is Action.ACCEPT_CLAIM:
        _require(kind is ExchangeType.LOAN and role is Role.PROPOSER, "exchanges.borrower-accepts-claim")
        if state is not State.DAMAGE_CLAIMED:
            raise _illegal(exchange, action)
        total = exchange.fee + exchange.claimed_damage
        return moved(State.COMPLETED, Effect.POST, total, posted_amount=total)
    if action is Action.DISPUTE:
        if kind is ExchangeType.LOAN:
            if state is State.DAMAGE_CLAIMED:
                _require(role is Role.PROPOSER, "exchanges.borrower-disputes-claim")
            allowed = state is State.DAMAGE_CLAIMED
        else:
            allowed = state is State.ACCEPTED
        if not allowed:
            raise _illegal(exchange, action)
        return moved(State.DISPUTED, Effect.NONE)
    raise _illegal(exchange, action)


def _cancel(exchange: Exchange, role: Role, now: str, moved: _Mover) -> Decision:
    state, kind = exchange.state, exchange.type
    if state is State.PROPOSED:
        return moved(State.CANCELLED, Effect.NONE)
    if state is not State.ACCEPTED:
        raise _illegal(exchange, Action.CANCEL)
    if kind is ExchangeType.LOAN:
        raise errors.IllegalTransition(
            "exchanges.loan-progress-ends-object",
            state=state.value,
        )
    if kind in (ExchangeType.SHARE, ExchangeType.BOOKING):
        _require(role is Role.PROPOSER, "exchanges.participant-cancels")
        begins = exchange.starts_at or exchange.due_at
        if begins is not None and now >= begins:
            raise errors.Conflict("exchanges.already-started-longer-cancelled", code="too-late", state=state.value)
    return moved(State.CANCELLED, Effect.VOID)


def _confirm(exchange: Exchange, role: Role, actor_id: str, now: str, moved: _Mover) -> Decision:
    if exchange.state is not State.ACCEPTED or exchange.type is ExchangeType.LOAN:
        raise _illegal(exchange, Action.CONFIRM)
    if exchange.type is not ExchangeType.TRADE:
        _require(role is Role.OWNER, "exchanges.owner-confirms-happened")
        if exchange.due_at is not None and now < exchange.due_at:
            raise errors.Conflict("exchanges.not-happened-yet", code="too-early", state=exchange.state.value)
        return moved(State.COMPLETED, Effect.POST, exchange.amount, posted_amount=exchange.amount)
    if actor_id in exchange.confirmed_by:  # a repeat would push back the silent completion (and past the hold)
        raise errors.Conflict(
            "exchanges.already-confirmed-other-side",
            code="already-confirmed",
            state=exchange.state.value,
        )
    confirmed = exchange.confirmed_by | {actor_id}
    if confirmed >= {exchange.owner_id, exchange.proposer_id}:
        return moved(
            State.COMPLETED, Effect.POST, exchange.amount, confirmed_by=confirmed, posted_amount=exchange.amount
        )
    return moved(State.ACCEPTED, Effect.NONE, confirmed_by=confirmed)


def awaited_from(exchange: Exchange, member_id: str, now: str) -> tuple[Action, ...]:
    """What the exchange waits for from this member now (their to-do), nothing when it waits for no one
    or for the other side. Each action is one `decide` accepts from them at `now`."""
    role, state, kind = exchange.role_of(member_id), exchange.state, exchange.type
    if role is Role.OWNER and state is State.PROPOSED:
        return Action.ACCEPT, Action.DECLINE
    if role is Role.PROPOSER and state is State.DAMAGE_CLAIMED and kind is ExchangeType.LOAN:
        return Action.ACCEPT_CLAIM, Action.DISPUTE
    if state is not State.ACCEPTED or role is None:
        return ()
    if kind is ExchangeType.TRADE:
        return () if member_id in exchange.confirmed_by else (Action.CONFIRM,)
    if role is Role.OWNER and (exchange.due_at is None or exchange.due_at <= now):  # it has happened
        return (Action.CONFIRM_RETURN, Action.CLAIM_DAMAGE) if kind is ExchangeType.LOAN else (Action.CONFIRM,)
    return ()


def resolve(exchange: Exchange, payee_share: int, now: str) -> Decision:
    """An operator settles a dispute: post all (to the payee), none (back to the payer) or a split."""
    if exchange.state is not State.DISPUTED:
        raise errors.IllegalTransition("exchanges.resolve-only-disputed", state=exchange.state.value)
    if not 0 <= payee_share <= exchange.amount:
        raise errors.Unprocessable("exchanges.payee-share", params={"amount": exchange.amount}, code="invalid-amount")
    effect = Effect.POST if payee_share else Effect.VOID
    updated = replace(
        exchange, state=State.RESOLVED, updated_at=now, version=exchange.version + 1, posted_amount=payee_share
    )
    return Decision(updated, _money(exchange, effect), payee_share)


def next_deadline(exchange: Exchange, complete_delay: timedelta, loan_grace: timedelta) -> str | None:
    """When the scheduler must look at this exchange again (None: it waits for its members)."""
    if exchange.state is State.ACCEPTED and exchange.type is ExchangeType.TRADE:
        return _plus(exchange.updated_at, complete_delay if exchange.confirmed_by else TRADE_LIFETIME)
    if exchange.state is State.ACCEPTED and exchange.type in (ExchangeType.SHARE, ExchangeType.BOOKING):
        return _plus(exchange.due_at, complete_delay) if exchange.due_at else None
    if exchange.state is State.DAMAGE_CLAIMED:
        return _plus(exchange.updated_at, complete_delay)
    if exchange.state is State.ACCEPTED and exchange.type is ExchangeType.LOAN and exchange.due_at:
        return _plus(exchange.due_at, loan_grace) if exchange.overdue else exchange.due_at
    return None


def _plus(moment: str, delay: timedelta) -> str:
    return clock.iso(clock.parse(moment) + delay)


def on_deadline(exchange: Exchange, now: str, complete_after: str, grace_until: str) -> Decision | None:
    """What the scheduler does with an exchange whose deadline passed, if anything.
    `complete_after`: confirmations (or events) older than this complete silently; `grace_until`:
    a loan due before this is overdue past its grace and is settled by posting the whole deposit
    (and fee) to the lender, so no loan is ever left stuck."""
    if exchange.state is State.ACCEPTED and exchange.type is ExchangeType.TRADE:
        if exchange.confirmed_by and exchange.updated_at <= complete_after:
            return _scheduled(exchange, State.COMPLETED, Effect.POST, exchange.amount, now)
        if not exchange.confirmed_by and _plus(exchange.updated_at, TRADE_LIFETIME) <= now:
            return _scheduled(exchange, State.CANCELLED, Effect.VOID, 0, now)  # abandoned: credits go back
        return None
    if exchange.state is State.ACCEPTED and exchange.type in (ExchangeType.SHARE, ExchangeType.BOOKING):
        if exchange.due_at is not None and exchange.due_at <= complete_after:
            return _scheduled(exchange, State.COMPLETED, Effect.POST, exchange.amount, now)
        return None
    if exchange.state is State.DAMAGE_CLAIMED and exchange.updated_at <= complete_after:
        total = exchange.fee + exchange.claimed_damage
        return _scheduled(exchange, State.COMPLETED, Effect.POST, total, now)
    if exchange.state is State.ACCEPTED and exchange.type is ExchangeType.LOAN and exchange.due_at is not None:
        if exchange.due_at <= grace_until:
            return _scheduled(exchange, State.COMPLETED, Effect.POST, exchange.amount, now)
        if exchange.due_at <= now and not exchange.overdue:
            flagged = replace(exchange, overdue=True, updated_at=now, version=exchange.version + 1)
            return Decision(flagged, Effect.NONE)
    return None


def _scheduled(exchange: Exchange, state: State, effect: Effect, post: int, now: str) -> Decision:
    updated = replace(exchange, state=state, updated_at=now, version=exchange.version + 1, posted_amount=post)
    return Decision(updated, _money(exchange, effect), post)


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise errors.Forbidden(message)


class _Mover(Protocol):
    def __call__(self, to: State, effect: Effect, post: int = 0, **changes: object) -> Decision: ...
