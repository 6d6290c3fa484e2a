"""Automatic rewards over HTTP: a first listing, a review written, a complete profile and a welcomed
newcomer each pay once from the rewards pool, and a farming loop between two accounts stops at the caps."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import config
from tests import books
from tests.component.test_reviews_flow import review, setup_community, trade
from tests.conftest import OPERATOR

RULES = {"first_listing": 2, "review_written": 1, "complete_profile": 3, "welcome_newcomer": 4}


@pytest.fixture
def community(api: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PWIIC_AUTO_REWARDS", json.dumps(RULES))
    monkeypatch.setenv("PWIIC_AUTO_REWARD_DAILY_CAP", "6")
    config.reset()
    return setup_community(api, "alice", "bob")


def rewards(api: Any, who: str) -> dict[str, int]:
    entries = api.get("/me/wallet/entries?limit=100", as_=who).json["items"]
    found: dict[str, int] = {}
    for entry in entries:
        if entry["kind"] == "reward" and entry["reason"] in RULES:
            found[entry["reason"]] = found.get(entry["reason"], 0) + entry["amount"]
    return found


def test_each_micro_action_pays_once_and_the_loop_stops_at_the_daily_cap(api, community):
    assert api.get("/operator/economy/reward-rules", as_="op", groups=OPERATOR).json["daily_cap"] == 6
    first = trade(api, community)  # bob's first listing; alice and bob joined today: newcomers
    assert rewards(api, "bob") == {"first_listing": 2, "welcome_newcomer": 4}
    assert rewards(api, "alice") == {"welcome_newcomer": 4}
    review(api, first, "alice", 5)
    review(api, first, "alice", 4)  # an edit pays nothing
    assert rewards(api, "alice")["review_written"] == 1
    for _ in range(2):  # the farming loop: trade and review again (each trade costs alice 30 of her 100)
        again = trade(api, community)
        review(api, again, "alice", 5)
    # a newcomer is welcomed once; 4 (welcome) + 1 + 1 reviews = 6 = the daily cap: the third review pays nothing
    assert rewards(api, "alice") == {"welcome_newcomer": 4, "review_written": 2}
    assert rewards(api, "bob") == {"first_listing": 2, "welcome_newcomer": 4}  # one first listing
    books.assert_reconciled()


def test_a_complete_profile_pays_once(api, community):
    profile = {
        "bio": "Gardener",
        "languages": ["fr"],
        "skills": ["gardening"],
        "location": "u0hqe",
        "home_community_id": community,
    }
    assert api.patch("/me", profile, as_="alice").status_code == 200
    assert api.patch("/me", {"bio": "Gardener, cyclist"}, as_="alice").status_code == 200
    assert rewards(api, "alice") == {"complete_profile": 3}
