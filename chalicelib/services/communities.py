"""Community use cases: creation by operators, discovery, membership, roles and activity."""

from __future__ import annotations

import uuid
from typing import NoReturn

from chalicelib import clock, errors
from chalicelib.adapters.dynamodb import community_repository as repository
from chalicelib.adapters.dynamodb import member_repository
from chalicelib.adapters.dynamodb.unit_of_work import AlreadyDone, UnitOfWork, raises, stale
from chalicelib.auth import Principal
from chalicelib.domain.audit import AuditAction
from chalicelib.domain.communities import (
    MAX_COMMUNITIES_PER_MEMBER,
    Community,
    CommunityStats,
    Membership,
    Role,
    normalize_name,
)
from chalicelib.domain.geo import neighbourhood
from chalicelib.domain.members import Member, active_week
from chalicelib.errors import FieldError
from chalicelib.services import audit, transaction

ACTIVE_WINDOW_DAYS = 30


def create_community(created_by: str, name: str, slug: str, area: list[str], languages: list[str]) -> Community:
    if not normalize_name(name):  # e.g. only spaces or combining accents: nothing to find it by
        raise errors.Invalid([FieldError("name", "communities.name-needs-least-one")])
    community = Community(
        community_id=uuid.uuid4().hex,
        name=" ".join(name.split()),
        slug=slug,
        area=tuple(dict.fromkeys(area)),
        languages=tuple(dict.fromkeys(languages)),
        member_count=0,
        created_at=clock.now_iso(),
    )
    slug_taken = raises(errors.Conflict("communities.slug-taken", code="slug-taken", params={"slug": slug}))

    def build(uow: UnitOfWork) -> Community:
        repository.add_community(uow, community, created_by, slug_taken)
        audit.record(uow, created_by, AuditAction.CREATE_COMMUNITY, community.community_id, f"slug {slug}")
        return community

    return transaction.run(build)


def get_community(community_id: str) -> Community:
    community = repository.get(community_id)
    if community is None:
        raise errors.NotFound("not-found.community")
    return community


def find_by_slug(slug: str) -> Community | None:
    community_id = repository.find_by_slug(slug)
    return repository.get(community_id) if community_id else None


def find_communities(
    name: str | None, near: str | None, cursor: str | None, limit: int
) -> tuple[list[Community], str | None]:
    if near is not None:
        return repository.near(neighbourhood(near)), None
    assert name is not None, "the query schema requires name or near"
    if not normalize_name(name):  # an empty prefix cannot be a DynamoDB key condition
        raise errors.Invalid([FieldError("name", "communities.search-least-one-letter")])
    return repository.search_by_name(name, cursor, limit)


def join(member_id: str, community_id: str) -> Membership:
    """Joining twice is joining once: the second call answers the membership that exists."""

    def build(uow: UnitOfWork) -> Membership:
        moment = clock.now()
        membership = Membership(community_id, member_id, Role.MEMBER, clock.iso(moment))
        repository.add_membership(
            uow,
            membership,
            clock.day(moment),
            already_member=lambda: _existing_membership(community_id, member_id),
            no_community=raises(errors.NotFound("not-found.community")),
            too_many=raises(
                errors.Conflict(
                    "communities.too-many",
                    params={"max": MAX_COMMUNITIES_PER_MEMBER},
                    code="too-many-communities",
                )
            ),
        )
        return membership

    return transaction.run(build)


def _existing_membership(community_id: str, member_id: str) -> NoReturn:
    existing = repository.get_membership(community_id, member_id)
    if existing is None:
        stale()  # left again meanwhile: join again
    raise AlreadyDone(existing)


def leave(member_id: str, community_id: str) -> None:
    def build(uow: UnitOfWork) -> None:
        member = member_repository.get(member_id, consistent=True)
        clear_home = member is not None and member.home_community_id == community_id
        not_member = raises(errors.NotFound("not-found.membership-community"))
        repository.add_departure(uow, member_id, community_id, clear_home, not_member)

    transaction.run(build)


def list_members(
    community_id: str, cursor: str | None, limit: int
) -> tuple[list[tuple[Membership, Member]], str | None]:
    get_community(community_id)
    memberships, next_cursor = repository.list_members(community_id, cursor, limit)
    profiles = member_repository.get_many({m.member_id for m in memberships}) if memberships else {}
    return [(m, profiles[m.member_id]) for m in memberships if m.member_id in profiles], next_cursor


def set_ambassador(operator_id: str, community_id: str, member_id: str, granted: bool) -> Membership:
    def build(uow: UnitOfWork) -> None:
        role = Role.AMBASSADOR if granted else Role.MEMBER
        repository.add_role(
            uow, community_id, member_id, role, not_member=raises(errors.NotFound("not-found.membership"))
        )
        action = AuditAction.GRANT_AMBASSADOR if granted else AuditAction.REVOKE_AMBASSADOR
        audit.record(uow, operator_id, action, member_id, f"community {community_id}")

    transaction.run(build)
    found = repository.get_membership(community_id, member_id)
    if found is None:  # left right after the change
        raise errors.NotFound("not-found.membership")
    return found


def moderates(member: Principal, community_id: str) -> bool:
    """Operators moderate everywhere; ambassadors in their community."""
    if member.is_operator:
        return True
    membership = repository.get_membership(community_id, member.member_id)
    return membership is not None and membership.role is Role.AMBASSADOR


def stats(community_id: str) -> CommunityStats:
    """Members active in the last 30 days, counted by the weeks activity is marked in: a member last seen
    up to six days before the window's first day may count too."""
    community = get_community(community_id)
    since = active_week(clock.days_ago(ACTIVE_WINDOW_DAYS - 1))
    return CommunityStats(community_id, community.member_count, repository.count_active_since(community_id, since))
