"""The notifications inbox: the table's stream handler turns each batch's changes into notifications
(`observe`, a consumer of `services/table_changes.py`); members list them, mark them read and choose
the kinds they want. The rules are in `domain/notifications.py`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import NamedTuple

from aws_lambda_powertools.metrics import MetricUnit

from chalicelib import clock, errors
from chalicelib.adapters.dynamodb import governance_repository, reads
from chalicelib.adapters.dynamodb import notification_repository as repository
from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork, already_done, raises
from chalicelib.domain import notifications as rules
from chalicelib.domain.changes import Change, ResultStored
from chalicelib.domain.notifications import Kind, Notification, Preferences, Stored
from chalicelib.observability import logger, metrics
from chalicelib.services import transaction

# The stream handler's side

STORE_CONCURRENCY = 16  # members' notifications written at once


def observe(changes: Sequence[Change]) -> None:
    """Stores the batch's notifications for the members who want them, each once. Never raises: a
    notification that cannot be stored is counted and logged (`deliver`), and the shard moves on (a lost
    notification costs less than a blocked stream). A ballot's stored result reads its roll (one Query)
    to tell every member on it."""
    made = rules.for_changes(changes)
    for change in changes:
        if isinstance(change.what, ResultStored):
            made.extend(_ballot_results(change.what))
    deliver(made)


def _ballot_results(stored: ResultStored) -> list[Notification]:
    """Everyone on the ballot's roll hears of its result; a roll that cannot be read loses them (counted
    once in `NotificationsFailed`, logged by the ballot's id)."""
    try:
        members = governance_repository.roll_members(stored.ballot_id)
    except Exception as error:  # the shard must not block on a failed read
        logger.error("ballot results not told", extra={"ballot_id": stored.ballot_id, "error": type(error).__name__})
        _count(1)
        return []
    return rules.ballot_results(stored, members)


def deliver(made: Sequence[Notification]) -> int:
    """Stores each notification its member wants, once; returns how many could not be stored (counted in
    `NotificationsFailed`, logged by ids, never raised). Members are served STORE_CONCURRENCY at a time
    (a ballot's result tells its whole roll within the handler's timeout); each member's notifications in
    their order (one replaces another)."""
    if not made:
        return 0
    try:
        wanted = repository.inboxes(notification.member_id for notification in made)
    except Exception as error:  # the shard must not block on a failed read
        logger.error("notifications not stored", extra={"count": len(made), "error": type(error).__name__})
        _count(len(made))
        return len(made)
    by_member: dict[str, list[Notification]] = defaultdict(list)
    for notification in made:
        if wanted[notification.member_id].preferences.wants(notification.kind):
            by_member[notification.member_id].append(notification)
    if not by_member:
        return 0
    with ThreadPoolExecutor(max_workers=min(STORE_CONCURRENCY, len(by_member))) as pool:
        failed = sum(pool.map(_store_in_order, by_member.values()))
    if failed:
        _count(failed)
    return failed


def _store_in_order(notifications: list[Notification]) -> int:
    """One member's notifications; how many could not be stored (each logged by ids)."""
    failed = 0
    for notification in notifications:
        try:
            _store(notification)
        except Exception as error:  # one notification lost, never the shard blocked
            failed += 1
            logger.error(
                "notification not stored",
                extra={
                    "member_id": notification.member_id,
                    "kind": notification.kind.value,
                    "ref": notification.ref,
                    "error": type(error).__name__,
                },
            )
    return failed


def _store(notification: Notification) -> None:
    """Written first, then the one it replaces removed: a batch delivered again writes nothing new."""
    transaction.run(lambda uow: repository.add_notification(uow, notification, already_done()))
    if notification.replaces is not None:
        replaced = notification.replaces
        transaction.run(lambda uow: repository.add_replaced(uow, notification, replaced))


def _count(failed: int) -> None:
    metrics.add_metric(name="NotificationsFailed", unit=MetricUnit.Count, value=failed)
    metrics.flush_metrics()


# The member's side


class Page(NamedTuple):
    items: list[tuple[Stored, bool]]  # each notification, and whether it is read
    cursor: str | None
    unread: int


def page(member_id: str, cursor: str | None, limit: int) -> Page:
    """Newest first, with the unread count (the page and the count are read side by side)."""
    pool = reads.pool()
    found = pool.submit(repository.page, member_id, cursor, limit)
    inbox, latest = repository.latest(member_id, rules.UNREAD_LOOKED_AT)
    items, next_cursor = found.result()
    now = _epoch()
    shown = [(stored, stored.read(inbox.until)) for stored in items if stored.expires_at > now]
    return Page(shown, next_cursor, rules.unread(inbox, latest, now))


def unread(member_id: str) -> int:
    """Unread among the latest `UNREAD_LOOKED_AT` notifications: one Query."""
    inbox, latest = repository.latest(member_id, rules.UNREAD_LOOKED_AT)
    return rules.unread(inbox, latest, _epoch())


def mark_read(member_id: str, notification_id: str) -> None:
    missing = raises(errors.NotFound("not-found.notification"))
    transaction.run(lambda uow: repository.add_read(uow, member_id, notification_id, missing))


def mark_read_until(member_id: str, until: datetime) -> None:
    """Everything up to `until` (at most now: what comes later stays unread) is read."""
    mark = min(clock.iso(until), clock.now_iso())
    transaction.run(lambda uow: repository.add_read_until(uow, member_id, mark, already_done()))


def preferences(member_id: str) -> Preferences:
    return repository.inbox(member_id).preferences


def set_preferences(member_id: str, off: frozenset[Kind]) -> Preferences:
    chosen = Preferences(off)

    def build(uow: UnitOfWork) -> Preferences:
        repository.add_preferences(uow, member_id, chosen)
        return chosen

    return transaction.run(build)


def _epoch() -> int:
    return int(clock.now().timestamp())
