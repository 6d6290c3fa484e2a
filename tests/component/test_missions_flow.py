"""Missions over HTTP: who posts, claims within the places, submissions, approval paying the reward once
from the rewards pool, rejection and abandonment freeing places, the expiry job, and every refusal."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib import clock
from chalicelib.jobs import scheduled
from tests import books
from tests.component.support import assert_422, assert_problem
from tests.conftest import OPERATOR


def soon(days: int = 7) -> str:
    return clock.iso(clock.now() + timedelta(days=days))


def setup(api: Any, pool: int = 1_000) -> str:
    community = api.post(
        "/communities", {"name": "Carouge", "slug": "carouge", "area": ["u0hqe"]}, as_="op", groups=OPERATOR
    ).json["id"]
    if pool:
        funded = api.post(
            "/operator/rewards-pool/fundings", {"amount": pool, "note": "pool"}, as_="op", groups=OPERATOR
        )
        assert funded.status_code == 201, funded.body
    for member in ("amb", "alice", "bob", "carol"):
        assert api.post(f"/communities/{community}/join", as_=member).status_code == 200
    granted = api.put(f"/communities/{community}/ambassadors/amb", as_="op", groups=OPERATOR)
    assert granted.status_code == 200, granted.body
    return community


def post(api: Any, community: str | None, *, as_: str = "amb", groups: tuple[str, ...] = (), **fields: Any) -> Any:
    body = {"title": "Water the shared garden", "reward": 20, "places": 2, "deadline": soon(), **fields}
    if community is not None:
        body["community_id"] = community
    return api.post("/missions", body, as_=as_, groups=groups)


@pytest.fixture
def community(api: Any) -> str:
    return setup(api)


def wallet(api: Any, who: str) -> int:
    return api.get("/me/wallet", as_=who).json["posted"]


def test_claim_submit_approve_pays_the_reward_once(api, community):
    posted = post(api, community, description="Two cans each evening")
    assert posted.status_code == 201, posted.body
    mission = posted.json
    mid = mission["mission_id"]
    assert (mission["places_left"], mission["state"], mission["poster_id"]) == (2, "open", "amb")
    listed = api.get(f"/missions?community={community}", as_="bob").json["items"]
    assert [m["mission_id"] for m in listed] == [mid]

    claimed = api.post(f"/missions/{mid}/claims", as_="alice")
    assert (claimed.status_code, claimed.json["state"]) == (201, "claimed"), claimed.body
    assert api.get(f"/missions/{mid}", as_="bob").json["places_left"] == 1
    assert_problem(api.post(f"/missions/{mid}/claims/alice/approve", as_="amb"), 409, "claim-not-submitted")
    submitted = api.post(f"/missions/{mid}/claims/me/submission", {"text": "Done on Monday"}, as_="alice")
    assert (submitted.status_code, submitted.json["state"]) == (200, "submitted"), submitted.body
    again = api.post(f"/missions/{mid}/claims/me/submission", {"text": "Again"}, as_="alice")
    assert_problem(again, 409, "already-submitted")

    assert_problem(api.post(f"/missions/{mid}/claims/alice/approve", as_="bob"), 403)
    before = wallet(api, "alice")
    approved = api.post(f"/missions/{mid}/claims/alice/approve", as_="amb")
    assert (approved.status_code, approved.json["state"], approved.json["decided_by"]) == (200, "approved", "amb")
    assert wallet(api, "alice") == before + 20
    assert_problem(
        api.post(f"/missions/{mid}/claims/alice/approve", as_="op", groups=OPERATOR), 409, "already-approved"
    )
    assert_problem(
        api.post(f"/missions/{mid}/claims/alice/reject", {"reason": "late"}, as_="amb"), 409, "already-approved"
    )
    assert wallet(api, "alice") == before + 20
    entries = api.get("/me/wallet/entries", as_="alice").json["items"]
    assert [e["amount"] for e in entries if e.get("kind") == "reward"][:1] == [20]
    assert api.get(f"/missions/{mid}", as_="bob").json["approved"] == 1

    mine = api.get("/me/missions", as_="alice").json["items"]
    assert [(c["mission_id"], c["state"]) for c in mine] == [(mid, "approved")]
    claims = api.get(f"/missions/{mid}/claims", as_="amb").json
    assert [(c["member_id"], c["submission"]) for c in claims] == [("alice", "Done on Monday")]
    assert_problem(api.get(f"/missions/{mid}/claims", as_="bob"), 403)
    actions = [e["action"] for e in api.get("/operator/audit", as_="op", groups=OPERATOR).json["items"]]
    assert {"post_mission", "approve_mission_claim"} <= set(actions)
    books.assert_reconciled()


def test_places_are_never_exceeded_and_freed_by_abandon_and_reject(api, community):
    mid = post(api, community, places=1).json["mission_id"]
    assert api.post(f"/missions/{mid}/claims", as_="alice").status_code == 201
    assert_problem(api.post(f"/missions/{mid}/claims", as_="bob"), 409, "mission-full")
    assert_problem(api.post(f"/missions/{mid}/claims", as_="alice"), 409, "already-claimed")

    abandoned = api.delete(f"/missions/{mid}/claims/me", as_="alice")
    assert (abandoned.status_code, abandoned.json["state"]) == (200, "abandoned"), abandoned.body
    assert_problem(api.post(f"/missions/{mid}/claims", as_="alice"), 409, "already-claimed")  # once per mission
    assert api.post(f"/missions/{mid}/claims", as_="bob").status_code == 201
    api.post(f"/missions/{mid}/claims/me/submission", {"text": "Did it"}, as_="bob")
    rejected = api.post(
        f"/missions/{mid}/claims/bob/reject", {"reason": "No photo of the garden"}, as_="op", groups=OPERATOR
    )
    assert (rejected.status_code, rejected.json["state"], rejected.json["reason"]) == (
        200,
        "rejected",
        "No photo of the garden",
    )
    assert api.get(f"/missions/{mid}", as_="carol").json["places_left"] == 1
    assert_problem(api.delete(f"/missions/{mid}/claims/me", as_="bob"), 409, "claim-rejected")
    assert api.post(f"/missions/{mid}/claims", as_="carol").status_code == 201
    assert_problem(api.delete(f"/missions/{mid}/claims/me", as_="alice"), 409, "claim-abandoned")
    assert_problem(api.delete(f"/missions/{mid}/claims/me", as_="zed"), 404)


def test_who_may_post_claim_and_decide(api, community):
    assert_problem(post(api, community, as_="alice"), 403)
    assert_problem(post(api, None, as_="amb"), 403)  # platform-wide: operators only
    assert_problem(post(api, "nowhere", as_="op", groups=OPERATOR), 404)
    platform = post(api, None, as_="op", groups=OPERATOR)
    assert (platform.status_code, platform.json["community_id"]) == (201, None), platform.body
    listed = api.get("/missions", as_="zed").json["items"]
    assert [m["mission_id"] for m in listed] == [platform.json["mission_id"]]
    assert api.post(f"/missions/{platform.json['mission_id']}/claims", as_="zed").status_code == 201

    mid = post(api, community).json["mission_id"]
    assert_problem(api.post(f"/missions/{mid}/claims", as_="zed"), 403, "not-a-member")
    assert_problem(api.post(f"/missions/{mid}/claims", as_="amb"), 403, "own-mission")
    api.post(f"/communities/{community}/join", as_="op2")
    assert api.put(f"/communities/{community}/ambassadors/bob", as_="op", groups=OPERATOR).status_code == 200
    api.post(f"/missions/{mid}/claims", as_="bob")
    api.post(f"/missions/{mid}/claims/me/submission", {"text": "Done"}, as_="bob")
    assert_problem(api.post(f"/missions/{mid}/claims/bob/approve", as_="bob"), 403, "own-claim")
    api.post(f"/missions/{mid}/claims", as_="alice")
    api.post(f"/missions/{mid}/claims/me/submission", {"text": "Done"}, as_="alice")
    assert api.post(f"/missions/{mid}/claims/alice/approve", as_="bob").status_code == 200  # another ambassador
    assert_problem(api.get("/missions/nope", as_="bob"), 404)
    assert_problem(api.post("/missions/nope/claims/alice/approve", as_="amb"), 404)


def test_invalid_missions_are_refused(api, community):
    assert_422(post(api, community, places=0), "places")
    assert_422(post(api, community, reward=0), "reward")
    assert_422(post(api, community, title=""), "title")
    assert_problem(post(api, community, deadline=clock.iso(clock.now() - timedelta(hours=1))), 422, "invalid-deadline")
    assert_problem(post(api, community, deadline=soon(400)), 422, "invalid-deadline")
    assert_422(api.post("/missions/x/claims/me/submission", {"text": ""}, as_="alice"), "text")


def test_an_empty_rewards_pool_refuses_the_approval_and_changes_nothing(api):
    community = setup(api, pool=0)
    mid = post(api, community).json["mission_id"]
    api.post(f"/missions/{mid}/claims", as_="alice")
    api.post(f"/missions/{mid}/claims/me/submission", {"text": "Done"}, as_="alice")
    assert_problem(api.post(f"/missions/{mid}/claims/alice/approve", as_="amb"), 409, "insufficient-funds")
    assert api.get(f"/missions/{mid}/claims", as_="amb").json[0]["state"] == "submitted"
    assert api.get(f"/missions/{mid}", as_="amb").json["approved"] == 0
    books.assert_reconciled()


def test_the_job_expires_missions_past_their_deadline_and_claims_never_submitted(api, community, monkeypatch):
    mid = post(api, community, places=3).json["mission_id"]
    for member in ("alice", "bob"):
        assert api.post(f"/missions/{mid}/claims", as_=member).status_code == 201
    api.post(f"/missions/{mid}/claims/me/submission", {"text": "Done"}, as_="bob")
    assert scheduled.expire_missions() == 0  # not due yet

    later = clock.now() + timedelta(days=8)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert_problem(api.post(f"/missions/{mid}/claims", as_="carol"), 409, "mission-closed")
    assert scheduled.expire_missions() == 1
    assert scheduled.expire_missions() == 0
    found = api.get(f"/missions/{mid}", as_="carol").json
    assert (found["state"], found["places_left"]) == ("expired", 2)
    states = {c["member_id"]: c["state"] for c in api.get(f"/missions/{mid}/claims", as_="amb").json}
    assert states == {"alice": "expired", "bob": "submitted"}
    assert api.get(f"/missions?community={community}", as_="carol").json["items"] == []
    # A submission made in time is still approved after the deadline.
    assert api.post(f"/missions/{mid}/claims/bob/approve", as_="amb").status_code == 200
    books.assert_reconciled()
