"""Communities, their slugs and area cells, and memberships."""

from __future__ import annotations

from typing import Any

from pynamodb.expressions.condition import size

from chalicelib.adapters.dynamodb import keys, pages
from chalicelib.adapters.dynamodb.models import (
    AreaCellItem,
    CommunityItem,
    MemberItem,
    MembershipItem,
    SlugItem,
)
from chalicelib.adapters.dynamodb.unit_of_work import Refusal, UnitOfWork
from chalicelib.domain.communities import (
    MAX_COMMUNITIES_PER_MEMBER,
    Community,
    Membership,
    Role,
    normalize_name,
)
from chalicelib.domain.geo import overlaps


def _community(item: CommunityItem) -> Community:
    return Community(
        community_id=item.community_id,
        name=item.name,
        slug=item.slug,
        area=tuple(map(str, item.area)),
        languages=tuple(map(str, item.languages)),
        member_count=int(item.member_count),
        created_at=item.created_at,
    )


def _membership(item: MembershipItem) -> Membership:
    return Membership(item.community_id, item.member_id, Role(item.role), item.joined_at)


def add_community(uow: UnitOfWork, community: Community, created_by: str, slug_taken: Refusal) -> None:
    """The community, its unique slug and its area cells."""
    normalized = normalize_name(community.name)
    uow.put(
        SlugItem(keys.slug_pk(community.slug), keys.slug_pk(community.slug), community_id=community.community_id),
        condition=SlugItem.PK.does_not_exist(),
        refused=slug_taken,
    )
    uow.put(
        CommunityItem(
            keys.community_pk(community.community_id),
            keys.META_SK,
            GSI1PK=keys.community_name_pk(normalized),
            GSI1SK=keys.community_name_sk(normalized, community.community_id),
            community_id=community.community_id,
            name=community.name,
            slug=community.slug,
            area=list[Any](community.area),
            languages=list[Any](community.languages),
            member_count=0,
            created_at=community.created_at,
            created_by=created_by,
        ),
        condition=CommunityItem.PK.does_not_exist(),
    )
    for cell in community.area:
        uow.put(
            AreaCellItem(
                keys.community_pk(community.community_id),
                keys.area_sk(cell),
                GSI1PK=keys.geo_pk(cell),
                GSI1SK=keys.geo_sk(cell, community.community_id),
                community_id=community.community_id,
                cell=cell,
            ),
        )


def get(community_id: str) -> Community | None:
    try:
        return _community(CommunityItem.get(keys.community_pk(community_id), keys.META_SK))
    except CommunityItem.DoesNotExist:
        return None


def find_by_slug(slug: str) -> str | None:
    """The id of the community with this slug."""
    try:
        return SlugItem.get(keys.slug_pk(slug), keys.slug_pk(slug)).community_id
    except SlugItem.DoesNotExist:
        return None


def get_many(community_ids: set[str]) -> list[Community]:
    wanted = [(keys.community_pk(cid), keys.META_SK) for cid in community_ids]
    return sorted((_community(item) for item in CommunityItem.batch_get(wanted)), key=lambda c: c.name)


def search_by_name(prefix: str, cursor: str | None, limit: int) -> tuple[list[Community], str | None]:
    normalized = normalize_name(prefix)

    def run(start: dict[str, Any] | None) -> Any:
        return CommunityItem.gsi1.query(
            keys.community_name_pk(normalized),
            CommunityItem.GSI1SK.startswith(normalized),
            limit=limit,
            page_size=limit,
            last_evaluated_key=start,
        )

    return pages.collect(run, scope=f"communities-name:{normalized}", cursor=cursor, convert=_community)


def near(cells: set[str]) -> list[Community]:
    """One query per distinct 3-character prefix among the searched cells (at most 4 in practice)."""
    found: set[str] = set()
    for prefix in {cell[:3] for cell in cells}:
        for item in AreaCellItem.gsi1.query(keys.geo_pk(prefix)):
            if overlaps(item.cell, cells):
                found.add(item.community_id)
    return get_many(found) if found else []


def add_membership(
    uow: UnitOfWork,
    membership: Membership,
    day: str,
    *,
    already_member: Refusal,
    no_community: Refusal,
    too_many: Refusal,
) -> None:
    """The membership, the community's member count, and the member's list of communities (bounded)."""
    community_id, member_id = membership.community_id, membership.member_id
    uow.put(
        MembershipItem(
            keys.community_pk(community_id),
            keys.membership_sk(member_id),
            GSI2PK=keys.active_pk(community_id),
            GSI2SK=keys.active_sk(day, member_id),
            community_id=community_id,
            member_id=member_id,
            role=membership.role.value,
            joined_at=membership.joined_at,
            active_day=day,
        ),
        condition=MembershipItem.PK.does_not_exist(),
        refused=already_member,
    )
    uow.update(
        CommunityItem(keys.community_pk(community_id), keys.META_SK),
        [CommunityItem.member_count.add(1)],
        condition=CommunityItem.PK.exists(),
        refused=no_community,
    )
    uow.update(
        MemberItem(keys.member_pk(member_id), keys.PROFILE_SK),
        [MemberItem.community_ids.add({community_id})],
        condition=MemberItem.community_ids.does_not_exist()
        | (size(MemberItem.community_ids) < MAX_COMMUNITIES_PER_MEMBER),
        refused=too_many,
    )


def add_departure(uow: UnitOfWork, member_id: str, community_id: str, clear_home: bool, not_member: Refusal) -> None:
    member_actions: list[Any] = [MemberItem.community_ids.delete({community_id})]
    if clear_home:
        member_actions.append(MemberItem.home_community_id.remove())
    uow.delete(
        MembershipItem(keys.community_pk(community_id), keys.membership_sk(member_id)),
        condition=MembershipItem.PK.exists(),
        refused=not_member,
    )
    uow.update(MemberItem(keys.member_pk(member_id), keys.PROFILE_SK), member_actions)
    uow.update(
        CommunityItem(keys.community_pk(community_id), keys.META_SK),
        [CommunityItem.member_count.add(-1)],
        condition=CommunityItem.PK.exists(),
    )


def get_membership(community_id: str, member_id: str) -> Membership | None:
    try:
        return _membership(MembershipItem.get(keys.community_pk(community_id), keys.membership_sk(member_id)))
    except MembershipItem.DoesNotExist:
        return None


def add_role(uow: UnitOfWork, community_id: str, member_id: str, role: Role, not_member: Refusal) -> None:
    uow.update(
        MembershipItem(keys.community_pk(community_id), keys.membership_sk(member_id)),
        [MembershipItem.role.set(role.value)],
        condition=MembershipItem.PK.exists(),
        refused=not_member,
    )


def list_members(community_id: str, cursor: str | None, limit: int) -> tuple[list[Membership], str | None]:
    def run(start: dict[str, Any] | None) -> Any:
        return MembershipItem.query(
            keys.community_pk(community_id),
            MembershipItem.SK.startswith(keys.MEMBERSHIP_SK_PREFIX),
            limit=limit,
            page_size=limit,
            last_evaluated_key=start,
        )

    return pages.collect(run, scope=f"community-members:{community_id}", cursor=cursor, convert=_membership)


def count_active_since(community_id: str, day: str) -> int:
    return MembershipItem.gsi2.count(keys.active_pk(community_id), day <= MembershipItem.GSI2SK)
