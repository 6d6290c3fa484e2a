"""Routes of the notifications inbox and its preferences. The texts come from one table of templates,
filled with each notification's parameters (the French catalogue takes this table over)."""

from __future__ import annotations

from collections.abc import Mapping

from chalicelib.api.http import Call, Router
from chalicelib.api.schemas import NotificationOut, NotificationPage, NotificationPreferences, PageQuery, ReadUntil
from chalicelib.domain.notifications import Kind, Preferences, Stored
from chalicelib.services import notifications

router = Router("notifications")

TEXTS: dict[Kind, str] = {
    Kind.EXCHANGE_PROPOSED: "A member started a {type} on your listing.",
    Kind.EXCHANGE_ACCEPTED: "Your {type} proposal was accepted.",
    Kind.EXCHANGE_DECLINED: "Your {type} proposal was declined.",
    Kind.EXCHANGE_CANCELLED: "A {type} you take part in was cancelled.",
    Kind.EXCHANGE_CONFIRMED: "The other member confirmed your {type}: your confirmation completes it.",
    Kind.EXCHANGE_COMPLETED: "Your {type} is completed ({credits} credits).",
    Kind.DAMAGE_CLAIMED: "The lender claims {credits} credits of your deposit for damage.",
    Kind.EXCHANGE_DISPUTED: "Your {type} is disputed: an operator will settle it.",
    Kind.EXCHANGE_RESOLVED: "An operator settled your disputed {type} ({credits} credits to the payee).",
    Kind.LOAN_OVERDUE: "Your loan was due on {due_at}: please return the object.",
    Kind.MESSAGE: "Unread messages in a conversation: {count}.",
    Kind.CREDITS_RECEIVED: "You received {credits} credits ({transfer_kind}).",
    Kind.PURCHASE_CREDITED: "Your purchase is paid: {credits} credits are in your wallet.",
    Kind.PURCHASE_REVERSED: "{credits} credits of your purchase were taken back (a refund or a lost dispute).",
    Kind.REVIEW_RECEIVED: "You were reviewed: reviews are published once both are in or the window closes.",
    Kind.REVIEWS_PUBLISHED: "The reviews of your exchange are published.",
    Kind.MISSION_APPROVED: "Your mission work was approved: {credits} credits.",
    Kind.BALLOT_OPENED: "A ballot is open for you until {closes_at}.",
    Kind.EXCHANGE_TO_CONFIRM: "Your {type} waits for your confirmation; without it, it completes on {due_at}.",
    Kind.LOAN_DUE_SOON: "Your loan is due back on {due_at}.",
    Kind.REVIEW_CLOSING: "Your review window closes on {due_at}.",
    Kind.BALLOT_CLOSING: "A ballot closes on {due_at} and you have not voted.",
}


def text(kind: Kind, params: Mapping[str, str | int]) -> str:
    return TEXTS[kind].format_map(params)


def notification_out(stored: Stored, read: bool) -> NotificationOut:
    return NotificationOut(
        stored.notification_id,
        stored.kind,
        stored.ref,
        stored.at,
        read,
        stored.params,
        text(stored.kind, stored.params),
    )


def preferences_out(preferences: Preferences) -> NotificationPreferences:
    return NotificationPreferences(sorted(preferences.off))


@router.route(
    "GET",
    "/me/notifications",
    summary="Your notifications, newest first, with the unread count",
    description="What happened to your exchanges, messages (one notification per conversation, with the count "
    "of unread messages), credits, purchases, reviews, missions and ballots. Kept 90 days.",
    tag="notifications",
    query=PageQuery,
    response=NotificationPage,
    problems=(400,),
)
def list_notifications(call: Call[None, PageQuery]) -> NotificationPage:
    found = notifications.page(call.member.member_id, call.query.cursor, call.query.limit)
    return NotificationPage(
        [notification_out(stored, read) for stored, read in found.items], found.unread, found.cursor
    )


@router.route(
    "POST",
    "/me/notifications/{notification_id}/read",
    summary="Mark one notification read",
    tag="notifications",
    status=204,
    problems=(404,),
)
def mark_read(call: Call[None, None]) -> None:
    notifications.mark_read(call.member.member_id, call.params["notification_id"])


@router.route(
    "POST",
    "/me/notifications/read",
    summary="Mark every notification up to a time read",
    description="Send the time of the newest notification you showed: those that arrived since stay unread.",
    tag="notifications",
    body=ReadUntil,
    status=204,
)
def mark_read_until(call: Call[ReadUntil, None]) -> None:
    notifications.mark_read_until(call.member.member_id, call.body.until)


@router.route(
    "GET",
    "/me/notification-preferences",
    summary="The kinds of notification you turned off (every kind is on by default)",
    tag="notifications",
    response=NotificationPreferences,
)
def get_preferences(call: Call[None, None]) -> NotificationPreferences:
    return preferences_out(notifications.preferences(call.member.member_id))


@router.route(
    "PUT",
    "/me/notification-preferences",
    summary="Choose the kinds of notification you turn off",
    description="Replaces your choice: the kinds listed are off, every other kind is on. Notifications already "
    "stored stay.",
    tag="notifications",
    body=NotificationPreferences,
    response=NotificationPreferences,
)
def set_preferences(call: Call[NotificationPreferences, None]) -> NotificationPreferences:
    return preferences_out(notifications.set_preferences(call.member.member_id, frozenset(call.body.off)))
