"""Member use cases: provisioning on first call, own profile, public profiles."""

from __future__ import annotations

from contextlib import suppress
from functools import lru_cache
from typing import Any

from chalicelib import clock, errors
from chalicelib.adapters.dynamodb import member_repository as repository
from chalicelib.adapters.dynamodb import store
from chalicelib.adapters.dynamodb.unit_of_work import Rejected, Retryable
from chalicelib.auth import Principal
from chalicelib.domain.members import Member, apply_profile_changes, default_display_name


def ensure_member(principal: Principal) -> None:
    _ensure(principal.member_id, principal.name, clock.day(clock.now()))


@lru_cache(maxsize=8192)
def _ensure(member_id: str, claimed_name: str | None, day: str) -> None:
    """Cached per container and day: a known member costs no read on later calls that day."""
    store.ready()
    member = repository.get(member_id) or repository.create_if_absent(
        Member(member_id, default_display_name(member_id, claimed_name), clock.now_iso(), active_day=None)
    )
    if member.active_day != day:
        # A membership may change meanwhile; the next container's or next day's call marks it then.
        # Concurrent first calls conflict here in AWS (Retryable): one of them marks the day.
        with suppress(Rejected, Retryable):
            repository.mark_active(member, day)


def get_own_profile(member_id: str) -> Member:
    store.ready()
    member = repository.get(member_id, consistent=True)
    if member is None:
        raise errors.not_found("The member")
    return member


def update_own_profile(member_id: str, changes: dict[str, Any]) -> Member:
    updated = apply_profile_changes(get_own_profile(member_id), changes)
    repository.save_profile(updated)
    return updated


def get_public_profile(member_id: str) -> Member:
    store.ready()
    member = repository.get(member_id)
    if member is None:
        raise errors.not_found("The member")
    return member


def reset() -> None:
    _ensure.cache_clear()
