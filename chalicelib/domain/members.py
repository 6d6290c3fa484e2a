"""Member profiles: what a member may change and what others may see."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from msgspec import Struct
from msgspec.structs import replace

from chalicelib import errors
from chalicelib.domain.geo import END
from chalicelib.errors import FieldError

# Every id a client sends or a token names as its subject (Auth0's look like "auth0|5f7c…"): never "#",
# which joins the parts of a key.
IDENTIFIER_PATTERN = rf"^[A-Za-z0-9_.:|\-]{{1,64}}{END}"


class Visibility(StrEnum):
    """Who sees a member's whole profile (bio, languages, skills, home community); anyone else sees their
    name and reputation only. The default is the most private."""

    COMMUNITIES = "communities"  # the members of their communities
    MEMBERS = "members"  # every member


class Member(Struct, frozen=True):
    member_id: str
    display_name: str
    created_at: str
    bio: str = ""
    languages: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    home_community_id: str | None = None
    location: str | None = None
    community_ids: tuple[str, ...] = ()
    active_day: str | None = None  # the first day of the last week the member was marked active (`active_week`)
    erased_at: str | None = None  # the member asked for erasure: the profile is a pseudonym from then on
    erasure_step: str | None = None  # the last step of the erasure done (`domain.erasure.Step`)
    profile_visibility: Visibility = Visibility.COMMUNITIES


def shows_whole_profile(member: Member, viewer_id: str, viewer_communities: Iterable[str], operator: bool) -> bool:
    """The member themselves, operators, and whom their visibility lets in see their whole profile."""
    if viewer_id == member.member_id or operator or member.profile_visibility is Visibility.MEMBERS:
        return True
    return not set(member.community_ids).isdisjoint(viewer_communities)


def active_week(day: str) -> str:
    """The Monday of `day`'s week (YYYY-MM-DD). Activity is marked once a week: what reads it counts
    members active over 30 days, and a week is precise enough for that."""
    moment = date.fromisoformat(day)
    return (moment - timedelta(days=moment.weekday())).isoformat()


def home_community(member: Member) -> str | None:
    """The community an app opens on: the one the member chose, else the first they belong to."""
    return member.home_community_id or next(iter(member.community_ids), None)


def default_display_name(member_id: str, claimed_name: str | None) -> str:
    name = (claimed_name or "").strip()[:60]
    return name or f"Member {member_id[:6]}"


def apply_profile_changes(member: Member, changes: dict[str, Any]) -> Member:
    """Changes are already type-checked; this enforces the rules that depend on the member."""
    home = changes.get("home_community_id", member.home_community_id)
    if home is not None and home not in member.community_ids:
        raise errors.Invalid([FieldError("home_community_id", "members.join-community-before-making")])
    normalized = dict(changes)
    for name in ("languages", "skills"):
        if name in normalized:
            normalized[name] = tuple(dict.fromkeys(value.lower() for value in normalized[name]))
    if "profile_visibility" in normalized:
        normalized["profile_visibility"] = Visibility(normalized["profile_visibility"])
    return replace(member, **normalized)


def leave_community(member: Member, community_id: str) -> Member:
    return replace(
        member,
        community_ids=tuple(cid for cid in member.community_ids if cid != community_id),
        home_community_id=None if member.home_community_id == community_id else member.home_community_id,
    )


def join_community(member: Member, community_id: str) -> Member:
    if community_id in member.community_ids:
        return member
    return replace(member, community_ids=(*member.community_ids, community_id))
