"""Missions and their claims.

A mission and its claims share the mission's partition (one Query reads the claims). While open, a
mission is browsed under its scope (a community, or the platform) and state, soonest deadline first
(GSI1), and waits for its deadline in GSI2 (spread over a few buckets). A claim is one item per member
and mission (written only if absent: a member claims once), indexed under its member, newest first
(GSI1). The mission's `taken` counts the places held: a claim adds one under the condition
`taken < places`, so concurrent claims never take more places than there are."""

from __future__ import annotations

from typing import Any

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib import errors
from chalicelib.adapters.dynamodb import keys, pages
from chalicelib.adapters.dynamodb.mapping import to_attributes, to_domain
from chalicelib.adapters.dynamodb.models import ClaimItem, MissionItem
from chalicelib.adapters.dynamodb.unit_of_work import Refusal, UnitOfWork, raises, stale
from chalicelib.domain.missions import Claim, Mission, MissionState

CLAIM_PREFIX = str(keys.CLAIM_SK_PREFIX)


def _mission_item(mission: Mission) -> MissionItem:
    sort_key = keys.newest_sk(mission.deadline, mission.mission_id)
    is_open = mission.state is MissionState.OPEN
    bucket = keys.bucket_of(mission.mission_id, keys.MISSION_DUE_BUCKETS)
    return MissionItem(
        keys.mission_pk(mission.mission_id),
        keys.MISSION_SK,
        GSI1PK=keys.missions_pk(mission.community_id, mission.state.value),
        GSI1SK=sort_key,
        GSI2PK=keys.missions_due_pk(bucket) if is_open else None,
        GSI2SK=sort_key if is_open else None,
        **to_attributes(mission),
    )


def add_mission(uow: UnitOfWork, mission: Mission) -> None:
    uow.put(
        _mission_item(mission),
        condition=MissionItem.PK.does_not_exist(),
        refused=raises(errors.Conflict("missions.mission-id-taken", code="mission-exists")),
    )


def get(mission_id: str, *, consistent: bool = True) -> Mission | None:
    try:
        item = MissionItem.get(keys.mission_pk(mission_id), keys.MISSION_SK, consistent_read=consistent)
    except MissionItem.DoesNotExist:
        return None
    return to_domain(item, Mission)


def add_places(uow: UnitOfWork, mission_id: str, change: int, at: str, refused: Refusal = stale) -> None:
    """Takes (`change` 1, only while open, before the deadline and with a place left) or frees (-1) a
    place of the mission. No version: concurrent claims of different places do not go stale."""
    item = MissionItem(keys.mission_pk(mission_id), keys.MISSION_SK)
    condition: Condition = MissionItem.PK.exists()
    if change > 0:
        condition = (
            (MissionItem.state == MissionState.OPEN.value)
            & (MissionItem.deadline > at)
            & (MissionItem.taken < MissionItem.places)
        )
    uow.update(item, [MissionItem.taken.add(change)], condition=condition, refused=refused)


def add_approved(uow: UnitOfWork, mission: Mission) -> None:
    item = MissionItem(keys.mission_pk(mission.mission_id), keys.MISSION_SK)
    uow.update(item, [MissionItem.approved.add(1)], condition=MissionItem.PK.exists())


def add_mission_state(uow: UnitOfWork, before: Mission, after: Mission) -> None:
    """A state change (open to expired): out of the deadline index, under its new state in the browse
    index; `taken` and `approved` are left as they are (claims change them by ADD)."""
    item = MissionItem(keys.mission_pk(after.mission_id), keys.MISSION_SK)
    actions: list[Action] = [
        MissionItem.state.set(after.state.value),
        MissionItem.updated_at.set(after.updated_at),
        MissionItem.GSI1PK.set(keys.missions_pk(after.community_id, after.state.value)),
    ]
    if after.state is not MissionState.OPEN:
        actions += [MissionItem.GSI2PK.remove(), MissionItem.GSI2SK.remove()]
    uow.update(item, actions, condition=MissionItem.state == before.state.value)


def open_missions(
    community_id: str | None, now: str, cursor: str | None, limit: int
) -> tuple[list[Mission], str | None]:
    """The scope's open missions whose deadline is still ahead, soonest deadline first: one Query."""

    def run(start: dict[str, Any] | None) -> Any:
        return MissionItem.gsi1.query(
            keys.missions_pk(community_id, MissionState.OPEN.value),
            now < MissionItem.GSI1SK,
            limit=limit,
            page_size=limit,
            last_evaluated_key=start,
        )

    def convert(item: MissionItem) -> Mission:
        return to_domain(item, Mission)

    return pages.collect(run, scope=f"missions:{community_id or keys.PLATFORM_SCOPE}", cursor=cursor, convert=convert)


def due(now: str, limit_per_bucket: int) -> list[Mission]:
    """Open missions whose deadline has passed."""
    found: list[Mission] = []
    for bucket in range(keys.MISSION_DUE_BUCKETS):
        results = MissionItem.gsi2.query(
            keys.missions_due_pk(bucket), now >= MissionItem.GSI2SK, limit=limit_per_bucket
        )
        found.extend(to_domain(item, Mission) for item in results)
    return found


# Claims


def _claim_item(claim: Claim) -> ClaimItem:
    return ClaimItem(
        keys.mission_pk(claim.mission_id),
        keys.claim_sk(claim.member_id),
        GSI1PK=keys.member_missions_pk(claim.member_id),
        GSI1SK=keys.newest_sk(claim.claimed_at, claim.mission_id),
        **to_attributes(claim),
    )


def add_claim(uow: UnitOfWork, claim: Claim, before: Claim | None, refused: Refusal = stale) -> None:
    """A claim written over the one read: absent (one claim per member and mission), or in the state read."""
    condition: Condition = ClaimItem.PK.does_not_exist()
    if before is not None:
        condition = (ClaimItem.state == before.state.value) & (ClaimItem.updated_at == before.updated_at)
    uow.put(_claim_item(claim), condition=condition, refused=refused)


def get_claim(mission_id: str, member_id: str) -> Claim | None:
    try:
        item = ClaimItem.get(keys.mission_pk(mission_id), keys.claim_sk(member_id), consistent_read=True)
    except ClaimItem.DoesNotExist:
        return None
    return to_domain(item, Claim)


def claims_of(mission_id: str) -> list[Claim]:
    """Every claim of a mission (at most a few hundred: places are bounded, and each member claims once
    — abandoned, rejected and expired claims stay), in one paginated Query."""
    found = ClaimItem.query(keys.mission_pk(mission_id), ClaimItem.SK.startswith(CLAIM_PREFIX), consistent_read=True)
    return [to_domain(item, Claim) for item in found]


def member_claims(member_id: str, cursor: str | None, limit: int) -> tuple[list[Claim], str | None]:
    def run(start: dict[str, Any] | None) -> Any:
        return ClaimItem.gsi1.query(
            keys.member_missions_pk(member_id),
            scan_index_forward=False,
            limit=limit,
            page_size=limit,
            last_evaluated_key=start,
        )

    def convert(item: ClaimItem) -> Claim:
        return to_domain(item, Claim)

    return pages.collect(run, scope=f"member-missions:{member_id}", cursor=cursor, convert=convert)
