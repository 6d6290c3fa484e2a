"""Mission races on DynamoDB Local, through the services: the last places claimed by many members at
once, and two approvals of one claim at once. The write conditions, not Python, must keep the claims
within the places and pay a reward once."""

from __future__ import annotations

import uuid
from datetime import timedelta

from chalicelib import clock, errors
from chalicelib.api.problems import status_of
from chalicelib.auth import Principal
from chalicelib.domain.ledger import PlatformAccount, wallet_account
from chalicelib.domain.missions import ClaimState, MissionDraft
from chalicelib.services import communities, ledger, missions, rewards
from tests.integration import ledger_kit
from tests.integration.ledger_kit import at_once

OPERATOR = Principal("op", frozenset({"operators"}))


def community_with(members: list[str]) -> str:
    community = communities.create_community("op", "Carouge", f"c-{uuid.uuid4().hex[:6]}", ["u0hq"], [])
    for name in members:
        ledger_kit.open_wallet(name)
        communities.join(name, community.community_id)
    return community.community_id


def mission(community_id: str, places: int, reward: int = 10) -> str:
    deadline = clock.iso(clock.now() + timedelta(days=3))
    draft = MissionDraft("Sweep the square", "", reward, places, deadline, community_id)
    return missions.post(OPERATOR, draft).mission_id


def codes(results: list[object]) -> list[tuple[int, str]]:
    return sorted((status_of(r), r.code) for r in results if isinstance(r, errors.AppError))


def test_the_last_places_claimed_by_eight_members_at_once(table_name):
    members = [f"m{index}" for index in range(10)]
    community = community_with(members)
    mid = mission(community, places=3)
    missions.claim(members[0], mid)  # two places left for the eight racers

    results = at_once([lambda name=name: missions.claim(name, mid) for name in members[1:9]])
    won = [r for r in results if not isinstance(r, Exception)]
    assert len(won) == 2, results
    assert codes(results) == [(409, "mission-full")] * 6, results
    found = missions.get(mid)
    assert (found.taken, found.places_left) == (3, 0)
    held = [c for c in missions.claims(OPERATOR, mid) if c.holds_place]
    assert len(held) == 3

    # An abandoned place is free again, once.
    missions.abandon(won[0].member_id, mid)
    assert missions.get(mid).places_left == 1
    assert missions.claim(members[9], mid).state is ClaimState.CLAIMED
    assert missions.get(mid).taken == 3


def test_two_approvals_of_one_claim_at_once_pay_once(table_name):
    community = community_with(["ann", "amb"])
    communities.set_ambassador("op", community, "amb", True)
    rewards.fund_rewards_pool("op", 1_000, "pool", None)
    mid = mission(community, places=1, reward=25)
    missions.claim("ann", mid)
    missions.submit("ann", mid, "Swept")

    ambassador = Principal("amb", frozenset())
    results = at_once(
        [lambda: missions.approve(ambassador, mid, "ann"), lambda: missions.approve(OPERATOR, mid, "ann")]
    )
    approved = [r for r in results if not isinstance(r, Exception)]
    assert len(approved) == 1, results
    assert codes(results) == [(409, "already-approved")], results
    assert ledger.balance(wallet_account("ann")).posted == 25
    assert missions.get(mid).approved == 1
    pool = ledger.balance(PlatformAccount.REWARDS_POOL.value)
    assert pool.posted == 1_000 - 25
    ledger_kit.assert_reconciled()
