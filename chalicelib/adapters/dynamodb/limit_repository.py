"""Rate-limit counters: the calls a member made in one window of a limited action."""

from __future__ import annotations

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.models import RateWindowItem
from chalicelib.adapters.dynamodb.unit_of_work import Refusal, UnitOfWork
from chalicelib.domain.limits import Window


def add_hit(uow: UnitOfWork, member_id: str, action: str, window: Window, limit: int, full: Refusal) -> None:
    """One more call in the window, refused (`full`) once it holds `limit`: one conditional write, which
    creates the counter on the window's first call. The table's TTL removes it after the window."""
    uow.update(
        RateWindowItem(keys.rate_limit_pk(member_id), keys.rate_limit_sk(action, window.start)),
        [RateWindowItem.hits.add(1), RateWindowItem.expires_at.set(window.end)],
        condition=RateWindowItem.hits.does_not_exist() | (RateWindowItem.hits < limit),
        refused=full,
    )
