"""Routes of local communities."""

from __future__ import annotations

from chalicelib.api.http import Call, Router
from chalicelib.api.schemas import (
    CommunityMember,
    CommunityOut,
    CommunitySearch,
    CommunityStatsOut,
    MembershipOut,
    NewCommunity,
    Page,
    PageQuery,
)
from chalicelib.config import settings
from chalicelib.domain.communities import Community, Membership
from chalicelib.domain.statistics import people
from chalicelib.services import communities

router = Router("communities")


def community_out(community: Community) -> CommunityOut:
    return CommunityOut(
        id=community.community_id,
        name=community.name,
        slug=community.slug,
        area=list(community.area),
        languages=list(community.languages),
        member_count=community.member_count,
        created_at=community.created_at,
    )


def membership_out(membership: Membership) -> MembershipOut:
    return MembershipOut(membership.community_id, membership.member_id, membership.role.value, membership.joined_at)


@router.route(
    "POST",
    "/communities",
    summary="Create a community (operators)",
    description="The `name` needs at least one letter or digit (a 422 otherwise); a slug already taken is a 409 "
    "`slug-taken`.",
    tag="communities",
    access="operator",
    body=NewCommunity,
    response=CommunityOut,
    status=201,
    problems=(409, 422),
)
def create_community(call: Call[NewCommunity, None]) -> CommunityOut:
    body = call.body
    return community_out(
        communities.create_community(call.member.member_id, body.name, body.slug, body.area, body.languages)
    )


@router.route(
    "GET",
    "/communities",
    summary="Find communities by name prefix, or near a geohash (3 to 5 characters, neighbours included)",
    description="Give exactly one of `name` or `near` (neither or both: a 422). A `name` prefix needs at least "
    "one letter or digit; accents, case and spacing are ignored. `near` answers one page (no cursor).",
    tag="communities",
    access="public",
    query=CommunitySearch,
    response=Page[CommunityOut],
    problems=(400, 422, 503),
)
def find_communities(call: Call[None, CommunitySearch]) -> Page[CommunityOut]:
    query = call.query
    found, cursor = communities.find_communities(query.name, query.near, query.cursor, query.limit)
    return Page([community_out(c) for c in found], cursor)


@router.route(
    "GET",
    "/communities/{community_id}",
    summary="One community",
    tag="communities",
    access="public",
    response=CommunityOut,
    problems=(404, 503),
)
def get_community(call: Call[None, None]) -> CommunityOut:
    return community_out(communities.get_community(call.params["community_id"]))


@router.route(
    "POST",
    "/communities/{community_id}/join",
    summary="Join a community (joining again changes nothing)",
    description="A member belongs to a limited number of communities: one more is a 409 `too-many-communities`.",
    tag="communities",
    response=MembershipOut,
    problems=(404, 409),
)
def join_community(call: Call[None, None]) -> MembershipOut:
    return membership_out(communities.join(call.member.member_id, call.params["community_id"]))


@router.route(
    "POST",
    "/communities/{community_id}/leave",
    summary="Leave a community",
    tag="communities",
    status=204,
    problems=(404,),
)
def leave_community(call: Call[None, None]) -> None:
    communities.leave(call.member.member_id, call.params["community_id"])


@router.route(
    "GET",
    "/communities/{community_id}/members",
    summary="Members of a community",
    tag="communities",
    query=PageQuery,
    response=Page[CommunityMember],
    problems=(400, 404),
)
def list_community_members(call: Call[None, PageQuery]) -> Page[CommunityMember]:
    found, cursor = communities.list_members(call.params["community_id"], call.query.cursor, call.query.limit)
    return Page(
        [CommunityMember(m.member_id, profile.display_name, m.role.value, m.joined_at) for m, profile in found],
        cursor,
    )


@router.route(
    "PUT",
    "/communities/{community_id}/ambassadors/{member_id}",
    summary="Make a member an ambassador of the community (operators)",
    tag="communities",
    access="operator",
    response=MembershipOut,
    problems=(404,),
)
def grant_ambassador(call: Call[None, None]) -> MembershipOut:
    return membership_out(
        communities.set_ambassador(call.member.member_id, call.params["community_id"], call.params["member_id"], True)
    )


@router.route(
    "DELETE",
    "/communities/{community_id}/ambassadors/{member_id}",
    summary="Withdraw the ambassador role (operators)",
    tag="communities",
    access="operator",
    response=MembershipOut,
    problems=(404,),
)
def revoke_ambassador(call: Call[None, None]) -> MembershipOut:
    return membership_out(
        communities.set_ambassador(call.member.member_id, call.params["community_id"], call.params["member_id"], False)
    )


@router.route(
    "GET",
    "/communities/{community_id}/stats",
    summary="Members and members active in the last 30 days (each null under the statistics' threshold)",
    tag="communities",
    access="public",
    response=CommunityStatsOut,
    problems=(404, 503),
)
def community_stats(call: Call[None, None]) -> CommunityStatsOut:
    found = communities.stats(call.params["community_id"])
    threshold = settings().stats_min_people
    return CommunityStatsOut(
        found.community_id, people(found.members, threshold), people(found.active_members_30d, threshold)
    )
