"""Member profiles and the weekly activity mark."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import UnicodeAttribute
from pynamodb.expressions.update import Action

from chalicelib.adapters.dynamodb import keys, reads
from chalicelib.adapters.dynamodb.mapping import values_of
from chalicelib.adapters.dynamodb.models import MemberItem, MembershipItem
from chalicelib.adapters.dynamodb.unit_of_work import Refusal, UnitOfWork
from chalicelib.domain.members import Member, Visibility


def _to_domain(item: reads.RawItem) -> Member:
    values = values_of(MemberItem, item)
    return Member(
        member_id=values["member_id"],
        display_name=values["display_name"],
        created_at=values["created_at"],
        bio=values["bio"],
        languages=tuple(map(str, values["languages"])),
        skills=tuple(map(str, values["skills"])),
        home_community_id=values.get("home_community_id"),
        location=values.get("location"),
        community_ids=tuple(sorted(values["community_ids"])),
        active_day=values.get("active_day"),
        erased_at=values.get("erased_at"),
        erasure_step=values.get("erasure_step"),
        profile_visibility=Visibility(values.get("profile_visibility") or Visibility.COMMUNITIES),
    )


def _to_item(member: Member) -> MemberItem:
    return MemberItem(
        keys.member_pk(member.member_id),
        keys.PROFILE_SK,
        member_id=member.member_id,
        display_name=member.display_name,
        created_at=member.created_at,
        bio=member.bio,
        languages=list[Any](member.languages),
        skills=list[Any](member.skills),
        home_community_id=member.home_community_id,
        location=member.location,
        community_ids=set(member.community_ids) or None,
        active_day=member.active_day,
        erased_at=member.erased_at,
        erasure_step=member.erasure_step,
        profile_visibility=member.profile_visibility.value,
    )


def get(member_id: str, *, consistent: bool = False) -> Member | None:
    found = reads.get_item(keys.member_pk(member_id), keys.PROFILE_SK, consistent_read=consistent)
    return None if found is None else _to_domain(found)


def get_many(member_ids: set[str]) -> dict[str, Member]:
    wanted = [(keys.member_pk(member_id), keys.PROFILE_SK) for member_id in member_ids]
    members = [_to_domain(item) for item in reads.batch_get_items(wanted)]
    return {member.member_id: member for member in members}


def add_member(uow: UnitOfWork, member: Member, exists: Refusal) -> None:
    uow.put(_to_item(member), condition=MemberItem.PK.does_not_exist(), refused=exists)


def add_profile(uow: UnitOfWork, member: Member, erased: Refusal) -> None:
    """Profile fields only: memberships are changed with the communities' own writes. An erased
    member's pseudonym never changes (`erased`)."""
    uow.update(
        _ref(member.member_id),
        _profile_actions(member),
        condition=MemberItem.PK.exists() & MemberItem.erased_at.does_not_exist(),
        refused=erased,
    )


def add_erasure(uow: UnitOfWork, erased: Member) -> None:
    """The profile becomes its pseudonym, once: refused (stale) when it already is."""
    assert erased.erased_at is not None and erased.erasure_step is not None
    uow.update(
        _ref(erased.member_id),
        [
            *_profile_actions(erased),
            MemberItem.erased_at.set(erased.erased_at),
            MemberItem.erasure_step.set(erased.erasure_step),
        ],
        condition=MemberItem.PK.exists() & MemberItem.erased_at.does_not_exist(),
    )


def add_erasure_step(uow: UnitOfWork, member_id: str, step: str) -> None:
    """A step of the erasure is done (the steps are idempotent: a repeated one finds nothing to do)."""
    uow.update(_ref(member_id), [MemberItem.erasure_step.set(step)], condition=MemberItem.erased_at.exists())


def _ref(member_id: str) -> MemberItem:
    return MemberItem(keys.member_pk(member_id), keys.PROFILE_SK)


def _profile_actions(member: Member) -> list[Action]:
    return [
        MemberItem.display_name.set(member.display_name),
        MemberItem.bio.set(member.bio),
        MemberItem.languages.set(list[Any](member.languages)),
        MemberItem.skills.set(list[Any](member.skills)),
        _set_or_remove(MemberItem.home_community_id, member.home_community_id),
        _set_or_remove(MemberItem.location, member.location),
        MemberItem.profile_visibility.set(member.profile_visibility.value),
    ]


def add_active_membership(uow: UnitOfWork, community_id: str, member_id: str, week: str, refused: Refusal) -> None:
    """The membership's activity mark (indexed for community stats) moves to `week`, once: refused when
    it is there already (or the member left)."""
    uow.update(
        MembershipItem(keys.community_pk(community_id), keys.membership_sk(member_id)),
        [MembershipItem.active_day.set(week), MembershipItem.GSI2SK.set(keys.active_sk(week, member_id))],
        condition=MembershipItem.PK.exists() & (MembershipItem.active_day < week),
        refused=refused,
    )


def add_active_week(uow: UnitOfWork, member_id: str, week: str, refused: Refusal) -> None:
    """The profile records that the memberships are marked for `week`, once: refused when it is already."""
    uow.update(
        MemberItem(keys.member_pk(member_id), keys.PROFILE_SK),
        [MemberItem.active_day.set(week)],
        condition=MemberItem.PK.exists() & (MemberItem.active_day.does_not_exist() | (MemberItem.active_day < week)),
        refused=refused,
    )


def _set_or_remove(attribute: UnicodeAttribute, value: str | None) -> Action:
    return attribute.set(value) if value is not None else attribute.remove()
