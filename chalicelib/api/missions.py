"""Routes of missions: micro-actions posted by operators and ambassadors, claimed and done by members,
approved (the reward paid from the rewards pool) or rejected."""

from __future__ import annotations

from chalicelib import clock
from chalicelib.api.http import Call, Router
from chalicelib.api.schemas import (
    ClaimOut,
    MissionOut,
    MissionQuery,
    NewMission,
    Page,
    PageQuery,
    Reason,
    SubmissionIn,
    project,
)
from chalicelib.domain.missions import Claim, Mission, MissionDraft
from chalicelib.services import missions

router = Router("missions")

CLAIM_PATH = "/missions/{mission_id}/claims/{member_id}"


def mission_out(mission: Mission) -> MissionOut:
    return project(mission, MissionOut)


def claim_out(claim: Claim) -> ClaimOut:
    return project(claim, ClaimOut)


@router.route(
    "POST",
    "/missions",
    summary="Post a mission: a micro-action members claim, do and get rewarded for from the rewards pool",
    description="Operators post platform-wide missions (no `community_id`) and missions of any community; a "
    "community's ambassadors post missions of their community only (anyone else: 403 `forbidden`). An unknown "
    "community is a 404. The deadline must be in the future and within 366 days, the reward within the "
    "deployment's transfer ceiling (422 `invalid-deadline`, `invalid-amount`). A `mission_id` already used is a "
    "409 `mission-exists`. Audited.",
    tag="missions",
    body=NewMission,
    response=MissionOut,
    status=201,
    problems=(403, 404, 409, 422),
)
def post_mission(call: Call[NewMission, None]) -> MissionOut:
    body = call.body
    draft = MissionDraft(
        title=body.title,
        description=body.description,
        reward=body.reward,
        places=body.places,
        deadline=clock.iso(body.deadline),
        community_id=body.community_id,
    )
    return mission_out(missions.post(call.member, draft, body.mission_id))


@router.route(
    "GET",
    "/missions",
    summary="Open missions of a community (or, without `community`, platform-wide ones), soonest deadline first",
    tag="missions",
    query=MissionQuery,
    response=Page[MissionOut],
    problems=(400,),
)
def list_missions(call: Call[None, MissionQuery]) -> Page[MissionOut]:
    query = call.query
    found, cursor = missions.open_missions(query.community, query.cursor, query.limit)
    return Page([mission_out(mission) for mission in found], cursor)


@router.route(
    "GET",
    "/missions/{mission_id}",
    summary="A mission, with its places left",
    tag="missions",
    response=MissionOut,
    problems=(404,),
)
def get_mission(call: Call[None, None]) -> MissionOut:
    return mission_out(missions.get(call.params["mission_id"]))


@router.route(
    "POST",
    "/missions/{mission_id}/claims",
    summary="Claim a place on a mission",
    description="One claim per member and mission, whatever became of it (409 `already-claimed`). Never more "
    "claims than places, even when many members claim the last place at once (409 `mission-full`). Past its "
    "deadline a mission is closed (409 `mission-closed`). A community's missions are claimed by its members "
    "(403 `not-a-member`); nobody claims their own mission (403 `own-mission`).",
    tag="missions",
    response=ClaimOut,
    status=201,
    problems=(403, 404, 409),
)
def claim_mission(call: Call[None, None]) -> ClaimOut:
    return claim_out(missions.claim(call.member.member_id, call.params["mission_id"]))


@router.route(
    "DELETE",
    "/missions/{mission_id}/claims/me",
    summary="Abandon your claim (claimed or submitted, not yet decided): its place is freed",
    description="A claim already approved, rejected, abandoned or expired is a 409 `claim-<state>`; no claim: "
    "404. You cannot claim the mission again.",
    tag="missions",
    response=ClaimOut,
    problems=(404, 409),
)
def abandon_claim(call: Call[None, None]) -> ClaimOut:
    return claim_out(missions.abandon(call.member.member_id, call.params["mission_id"]))


@router.route(
    "POST",
    "/missions/{mission_id}/claims/me/submission",
    summary="Submit what you did, for the poster to approve",
    description="Once, before the mission's deadline (409 `already-submitted`, `mission-closed`); a claim no "
    "longer claimed is a 409 `claim-<state>`; no claim: 404.",
    tag="missions",
    body=SubmissionIn,
    response=ClaimOut,
    problems=(404, 409),
)
def submit_claim(call: Call[SubmissionIn, None]) -> ClaimOut:
    return claim_out(missions.submit(call.member.member_id, call.params["mission_id"], call.body.text))


@router.route(
    "POST",
    f"{CLAIM_PATH}/approve",
    summary="Approve a submitted claim: the reward is paid from the rewards pool, once",
    description="The mission's poster, its community's ambassadors and operators approve (others: 403 "
    "`forbidden`; your own claim: 403 `own-claim`). The claim must be submitted (409 `claim-not-submitted`); a "
    "second approval is a 409 `already-approved` and pays nothing. Too few credits in the rewards pool: 409 "
    "`insufficient-funds`, nothing changes. Audited.",
    tag="missions",
    response=ClaimOut,
    problems=(403, 404, 409),
)
def approve_claim(call: Call[None, None]) -> ClaimOut:
    params = call.params
    return claim_out(missions.approve(call.member, params["mission_id"], params["member_id"]))


@router.route(
    "POST",
    f"{CLAIM_PATH}/reject",
    summary="Reject a claim with a reason: its place is freed",
    description="Who may approve may reject, a claimed or submitted claim (an approved one: 409 "
    "`already-approved`; otherwise 409 `claim-<state>`). Audited.",
    tag="missions",
    body=Reason,
    response=ClaimOut,
    problems=(403, 404, 409),
)
def reject_claim(call: Call[Reason, None]) -> ClaimOut:
    params = call.params
    return claim_out(missions.reject(call.member, params["mission_id"], params["member_id"], call.body.reason))


@router.route(
    "GET",
    "/missions/{mission_id}/claims",
    summary="A mission's claims, oldest first (its poster, its community's ambassadors, operators)",
    tag="missions",
    response=list[ClaimOut],
    problems=(403, 404),
)
def list_claims(call: Call[None, None]) -> list[ClaimOut]:
    return [claim_out(found) for found in missions.claims(call.member, call.params["mission_id"])]


@router.route(
    "GET",
    "/me/missions",
    summary="Your claims of missions, newest first",
    tag="missions",
    query=PageQuery,
    response=Page[ClaimOut],
    problems=(400,),
)
def list_my_missions(call: Call[None, PageQuery]) -> Page[ClaimOut]:
    found, cursor = missions.my_claims(call.member.member_id, call.query.cursor, call.query.limit)
    return Page([claim_out(claim) for claim in found], cursor)
