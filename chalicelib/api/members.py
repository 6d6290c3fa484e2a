"""Routes of a member's own profile and of public profiles."""

from __future__ import annotations

import msgspec

from chalicelib import i18n
from chalicelib.api.http import Call, Router
from chalicelib.api.schemas import (
    ErasureConfirmation,
    ErasureOut,
    MemberProfile,
    ProfileChanges,
    PublicProfile,
    ReviewSummaryOut,
    project,
)
from chalicelib.domain.members import Member
from chalicelib.services import erasure, members

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
    "DELETE",
    "/me",
    summary="Erase your account (send `erase <your id>` to confirm)",
    description="Refused with a 409 `erasure-blocked` listing `blockers` (each a `kind` and an `id`: an exchange "
    "or loan not finished, held credits, owed credits, an open card dispute, a purchase waiting for its payment, "
    "a mission claimed) until they end. Otherwise your remaining credits go to the rewards pool (credits never "
    'turn into money), your profile becomes "former member", your listings are removed, the bodies of your '
    "messages erased, the reviews about you hidden (those you wrote stay, under the pseudonym), you leave your "
    "communities, and your account at the identity provider is deleted where it allows it (Cognito). The ledger "
    "keeps its records under your id, so the books still balance. A `confirm` other than `erase <your id>` is a "
    "422 `erasure-not-confirmed`. Repeating the request completes an interrupted erasure, then answers the same "
    "receipt; every other route answers your token with a 403 `member-erased`.",
    tag="members",
    body=ErasureConfirmation,
    response=ErasureOut,
    problems=(409,),
    erased_may_call=True,
)
def delete_me(call: Call[ErasureConfirmation, None]) -> ErasureOut:
    receipt = erasure.erase(call.member.member_id, call.body.confirm)
    return ErasureOut(
        receipt.member_id,
        receipt.erased_at,
        receipt.forfeited,
        receipt.forfeit_transfer_id,
        "deleted" if receipt.identity_deleted else "delete-at-provider",
    )


@router.route(
    "GET",
    "/members/{member_id}",
    summary="A member's profile, as they let you see it",
    description="Whole for the members of their communities (and for every member when they chose "
    "`profile_visibility: members`); otherwise `limited`: their name and reputation, and an empty bio, no "
    'languages, skills or home community. An erased member\'s name is "former member", in your language.',
    tag="members",
    response=PublicProfile,
    problems=(404,),
)
def get_member(call: Call[None, None]) -> PublicProfile:
    found = members.get_public_profile(call.params["member_id"], call.member)
    reputation = project(found.reputation, ReviewSummaryOut)
    member = found.member
    name = i18n.text("members.former-member", call.language) if member.erased_at else member.display_name
    if found.whole:
        return msgspec.structs.replace(project(member, PublicProfile), display_name=name, reviews=reputation)
    return PublicProfile(member.member_id, name, "", [], [], None, member.created_at, reputation, True)
