"""Community use cases: creation by operators, discovery, membership, roles and activity."""

from __future__ import annotations

import uuid

from chalicelib import clock, errors
from chalicelib.adapters.dynamodb import community_repository as repository
from chalicelib.adapters.dynamodb import member_repository, store
from chalicelib.domain.audit import AuditAction
from chalicelib.domain.communities import Community, CommunityStats, Membership, Role, normalize_name
from chalicelib.domain.geo import neighbourhood
from chalicelib.domain.members import Member
from chalicelib.errors import FieldError
from chalicelib.services import audit

ACTIVE_WINDOW_DAYS = 30


def create_community(created_by: str, name: str, slug: str, area: list[str], languages: list[str]) -> Community:
    if not normalize_name(name):  # e.g. only spaces or combining accents: nothing to find it by
        raise errors.validation_failed([FieldError("name", "The name needs at least one letter or digit.")])
    store.ready()
    community = Community(
        community_id=uuid.uuid4().hex,
        name=" ".join(name.split()),
        slug=slug,
        area=tuple(dict.fromkeys(area)),
        languages=tuple(dict.fromkeys(languages)),
        member_count=0,
        created_at=clock.now_iso(),
    )
    audit_entry = audit.entry(created_by, AuditAction.CREATE_COMMUNITY, community.community_id, f"slug {slug}")
    repository.create(community, created_by, audit.recorder(audit_entry))
    return community


def get_community(community_id: str) -> Community:
    store.ready()
    community = repository.get(community_id)
    if community is None:
        raise errors.not_found("The community")
    return community


def find_by_slug(slug: str) -> Community | None:
    store.ready()
    community_id = repository.find_by_slug(slug)
    return repository.get(community_id) if community_id else None


def find_communities(
    name: str | None, near: str | None, cursor: str | None, limit: int
) -> tuple[list[Community], str | None]:
    store.ready()
    if near is not None:
        return repository.near(neighbourhood(near)), None
    assert name is not None, "the query schema requires name or near"
    if not normalize_name(name):  # an empty prefix cannot be a DynamoDB key condition
        raise errors.validation_failed([FieldError("name", "Search with at least one letter or digit.")])
    return repository.search_by_name(name, cursor, limit)


def join(member_id: str, community_id: str) -> Membership:
    store.ready()
    moment = clock.now()
    joined = repository.join(member_id, community_id, clock.iso(moment), clock.day(moment))
    if joined is not None:
        return joined
    existing = repository.get_membership(community_id, member_id)
    if existing is None:  # left again between the two calls
        raise errors.conflict("The membership changed meanwhile; retry.", "membership-changed")
    return existing


def leave(member_id: str, community_id: str) -> None:
    store.ready()
    member = member_repository.get(member_id, consistent=True)
    clear_home = member is not None and member.home_community_id == community_id
    if not repository.leave(member_id, community_id, clear_home):
        raise errors.not_found("Your membership of this community")


def list_members(
    community_id: str, cursor: str | None, limit: int
) -> tuple[list[tuple[Membership, Member]], str | None]:
    get_community(community_id)
    memberships, next_cursor = repository.list_members(community_id, cursor, limit)
    profiles = member_repository.get_many({m.member_id for m in memberships}) if memberships else {}
    return [(m, profiles[m.member_id]) for m in memberships if m.member_id in profiles], next_cursor


def set_ambassador(operator_id: str, community_id: str, member_id: str, granted: bool) -> Membership:
    store.ready()
    action = AuditAction.GRANT_AMBASSADOR if granted else AuditAction.REVOKE_AMBASSADOR
    audit_entry = audit.entry(operator_id, action, member_id, f"community {community_id}")
    role = Role.AMBASSADOR if granted else Role.MEMBER
    return repository.set_role(community_id, member_id, role, audit.recorder(audit_entry))


def stats(community_id: str) -> CommunityStats:
    community = get_community(community_id)
    since = clock.days_ago(ACTIVE_WINDOW_DAYS - 1)
    return CommunityStats(community_id, community.member_count, repository.count_active_since(community_id, since))
