"""Local communities: naming and membership roles."""

from __future__ import annotations

import unicodedata
from enum import StrEnum

from msgspec import Struct


class Role(StrEnum):
    MEMBER = "member"
    AMBASSADOR = "ambassador"


class Community(Struct, frozen=True):
    community_id: str
    name: str
    slug: str
    area: tuple[str, ...]
    languages: tuple[str, ...]
    member_count: int
    created_at: str


class Membership(Struct, frozen=True):
    community_id: str
    member_id: str
    role: Role
    joined_at: str


class CommunityStats(Struct, frozen=True):
    community_id: str
    members: int
    active_members_30d: int


MAX_COMMUNITIES_PER_MEMBER = 20


def normalize_name(name: str) -> str:
    """Search key for names: accents folded, case-insensitive, single spaces ("Genève" finds "geneve")."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", name).casefold())
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(stripped.split())
