"""Per-member rate limits, counted in the table: one conditional write per limited call (a fixed window
per member and action, `domain/limits.py`). The dispatcher takes a call before the view runs, after
the request is validated and only when it is not an idempotent replay (`api/http.py`)."""

from __future__ import annotations

from typing import NoReturn

from chalicelib import clock
from chalicelib.adapters.dynamodb import limit_repository
from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork
from chalicelib.config import settings
from chalicelib.domain.limits import Action, refusal, window_at
from chalicelib.services import transaction


def take(member_id: str, action: Action) -> None:
    """Counts one call of `action`; raises `RateLimited` when the member's current window is full."""
    rate = settings().rate_limits[action]
    moment = clock.now().timestamp()
    window = window_at(moment, rate)

    def full() -> NoReturn:
        raise refusal(action, rate, window, moment)

    def build(uow: UnitOfWork) -> None:
        limit_repository.add_hit(uow, member_id, action, window, rate.limit, full)

    transaction.run(build)
