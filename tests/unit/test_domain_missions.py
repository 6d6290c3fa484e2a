"""Mission rules: who posts and decides, places, and every transition of a claim."""

from __future__ import annotations

import pytest
from msgspec.structs import replace

from chalicelib import errors
from chalicelib.domain import missions as rules
from chalicelib.domain.missions import Claim, ClaimState, Mission, MissionDraft, MissionState

NOW = "2026-05-01T10:00:00.000000Z"
LATER = "2026-05-08T10:00:00.000000Z"
DEADLINE = "2026-05-05T10:00:00.000000Z"


def mission(**changes: object) -> Mission:
    return replace(rules.new_mission("m1", "amb", MissionDraft("Sweep", "", 10, 2, DEADLINE, "c1"), NOW), **changes)


def claimed(member: str = "ann") -> Claim:
    return rules.claim(mission(), member, None, NOW).claim


def code(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(errors.AppError) as caught:
        call()
    return caught.value.code


def test_operators_post_anywhere_ambassadors_in_their_community_only():
    rules.may_post(True, False, None)
    rules.may_post(True, False, "c1")
    rules.may_post(False, True, "c1")
    with pytest.raises(errors.Forbidden):
        rules.may_post(False, True, None)
    with pytest.raises(errors.Forbidden):
        rules.may_post(False, False, "c1")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"deadline": NOW}, "invalid-deadline"),
        ({"deadline": "2028-01-01T00:00:00.000000Z"}, "invalid-deadline"),
        ({"places": 0}, "invalid-places"),
        ({"places": rules.MAX_PLACES + 1}, "invalid-places"),
        ({"reward": 0}, "invalid-amount"),
    ],
)
def test_a_new_mission_is_checked(changes, expected):
    draft = {"title": "t", "description": "", "reward": 5, "places": 1, "deadline": DEADLINE, **changes}
    assert code(lambda: rules.new_mission("m", "op", MissionDraft(**draft), NOW)) == expected  # type: ignore[arg-type]


def test_a_claim_takes_a_place_once_while_open():
    decision = rules.claim(mission(), "ann", None, NOW)
    assert (decision.places, decision.claim.state, decision.claim.deadline) == (1, ClaimState.CLAIMED, DEADLINE)
    assert code(lambda: rules.claim(mission(), "ann", decision.claim, NOW)) == "already-claimed"
    assert code(lambda: rules.claim(mission(taken=2), "bob", None, NOW)) == "mission-full"
    assert code(lambda: rules.claim(mission(), "bob", None, LATER)) == "mission-closed"
    assert code(lambda: rules.claim(mission(state=MissionState.EXPIRED), "bob", None, NOW)) == "mission-closed"
    assert code(lambda: rules.claim(mission(), "amb", None, NOW)) == "own-mission"
    assert mission(taken=5).places_left == 0


def test_submit_then_approve_once():
    submitted = rules.submit(claimed(), "Done", NOW)
    assert (submitted.claim.state, submitted.claim.submission, submitted.places) == (ClaimState.SUBMITTED, "Done", 0)
    assert code(lambda: rules.submit(submitted.claim, "Again", NOW)) == "already-submitted"
    assert code(lambda: rules.submit(claimed(), "Late", LATER)) == "mission-closed"
    approved = rules.approve(submitted.claim, "amb", NOW)
    assert (approved.claim.state, approved.claim.decided_by, approved.places) == (ClaimState.APPROVED, "amb", 0)
    assert code(lambda: rules.approve(approved.claim, "op", NOW)) == "already-approved"
    assert code(lambda: rules.reject(approved.claim, "op", "no", NOW)) == "already-approved"
    assert code(lambda: rules.abandon(approved.claim, NOW)) == "claim-approved"
    assert code(lambda: rules.approve(claimed(), "amb", NOW)) == "claim-not-submitted"


def test_reject_abandon_and_expiry_free_the_place():
    rejected = rules.reject(claimed(), "amb", "No photo", NOW)
    assert (rejected.claim.state, rejected.claim.reason, rejected.places) == (ClaimState.REJECTED, "No photo", -1)
    assert code(lambda: rules.reject(rejected.claim, "amb", "again", NOW)) == "claim-rejected"
    submitted = rules.submit(claimed(), "Done", NOW).claim
    assert rules.abandon(submitted, NOW).places == -1
    assert code(lambda: rules.submit(rules.abandon(claimed(), NOW).claim, "x", NOW)) == "claim-abandoned"
    assert rules.expire_claim(claimed(), NOW) is None  # not due
    expired = rules.expire_claim(claimed(), LATER)
    assert expired is not None and (expired.claim.state, expired.places) == (ClaimState.EXPIRED, -1)
    assert rules.expire_claim(submitted, LATER) is None  # submitted in time: still waits for its decision


def test_a_mission_expires_at_its_deadline_once():
    assert rules.expire(mission(), NOW) is None
    expired = rules.expire(mission(), LATER)
    assert expired is not None and expired.state is MissionState.EXPIRED
    assert rules.expire(expired, LATER) is None


def test_who_decides():
    found = mission()
    rules.may_decide(found, "amb", False, claimed())  # the poster
    rules.may_decide(found, "op", True, claimed())  # a moderator
    with pytest.raises(errors.Forbidden):
        rules.may_decide(found, "bob", False, claimed())
    assert code(lambda: rules.may_decide(found, "ann", True, claimed("ann"))) == "own-claim"


def test_the_reward_transfer_id_is_the_mission_and_the_member():
    assert rules.transfer_id("m1", "ann") == rules.transfer_id("m1", "ann") != rules.transfer_id("m1", "bob")
