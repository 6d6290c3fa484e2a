"""Member profiles and the daily activity mark."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import UnicodeAttribute
from pynamodb.expressions.update import Action

from chalicelib.adapters.dynamodb import keys, ledger_repository
from chalicelib.adapters.dynamodb.models import MemberItem, MembershipItem
from chalicelib.adapters.dynamodb.unit_of_work import Rejected, Retryable, UnitOfWork
from chalicelib.domain.ledger import wallet_account
from chalicelib.domain.members import Member


def _to_domain(item: MemberItem) -> Member:
    return Member(
        member_id=item.member_id,
        display_name=item.display_name,
        created_at=item.created_at,
        bio=item.bio,
        languages=tuple(map(str, item.languages)),
        skills=tuple(map(str, item.skills)),
        home_community_id=item.home_community_id,
        location=item.location,
        community_ids=tuple(sorted(item.community_ids or ())),
        active_day=item.active_day,
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
    )


def get(member_id: str, *, consistent: bool = False) -> Member | None:
    try:
        return _to_domain(MemberItem.get(keys.member_pk(member_id), keys.PROFILE_SK, consistent_read=consistent))
    except MemberItem.DoesNotExist:
        return None


def get_many(member_ids: set[str]) -> dict[str, Member]:
    wanted = [(keys.member_pk(member_id), keys.PROFILE_SK) for member_id in member_ids]
    return {item.member_id: _to_domain(item) for item in MemberItem.batch_get(wanted)}


def create_if_absent(member: Member) -> Member:
    """The profile and the wallet, together. Concurrent first calls race here: exactly one
    transaction wins and every caller gets the stored member. In AWS the losers may also see a
    TransactionConflict (Retryable): the stored member tells whether to try again."""
    for _attempt in range(3):
        uow = UnitOfWork()
        uow.put("member", _to_item(member), condition=MemberItem.PK.does_not_exist())
        ledger_repository.add_account(uow, wallet_account(member.member_id), member.created_at)
        try:
            uow.commit()
            return member
        except (Rejected, Retryable):
            pass
        stored = get(member.member_id, consistent=True)
        if stored is not None:
            return stored
    raise Retryable(f"could not provision member {member.member_id}")


def save_profile(member: Member) -> None:
    """Profile fields only: memberships are changed by the community repository's transactions."""
    item = MemberItem(keys.member_pk(member.member_id), keys.PROFILE_SK)
    item.update(
        actions=[
            MemberItem.display_name.set(member.display_name),
            MemberItem.bio.set(member.bio),
            MemberItem.languages.set(list[Any](member.languages)),
            MemberItem.skills.set(list[Any](member.skills)),
            _set_or_remove(MemberItem.home_community_id, member.home_community_id),
            _set_or_remove(MemberItem.location, member.location),
        ],
        condition=MemberItem.PK.exists(),
    )


def mark_active(member: Member, day: str) -> None:
    """Once a day per member: the profile and every membership record the day (for community stats)."""
    uow = UnitOfWork()
    uow.update(
        "member",
        MemberItem(keys.member_pk(member.member_id), keys.PROFILE_SK),
        [MemberItem.active_day.set(day)],
        condition=MemberItem.PK.exists(),
    )
    for community_id in member.community_ids:
        uow.update(
            community_id,
            MembershipItem(keys.community_pk(community_id), keys.membership_sk(member.member_id)),
            [MembershipItem.active_day.set(day), MembershipItem.GSI2SK.set(keys.active_sk(day, member.member_id))],
            condition=MembershipItem.PK.exists(),
        )
    uow.commit()


def _set_or_remove(attribute: UnicodeAttribute, value: str | None) -> Action:
    return attribute.set(value) if value is not None else attribute.remove()
