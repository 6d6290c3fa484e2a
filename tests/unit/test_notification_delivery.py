"""The stream handler's delivery writes members' notifications several at a time, yet each member's in
their order (a conversation's next message replaces the previous one), and counts what it could not store."""

from __future__ import annotations

import random
import threading
import time

from chalicelib.domain.notifications import Inbox, Kind, Notification, Preferences
from chalicelib.services import notifications


def test_members_at_once_each_member_in_order_failures_counted(monkeypatch):
    made = [
        Notification(f"m{member}", Kind.MESSAGE, "conversation", f"2026-11-28T10:00:{second:02d}Z")
        for second in range(6)
        for member in range(40)
    ]
    stored: list[Notification] = []
    in_flight, most_in_flight, lock = [0], [0], threading.Lock()

    def store(notification: Notification) -> None:
        with lock:
            in_flight[0] += 1
            most_in_flight[0] = max(most_in_flight[0], in_flight[0])
        time.sleep(random.uniform(0, 0.002))
        with lock:
            in_flight[0] -= 1
            if notification.member_id == "m7" and notification.at.endswith(":03Z"):
                raise RuntimeError("throttled")
            stored.append(notification)

    muted = {"m9": Inbox(preferences=Preferences(frozenset({Kind.MESSAGE})))}
    monkeypatch.setattr(notifications.repository, "inboxes", lambda ids: {i: muted.get(i, Inbox()) for i in set(ids)})
    monkeypatch.setattr(notifications, "_store", store)
    counted: list[int] = []
    monkeypatch.setattr(notifications, "_count", counted.append)

    assert notifications.deliver(made) == 1
    assert counted == [1]
    assert 1 < most_in_flight[0] <= notifications.STORE_CONCURRENCY
    for member in (f"m{number}" for number in range(40)):
        times = [n.at for n in stored if n.member_id == member]
        assert times == sorted(times), member  # never a later message before an earlier one
        expected = 0 if member == "m9" else 5 if member == "m7" else 6
        assert len(times) == expected, member
