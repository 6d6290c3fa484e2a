"""Exchange use cases. Each state change and its ledger effect (hold placed, posted or voided) is
written in ONE unit of work, guarded by the exchange's version: of two racing moves one wins and the
other reads the state again and, if its move is no longer legal, gets a 409 saying the current state."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from msgspec.structs import replace

from chalicelib import clock, errors
from chalicelib.adapters.dynamodb import exchange_repository as repository
from chalicelib.adapters.dynamodb import listing_repository, member_repository
from chalicelib.adapters.dynamodb.unit_of_work import Refusal, Stale, UnitOfWork, raises, stale
from chalicelib.auth import Principal
from chalicelib.config import settings
from chalicelib.domain.audit import AuditAction
from chalicelib.domain.conversations import Conversation, about_exchange
from chalicelib.domain.economy import RewardRule
from chalicelib.domain.exchanges import (
    TRADE_LIFETIME,
    Action,
    Decision,
    Effect,
    Exchange,
    ExchangeType,
    State,
    decide,
    next_deadline,
    on_deadline,
    resolve,
)
from chalicelib.domain.ledger import HoldRequest, wallet_account
from chalicelib.domain.listings import Family, Kind, Listing, Mode
from chalicelib.errors import FieldError
from chalicelib.services import audit, auto_rewards, conversations, ledger, reviews, transaction

HOLD_MARGIN = timedelta(days=365)  # operators settle disputes within it; the sweeper never races them
MAX_BOOKING_HOURS = 48


def propose(
    proposer_id: str,
    listing_id: str,
    amount: int | None,
    swap_listing_id: str | None,
    message: str,
    return_by: str | None,
) -> Exchange:
    """A trade (credits, swap, both, or a gift) or a loan, waiting for the owner's answer."""
    exchange_id = uuid.uuid4().hex

    def build(uow: UnitOfWork) -> Exchange:
        listing = _visible_listing(listing_id, proposer_id)
        if listing.family in (Family.COST_SHARING, Family.POOLED) and listing.mode is not Mode.LOAN:
            raise errors.Unprocessable("exchanges.take-seat-book-slot", code="wrong-flow")
        credits, swap = _offer(listing, proposer_id, amount, swap_listing_id)
        now = clock.now_iso()
        is_loan = listing.mode is Mode.LOAN
        if is_loan and (return_by is None or return_by <= now):
            raise errors.Invalid([FieldError("return_by", "exchanges.loan-needs-return-date")])
        owner = listing.owner_id
        payer, payee = (proposer_id, owner) if listing.kind is Kind.OFFER else (owner, proposer_id)
        exchange = Exchange(
            exchange_id=exchange_id,
            type=ExchangeType.LOAN if is_loan else ExchangeType.TRADE,
            listing_id=listing.listing_id,
            owner_id=owner,
            proposer_id=proposer_id,
            payer_id=payer,
            payee_id=payee,
            amount=listing.deposit + listing.price if is_loan else credits,
            fee=listing.price if is_loan else 0,
            state=State.PROPOSED,
            created_at=now,
            updated_at=now,
            swap_listing_id=swap,
            message=message,
            due_at=return_by if is_loan else None,
            community_id=listing.community_id,
            family=listing.family.value,
        )
        thread = Conversation(
            about_exchange(exchange_id), f"exchange:{exchange_id}", frozenset({proposer_id, owner}), now
        )
        _save(uow, None, exchange)
        listing_repository.add_visible_check(uow, listing)
        conversations.add_new(uow, thread, conversations.new_message(proposer_id, message) if message else None)
        return exchange

    return transaction.run(build)


def _offer(
    listing: Listing, proposer_id: str, amount: int | None, swap_listing_id: str | None
) -> tuple[int, str | None]:
    mode = listing.mode
    problems: list[FieldError] = []
    if mode in (Mode.SWAP, Mode.CREDITS_SWAP) and not swap_listing_id:
        problems.append(FieldError("swap_listing_id", "exchanges.offer-one-own-listings"))
    if mode in (Mode.GIFT, Mode.LOAN, Mode.SWAP) and amount:
        problems.append(FieldError("amount", "exchanges.mode-no-credits", {"mode": mode.value}))
    if mode in (Mode.GIFT, Mode.LOAN, Mode.CREDITS) and swap_listing_id:
        problems.append(FieldError("swap_listing_id", "exchanges.mode-no-swap", {"mode": mode.value}))
    if problems:
        raise errors.Invalid(problems)
    if swap_listing_id:
        swapped = listing_repository.get(swap_listing_id)
        if swapped is None or swapped.owner_id != proposer_id or not swapped.visible:
            raise errors.Invalid([FieldError("swap_listing_id", "exchanges.offer-one-own-active")])
    credits = listing.price if amount is None and mode in (Mode.CREDITS, Mode.CREDITS_SWAP) else (amount or 0)
    return credits, swap_listing_id


def act(member: Principal, exchange_id: str, action: Action, amount: int | None = None) -> Exchange:
    """A member's move. Of two racing moves one wins; the other decides again on the new state."""

    def build(uow: UnitOfWork) -> Exchange:
        exchange = _load(exchange_id)
        role = exchange.role_of(member.member_id)
        if role is None:
            raise errors.NotFound("not-found.exchange")
        decision = decide(exchange, action, role, member.member_id, clock.now_iso(), amount=amount)
        _save(uow, exchange, decision.exchange)
        _free_seat_or_hours(uow, exchange, decision.exchange)
        _move_credits(uow, decision)
        return decision.exchange

    after = transaction.run(build, keeps_changing=_keeps_changing())
    if after.state is State.COMPLETED and auto_rewards.rules().amounts.get(RewardRule.WELCOME_NEWCOMER):
        parties = (after.proposer_id, after.owner_id)
        auto_rewards.welcome(parties, member_repository.get_many(set(parties)))
    return after


def resolve_dispute(operator: Principal, exchange_id: str, payee_share: int, reason: str) -> Exchange:
    def build(uow: UnitOfWork) -> Exchange:
        exchange = _load(exchange_id)
        decision = resolve(exchange, payee_share, clock.now_iso())
        _save(uow, exchange, decision.exchange)
        audit.record(
            uow,
            operator.member_id,
            AuditAction.RESOLVE_DISPUTE,
            exchange_id,
            reason,
            payee_share=str(payee_share),
            amount=str(exchange.amount),
        )
        _move_credits(uow, decision)
        return decision.exchange

    return transaction.run(build, keeps_changing=_keeps_changing())


def join_share(member_id: str, listing_id: str) -> Exchange:
    """Take a seat: the seat's price is held and the seat counted in one write that fails when the
    last seat is gone, so there are never more participants than seats."""

    def build(uow: UnitOfWork) -> Exchange:
        listing = _visible_listing(listing_id, member_id)
        if listing.family is not Family.COST_SHARING or listing.event_at is None:
            raise errors.Unprocessable("exchanges.listing-seats", code="wrong-flow")
        now = clock.now_iso()
        if listing.event_at <= now:
            raise errors.Conflict("exchanges.event-already-happened", code="too-late")
        seat = _accepted(f"seat-{listing_id}-{member_id}", ExchangeType.SHARE, listing, member_id, listing.price, now)
        seat = replace(seat, due_at=listing.event_at)
        _save(
            uow,
            None,
            seat,
            refused=raises(errors.Conflict("exchanges.already-seat-listing", code="already-joined")),
        )
        listing_repository.add_seat_change(
            uow, listing_id, 1, refused=raises(errors.Conflict("exchanges.seat-left", code="no-seat-left"))
        )
        _move_credits(uow, Decision(seat, Effect.HOLD if seat.amount else Effect.NONE))
        return seat

    return transaction.run(build)


def complete_event(owner_id: str, listing_id: str) -> list[Exchange]:
    """The organiser marks the shared event done: every seat still held is posted."""
    listing = listing_repository.get(listing_id)
    if listing is None or listing.owner_id != owner_id:
        raise errors.NotFound("not-found.your-listing")
    owner = Principal(owner_id, frozenset())
    return [
        act(owner, share.exchange_id, Action.CONFIRM)
        for share in repository.for_listing(owner_id, listing_id)
        if share.type is ExchangeType.SHARE and share.state is State.ACCEPTED
    ]


def book(member_id: str, listing_id: str, starts_at: datetime, ends_at: datetime) -> Exchange:
    """Book whole hours of a pooled object. Each hour is an item written only if absent, so two
    overlapping bookings can never both succeed; the price is held in the same transaction."""
    exchange_id = uuid.uuid4().hex

    def build(uow: UnitOfWork) -> Exchange:
        listing = _visible_listing(listing_id, member_id)
        if listing.family is not Family.POOLED:
            raise errors.Unprocessable("exchanges.only-pooled-objects-booked", code="wrong-flow")
        hours = booking_hours(starts_at, ends_at)
        now = clock.now_iso()
        booking = _accepted(exchange_id, ExchangeType.BOOKING, listing, member_id, listing.price * len(hours), now)
        booking = replace(booking, starts_at=clock.iso(starts_at), due_at=clock.iso(ends_at))
        _save(uow, None, booking)
        taken = raises(errors.Conflict("exchanges.some-these-hours-already", code="slot-taken"))
        repository.add_slots(uow, listing_id, hours, exchange_id, refused=taken)
        _move_credits(uow, Decision(booking, Effect.HOLD if booking.amount else Effect.NONE))
        return booking

    return transaction.run(build)


def booking_hours(starts_at: datetime, ends_at: datetime) -> list[str]:
    problems = []
    if starts_at.minute or starts_at.second or ends_at.minute or ends_at.second or starts_at.microsecond:
        problems.append(FieldError("starts_at", "exchanges.bookings-whole-hours-utc"))
    count = int((ends_at - starts_at).total_seconds() // 3600)
    if not 0 < count <= MAX_BOOKING_HOURS:
        problems.append(FieldError("ends_at", "exchanges.booking-length", {"max": MAX_BOOKING_HOURS}))
    if starts_at <= clock.now():
        problems.append(FieldError("starts_at", "exchanges.booking-starts-future"))
    if problems:
        raise errors.Invalid(problems)
    return _hours(starts_at, ends_at)


def get_exchange(viewer: Principal, exchange_id: str) -> Exchange:
    exchange = _load(exchange_id)
    if exchange.role_of(viewer.member_id) is None and not viewer.is_operator:
        raise errors.NotFound("not-found.exchange")
    return exchange


def my_exchanges(member_id: str, role: str, cursor: str | None, limit: int) -> tuple[list[Exchange], str | None]:
    return repository.for_member(member_id, role, cursor, limit)


def open_disputes(cursor: str | None, limit: int) -> tuple[list[Exchange], str | None]:
    return repository.open_disputes(cursor, limit)


def run_deadlines(now: str | None = None) -> int:
    """Scheduled: auto-complete after the silent delay, flag overdue loans, settle loans past grace."""
    config = settings()
    moment = now or clock.now_iso()
    complete_after = clock.iso(clock.parse(moment) - config.exchange_complete_delay)
    grace_until = clock.iso(clock.parse(moment) - config.loan_grace)
    done = 0
    for due in repository.due(moment, 100):

        def build(uow: UnitOfWork, due: Exchange = due) -> bool:
            exchange = due if uow.attempt == 0 else _load(due.exchange_id)  # the index's copy may lag
            decision = on_deadline(exchange, moment, complete_after, grace_until)
            if decision is None:
                return False
            _save(uow, exchange, decision.exchange)
            _move_credits(uow, decision)
            return True

        try:
            done += transaction.run(build)
        except errors.AppError:
            continue  # moved by its members meanwhile, or busy: the next run looks again
    return done


# Helpers


def _accepted(
    exchange_id: str, kind: ExchangeType, listing: Listing, member_id: str, amount: int, now: str
) -> Exchange:
    return Exchange(
        exchange_id=exchange_id,
        type=kind,
        listing_id=listing.listing_id,
        owner_id=listing.owner_id,
        proposer_id=member_id,
        payer_id=member_id,
        payee_id=listing.owner_id,
        amount=amount,
        state=State.ACCEPTED,
        created_at=now,
        updated_at=now,
        community_id=listing.community_id,
        family=listing.family.value,
    )


def _keeps_changing() -> errors.Conflict:
    return errors.Conflict("exchanges.exchange-keeps-changing-retry", code="exchange-changed")


def _save(uow: UnitOfWork, before: Exchange | None, after: Exchange, refused: Refusal = stale) -> None:
    """The exchange's new state, only over the version that was read (a new one only if absent); one
    that completes opens its review round."""
    config = settings()
    deadline = next_deadline(after, config.exchange_complete_delay, config.loan_grace)
    if before is None:
        repository.add_new(uow, after, deadline, refused=refused)
    else:
        repository.add_transition(uow, before, after, deadline)
    reviews.add_round(uow, before, after)


def _move_credits(uow: UnitOfWork, decision: Decision) -> None:
    """The decision's ledger effect on the exchange's hold, in the same unit of work as its state."""
    exchange = decision.exchange
    if decision.effect is Effect.HOLD:
        ledger.add_hold(uow, _hold_request(exchange))
        return
    if decision.effect is Effect.NONE:
        return
    hold, _ = ledger.load_hold(exchange.hold_id)
    try:
        if decision.effect is Effect.POST:
            ledger.add_hold_post(uow, hold, decision.post_amount)
        else:
            ledger.add_hold_void(uow, hold)
    except errors.HoldSettled:
        raise Stale() from None  # settled by a move that won after our read: decide again on the new state


def _hold_request(exchange: Exchange) -> HoldRequest:
    config = settings()
    if exchange.type is ExchangeType.TRADE:
        expires = clock.now() + TRADE_LIFETIME + HOLD_MARGIN
    elif exchange.type is ExchangeType.LOAN:
        expires = clock.parse(exchange.due_at or clock.now_iso()) + config.loan_grace + HOLD_MARGIN
    else:
        expires = clock.parse(exchange.due_at or clock.now_iso()) + config.exchange_complete_delay + HOLD_MARGIN
    return HoldRequest(
        hold_id=exchange.hold_id,
        payer=wallet_account(exchange.payer_id),
        payee=wallet_account(exchange.payee_id),
        amount=exchange.amount,
        expires_at=clock.iso(expires),
        reason=exchange.type.value,
        refs={"exchange_id": exchange.exchange_id, "listing_id": exchange.listing_id},
    )


def _free_seat_or_hours(uow: UnitOfWork, before: Exchange, after: Exchange) -> None:
    """Cancelling a seat frees it; cancelling a booking frees its hours."""
    if after.state is not State.CANCELLED or before.state is not State.ACCEPTED:
        return
    if before.type is ExchangeType.SHARE:
        listing_repository.add_seat_change(uow, before.listing_id, -1)
    elif before.type is ExchangeType.BOOKING and before.starts_at and before.due_at:
        hours = _hours(clock.parse(before.starts_at), clock.parse(before.due_at))
        repository.add_slots_released(uow, before.listing_id, hours)


def _hours(start: datetime, end: datetime) -> list[str]:
    """The booked hours' keys, e.g. 2026-12-01T14."""
    count = int((end - start).total_seconds() // 3600)
    return [clock.iso(start + timedelta(hours=h))[:13] for h in range(count)]


def _visible_listing(listing_id: str, member_id: str) -> Listing:
    listing = listing_repository.get(listing_id)
    if listing is None or not listing.visible:
        raise errors.NotFound("not-found.listing")
    if listing.owner_id == member_id:
        raise errors.Unprocessable("conversations.own-listing", code="own-listing")
    return listing


def _load(exchange_id: str) -> Exchange:
    exchange = repository.get(exchange_id)
    if exchange is None:
        raise errors.NotFound("not-found.exchange")
    return exchange
