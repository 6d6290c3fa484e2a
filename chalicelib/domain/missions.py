"""Missions: micro-actions that operators and ambassadors post, members claim and do, and the poster
approves, paying the reward from the rewards pool. No I/O.

A mission has a number of places; a claim takes one while it is claimed, submitted or approved, and
frees it when abandoned, rejected or expired. A member claims a mission once. Past its deadline a
mission takes no more claims and no more submissions; claims never submitted expire, submitted ones
still wait for their decision."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from msgspec import Struct
from msgspec.structs import replace

from chalicelib import clock, errors

MAX_PLACES = 100
MAX_DAYS_AHEAD = 366


class MissionState(StrEnum):
    OPEN = "open"
    EXPIRED = "expired"  # past its deadline: no more claims nor submissions


class ClaimState(StrEnum):
    CLAIMED = "claimed"
    SUBMITTED = "submitted"
    APPROVED = "approved"  # the reward is paid: final
    REJECTED = "rejected"  # with a reason; the place is freed
    ABANDONED = "abandoned"  # by the member; the place is freed
    EXPIRED = "expired"  # not submitted by the deadline; the place is freed


HOLDS_PLACE = frozenset({ClaimState.CLAIMED, ClaimState.SUBMITTED, ClaimState.APPROVED})


class Mission(Struct, frozen=True):
    mission_id: str
    poster_id: str
    title: str
    description: str
    reward: int
    places: int
    deadline: str
    created_at: str
    updated_at: str
    community_id: str | None = None  # None: platform-wide
    state: MissionState = MissionState.OPEN
    taken: int = 0  # places held by claims (claimed, submitted or approved)
    approved: int = 0

    @property
    def places_left(self) -> int:
        return max(self.places - self.taken, 0)

    def open_at(self, now: str) -> bool:
        return self.state is MissionState.OPEN and now < self.deadline


class Claim(Struct, frozen=True):
    mission_id: str
    member_id: str
    reward: int
    deadline: str
    title: str
    claimed_at: str
    updated_at: str
    community_id: str | None = None
    state: ClaimState = ClaimState.CLAIMED
    submission: str | None = None
    submitted_at: str | None = None
    decided_by: str | None = None
    reason: str | None = None

    @property
    def holds_place(self) -> bool:
        return self.state in HOLDS_PLACE


class MissionDraft(Struct, frozen=True):
    title: str
    description: str
    reward: int
    places: int
    deadline: str
    community_id: str | None = None


class Decision(Struct, frozen=True):
    """A claim's change and what it does to its mission's places (-1 frees one)."""

    claim: Claim
    places: int = 0


# Who may do what


def may_post(is_operator: bool, ambassador_of_community: bool, community_id: str | None) -> None:
    """Operators post anywhere; a community's ambassadors post for their community only."""
    if is_operator:
        return
    if community_id is None:
        raise errors.Forbidden("missions.only-operators-post-platform")
    if not ambassador_of_community:
        raise errors.Forbidden("missions.posted-by-ambassadors")


def may_decide(mission: Mission, decider_id: str, moderates: bool, claim: Claim) -> None:
    """The poster, the community's ambassadors (for a community mission) and operators decide; never on
    their own claim."""
    if claim.member_id == decider_id:
        raise errors.Forbidden("missions.nobody-approves-rejects-own", code="own-claim")
    if decider_id != mission.poster_id and not moderates:
        raise errors.Forbidden("missions.decided-by-poster")


# Rules


def new_mission(mission_id: str, poster_id: str, draft: MissionDraft, now: str) -> Mission:
    if draft.deadline <= now:
        raise errors.Unprocessable("missions.deadline-must-future", code="invalid-deadline")
    if clock.parse(draft.deadline) > clock.parse(now) + timedelta(days=MAX_DAYS_AHEAD):
        raise errors.Unprocessable("missions.deadline-within", code="invalid-deadline", params={"days": MAX_DAYS_AHEAD})
    if not 1 <= draft.places <= MAX_PLACES:
        raise errors.Unprocessable("missions.places-range", code="invalid-places", params={"max": MAX_PLACES})
    if draft.reward < 1:
        raise errors.Unprocessable("missions.mission-reward-least-one", code="invalid-amount")
    return Mission(
        mission_id=mission_id,
        poster_id=poster_id,
        title=draft.title,
        description=draft.description,
        reward=draft.reward,
        places=draft.places,
        deadline=clock.iso(clock.parse(draft.deadline)),
        created_at=now,
        updated_at=now,
        community_id=draft.community_id,
    )


def claim(mission: Mission, member_id: str, existing: Claim | None, now: str) -> Decision:
    """A place for the member: once per mission, while it is open, not on their own mission."""
    if existing is not None:
        raise errors.Conflict("missions.already-claimed-mission", code="already-claimed", state=existing.state.value)
    if not mission.open_at(now):
        raise errors.Conflict("missions.mission-closed", code="mission-closed", state=MissionState.EXPIRED.value)
    if member_id == mission.poster_id:
        raise errors.Forbidden("missions.posted-mission", code="own-mission")
    if mission.places_left <= 0:
        raise errors.Conflict("missions.every-place-mission-taken", code="mission-full", places=mission.places)
    taken = Claim(
        mission_id=mission.mission_id,
        member_id=member_id,
        reward=mission.reward,
        deadline=mission.deadline,
        title=mission.title,
        claimed_at=now,
        updated_at=now,
        community_id=mission.community_id,
    )
    return Decision(taken, places=1)


def submit(claim: Claim, text: str, now: str) -> Decision:
    if claim.state is ClaimState.SUBMITTED:
        raise errors.Conflict("missions.submission-already", code="already-submitted", state=claim.state.value)
    _must_be(claim, ClaimState.CLAIMED)
    if now >= claim.deadline:
        raise errors.Conflict("missions.mission-deadline-passed", code="mission-closed", state=claim.state.value)
    return Decision(replace(claim, state=ClaimState.SUBMITTED, submission=text, submitted_at=now, updated_at=now))


def abandon(claim: Claim, now: str) -> Decision:
    """The member gives up a claim not yet decided: the place is freed."""
    _must_be(claim, ClaimState.CLAIMED, ClaimState.SUBMITTED)
    return Decision(replace(claim, state=ClaimState.ABANDONED, updated_at=now), places=-1)


def approve(claim: Claim, decider_id: str, now: str) -> Decision:
    if claim.state is ClaimState.APPROVED:
        raise errors.Conflict("missions.claim-already-approved", code="already-approved", state=claim.state.value)
    if claim.state is ClaimState.CLAIMED:
        raise errors.Conflict(
            "missions.member-submitted-what-they", code="claim-not-submitted", state=claim.state.value
        )
    _must_be(claim, ClaimState.SUBMITTED)
    return Decision(replace(claim, state=ClaimState.APPROVED, decided_by=decider_id, updated_at=now))


def reject(claim: Claim, decider_id: str, reason: str, now: str) -> Decision:
    """A claimed or submitted claim is refused with a reason: the place is freed."""
    if claim.state is ClaimState.APPROVED:
        raise errors.Conflict("missions.claim-already-approved", code="already-approved", state=claim.state.value)
    _must_be(claim, ClaimState.CLAIMED, ClaimState.SUBMITTED)
    after = replace(claim, state=ClaimState.REJECTED, decided_by=decider_id, reason=reason, updated_at=now)
    return Decision(after, places=-1)


def expire_claim(claim: Claim, now: str) -> Decision | None:
    """A claim never submitted by the deadline expires (None: nothing to do)."""
    if claim.state is not ClaimState.CLAIMED or now < claim.deadline:
        return None
    return Decision(replace(claim, state=ClaimState.EXPIRED, updated_at=now), places=-1)


def expire(mission: Mission, now: str) -> Mission | None:
    """A mission past its deadline takes no more claims (None: not due)."""
    if mission.state is not MissionState.OPEN or now < mission.deadline:
        return None
    return replace(mission, state=MissionState.EXPIRED, updated_at=now)


def transfer_id(mission_id: str, member_id: str) -> str:
    """One reward per mission and member, whatever happens on the wire."""
    return f"mission:{mission_id}:{member_id}"


def _must_be(claim: Claim, *states: ClaimState) -> None:
    if claim.state not in states:
        raise errors.Conflict("missions.claim-state", code=f"claim-{claim.state.value}", state=claim.state.value)
