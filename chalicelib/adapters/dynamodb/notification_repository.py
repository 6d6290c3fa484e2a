"""Notifications: one item per notification in its member's partition, keyed by what it is about (kind,
ref, time of the change), and one state item per member (read mark, kinds turned off) that sorts after
them, so the latest notifications and the state are one Query."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from typing import Any

from chalicelib.adapters.dynamodb import keys, pages, reads
from chalicelib.adapters.dynamodb.models import DocumentItem, NotificationItem, NotificationStateItem
from chalicelib.adapters.dynamodb.unit_of_work import Refusal, UnitOfWork
from chalicelib.domain.notifications import Inbox, Kind, Notification, Preferences, Stored, expires_at


def notification_id(sk: str) -> str:
    """The id a client sees: the sort key without its prefix, URL-safe."""
    return base64.urlsafe_b64encode(sk.removeprefix(keys.NOTIFICATION_SK_PREFIX).encode()).decode().rstrip("=")


def _sk_of(notification_id: str) -> str | None:
    try:
        raw = base64.urlsafe_b64decode(notification_id + "=" * (-len(notification_id) % 4)).decode()
    except (binascii.Error, ValueError):
        return None
    return keys.NOTIFICATION_SK_PREFIX + raw


def add_notification(uow: UnitOfWork, notification: Notification, refused: Refusal) -> None:
    """Refused when it exists: the same change delivered again."""
    item = NotificationItem(
        keys.notifications_pk(notification.member_id),
        keys.notification_sk(notification.at, notification.kind.value, notification.ref),
        kind=notification.kind.value,
        params=json.dumps(notification.params, separators=(",", ":")),
        expires_at=expires_at(notification.at),
    )
    uow.put(item, condition=NotificationItem.PK.does_not_exist(), refused=refused)


def add_replaced(uow: UnitOfWork, notification: Notification, at: str) -> None:
    """The notification of the same kind and ref at `at` is removed (if there is one)."""
    sk = keys.notification_sk(at, notification.kind.value, notification.ref)
    uow.delete(NotificationItem(keys.notifications_pk(notification.member_id), sk))


def add_read(uow: UnitOfWork, member_id: str, notification_id: str, missing: Refusal) -> None:
    sk = _sk_of(notification_id)
    if sk is None:
        missing()
    uow.update(
        NotificationItem(keys.notifications_pk(member_id), sk),
        [NotificationItem.read.set(True)],
        condition=NotificationItem.PK.exists(),
        refused=missing,
    )


def add_read_until(uow: UnitOfWork, member_id: str, until: str, later_already: Refusal) -> None:
    """The read mark moves forward only."""
    uow.update(
        NotificationStateItem(keys.notifications_pk(member_id), keys.NOTIFICATION_STATE_SK),
        [NotificationStateItem.until.set(until)],
        condition=NotificationStateItem.until.does_not_exist() | (NotificationStateItem.until < until),
        refused=later_already,
    )


def add_preferences(uow: UnitOfWork, member_id: str, preferences: Preferences) -> None:
    item = NotificationStateItem(keys.notifications_pk(member_id), keys.NOTIFICATION_STATE_SK)
    off = {kind.value for kind in preferences.off}
    uow.update(item, [NotificationStateItem.off.set(off) if off else NotificationStateItem.off.remove()])


def _inbox(item: reads.RawItem | None) -> Inbox:
    if item is None:
        return Inbox()
    until = item.get(NotificationStateItem.until.attr_name, {}).get("S")
    off = item.get(NotificationStateItem.off.attr_name, {}).get("SS", ())
    return Inbox(until, Preferences(frozenset(Kind(kind) for kind in off if kind in _KINDS)))  # a retired kind: gone


_KINDS = frozenset(Kind)


def inbox(member_id: str) -> Inbox:
    return _inbox(reads.get_item(keys.notifications_pk(member_id), keys.NOTIFICATION_STATE_SK, consistent_read=True))


def inboxes(member_ids: Iterable[str]) -> dict[str, Inbox]:
    """Every member's state, in one BatchGetItem per 100 members."""
    members = set(member_ids)
    wanted = [(keys.notifications_pk(member_id), keys.NOTIFICATION_STATE_SK) for member_id in members]
    found = {item["PK"]["S"]: _inbox(item) for item in reads.batch_get_items(wanted)}
    return {member_id: found.get(keys.notifications_pk(member_id), Inbox()) for member_id in members}


def _stored(item: reads.RawItem) -> Stored:
    sk = item["SK"]["S"]
    _, at, _, ref = sk.split(keys.SEP, 3)
    return Stored(
        notification_id(sk),
        Kind(item[NotificationItem.kind.attr_name]["S"]),
        ref,
        at,
        json.loads(item[NotificationItem.params.attr_name]["S"]),
        item.get(NotificationItem.read.attr_name, {}).get("BOOL", False),
        int(item["expires_at"]["N"]),
    )


def latest(member_id: str, count: int) -> tuple[Inbox, list[Stored]]:
    """The state and the `count` latest notifications, in one Query (the state item sorts last)."""
    found = list(reads.query(keys.notifications_pk(member_id), forward=False, limit=count + 1))
    state = found[0] if found and found[0]["SK"]["S"] == keys.NOTIFICATION_STATE_SK else None
    return _inbox(state), [_stored(item) for item in (found[1:] if state is not None else found[:count])]


def page(member_id: str, cursor: str | None, limit: int) -> tuple[list[Stored], str | None]:
    """Newest first."""

    def run(start: dict[str, Any] | None) -> Any:
        return reads.query(
            keys.notifications_pk(member_id),
            prefix=keys.NOTIFICATION_SK_PREFIX,
            forward=False,
            limit=limit,
            start=start,
        )

    return pages.collect(run, scope=f"notifications:{member_id}", cursor=cursor, convert=_stored)


def reminders_horizon() -> tuple[str | None, int]:
    """How far ahead the reminders' job has looked (None: never), and the version read."""
    found = reads.get_item(keys.REMINDERS_PK, keys.CHECKPOINT_SK, consistent_read=True)
    if found is None:
        return None, 0
    return str(json.loads(found["doc"]["S"])["horizon"]), int(found["version"]["N"])


def add_reminders_horizon(uow: UnitOfWork, horizon: str, version: int, moved_meanwhile: Refusal) -> None:
    """Over the version read (`moved_meanwhile`: another run moved it; its reminders are stored too)."""
    item = DocumentItem(
        keys.REMINDERS_PK, keys.CHECKPOINT_SK, doc=json.dumps({"horizon": horizon}), version=version + 1
    )
    read = DocumentItem.PK.does_not_exist() if version == 0 else DocumentItem.version == version
    uow.put(item, condition=read, refused=moved_meanwhile)
