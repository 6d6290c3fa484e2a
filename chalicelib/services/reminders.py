"""Reminders, a day ahead: a loan due back, an exchange that completes without the confirmation still
awaited, a review window closing, a ballot closing that the member has not voted in. A scheduled job
reads the due dates that entered its window since its last run from the schedulers' own indexes (never
a scan), and stores the reminders as notifications (`services/notifications.deliver`): each once, keyed
by what it reminds of and when."""

from __future__ import annotations

from datetime import datetime

from chalicelib import clock
from chalicelib.adapters.dynamodb import exchange_repository, governance_repository, review_repository
from chalicelib.adapters.dynamodb import notification_repository as repository
from chalicelib.adapters.dynamodb.unit_of_work import already_done
from chalicelib.domain import notifications as rules
from chalicelib.domain.governance import BallotState
from chalicelib.domain.notifications import Notification
from chalicelib.services import notifications, transaction


def run(now: datetime | None = None) -> int:
    """Reminds of what falls due after the last run's horizon (or now) and within a day; moves the horizon
    only when every reminder was stored, so a failed run's window is read again. Returns how many."""
    moment = now or clock.now()
    horizon, version = repository.reminders_horizon()
    start = max(horizon or "", clock.iso(moment))  # what is already due is past reminding
    end = clock.iso(moment + rules.REMIND_BEFORE)
    if start >= end:
        return 0
    made = _due(start, end)
    failed = notifications.deliver(made)
    if not failed:
        transaction.run(lambda uow: repository.add_reminders_horizon(uow, end, version, already_done()))
    return len(made) - failed


def _due(start: str, end: str) -> list[Notification]:
    made = [
        reminder
        for deadline, exchange in exchange_repository.due_between(start, end)
        for reminder in rules.exchange_reminders(exchange, deadline)
    ]
    made += [
        reminder
        for review_round in review_repository.closing_between(start, end)
        for reminder in rules.review_reminders(review_round)
    ]
    for ballot in governance_repository.due_between(start, end):
        if ballot.state is BallotState.OPEN:
            waiting = governance_repository.not_voted(ballot.ballot_id)
            made += rules.ballot_reminders(ballot.ballot_id, ballot.closes_at, waiting)
    return made
