"""Member use cases: provisioning on first call, own profile, public profiles."""

from __future__ import annotations

from contextlib import suppress
from functools import lru_cache, partial
from typing import Any, NamedTuple, NoReturn

from chalicelib import clock, errors
from chalicelib.adapters.dynamodb import member_repository as repository
from chalicelib.adapters.dynamodb.unit_of_work import AlreadyDone, UnitOfWork, already_done, raises, stale
from chalicelib.auth import Principal
from chalicelib.domain.economy import RewardRule
from chalicelib.domain.ledger import wallet_account
from chalicelib.domain.members import (
    Member,
    active_week,
    apply_profile_changes,
    default_display_name,
    shows_whole_profile,
)
from chalicelib.domain.reviews import Summary
from chalicelib.services import auto_rewards, ledger, reviews, transaction


def ensure_member(principal: Principal, *, erased_may_call: bool = False) -> None:
    """The caller's profile and wallet, created on their first call. An erased member's token (valid
    until it expires) is refused, and never creates a profile again; only their erasure's retry passes."""
    if _ensure(principal.member_id, principal.name, clock.day(clock.now())) and not erased_may_call:
        raise erased()


def erased() -> errors.Forbidden:
    return errors.Forbidden("members.account-was-erased", code="member-erased")


@lru_cache(maxsize=8192)
def _ensure(member_id: str, claimed_name: str | None, day: str) -> bool:
    """Cached per container and day: a known member costs no read on later calls that day. True when
    the member is erased."""
    week = active_week(day)
    member = repository.get(member_id) or provision(
        Member(member_id, default_display_name(member_id, claimed_name), clock.now_iso(), active_day=week)
    )
    if member.erased_at is not None:
        return True
    if member.active_day is None or member.active_day < week:
        _mark_active(member, week)
    return False


def _mark_active(member: Member, week: str) -> None:
    """The week's activity mark, once a week: each membership's (what community stats count), then the
    profile's, which says they all are. Each is one conditional write (no transaction) that a racing call
    finds done. Best effort: when the table is busy, the next day's first call marks the week."""
    marks = [
        partial(repository.add_active_membership, community_id=community_id, member_id=member.member_id, week=week)
        for community_id in member.community_ids
    ]
    marks.append(partial(repository.add_active_week, member_id=member.member_id, week=week))
    with suppress(errors.Busy):
        for mark in marks:
            transaction.run(partial(mark, refused=already_done()))


def provision(member: Member) -> Member:
    """The profile and the wallet, together. Concurrent first calls race here: exactly one wins and
    every caller gets the stored member."""

    def build(uow: UnitOfWork) -> Member:
        repository.add_member(uow, member, exists=lambda: _stored(member.member_id))
        ledger.add_wallet(uow, wallet_account(member.member_id), member.created_at)
        return member

    return transaction.run(build)


def _stored(member_id: str) -> NoReturn:
    stored = repository.get(member_id, consistent=True)
    if stored is None:
        stale()
    raise AlreadyDone(stored)


def get_own_profile(member_id: str) -> Member:
    member = repository.get(member_id, consistent=True)
    if member is None:
        raise errors.NotFound("not-found.member")
    return member


def update_own_profile(member_id: str, changes: dict[str, Any]) -> Member:
    updated = apply_profile_changes(get_own_profile(member_id), changes)
    transaction.run(lambda uow: repository.add_profile(uow, updated, raises(erased())))
    if auto_rewards.profile_complete(updated):
        auto_rewards.grant(RewardRule.COMPLETE_PROFILE, member_id, "profile")
    return updated


class PublicProfile(NamedTuple):
    member: Member
    reputation: Summary
    whole: bool  # False: the viewer sees the name and reputation only (`shows_whole_profile`)


def get_public_profile(member_id: str, viewer: Principal) -> PublicProfile:
    """What a member sees of another, with their reputation's summary. The viewer's communities are read
    only when the member shows their whole profile to their communities alone."""
    member = repository.get(member_id)
    if member is None:
        raise errors.NotFound("not-found.member")
    reputation = reviews.summaries({member_id})[member_id]
    if shows_whole_profile(member, viewer.member_id, (), viewer.is_operator):
        return PublicProfile(member, reputation, True)
    own = repository.get(viewer.member_id)
    communities = own.community_ids if own is not None else ()
    return PublicProfile(member, reputation, shows_whole_profile(member, viewer.member_id, communities, False))


def reset() -> None:
    _ensure.cache_clear()
