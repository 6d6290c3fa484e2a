"""Mission use cases: operators and ambassadors post missions, members claim a place, submit what they
did or abandon; the poster (or the community's ambassadors, or an operator) approves, paying the reward
from the rewards pool in the same unit of work, or rejects; a scheduled job expires missions past their
deadline and the claims never submitted."""

from __future__ import annotations

import uuid
from functools import partial
from typing import NoReturn

from chalicelib import clock, errors
from chalicelib.adapters.dynamodb import community_repository
from chalicelib.adapters.dynamodb import mission_repository as repository
from chalicelib.adapters.dynamodb.unit_of_work import Refusal, UnitOfWork, raises, stale
from chalicelib.auth import Principal
from chalicelib.domain import missions as rules
from chalicelib.domain.audit import AuditAction
from chalicelib.domain.economy import ContributionKind
from chalicelib.domain.ledger import PlatformAccount, TransferKind, TransferRequest, wallet_account
from chalicelib.domain.missions import Claim, ClaimState, Decision, Mission, MissionDraft
from chalicelib.services import audit, communities, ledger, transaction, value_sharing


def post(poster: Principal, draft: MissionDraft, mission_id: str | None = None) -> Mission:
    """A new mission (operators anywhere; ambassadors for their community), audited."""
    ambassador = False
    if draft.community_id is not None:
        communities.get_community(draft.community_id)  # 404 for an unknown community
        ambassador = communities.moderates(poster, draft.community_id)
    rules.may_post(poster.is_operator, ambassador, draft.community_id)
    chosen = mission_id or uuid.uuid4().hex

    def build(uow: UnitOfWork) -> Mission:
        mission = rules.new_mission(chosen, poster.member_id, draft, clock.now_iso())
        repository.add_mission(uow, mission)
        details = {"reward": str(mission.reward), "places": str(mission.places)}
        if mission.community_id is not None:
            details["community_id"] = mission.community_id
        audit.record(uow, poster.member_id, AuditAction.POST_MISSION, mission.mission_id, mission.title, **details)
        return mission

    return transaction.run(build)


def get(mission_id: str) -> Mission:
    mission = repository.get(mission_id, consistent=False)
    if mission is None:
        raise errors.NotFound("not-found.mission")
    return mission


def open_missions(community_id: str | None, cursor: str | None, limit: int) -> tuple[list[Mission], str | None]:
    return repository.open_missions(community_id, clock.now_iso(), cursor, limit)


def claim(member_id: str, mission_id: str) -> Claim:
    """A place for the member. The mission's place count is a write condition: of many members claiming
    the last place at once, one gets it and the others a 409 `mission-full`."""

    def build(uow: UnitOfWork) -> Claim:
        mission = _mission(mission_id)
        existing = repository.get_claim(mission_id, member_id)
        now = clock.now_iso()
        decision = rules.claim(mission, member_id, existing, now)
        if mission.community_id is not None and uow.attempt == 0:
            _ensure_member_of(mission.community_id, member_id)
        repository.add_places(uow, mission_id, 1, now, refused=lambda: _refuse_place(mission_id, now))
        repository.add_claim(uow, decision.claim, None, refused=raises(_already_claimed()))
        return decision.claim

    return transaction.run(build, keeps_changing=_changing())


def submit(member_id: str, mission_id: str, text: str) -> Claim:
    def build(uow: UnitOfWork) -> Claim:
        before = _own_claim(mission_id, member_id)
        decision = rules.submit(before, text, clock.now_iso())
        repository.add_claim(uow, decision.claim, before)
        return decision.claim

    return transaction.run(build, keeps_changing=_changing())


def abandon(member_id: str, mission_id: str) -> Claim:
    def build(uow: UnitOfWork) -> Claim:
        before = _own_claim(mission_id, member_id)
        decision = rules.abandon(before, clock.now_iso())
        _apply(uow, before, decision)
        return decision.claim

    return transaction.run(build, keeps_changing=_changing())


def approve(decider: Principal, mission_id: str, member_id: str) -> Claim:
    """The claim approved and its reward paid from the rewards pool, in one unit of work: the claim's
    state is the first write condition (a second approval is a 409 `already-approved`), and the transfer
    id is the mission's and the member's (paid once whatever happens on the wire)."""

    def build(uow: UnitOfWork) -> Claim:
        mission, before = _to_decide(decider, mission_id, member_id)
        decision = rules.approve(before, decider.member_id, clock.now_iso())
        repository.add_claim(uow, decision.claim, before, refused=lambda: _refuse_decision(mission_id, member_id))
        repository.add_approved(uow, mission)
        ledger.add_transfer(uow, _reward(mission, member_id))
        value_sharing.add_contribution(uow, member_id, ContributionKind.MISSION_APPROVED)
        audit.record(
            uow,
            decider.member_id,
            AuditAction.APPROVE_MISSION_CLAIM,
            f"{mission_id}/{member_id}",
            mission.title,
            amount=str(mission.reward),
        )
        return decision.claim

    return transaction.run(build, keeps_changing=_changing())


def reject(decider: Principal, mission_id: str, member_id: str, reason: str) -> Claim:
    def build(uow: UnitOfWork) -> Claim:
        _, before = _to_decide(decider, mission_id, member_id)
        decision = rules.reject(before, decider.member_id, reason, clock.now_iso())
        _apply(uow, before, decision, refused=lambda: _refuse_decision(mission_id, member_id))
        audit.record(uow, decider.member_id, AuditAction.REJECT_MISSION_CLAIM, f"{mission_id}/{member_id}", reason)
        return decision.claim

    return transaction.run(build, keeps_changing=_changing())


def claims(viewer: Principal, mission_id: str) -> list[Claim]:
    """A mission's claims, for its poster, its community's ambassadors and operators."""
    mission = get(mission_id)
    if not _decides(viewer, mission):
        raise errors.Forbidden("missions.claims-seen-by-poster")
    return sorted(repository.claims_of(mission_id), key=lambda found: (found.claimed_at, found.member_id))


def my_claims(member_id: str, cursor: str | None, limit: int) -> tuple[list[Claim], str | None]:
    return repository.member_claims(member_id, cursor, limit)


def expire_due(now: str | None = None) -> int:
    """Scheduled: each open mission past its deadline expires its claims never submitted (each freeing
    its place, one unit of work per claim), then itself. A mission whose claims could not all be expired
    stays due for the next run."""
    moment = now or clock.now_iso()
    expired = 0
    for due in repository.due(moment, 100):
        try:
            for found in repository.claims_of(due.mission_id):
                if found.state is ClaimState.CLAIMED:
                    expiry = partial(_expire_claim, mission_id=due.mission_id, member_id=found.member_id, now=moment)
                    transaction.run(expiry)
            expired += transaction.run(partial(_expire_mission, mission_id=due.mission_id, now=moment))
        except errors.AppError:
            continue  # busy: the next run looks again
    return expired


# Helpers


def _expire_claim(uow: UnitOfWork, mission_id: str, member_id: str, now: str) -> None:
    before = repository.get_claim(mission_id, member_id)
    if before is None:
        return
    decision = rules.expire_claim(before, now)
    if decision is not None:
        _apply(uow, before, decision)


def _expire_mission(uow: UnitOfWork, mission_id: str, now: str) -> bool:
    before = repository.get(mission_id)
    after = rules.expire(before, now) if before is not None else None
    if before is None or after is None:
        return False
    repository.add_mission_state(uow, before, after)
    return True


def _apply(uow: UnitOfWork, before: Claim, decision: Decision, refused: Refusal = stale) -> None:
    """The claim's change first (its condition decides), then the place it frees."""
    repository.add_claim(uow, decision.claim, before, refused=refused)
    if decision.places:
        repository.add_places(uow, before.mission_id, decision.places, decision.claim.updated_at)


def _reward(mission: Mission, member_id: str) -> TransferRequest:
    return TransferRequest(
        transfer_id=rules.transfer_id(mission.mission_id, member_id),
        payer=PlatformAccount.REWARDS_POOL.value,
        payee=wallet_account(member_id),
        amount=mission.reward,
        kind=TransferKind.REWARD,
        reason="mission",
        memo=mission.title[:200],
        refs={"mission_id": mission.mission_id},
    )


def _mission(mission_id: str) -> Mission:
    mission = repository.get(mission_id)
    if mission is None:
        raise errors.NotFound("not-found.mission")
    return mission


def _own_claim(mission_id: str, member_id: str) -> Claim:
    found = repository.get_claim(mission_id, member_id)
    if found is None:
        if repository.get(mission_id) is None:
            raise errors.NotFound("not-found.mission")
        raise errors.NotFound("not-found.claim-mission")
    return found


def _decides(principal: Principal, mission: Mission) -> bool:
    if principal.is_operator or principal.member_id == mission.poster_id:
        return True
    return mission.community_id is not None and communities.moderates(principal, mission.community_id)


def _to_decide(decider: Principal, mission_id: str, member_id: str) -> tuple[Mission, Claim]:
    mission = _mission(mission_id)
    found = repository.get_claim(mission_id, member_id)
    if found is None:
        raise errors.NotFound("not-found.claim")
    moderates = decider.is_operator or (
        mission.community_id is not None and communities.moderates(decider, mission.community_id)
    )
    rules.may_decide(mission, decider.member_id, moderates, found)
    return mission, found


def _ensure_member_of(community_id: str, member_id: str) -> None:
    if community_repository.get_membership(community_id, member_id) is None:
        raise errors.Forbidden("missions.join-community-claim-missions", code="not-a-member")


def _refuse_place(mission_id: str, now: str) -> NoReturn:
    """The mission refused a place: it is full or closed now (or it changed: decide again)."""
    mission = repository.get(mission_id)
    if mission is None:
        raise errors.NotFound("not-found.mission")
    if not mission.open_at(now):
        raise errors.Conflict("missions.mission-closed", code="mission-closed", state=mission.state.value)
    if mission.places_left <= 0:
        raise errors.Conflict("missions.every-place-mission-taken", code="mission-full", places=mission.places)
    stale()


def _refuse_decision(mission_id: str, member_id: str) -> NoReturn:
    """The claim changed since it was read: decided meanwhile (a clean 409), or decide again."""
    found = repository.get_claim(mission_id, member_id)
    if found is not None and found.state is ClaimState.APPROVED:
        raise errors.Conflict("missions.claim-already-approved", code="already-approved", state=found.state.value)
    stale()


def _already_claimed() -> errors.Conflict:
    return errors.Conflict("missions.already-claimed-mission", code="already-claimed")


def _changing() -> errors.Conflict:
    return errors.Conflict("missions.mission-keeps-changing-retry", code="mission-changed")
