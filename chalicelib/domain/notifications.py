"""Notifications: which change of the table tells which member what, and a member's preferences. No I/O:
`services/notifications.py` feeds the stream's typed changes in and stores what comes out. Most kinds
come from one change alone (`for_change`); a ballot's result goes to everyone on its roll, which the
service reads (`ballot_results`); reminders come from a scheduled job (`*_reminders`).

A notification is a `kind` and structured parameters, never a text: the API renders the text from one
table of templates (a catalogue per language can take it over)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from enum import StrEnum

from msgspec import Struct, field

from chalicelib import clock
from chalicelib.domain.changes import (
    Change,
    ClaimMoved,
    ExchangeMoved,
    InboxMoved,
    PurchaseMoved,
    ResultStored,
    ReviewWritten,
    RollEntered,
    RoundMoved,
    TransferRecorded,
)
from chalicelib.domain.exchanges import Exchange, ExchangeType, State
from chalicelib.domain.ledger import TransferKind, member_of
from chalicelib.domain.missions import ClaimState
from chalicelib.domain.purchases import PurchaseStatus
from chalicelib.domain.reviews import ReviewRound

REMIND_BEFORE = timedelta(days=1)  # a reminder comes this long before what it reminds of
KEPT = timedelta(days=90)  # a notification expires then (the table's TTL removes it within days after)
UNREAD_LOOKED_AT = 100  # the unread count looks at the latest notifications only


class Kind(StrEnum):
    EXCHANGE_PROPOSED = "exchange_proposed"
    EXCHANGE_ACCEPTED = "exchange_accepted"
    EXCHANGE_DECLINED = "exchange_declined"
    EXCHANGE_CANCELLED = "exchange_cancelled"
    EXCHANGE_CONFIRMED = "exchange_confirmed"  # the other side of a trade confirmed it
    EXCHANGE_COMPLETED = "exchange_completed"
    DAMAGE_CLAIMED = "damage_claimed"
    EXCHANGE_DISPUTED = "exchange_disputed"
    EXCHANGE_RESOLVED = "exchange_resolved"
    LOAN_OVERDUE = "loan_overdue"
    MESSAGE = "message"  # one per conversation, replaced by the next message
    CREDITS_RECEIVED = "credits_received"
    PURCHASE_CREDITED = "purchase_credited"
    PURCHASE_REVERSED = "purchase_reversed"
    REVIEW_RECEIVED = "review_received"
    REVIEWS_PUBLISHED = "reviews_published"
    MISSION_APPROVED = "mission_approved"
    BALLOT_OPENED = "ballot_opened"
    BALLOT_RESULT = "ballot_result"  # to everyone on the roll (`ballot_results`)
    # reminders, a day before (services/reminders.py)
    EXCHANGE_TO_CONFIRM = "exchange_to_confirm"  # before it completes without you
    LOAN_DUE_SOON = "loan_due_soon"
    REVIEW_CLOSING = "review_closing"
    BALLOT_CLOSING = "ballot_closing"  # and you have not voted


REMINDERS = frozenset({Kind.EXCHANGE_TO_CONFIRM, Kind.LOAN_DUE_SOON, Kind.REVIEW_CLOSING, Kind.BALLOT_CLOSING})
Params = dict[str, str | int]


class Notification(Struct, frozen=True):
    """`ref` is the id of what it is about (an exchange, a conversation, a transfer, a purchase, a mission,
    a ballot); with the kind and the time of the change it keys the notification, so a change delivered
    twice is one notification. `replaces`: the time of the notification of the same kind and ref this one
    takes the place of (a conversation's previous message)."""

    member_id: str
    kind: Kind
    ref: str
    at: str
    params: Params = field(default_factory=dict)
    replaces: str | None = None


class Preferences(Struct, frozen=True):
    """Every kind is on unless turned off."""

    off: frozenset[Kind] = frozenset()

    def wants(self, kind: Kind) -> bool:
        return kind not in self.off


class Stored(Struct, frozen=True):
    """A notification as stored: `marked` read one by one; `expires_at` the table's TTL (epoch seconds)."""

    notification_id: str
    kind: Kind
    ref: str
    at: str
    params: Params
    marked: bool
    expires_at: int

    def read(self, until: str | None) -> bool:
        """Read one by one, or with everything up to a time at once."""
        return self.marked or (until is not None and self.at <= until)


class Inbox(Struct, frozen=True):
    """A member's read mark (everything up to it is read) and preferences."""

    until: str | None = None
    preferences: Preferences = Preferences()


def unread(inbox: Inbox, latest: Iterable[Stored], now: int) -> int:
    return sum(1 for stored in latest if not stored.read(inbox.until) and stored.expires_at > now)


def expires_at(at: str) -> int:
    """The table's TTL (epoch seconds)."""
    return int((clock.parse(at) + KEPT).timestamp())


def for_changes(changes: Iterable[Change]) -> list[Notification]:
    """Every notification the changes make, in their order."""
    return [notification for change in changes for notification in for_change(change)]


def for_change(change: Change) -> list[Notification]:
    """What one change tells, from the change alone (a stored result needs its roll: `ballot_results`)."""
    what = change.what
    if isinstance(what, ExchangeMoved):
        return _exchange(what)
    if isinstance(what, InboxMoved):
        return _message(what)
    if isinstance(what, TransferRecorded):
        return _credits(what)
    if isinstance(what, PurchaseMoved):
        return _purchase(what)
    if isinstance(what, ReviewWritten):
        review = what.review
        return [Notification(review.subject_id, Kind.REVIEW_RECEIVED, review.exchange_id, review.submitted_at)]
    if isinstance(what, RoundMoved):
        old, new = what.old, what.new
        if new is None or new.published_at is None or (old is not None and old.published_at is not None):
            return []
        return [
            Notification(member, Kind.REVIEWS_PUBLISHED, new.exchange_id, new.published_at) for member in new.parties
        ]
    if isinstance(what, ClaimMoved):
        claim, before = what.new, what.old
        if claim is None or claim.state is not ClaimState.APPROVED or (before and before.state is claim.state):
            return []
        return [
            Notification(claim.member_id, Kind.MISSION_APPROVED, claim.mission_id, claim.updated_at, _n(claim.reward))
        ]
    if isinstance(what, RollEntered):
        params: Params = {"closes_at": what.closes_at}
        return [Notification(what.member_id, Kind.BALLOT_OPENED, what.ballot_id, change.time, params)]
    return []


# Who hears of an exchange's new state: None, both sides.
_BY_STATE: dict[State, tuple[Kind, str | None]] = {
    State.ACCEPTED: (Kind.EXCHANGE_ACCEPTED, "proposer"),
    State.DECLINED: (Kind.EXCHANGE_DECLINED, "proposer"),
    State.DAMAGE_CLAIMED: (Kind.DAMAGE_CLAIMED, "proposer"),
    State.CANCELLED: (Kind.EXCHANGE_CANCELLED, None),  # the item does not say who cancelled
    State.COMPLETED: (Kind.EXCHANGE_COMPLETED, None),
    State.DISPUTED: (Kind.EXCHANGE_DISPUTED, None),
    State.RESOLVED: (Kind.EXCHANGE_RESOLVED, None),
}


def _exchange(moved: ExchangeMoved) -> list[Notification]:
    old, new = moved.old, moved.new
    if new is None:
        return []

    def tell(members: Iterable[str], kind: Kind, **params: str | int) -> list[Notification]:
        about: Params = {"type": new.type.value, **params}
        return [Notification(member, kind, new.exchange_id, new.updated_at, about) for member in sorted(members)]

    if old is None:  # proposed, or a seat or booking taken at once
        return tell([new.owner_id], Kind.EXCHANGE_PROPOSED, state=new.state.value)
    if new.state is not old.state:
        kind, side = _BY_STATE.get(new.state, (None, None))
        if kind is None:
            return []
        members = [new.proposer_id] if side == "proposer" else [new.owner_id, new.proposer_id]
        return tell(members, kind, **_amounts(new))
    if new.confirmed_by > old.confirmed_by:
        return tell({new.owner_id, new.proposer_id} - new.confirmed_by, Kind.EXCHANGE_CONFIRMED)
    if new.overdue and not old.overdue:
        return tell([new.proposer_id], Kind.LOAN_OVERDUE, due_at=new.due_at or "")
    return []


def _amounts(exchange: Exchange) -> Params:
    if exchange.state is State.DAMAGE_CLAIMED:
        return {"credits": exchange.claimed_damage}
    if exchange.state in (State.COMPLETED, State.RESOLVED):
        return {"credits": exchange.posted_amount}
    return {}


def _message(moved: InboxMoved) -> list[Notification]:
    """Unread messages of one conversation are one notification, moved to the latest message's time."""
    old, new = moved.old, moved.new
    if new is None or new.unread <= (old.unread if old is not None else 0):
        return []
    replaces = old.last_message_at if old is not None and old.last_message_at != new.last_message_at else None
    params: Params = {"count": new.unread, "subject": new.subject}
    return [Notification(moved.member_id, Kind.MESSAGE, new.conversation_id, new.last_message_at, params, replaces)]


# Credits that reach a member other than through an exchange or a purchase, which say it themselves.
_CREDITED_KINDS = frozenset(
    {
        TransferKind.PAYMENT,
        TransferKind.TIP,
        TransferKind.REWARD,
        TransferKind.VALUE_SHARE,
        TransferKind.EARMARK_SPENDING,
    }
)


def _credits(recorded: TransferRecorded) -> list[Notification]:
    request = recorded.transfer.request
    member = member_of(request.payee)
    if member is None or request.kind not in _CREDITED_KINDS or "mission_id" in request.refs:
        return []  # a mission's reward: its approval says it
    params: Params = {"credits": request.amount, "transfer_kind": request.kind.value}
    return [Notification(member, Kind.CREDITS_RECEIVED, request.transfer_id, recorded.transfer.created_at, params)]


def _purchase(moved: PurchaseMoved) -> list[Notification]:
    old, new = moved.old, moved.new
    if new is None:
        return []
    found: list[Notification] = []
    if new.status is PurchaseStatus.SUCCEEDED and (old is None or old.status is not PurchaseStatus.SUCCEEDED):
        found.append(Notification(new.member_id, Kind.PURCHASE_CREDITED, new.purchase_id, moved.at, _n(new.credits)))
    taken = new.reversed_credits - (old.reversed_credits if old is not None else 0)
    if taken > 0:
        found.append(Notification(new.member_id, Kind.PURCHASE_REVERSED, new.purchase_id, moved.at, _n(taken)))
    return found


def _n(credits: int) -> Params:
    return {"credits": credits}


def ballot_results(stored: ResultStored, members: Iterable[str]) -> list[Notification]:
    """A ballot's result, to every member on its roll (read by the service), at the time it closed. The
    params say `withheld` ("yes": a secret ballot with too few voters, nothing but its close is told) and,
    on a yes/no ballot's published result, `adopted` ("yes"/"no")."""
    params: Params = {"withheld": _yes(stored.withheld)}
    if not stored.withheld and stored.adopted is not None:
        params["adopted"] = _yes(stored.adopted)
    return [
        Notification(member, Kind.BALLOT_RESULT, stored.ballot_id, stored.closed_at, params)
        for member in sorted(set(members))
    ]


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


# Reminders: made by a scheduled job from the due dates it finds in the indexes; each is keyed by the due
# time less REMIND_BEFORE (what the job saw, whenever it ran), so a window read twice reminds once.


def _reminder(member: str, kind: Kind, ref: str, due: str, **params: str | int) -> Notification:
    return Notification(member, kind, ref, clock.iso(clock.parse(due) - REMIND_BEFORE), {**params, "due_at": due})


def exchange_reminders(exchange: Exchange, deadline: str) -> list[Notification]:
    """An exchange whose deadline (in the scheduler's index) comes within the window: a loan due back, or
    an exchange that completes without the confirmation still awaited."""
    if exchange.state is not State.ACCEPTED:
        return []
    kind, ref = exchange.type, exchange.exchange_id
    if kind is ExchangeType.LOAN:
        if exchange.overdue or exchange.due_at != deadline:
            return []
        return [_reminder(exchange.proposer_id, Kind.LOAN_DUE_SOON, ref, deadline, type=kind.value)]
    if kind is ExchangeType.TRADE:
        if not exchange.confirmed_by:
            return []  # abandoned trades are cancelled at their deadline: no one's confirmation is awaited
        awaited = sorted({exchange.owner_id, exchange.proposer_id} - exchange.confirmed_by)
    else:
        awaited = [exchange.owner_id]  # the organiser or the object's owner confirms it happened
    return [_reminder(member, Kind.EXCHANGE_TO_CONFIRM, ref, deadline, type=kind.value) for member in awaited]


def review_reminders(review_round: ReviewRound) -> list[Notification]:
    """A review window that closes within the window: each side that has not reviewed yet."""
    if not review_round.open:
        return []
    waiting = [member for member in review_round.parties if member not in review_round.submitted]
    return [
        _reminder(member, Kind.REVIEW_CLOSING, review_round.exchange_id, review_round.closes_at) for member in waiting
    ]


def ballot_reminders(ballot_id: str, closes_at: str, not_voted: Iterable[str]) -> list[Notification]:
    return [_reminder(member, Kind.BALLOT_CLOSING, ballot_id, closes_at) for member in sorted(not_voted)]
