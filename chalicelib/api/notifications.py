"""Routes of the notifications inbox and its preferences. A notification's text is the catalogue's
`notification.<kind>` in the request's language, filled with the notification's parameters."""

from __future__ import annotations

from collections.abc import Mapping

from chalicelib import i18n
from chalicelib.api.http import Call, Router
from chalicelib.api.schemas import NotificationOut, NotificationPage, NotificationPreferences, PageQuery, ReadUntil
from chalicelib.domain.notifications import Kind, Preferences, Stored
from chalicelib.i18n import Language
from chalicelib.services import notifications

router = Router("notifications")


def text(kind: Kind, params: Mapping[str, str | int], language: Language = i18n.DEFAULT) -> str:
    return i18n.text(f"notification.{kind.value}", language, params)


def notification_out(stored: Stored, read: bool, language: Language) -> NotificationOut:
    return NotificationOut(
        stored.notification_id,
        stored.kind,
        stored.ref,
        stored.at,
        read,
        stored.params,
        text(stored.kind, stored.params, language),
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
        [notification_out(stored, read, call.language) for stored, read in found.items], found.unread, found.cursor
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
