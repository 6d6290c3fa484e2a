"""Routes of a member's own profile and of public profiles."""

from __future__ import annotations

from typing import Any

import msgspec

from chalicelib.api.http import Call, Router
from chalicelib.api.schemas import MemberProfile, ProfileChanges, PublicProfile, ReviewSummaryOut, project
from chalicelib.domain.members import Member
from chalicelib.services import members

router = Router("members")


def own_profile(member: Member) -> MemberProfile:
    return project(member, MemberProfile)


@router.route("GET", "/me", summary="Your profile (created on your first call)", tag="members", response=MemberProfile)
def get_me(call: Call[None, None]) -> MemberProfile:
    return own_profile(members.get_own_profile(call.member.member_id))


@router.route(
    "PATCH",
    "/me",
    summary="Change your profile; send only the fields to change (null clears)",
    description="`home_community_id` must be one of your communities (join it first): otherwise a 422 naming it.",
    tag="members",
    body=ProfileChanges,
    response=MemberProfile,
    problems=(422,),
)
def patch_me(call: Call[ProfileChanges, None]) -> MemberProfile:
    return own_profile(members.update_own_profile(call.member.member_id, call.body.changes()))


@router.route(
    "GET",
    "/members/{member_id}",
    summary="A member's public profile",
    tag="members",
    response=PublicProfile,
    problems=(404,),
)
def get_member(call: Call[None, None]) -> Any:
    member, summary = members.get_public_profile(call.params["member_id"])
    return msgspec.structs.replace(project(member, PublicProfile), reviews=project(summary, ReviewSummaryOut))
