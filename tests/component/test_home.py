"""GET /me/home over HTTP: the wallet, unread counts, what waits for the member, and the home
community's first page, each as the route that owns it gives it."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.services import home
from tests import books
from tests.component import support
from tests.component.support import unique
from tests.component.test_governance_flow import COLLEGES, open_now, operator, schedule
from tests.component.test_listings_exchanges import FUNDS, Scene

shared_api = support.shared_api
mint = support.mint


@pytest.fixture
def scene(shared_api) -> Scene:
    return Scene(shared_api)


def home_of(api: Any, member_id: str) -> dict:
    response = api.get("/me/home", as_=member_id)
    assert response.status_code == 200, response.body
    return response.json


def pending(found: dict) -> list[tuple[str, str, list[str]]]:
    return [(p["kind"], p["id"], p["actions"]) for p in found["pending"]]


def test_a_member_without_community_gets_an_empty_home(shared_api):
    newcomer = unique("new")
    assert home_of(shared_api, newcomer) == {
        "wallet": {"account_id": f"member:{newcomer}", "posted": 0, "held": 0, "available": 0, "frozen": False},
        "unread": {"conversations": 0, "messages": 0, "exchanges": 0, "reviews": 0, "ballots": 0, "notifications": 0},
        "pending": [],
        "home_community_id": None,
        "listings": {"items": [], "next_cursor": None},
    }


def test_the_home_community_page_is_the_listings_route_first_page_and_pages_on(scene, monkeypatch):
    monkeypatch.setattr(home, "LISTINGS_PAGE", 2)
    olga = scene.member("olga", 0)
    titles = [scene.listing(olga, title=f"Garden help {n}")["id"] for n in range(3)]
    found = home_of(scene.api, olga)
    assert found["home_community_id"] == scene.community
    browsed = scene.api.get(f"/listings?community={scene.community}&limit=2", as_=olga).json
    assert [item["id"] for item in found["listings"]["items"]] == [titles[2], titles[1]]
    assert found["listings"]["items"] == browsed["items"]  # owners' reputations included
    following = scene.api.get(
        f"/listings?community={scene.community}&cursor={found['listings']['next_cursor']}", as_=olga
    ).json
    assert [item["id"] for item in following["items"]] == [titles[0]]


def test_what_waits_for_each_side_of_an_exchange_through_its_life(scene):
    olga, pete = scene.member("olga", 0), scene.member("pete")
    listing_id = scene.listing(olga, price=30)["id"]
    exchange_id = scene.propose(pete, listing_id, message="Saturday?")["id"]

    books.feed_stream()  # the stream handler notifies her: the proposal, its message
    owner = home_of(scene.api, olga)
    assert pending(owner) == [("exchange", exchange_id, ["accept", "decline"])]
    unread = {"conversations": 1, "messages": 1, "exchanges": 1, "reviews": 0, "ballots": 0, "notifications": 2}
    assert owner["unread"] == unread
    assert pending(home_of(scene.api, pete)) == []

    scene.act(olga, exchange_id, "accept")
    proposer = home_of(scene.api, pete)
    assert proposer["wallet"] == scene.api.get("/me/wallet", as_=pete).json
    assert (proposer["wallet"]["held"], proposer["wallet"]["available"]) == (30, FUNDS - 30)
    assert pending(proposer) == [("exchange", exchange_id, ["confirm"])]
    scene.act(pete, exchange_id, "confirm")
    assert pending(home_of(scene.api, pete)) == []
    assert pending(home_of(scene.api, olga)) == [("exchange", exchange_id, ["confirm"])]

    scene.act(olga, exchange_id, "confirm")  # completed: each side now has a review to write
    for member_id in (olga, pete):
        found = home_of(scene.api, member_id)
        assert pending(found) == [("review", exchange_id, ["review"])]
        assert found["pending"][0]["due_at"] is not None
        assert (found["unread"]["reviews"], found["unread"]["exchanges"]) == (1, 0)


def test_an_open_ballot_waits_for_the_cooperators_on_its_roll_until_they_vote(api):
    answer = operator(api, "put", "/operator/governance/colleges", {"colleges": COLLEGES, "reason": "statutes"})
    assert answer.status_code == 200, answer.body
    assert api.get("/me", as_="ann").status_code == 200
    placed = operator(api, "put", "/operator/cooperators/ann", {"college_id": "users", "reason": "assembly"})
    assert placed.status_code == 200, placed.body
    ballot_id = schedule(api)
    assert home_of(api, "ann")["pending"] == []  # scheduled: not open yet
    open_now(ballot_id)

    found = home_of(api, "ann")
    assert pending(found) == [("ballot", ballot_id, ["vote"])]
    assert found["unread"]["ballots"] == 1
    assert home_of(api, "zed")["unread"]["ballots"] == 0  # not on the roll
    assert api.put(f"/ballots/{ballot_id}/vote", {"options": ["yes"]}, as_="ann").status_code == 200
    assert home_of(api, "ann")["pending"] == []
