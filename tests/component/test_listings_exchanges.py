"""Listings, exchanges and conversations over HTTP (Chalice test client on DynamoDB Local): listings
CRUD and validation, browsing by every index, moderation, every exchange flow end to end with its
credits, the scheduler's deadlines, and conversations.

Most tests share one table (`shared_api`): each builds its own community, members and listings with
unique ids, and asserts wallets that only it touches. Tests that run the scheduler over the whole
table get a table of their own (`api`)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pygeohash import get_adjacent

from chalicelib import clock
from chalicelib.adapters.dynamodb import conversation_repository
from chalicelib.services import conversations, exchanges
from tests.component import support
from tests.component.support import assert_422, assert_problem, create_community, mint, unique  # noqa: F401
from tests.conftest import OPERATOR

shared_api = support.shared_api
commits = support.commits
FUNDS = 100


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def next_hour(hours: int = 0) -> datetime:
    return (datetime.now(UTC) + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0) + timedelta(hours=hours)


class Scene:
    """A community with funded members, and short-hands for the calls the tests make."""

    def __init__(self, api: Any, area: str = "u0hq") -> None:
        self.api = api
        self.community = create_community(api, area=(area,))["id"]
        funding = {"amount": 10_000, "note": "pool"}
        assert api.post("/operator/rewards-pool/fundings", funding, as_="op", groups=OPERATOR).status_code == 201

    def member(self, name: str, funds: int = FUNDS) -> str:
        member_id = unique(name)
        assert self.api.post(f"/communities/{self.community}/join", as_=member_id).status_code in (200, 201)
        if funds:
            reward = {"member_id": member_id, "amount": funds, "reason_code": "other", "note": "start"}
            response = self.api.post("/operator/rewards", reward, as_="op", groups=OPERATOR)
            assert response.status_code == 201, response.body
        return member_id

    def listing(self, owner: str, **fields: Any) -> dict:
        body = {
            "kind": "offer",
            "category": "services.gardening",
            "mode": "credits",
            "title": "Garden help",
            "community_id": self.community,
            "price": 30,
            **fields,
        }
        response = self.api.post("/listings", body, as_=owner)
        assert response.status_code == 201, response.body
        return response.json

    def propose(self, proposer: str, listing_id: str, **body: Any) -> dict:
        response = self.api.post(f"/listings/{listing_id}/exchanges", body, as_=proposer)
        assert response.status_code == 201, response.body
        return response.json

    def attempt(self, who: str, exchange_id: str, action: str, **body: Any) -> Any:
        return self.api.post(f"/exchanges/{exchange_id}/actions", {"action": action, **body}, as_=who)

    def act(self, who: str, exchange_id: str, action: str, status: int = 200, **body: Any) -> dict:
        response = self.api.post(f"/exchanges/{exchange_id}/actions", {"action": action, **body}, as_=who)
        assert response.status_code == status, (action, response.body)
        return response.json

    def wallet(self, who: str) -> tuple[int, int]:
        """(posted, held)"""
        found = self.api.get("/me/wallet", as_=who).json
        assert found["available"] == found["posted"] - found["held"]
        return found["posted"], found["held"]

    def exchange(self, who: str, exchange_id: str) -> dict:
        response = self.api.get(f"/exchanges/{exchange_id}", as_=who)
        assert response.status_code == 200, response.body
        return response.json

    def browse(self, query: str, who: str = "someone") -> list[str]:
        """Every id of a browse, following the cursors."""
        ids: list[str] = []
        cursor = None
        while True:
            response = self.api.get(f"/listings?{query}&limit=2" + (f"&cursor={cursor}" if cursor else ""), as_=who)
            assert response.status_code == 200, response.body
            ids += [item["id"] for item in response.json["items"]]
            cursor = response.json["next_cursor"]
            if cursor is None:
                return ids


@pytest.fixture
def scene(shared_api) -> Scene:
    return Scene(shared_api)


def illegal(response: Any, state: str) -> dict:
    problem = assert_problem(response, 409)
    assert problem["state"] == state, problem
    return problem


def audit_entries(api: Any, action: str, target: str) -> list[dict]:
    entries = api.get("/operator/audit?limit=100", as_="op", groups=OPERATOR).json["items"]
    return [entry for entry in entries if entry["action"] == action and entry["target"] == target]


def later(monkeypatch: pytest.MonkeyPatch, delta: timedelta) -> None:
    """Move the services' clock forward."""
    real = clock.now
    monkeypatch.setattr(clock, "now", lambda: real() + delta)


# listings: create, read, edit


class TestListings:
    def test_create_read_and_edit_by_the_owner(self, scene):
        olga, sam = scene.member("olga", 0), scene.member("sam", 0)
        created = scene.listing(olga, tags=["Jardin", "jardin", "Bio"], location="u0hqe", description="Weeding")
        expected = {"owner_id": olga, "kind": "offer", "family": "peer_service", "status": "active", "hidden": False}
        expected |= {"tags": ["jardin", "bio"], "seats_taken": 0, "price": 30, "deposit": 0, "location": "u0hqe"}
        assert {name: created[name] for name in expected} == expected
        lid = created["id"]
        assert scene.api.get(f"/listings/{lid}", as_=sam).json == created
        edited = scene.api.patch(f"/listings/{lid}", {"title": "Garden and hedge help", "price": 35}, as_=olga)
        assert edited.status_code == 200, edited.body
        assert (edited.json["title"], edited.json["price"], edited.json["tags"]) == (
            "Garden and hedge help",
            35,
            created["tags"],
        )
        assert scene.api.get(f"/listings/{lid}", as_=sam).json["price"] == 35

    def test_only_the_owner_edits(self, scene):
        olga, sam = scene.member("olga", 0), scene.member("sam", 0)
        lid = scene.listing(olga)["id"]
        assert_problem(scene.api.patch(f"/listings/{lid}", {"price": 1}, as_=sam), 403)
        assert_problem(scene.api.patch(f"/listings/{lid}", {"price": 1}, as_="op", groups=OPERATOR), 403)
        assert scene.api.get(f"/listings/{lid}", as_=sam).json["price"] == 30
        assert_problem(scene.api.patch("/listings/nope", {"price": 1}, as_=olga), 404)

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"category": "goods.toys", "mode": "gift", "price": 5}, "price"),
            ({"category": "goods.tools", "mode": "loan", "price": 5}, "deposit"),
            ({"category": "goods.spaceships"}, "category"),
            ({"category": "sharing.carpool", "price": 10, "event_at": "2031-01-01T10:00:00Z"}, "seats"),
            ({"category": "sharing.carpool", "price": 10, "seats": 3}, "seats"),
            ({"seats": 3}, "seats"),
            ({"category": "services.babysitting", "mode": "loan", "deposit": 50}, "mode"),
            ({"category": "goods.tools", "kind": "request", "mode": "loan", "deposit": 50}, "mode"),
            ({"category": "pooled.vehicle", "kind": "request", "price": 4}, "mode"),
            ({"price": 0}, "price"),
            ({"deposit": 10}, "deposit"),
            ({"title": "ab"}, "title"),
            ({"price": -1}, "price"),
            ({"location": "u0hqeee"}, "location"),
            ({"kind": "gift"}, "kind"),
            ({"tags": ["ok"] * 11}, "tags"),
            ({"status": "closed"}, "status"),
        ],
    )
    def test_validation_names_the_field(self, scene, fields, field):
        olga = scene.member("olga", 0)
        body = {"kind": "offer", "category": "services.gardening", "mode": "credits", "title": "Garden help"}
        body |= {"community_id": scene.community, "price": 30, **fields}
        assert_422(scene.api.post("/listings", body, as_=olga), field)
        assert scene.browse(f"owner={olga}", who=olga) == []

    def test_only_in_a_community_one_belongs_to(self, scene):
        stranger = unique("stranger")
        body = {
            "kind": "offer",
            "category": "goods.toys",
            "mode": "gift",
            "title": "Lego",
            "community_id": scene.community,
        }
        assert_422(scene.api.post("/listings", body, as_=stranger), "community_id")

    def test_edits_are_checked_like_new_listings(self, scene):
        olga = scene.member("olga", 0)
        lid = scene.listing(olga)["id"]
        assert_422(scene.api.patch(f"/listings/{lid}", {"price": 0}, as_=olga), "price")
        assert_422(scene.api.patch(f"/listings/{lid}", {"deposit": 20}, as_=olga), "deposit")
        assert_422(scene.api.patch(f"/listings/{lid}", {"category": "goods.toys"}, as_=olga), "category")
        assert scene.api.get(f"/listings/{lid}", as_=olga).json["price"] == 30

    def test_status_moves_and_a_closed_listing_cannot_change(self, scene):
        olga, sam = scene.member("olga", 0), scene.member("sam", 0)
        lid = scene.listing(olga, status="draft")["id"]
        assert_problem(scene.api.get(f"/listings/{lid}", as_=sam), 404)
        for status in ("active", "paused", "active", "closed"):
            response = scene.api.patch(f"/listings/{lid}", {"status": status}, as_=olga)
            assert response.json["status"] == status, response.body
        for change in ({"status": "active"}, {"title": "Reopened listing"}, {"price": 5}):
            illegal(scene.api.patch(f"/listings/{lid}", change, as_=olga), "closed")
        assert scene.api.get(f"/listings/{lid}", as_=olga).json["status"] == "closed"
        assert_problem(scene.api.get(f"/listings/{lid}", as_=sam), 404)


# browsing


class TestBrowse:
    def test_by_community_newest_first_paginated(self, scene):
        olga, sam = scene.member("olga", 0), scene.member("sam", 0)
        ids = [scene.listing(olga, title=f"Listing {index}")["id"] for index in range(5)]
        assert scene.browse(f"community={scene.community}", who=sam) == ids[::-1]
        first = scene.api.get(f"/listings?community={scene.community}&limit=3", as_=sam).json
        assert [item["id"] for item in first["items"]] == ids[:1:-1]
        rest = scene.api.get(f"/listings?community={scene.community}&limit=3&cursor={first['next_cursor']}", as_=sam)
        assert [item["id"] for item in rest.json["items"]] == ids[1::-1]
        assert rest.json["next_cursor"] is None
        assert scene.browse(f"community={create_community(scene.api)['id']}", who=sam) == []

    def test_a_tampered_or_foreign_cursor_is_400(self, scene):
        olga = scene.member("olga", 0)
        for index in range(3):
            scene.listing(olga, title=f"Listing {index}")
        cursor = scene.api.get(f"/listings?community={scene.community}&limit=1", as_=olga).json["next_cursor"]
        raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        raw[-2] ^= 1
        tampered = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
        for bad in (tampered, cursor[:-3], "not-a-cursor", cursor + "AAAA"):
            assert_problem(scene.api.get(f"/listings?community={scene.community}&cursor={bad}", as_=olga), 400)
        other = f"/listings?community={scene.community}&kind=offer&cursor={cursor}"
        assert_problem(scene.api.get(other, as_=olga), 400, "invalid-cursor")
        assert_problem(scene.api.get(f"/listings?owner={olga}&cursor={cursor}", as_=olga), 400, "invalid-cursor")

    def test_by_category_kind_mode_and_tag(self, scene):
        olga, sam = scene.member("olga", 0), scene.member("sam", 0)
        garden = scene.listing(olga, tags=["Jardin"])["id"]
        toys = scene.listing(olga, category="goods.toys", mode="gift", price=0, tags=["kids", "jardin"])["id"]
        drill = scene.listing(olga, category="goods.tools", mode="loan", price=2, deposit=40)["id"]
        sitter = scene.listing(olga, kind="request", category="services.babysitting", price=20, tags=["kids"])["id"]
        books = scene.listing(olga, category="goods.books", mode="swap", price=0)["id"]
        c = scene.community
        assert scene.browse(f"community={c}&category=goods.toys", sam) == [toys]
        assert scene.browse(f"community={c}&category=services.gardening", sam) == [garden]
        assert scene.browse(f"community={c}&kind=request", sam) == [sitter]
        assert scene.browse(f"community={c}&kind=offer", sam) == [books, drill, toys, garden]
        assert scene.browse(f"community={c}&mode=loan", sam) == [drill]
        assert scene.browse(f"community={c}&mode=credits", sam) == [sitter, garden]
        assert scene.browse(f"community={c}&mode=swap", sam) == [books]
        assert scene.browse(f"community={c}&tag=jardin", sam) == [toys, garden]
        assert scene.browse(f"community={c}&tag=KIDS", sam) == [sitter, toys]
        assert scene.browse(f"community={c}&tag=velo", sam) == []
        assert_422(scene.api.get(f"/listings?community={c}&kind=offer&mode=gift", as_=sam))
        assert_422(scene.api.get("/listings?kind=offer", as_=sam))

    def test_edits_move_a_listing_between_indexes(self, scene):
        olga, sam = scene.member("olga", 0), scene.member("sam", 0)
        lid = scene.listing(olga, tags=["jardin"])["id"]
        scene.api.patch(f"/listings/{lid}", {"tags": ["potager"]}, as_=olga)
        assert scene.browse(f"community={scene.community}&tag=jardin", sam) == []
        assert scene.browse(f"community={scene.community}&tag=potager", sam) == [lid]
        scene.api.patch(f"/listings/{lid}", {"status": "paused"}, as_=olga)
        assert scene.browse(f"community={scene.community}", sam) == []
        assert scene.browse(f"community={scene.community}&tag=potager", sam) == []

    def test_near_a_geohash_including_the_neighbouring_cells(self, shared_api):
        home = "kzm"  # a region no other test of the module uses
        scene = Scene(shared_api, area=home)
        olga, sam = scene.member("olga", 0), scene.member("sam", 0)
        cell = home + "q"
        here = scene.listing(olga, location=cell + "e")["id"]
        coarse = scene.listing(olga, location=cell)["id"]
        east = get_adjacent(cell, "right")
        north_east = get_adjacent(get_adjacent(cell, "top"), "right")
        neighbour = scene.listing(olga, location=east + "0")["id"]
        corner = scene.listing(olga, location=north_east)["id"]
        far = get_adjacent(get_adjacent(east, "right"), "right")
        faraway = scene.listing(olga, location=far + "0")["id"]
        scene.listing(olga)  # no location: never found by area
        hidden = scene.listing(olga, location=cell + "s")["id"]
        scene.api.patch(f"/listings/{hidden}", {"status": "paused"}, as_=olga)
        next_door = scene.listing(olga, location=get_adjacent(cell + "e", "right"))["id"]

        assert scene.browse(f"near={cell}", sam) == [next_door, corner, neighbour, coarse, here]
        assert set(scene.browse(f"near={east}", sam)) == {next_door, corner, neighbour, coarse, here}
        assert scene.browse(f"near={far}", sam) == [faraway]
        assert scene.browse(f"near={far}0", sam) == [faraway]
        # a finer search keeps to the finer cell's neighbours (and the coarse listings around it)
        assert scene.browse(f"near={cell}e", sam) == [next_door, corner, coarse, here]
        cursor = scene.api.get(f"/listings?near={cell}&limit=1", as_=sam).json["next_cursor"]
        assert_problem(scene.api.get(f"/listings?near={east}&cursor={cursor}", as_=sam), 400, "invalid-cursor")
        assert_422(scene.api.get("/listings?near=u0h", as_=sam), "near")

    def test_by_owner_others_see_only_active_listings(self, scene):
        olga, sam = scene.member("olga", 0), scene.member("sam", 0)
        scene.api.put(f"/communities/{scene.community}/ambassadors/{sam}", as_="op", groups=OPERATOR)
        active = scene.listing(olga, title="Active one")["id"]
        draft = scene.listing(olga, title="Draft one", status="draft")["id"]
        paused = scene.listing(olga, title="Paused one")["id"]
        scene.api.patch(f"/listings/{paused}", {"status": "paused"}, as_=olga)
        closed = scene.listing(olga, title="Closed one")["id"]
        scene.api.patch(f"/listings/{closed}", {"status": "closed"}, as_=olga)
        hidden = scene.listing(olga, title="Hidden one")["id"]
        assert scene.api.post(f"/listings/{hidden}/hide", {"reason": "spam"}, as_=sam).status_code == 200
        newer = scene.listing(olga, title="Newer active")["id"]
        outsider = scene.member("tom", 0)
        assert scene.browse(f"owner={olga}", outsider) == [newer, active]
        assert scene.browse(f"owner={olga}", olga) == [newer, hidden, closed, paused, draft, active]
        assert scene.browse(f"community={scene.community}", outsider) == [newer, active]
        for lid in (draft, paused, closed, hidden):
            assert_problem(scene.api.get(f"/listings/{lid}", as_=outsider), 404)
            assert scene.api.get(f"/listings/{lid}", as_=olga).status_code == 200


# reports and moderation


class TestModeration:
    def test_reports_reach_the_queue_of_ambassadors_and_operators(self, scene):
        olga, sam, amba, tom = (scene.member(name, 0) for name in ("olga", "sam", "amba", "tom"))
        granted = scene.api.put(f"/communities/{scene.community}/ambassadors/{amba}", as_="op", groups=OPERATOR)
        assert granted.status_code == 200, granted.body
        lid = scene.listing(olga)["id"]
        other = scene.listing(olga, title="Another one")["id"]
        for reporter, listing_id in ((sam, lid), (tom, lid), (sam, other)):
            reported = scene.api.post(f"/listings/{listing_id}/report", {"reason": "Looks like spam"}, as_=reporter)
            assert reported.status_code == 204, reported.body
        queue = f"/communities/{scene.community}/reports"
        assert_problem(scene.api.get(queue, as_=sam), 403)
        assert_problem(scene.api.get(queue, as_=olga), 403)
        seen = scene.api.get(queue, as_=amba).json["items"]
        assert sorted((r["listing_id"], r["reporter_id"]) for r in seen) == sorted(
            [(lid, sam), (lid, tom), (other, sam)]
        )
        assert all(r["reason"] == "Looks like spam" for r in seen)
        assert scene.api.get(queue, as_="op", groups=OPERATOR).json["items"] == seen
        assert_problem(scene.api.post(f"/listings/{lid}/hide", {"reason": "spam"}, as_=sam), 403)
        assert_problem(scene.api.post(f"/listings/{lid}/hide", {"reason": "spam"}, as_=olga), 403)

        hidden = scene.api.post(f"/listings/{lid}/hide", {"reason": "Spam, confirmed"}, as_=amba)
        assert hidden.status_code == 200 and hidden.json["hidden"] is True, hidden.body
        assert [r["listing_id"] for r in scene.api.get(queue, as_=amba).json["items"]] == [other]
        assert scene.browse(f"community={scene.community}", sam) == [other]
        assert_problem(scene.api.get(f"/listings/{lid}", as_=sam), 404)
        assert scene.api.get(f"/listings/{lid}", as_=olga).json["hidden"] is True
        assert scene.api.get(f"/listings/{lid}", as_=amba).json["hidden"] is True
        assert_problem(scene.api.post(f"/listings/{lid}/report", {"reason": "Again spam"}, as_=tom), 404)
        assert_problem(scene.api.post(f"/listings/{lid}/exchanges", {}, as_=tom), 404)
        (entry,) = audit_entries(scene.api, "hide_listing", lid)
        assert (entry["operator_id"], entry["reason"]) == (amba, "Spam, confirmed")

        shown = scene.api.post(f"/listings/{lid}/unhide", {"reason": "Appeal accepted"}, as_="op", groups=OPERATOR)
        assert shown.status_code == 200 and shown.json["hidden"] is False, shown.body
        assert scene.browse(f"community={scene.community}", sam) == [other, lid]
        (entry,) = audit_entries(scene.api, "unhide_listing", lid)
        assert (entry["operator_id"], entry["reason"]) == ("op", "Appeal accepted")

    def test_an_ambassador_of_another_community_cannot_hide(self, scene):
        olga = scene.member("olga", 0)
        lid = scene.listing(olga)["id"]
        elsewhere = Scene(scene.api)
        amba = elsewhere.member("amba", 0)
        scene.api.put(f"/communities/{elsewhere.community}/ambassadors/{amba}", as_="op", groups=OPERATOR)
        assert_problem(scene.api.post(f"/listings/{lid}/hide", {"reason": "spam"}, as_=amba), 403)
        assert_problem(scene.api.get(f"/communities/{scene.community}/reports", as_=amba), 403)
        assert_problem(scene.api.post("/listings/nope/hide", {"reason": "spam"}, as_=amba), 404)


# trades


class TestTrades:
    def test_credits_accept_holds_then_both_confirm_and_it_is_posted(self, scene):
        olga, pete = scene.member("olga", 0), scene.member("pete")
        lid = scene.listing(olga)["id"]
        x = scene.propose(pete, lid, message="Saturday?")
        assert (x["state"], x["amount"], x["payer_id"], x["payee_id"]) == ("proposed", 30, pete, olga)
        assert scene.wallet(pete) == (FUNDS, 0)
        assert_problem(scene.attempt(pete, x["id"], "accept"), 403)
        assert_problem(scene.attempt(unique("x"), x["id"], "accept"), 404)
        assert scene.act(olga, x["id"], "accept")["state"] == "accepted"
        assert scene.wallet(pete) == (FUNDS, 30)
        illegal(scene.attempt(olga, x["id"], "accept"), "accepted")
        assert scene.act(pete, x["id"], "confirm")["confirmed_by"] == [pete]
        problem = assert_problem(scene.attempt(pete, x["id"], "confirm"), 409)
        assert problem["state"] == "accepted"
        done = scene.act(olga, x["id"], "confirm")
        assert (done["state"], done["posted_amount"]) == ("completed", 30)
        assert scene.wallet(pete) == (FUNDS - 30, 0)
        assert scene.wallet(olga) == (30, 0)
        for who, action in ((pete, "cancel"), (pete, "confirm"), (pete, "dispute"), (olga, "decline")):
            illegal(scene.attempt(who, x["id"], action), "completed")
        assert [e["id"] for e in scene.api.get("/me/exchanges", as_=pete).json["items"]] == [x["id"]]
        assert [e["id"] for e in scene.api.get("/me/exchanges?role=owner", as_=olga).json["items"]] == [x["id"]]
        assert scene.api.get("/me/exchanges?role=owner", as_=pete).json["items"] == []
        assert_problem(scene.api.get(f"/exchanges/{x['id']}", as_=unique("x")), 404)
        assert scene.api.get(f"/exchanges/{x['id']}", as_="op", groups=OPERATOR).status_code == 200

    def test_a_counter_offer_and_not_enough_credits(self, scene):
        olga, pete = scene.member("olga", 0), scene.member("pete", 20)
        lid = scene.listing(olga)["id"]
        x = scene.propose(pete, lid, amount=25)
        assert x["amount"] == 25
        refused = scene.attempt(olga, x["id"], "accept")
        assert_problem(refused, 409, "insufficient-funds")
        assert scene.exchange(olga, x["id"])["state"] == "proposed"  # nothing written without the hold
        assert scene.wallet(pete) == (20, 0)
        scene.act(olga, x["id"], "decline")
        assert scene.wallet(pete) == (20, 0)

    def test_proposals_on_own_hidden_or_unknown_listings(self, scene):
        olga, pete = scene.member("olga", 0), scene.member("pete")
        lid = scene.listing(olga)["id"]
        assert_problem(scene.api.post(f"/listings/{lid}/exchanges", {}, as_=olga), 422, "own-listing")
        assert_problem(scene.api.post("/listings/nope/exchanges", {}, as_=pete), 404)
        scene.api.patch(f"/listings/{lid}", {"status": "paused"}, as_=olga)
        assert_problem(scene.api.post(f"/listings/{lid}/exchanges", {}, as_=pete), 404)

    def test_swap_needs_one_of_ones_own_listings(self, scene):
        olga, pete, sam = scene.member("olga", 0), scene.member("pete"), scene.member("sam", 0)
        books = scene.listing(olga, category="goods.books", mode="swap", price=0)["id"]
        mine = scene.listing(pete, category="goods.toys", mode="gift", price=0)["id"]
        theirs = scene.listing(sam, category="goods.toys", mode="gift", price=0)["id"]
        assert_422(scene.api.post(f"/listings/{books}/exchanges", {}, as_=pete), "swap_listing_id")
        assert_422(
            scene.api.post(f"/listings/{books}/exchanges", {"swap_listing_id": theirs}, as_=pete), "swap_listing_id"
        )
        assert_422(
            scene.api.post(f"/listings/{books}/exchanges", {"swap_listing_id": "nope"}, as_=pete), "swap_listing_id"
        )
        with_credits = {"swap_listing_id": mine, "amount": 5}
        assert_422(scene.api.post(f"/listings/{books}/exchanges", with_credits, as_=pete), "amount")
        x = scene.propose(pete, books, swap_listing_id=mine)
        assert (x["swap_listing_id"], x["amount"]) == (mine, 0)
        scene.act(olga, x["id"], "accept")
        assert scene.wallet(pete) == (FUNDS, 0)
        scene.act(olga, x["id"], "confirm")
        assert scene.act(pete, x["id"], "confirm")["state"] == "completed"
        assert scene.wallet(pete) == (FUNDS, 0) and scene.wallet(olga) == (0, 0)

    def test_credits_plus_swap(self, scene):
        olga, pete = scene.member("olga", 0), scene.member("pete")
        bike = scene.listing(olga, category="goods.other", mode="credits_swap", price=10)["id"]
        mine = scene.listing(pete, category="goods.toys", mode="gift", price=0)["id"]
        assert_422(scene.api.post(f"/listings/{bike}/exchanges", {"amount": 10}, as_=pete), "swap_listing_id")
        x = scene.propose(pete, bike, swap_listing_id=mine)
        assert (x["amount"], x["swap_listing_id"]) == (10, mine)
        scene.act(olga, x["id"], "accept")
        assert scene.wallet(pete) == (FUNDS, 10)
        scene.act(pete, x["id"], "confirm")
        scene.act(olga, x["id"], "confirm")
        assert scene.wallet(pete) == (FUNDS - 10, 0) and scene.wallet(olga) == (10, 0)

    def test_a_gift_moves_no_credits(self, scene):
        olga, pete = scene.member("olga", 0), scene.member("pete")
        toys = scene.listing(olga, category="goods.toys", mode="gift", price=0)["id"]
        assert_422(scene.api.post(f"/listings/{toys}/exchanges", {"amount": 3}, as_=pete), "amount")
        mine = scene.listing(pete, category="goods.toys", mode="gift", price=0)["id"]
        assert_422(
            scene.api.post(f"/listings/{toys}/exchanges", {"swap_listing_id": mine}, as_=pete), "swap_listing_id"
        )
        x = scene.propose(pete, toys)
        assert x["amount"] == 0
        scene.act(olga, x["id"], "accept")
        scene.act(olga, x["id"], "confirm")
        done = scene.act(pete, x["id"], "confirm")
        assert (done["state"], done["posted_amount"]) == ("completed", 0)
        assert scene.wallet(pete) == (FUNDS, 0) and scene.wallet(olga) == (0, 0)

    def test_on_a_request_the_fulfiller_is_paid_by_the_requester(self, scene):
        rita, fred = scene.member("rita"), scene.member("fred", 0)
        request = scene.listing(rita, kind="request", category="services.babysitting", price=20)["id"]
        x = scene.propose(fred, request, message="I can babysit on Friday")
        assert (x["payer_id"], x["payee_id"], x["amount"]) == (rita, fred, 20)
        scene.act(rita, x["id"], "accept")
        assert scene.wallet(rita) == (FUNDS, 20)
        scene.act(fred, x["id"], "confirm")
        scene.act(rita, x["id"], "confirm")
        assert scene.wallet(rita) == (FUNDS - 20, 0) and scene.wallet(fred) == (20, 0)

    def test_decline(self, scene):
        olga, pete = scene.member("olga", 0), scene.member("pete")
        x = scene.propose(pete, scene.listing(olga)["id"])
        assert_problem(scene.attempt(pete, x["id"], "decline"), 403)
        assert scene.act(olga, x["id"], "decline")["state"] == "declined"
        illegal(scene.attempt(olga, x["id"], "accept"), "declined")
        assert scene.wallet(pete) == (FUNDS, 0)

    def test_cancel_before_and_after_accept(self, scene):
        olga, pete = scene.member("olga", 0), scene.member("pete")
        lid = scene.listing(olga)["id"]
        before = scene.propose(pete, lid)
        assert scene.act(pete, before["id"], "cancel")["state"] == "cancelled"
        illegal(scene.attempt(olga, before["id"], "accept"), "cancelled")
        for canceller in (pete, olga):
            after = scene.propose(pete, lid)
            scene.act(olga, after["id"], "accept")
            assert scene.wallet(pete) == (FUNDS, 30)
            assert scene.act(canceller, after["id"], "cancel")["state"] == "cancelled"
            assert scene.wallet(pete) == (FUNDS, 0)
            illegal(scene.attempt(olga, after["id"], "confirm"), "cancelled")
        assert scene.wallet(olga) == (0, 0)

    def test_dispute_resolved_by_an_operator_with_a_split(self, scene):
        olga, pete = scene.member("olga", 0), scene.member("pete")
        x = scene.propose(pete, scene.listing(olga)["id"])
        resolve = f"/operator/exchanges/{x['id']}/resolve"
        illegal(scene.attempt(pete, x["id"], "dispute"), "proposed")
        scene.act(olga, x["id"], "accept")
        scene.act(olga, x["id"], "confirm")
        illegal(
            scene.api.post(resolve, {"payee_share": 10, "reason": "Too early"}, as_="op", groups=OPERATOR), "accepted"
        )
        assert scene.act(pete, x["id"], "dispute")["state"] == "disputed"
        for action in ("confirm", "cancel"):
            illegal(scene.attempt(olga, x["id"], action), "disputed")
        assert_problem(scene.api.post(resolve, {"payee_share": 12, "reason": "Half done"}, as_=olga), 403)
        too_much = scene.api.post(resolve, {"payee_share": 31, "reason": "Too much"}, as_="op", groups=OPERATOR)
        assert_problem(too_much, 422, "invalid-amount")
        assert_problem(
            scene.api.post(
                "/operator/exchanges/nope/resolve", {"payee_share": 1, "reason": "None"}, as_="op", groups=OPERATOR
            ),
            404,
        )
        resolved = scene.api.post(resolve, {"payee_share": 12, "reason": "Half done"}, as_="op", groups=OPERATOR)
        assert resolved.status_code == 200, resolved.body
        assert (resolved.json["state"], resolved.json["posted_amount"]) == ("resolved", 12)
        assert scene.wallet(pete) == (FUNDS - 12, 0) and scene.wallet(olga) == (12, 0)
        (entry,) = audit_entries(scene.api, "resolve_dispute", x["id"])
        assert (entry["operator_id"], entry["reason"]) == ("op", "Half done")
        assert entry["details"] == {"payee_share": "12", "amount": "30"}
        again = scene.api.post(resolve, {"payee_share": 12, "reason": "Half done"}, as_="op", groups=OPERATOR)
        illegal(again, "resolved")

    @pytest.mark.parametrize(("share", "payer_posted"), [(0, FUNDS), (30, FUNDS - 30)])
    def test_resolve_all_or_nothing(self, scene, share, payer_posted):
        olga, pete = scene.member("olga", 0), scene.member("pete")
        x = scene.propose(pete, scene.listing(olga)["id"])
        scene.act(olga, x["id"], "accept")
        scene.act(olga, x["id"], "dispute")
        body = {"payee_share": share, "reason": "Decided"}
        assert (
            scene.api.post(f"/operator/exchanges/{x['id']}/resolve", body, as_="op", groups=OPERATOR).status_code == 200
        )
        assert scene.wallet(pete) == (payer_posted, 0)
        assert scene.wallet(olga) == (FUNDS - payer_posted, 0)


# loans


class TestLoans:
    def _loan(self, scene: Scene) -> tuple[str, str, dict]:
        lena, bo = scene.member("lena", 0), scene.member("bo")
        drill = scene.listing(lena, category="goods.tools", mode="loan", price=5, deposit=40)["id"]
        assert_422(scene.api.post(f"/listings/{drill}/exchanges", {}, as_=bo), "return_by")
        past = iso(datetime.now(UTC) - timedelta(hours=1))
        assert_422(scene.api.post(f"/listings/{drill}/exchanges", {"return_by": past}, as_=bo), "return_by")
        due = iso(datetime.now(UTC) + timedelta(days=7))
        assert_422(scene.api.post(f"/listings/{drill}/exchanges", {"return_by": due, "amount": 5}, as_=bo), "amount")
        x = scene.propose(bo, drill, return_by=due)
        assert (x["type"], x["amount"], x["fee"], x["due_at"][:16]) == ("loan", 45, 5, due[:16])
        scene.act(lena, x["id"], "accept")
        assert scene.wallet(bo) == (FUNDS, 45)
        return lena, bo, x

    def test_return_posts_the_fee_and_releases_the_deposit(self, scene):
        lena, bo, x = self._loan(scene)
        for who in (lena, bo):
            illegal(scene.attempt(who, x["id"], "cancel"), "accepted")
        assert_problem(scene.attempt(bo, x["id"], "confirm_return"), 403)
        done = scene.act(lena, x["id"], "confirm_return")
        assert (done["state"], done["posted_amount"]) == ("completed", 5)
        assert scene.wallet(bo) == (FUNDS - 5, 0) and scene.wallet(lena) == (5, 0)

    def test_a_damage_claim_accepted_by_the_borrower(self, scene):
        lena, bo, x = self._loan(scene)
        assert_problem(scene.attempt(lena, x["id"], "claim_damage", amount=41), 422)
        assert_problem(scene.attempt(lena, x["id"], "claim_damage"), 422)
        assert_problem(scene.attempt(bo, x["id"], "claim_damage", amount=5), 403)
        claimed = scene.act(lena, x["id"], "claim_damage", amount=15)
        assert (claimed["state"], claimed["claimed_damage"]) == ("damage_claimed", 15)
        assert scene.wallet(bo) == (FUNDS, 45)
        illegal(scene.attempt(lena, x["id"], "confirm_return"), "damage_claimed")
        assert_problem(scene.attempt(lena, x["id"], "accept_claim"), 403)
        done = scene.act(bo, x["id"], "accept_claim")
        assert (done["state"], done["posted_amount"]) == ("completed", 20)
        assert scene.wallet(bo) == (FUNDS - 20, 0) and scene.wallet(lena) == (20, 0)

    def test_a_disputed_damage_claim_goes_to_the_operators(self, scene):
        lena, bo, x = self._loan(scene)
        scene.act(lena, x["id"], "claim_damage", amount=40)
        assert_problem(scene.attempt(lena, x["id"], "dispute"), 403)
        assert scene.act(bo, x["id"], "dispute")["state"] == "disputed"
        body = {"payee_share": 25, "reason": "Scratches, not broken"}
        resolved = scene.api.post(f"/operator/exchanges/{x['id']}/resolve", body, as_="op", groups=OPERATOR)
        assert resolved.json["state"] == "resolved", resolved.body
        assert scene.wallet(bo) == (FUNDS - 25, 0) and scene.wallet(lena) == (25, 0)
        assert audit_entries(scene.api, "resolve_dispute", x["id"])[0]["reason"] == "Scratches, not broken"


# cost sharing and bookings


class TestSharesAndBookings:
    def test_seats_are_held_then_posted_when_the_organiser_marks_it_done(self, scene, monkeypatch):
        olga = scene.member("olga", 0)
        riders = [scene.member(f"rider{index}") for index in range(3)]
        event = datetime.now(UTC) + timedelta(hours=1)
        trip = scene.listing(olga, category="sharing.carpool", price=10, seats=2, event_at=iso(event))["id"]
        assert_problem(scene.api.post(f"/listings/{trip}/exchanges", {}, as_=riders[0]), 422, "wrong-flow")
        assert_problem(scene.api.post(f"/listings/{trip}/seats", as_=olga), 422, "own-listing")
        garden = scene.listing(olga)["id"]
        assert_problem(scene.api.post(f"/listings/{garden}/seats", as_=riders[0]), 422, "wrong-flow")
        seats = [scene.api.post(f"/listings/{trip}/seats", as_=rider) for rider in riders]
        assert [s.status_code for s in seats] == [201, 201, 409], [s.body for s in seats]
        assert_problem(seats[2], 409, "no-seat-left")
        assert seats[0].json["type"] == "share" and seats[0].json["state"] == "accepted"
        assert_problem(scene.api.post(f"/listings/{trip}/seats", as_=riders[0]), 409, "already-joined")
        assert scene.api.get(f"/listings/{trip}", as_=olga).json["seats_taken"] == 2
        assert [scene.wallet(r) for r in riders] == [(FUNDS, 10), (FUNDS, 10), (FUNDS, 0)]

        # the second rider cancels before the event: the seat is free again and the hold voided
        assert_problem(scene.attempt(olga, seats[1].json["id"], "cancel"), 403)
        scene.act(riders[1], seats[1].json["id"], "cancel")
        assert scene.wallet(riders[1]) == (FUNDS, 0)
        assert scene.api.post(f"/listings/{trip}/seats", as_=riders[2]).status_code == 201
        assert_problem(scene.api.post(f"/listings/{trip}/done", as_=olga), 409, "too-early")
        assert_problem(scene.api.post(f"/listings/{trip}/done", as_=riders[0]), 404)

        later(monkeypatch, timedelta(hours=2))
        assert_problem(scene.attempt(riders[0], seats[0].json["id"], "cancel"), 409, "too-late")
        assert_problem(scene.api.post(f"/listings/{trip}/seats", as_=scene.member("late", 0)), 409, "too-late")
        done = scene.api.post(f"/listings/{trip}/done", as_=olga)
        assert done.status_code == 200, done.body
        assert sorted((e["proposer_id"], e["state"], e["posted_amount"]) for e in done.json) == sorted(
            [(riders[0], "completed", 10), (riders[2], "completed", 10)]
        )
        assert [scene.wallet(r) for r in riders] == [(FUNDS - 10, 0), (FUNDS, 0), (FUNDS - 10, 0)]
        assert scene.wallet(olga) == (20, 0)
        assert scene.api.post(f"/listings/{trip}/done", as_=olga).json == []

    def test_a_booking_holds_its_hours_and_is_posted_after_use(self, scene, monkeypatch):
        owner, ann, ben = scene.member("owner", 0), scene.member("ann"), scene.member("ben")
        car = scene.listing(owner, category="pooled.vehicle", price=4)["id"]
        assert_problem(scene.api.post(f"/listings/{car}/exchanges", {}, as_=ann), 422, "wrong-flow")
        start = next_hour()
        slot = {"starts_at": iso(start), "ends_at": iso(start + timedelta(hours=3))}
        booked = scene.api.post(f"/listings/{car}/bookings", slot, as_=ann)
        assert booked.status_code == 201, booked.body
        assert (booked.json["type"], booked.json["state"], booked.json["amount"]) == ("booking", "accepted", 12)
        assert scene.wallet(ann) == (FUNDS, 12)
        for hours in ((-1, 1), (2, 4), (1, 2), (0, 3)):
            clash = {
                "starts_at": iso(start + timedelta(hours=hours[0])),
                "ends_at": iso(start + timedelta(hours=hours[1])),
            }
            assert_problem(scene.api.post(f"/listings/{car}/bookings", clash, as_=ben), 409, "slot-taken")
        after = {"starts_at": iso(start + timedelta(hours=3)), "ends_at": iso(start + timedelta(hours=4))}
        assert scene.api.post(f"/listings/{car}/bookings", after, as_=ben).status_code == 201
        assert scene.wallet(ben) == (FUNDS, 4)

        # cancelled before the start: the hours are free again and the hold voided
        assert_problem(scene.attempt(owner, booked.json["id"], "cancel"), 403)
        scene.act(ann, booked.json["id"], "cancel")
        assert scene.wallet(ann) == (FUNDS, 0)
        rebooked = scene.api.post(
            f"/listings/{car}/bookings", {**slot, "ends_at": iso(start + timedelta(hours=2))}, as_=ben
        )
        assert rebooked.status_code == 201, rebooked.body
        assert scene.wallet(ben) == (FUNDS, 12)

        assert_problem(scene.attempt(owner, rebooked.json["id"], "confirm"), 409, "too-early")
        later(monkeypatch, timedelta(hours=5))  # the booking has started and ended
        assert_problem(scene.attempt(ben, rebooked.json["id"], "cancel"), 409, "too-late")
        assert_problem(scene.attempt(ben, rebooked.json["id"], "confirm"), 403)
        done = scene.act(owner, rebooked.json["id"], "confirm")
        assert (done["state"], done["posted_amount"]) == ("completed", 8)
        assert scene.wallet(ben) == (FUNDS - 8, 4) and scene.wallet(owner) == (8, 0)

    @pytest.mark.parametrize(
        ("start", "hours", "field"),
        [
            (timedelta(minutes=30), 1, "starts_at"),
            (timedelta(hours=-3), 1, "starts_at"),
            (timedelta(0), 0, "ends_at"),
            (timedelta(0), -2, "ends_at"),
            (timedelta(0), 49, "ends_at"),
        ],
    )
    def test_booking_validation(self, scene, start, hours, field):
        owner, ann = scene.member("owner", 0), scene.member("ann", 0)
        car = scene.listing(owner, category="pooled.vehicle", price=4)["id"]
        begins = next_hour() + start
        body = {"starts_at": iso(begins), "ends_at": iso(begins + timedelta(hours=hours))}
        assert_422(scene.api.post(f"/listings/{car}/bookings", body, as_=ann), field)
        garden = scene.listing(owner)["id"]
        assert_problem(scene.api.post(f"/listings/{garden}/bookings", body, as_=ann), 422)


# the scheduler (each test has a table of its own: run_deadlines looks at every exchange)


class TestDeadlines:
    @pytest.fixture
    def scene(self, api) -> Scene:
        return Scene(api)

    def test_one_sided_confirmation_completes_after_the_delay(self, scene):
        olga, pete = scene.member("olga", 0), scene.member("pete")
        lid = scene.listing(olga)["id"]
        silent = scene.propose(pete, lid)
        scene.act(olga, silent["id"], "accept")
        confirmed = scene.propose(pete, lid)
        scene.act(olga, confirmed["id"], "accept")
        scene.act(pete, confirmed["id"], "confirm")
        disputed = scene.propose(pete, lid)
        scene.act(olga, disputed["id"], "accept")
        scene.act(olga, disputed["id"], "confirm")
        scene.act(pete, disputed["id"], "dispute")
        assert scene.wallet(pete) == (FUNDS, 90)

        now = datetime.now(UTC)
        assert exchanges.run_deadlines(now=iso(now + timedelta(hours=71))) == 0
        assert exchanges.run_deadlines(now=iso(now + timedelta(hours=73))) == 1
        done = scene.exchange(olga, confirmed["id"])
        assert (done["state"], done["posted_amount"]) == ("completed", 30)
        assert scene.exchange(olga, silent["id"])["state"] == "accepted"
        assert scene.exchange(olga, disputed["id"])["state"] == "disputed"
        assert scene.wallet(pete) == (FUNDS - 30, 60) and scene.wallet(olga) == (30, 0)
        assert exchanges.run_deadlines(now=iso(now + timedelta(hours=80))) == 0

    def test_a_silent_damage_claim_is_posted(self, scene):
        lena, bo = scene.member("lena", 0), scene.member("bo")
        drill = scene.listing(lena, category="goods.tools", mode="loan", price=5, deposit=40)["id"]
        x = scene.propose(bo, drill, return_by=iso(datetime.now(UTC) + timedelta(days=30)))
        scene.act(lena, x["id"], "accept")
        scene.act(lena, x["id"], "claim_damage", amount=10)
        assert exchanges.run_deadlines(now=iso(datetime.now(UTC) + timedelta(hours=73))) == 1
        assert scene.exchange(bo, x["id"])["state"] == "completed"
        assert scene.wallet(bo) == (FUNDS - 15, 0) and scene.wallet(lena) == (15, 0)

    def test_an_overdue_loan_is_flagged_then_settled_after_grace(self, scene):
        lena, bo = scene.member("lena", 0), scene.member("bo")
        drill = scene.listing(lena, category="goods.tools", mode="loan", price=5, deposit=40)["id"]
        due = datetime.now(UTC) + timedelta(days=1)
        x = scene.propose(bo, drill, return_by=iso(due))
        scene.act(lena, x["id"], "accept")
        assert exchanges.run_deadlines(now=iso(due - timedelta(minutes=1))) == 0
        assert exchanges.run_deadlines(now=iso(due + timedelta(hours=1))) == 1
        flagged = scene.exchange(bo, x["id"])
        assert (flagged["state"], flagged["overdue"]) == ("accepted", True)
        assert scene.wallet(bo) == (FUNDS, 45)
        assert exchanges.run_deadlines(now=iso(due + timedelta(days=13))) == 0
        assert exchanges.run_deadlines(now=iso(due + timedelta(days=14, hours=1))) == 1
        settled = scene.exchange(bo, x["id"])
        assert (settled["state"], settled["posted_amount"]) == ("completed", 45)
        assert scene.wallet(bo) == (FUNDS - 45, 0) and scene.wallet(lena) == (45, 0)

    def test_an_overdue_loan_returned_late_posts_only_the_fee(self, scene):
        lena, bo = scene.member("lena", 0), scene.member("bo")
        drill = scene.listing(lena, category="goods.tools", mode="loan", price=5, deposit=40)["id"]
        due = datetime.now(UTC) + timedelta(days=1)
        x = scene.propose(bo, drill, return_by=iso(due))
        scene.act(lena, x["id"], "accept")
        assert exchanges.run_deadlines(now=iso(due + timedelta(hours=1))) == 1
        assert scene.act(lena, x["id"], "confirm_return")["posted_amount"] == 5
        assert exchanges.run_deadlines(now=iso(due + timedelta(days=15))) == 0
        assert scene.wallet(bo) == (FUNDS - 5, 0)

    def test_seats_complete_after_the_event_when_the_organiser_forgets(self, scene):
        olga, rider = scene.member("olga", 0), scene.member("rider")
        event = datetime.now(UTC) + timedelta(hours=1)
        trip = scene.listing(olga, category="sharing.meal", price=10, seats=4, event_at=iso(event))["id"]
        seat = scene.api.post(f"/listings/{trip}/seats", as_=rider).json
        assert exchanges.run_deadlines(now=iso(event + timedelta(hours=71))) == 0
        assert exchanges.run_deadlines(now=iso(event + timedelta(hours=73))) == 1
        assert scene.exchange(rider, seat["id"])["state"] == "completed"
        assert scene.wallet(rider) == (FUNDS - 10, 0) and scene.wallet(olga) == (10, 0)


# conversations


class TestConversations:
    def test_message_a_listing_owner_and_only_participants_read(self, scene):
        olga, pete, sam = scene.member("olga", 0), scene.member("pete", 0), scene.member("sam", 0)
        lid = scene.listing(olga)["id"]
        assert_problem(scene.api.post(f"/listings/{lid}/messages", {"body": "Me?"}, as_=olga), 422)
        assert_problem(scene.api.post("/listings/nope/messages", {"body": "Hello"}, as_=pete), 404)
        assert_422(scene.api.post(f"/listings/{lid}/messages", {"body": ""}, as_=pete), "body")
        started = scene.api.post(f"/listings/{lid}/messages", {"body": "Is it still available?"}, as_=pete)
        assert started.status_code == 201, started.body
        cid = started.json["conversation_id"]
        again = scene.api.post(f"/listings/{lid}/messages", {"body": "Hello?"}, as_=pete)
        assert again.json["conversation_id"] == cid
        other = scene.api.post(f"/listings/{lid}/messages", {"body": "Me too"}, as_=sam).json["conversation_id"]
        assert other != cid

        for outsider in (sam, unique("x")):
            assert_problem(scene.api.get(f"/conversations/{cid}/messages", as_=outsider), 404)
            assert_problem(scene.api.post(f"/conversations/{cid}/messages", {"body": "Hi"}, as_=outsider), 404)
        assert_problem(scene.api.get("/conversations/nope/messages", as_=pete), 404)

        inbox = scene.api.get("/me/conversations", as_=olga).json["items"]
        assert [(e["conversation_id"], e["unread"]) for e in inbox] == [(other, 1), (cid, 2)]
        assert inbox[1]["subject"] == f"listing:{lid}"
        assert [
            (e["conversation_id"], e["unread"]) for e in scene.api.get("/me/conversations", as_=pete).json["items"]
        ] == [(cid, 0)]
        read = scene.api.get(f"/conversations/{cid}/messages", as_=olga).json["items"]
        assert [(m["sender_id"], m["body"]) for m in read] == [(pete, "Hello?"), (pete, "Is it still available?")]
        assert {
            e["conversation_id"]: e["unread"] for e in scene.api.get("/me/conversations", as_=olga).json["items"]
        } == {other: 1, cid: 0}

        reply = scene.api.post(f"/conversations/{cid}/messages", {"body": "Yes, come by"}, as_=olga)
        assert reply.status_code == 201, reply.body
        pete_inbox = scene.api.get("/me/conversations", as_=pete).json["items"]
        assert [(e["conversation_id"], e["unread"]) for e in pete_inbox] == [(cid, 1)]
        assert [e["conversation_id"] for e in scene.api.get("/me/conversations", as_=olga).json["items"]] == [
            cid,
            other,
        ]

    def test_reading_writes_only_when_something_was_unread(self, scene, commits, monkeypatch):
        olga, pete = scene.member("olga", 0), scene.member("pete", 0)
        lid = scene.listing(olga)["id"]
        cid = scene.api.post(f"/listings/{lid}/messages", {"body": "Free on Sunday?"}, as_=pete).json["conversation_id"]
        commits.clear()
        assert scene.api.get(f"/conversations/{cid}/messages", as_=olga).status_code == 200
        assert commits == [1], "one message was unread: the read mark"
        assert scene.api.get(f"/conversations/{cid}/messages", as_=olga).status_code == 200
        assert scene.api.get(f"/conversations/{cid}/messages", as_=pete).status_code == 200
        assert commits == [1], "nothing unread: nothing written"

        real_messages = conversation_repository.messages

        def a_message_arrives_meanwhile(*args):
            found = real_messages(*args)
            conversations.post_message(pete, cid, "Or Monday?")
            return found

        monkeypatch.setattr(conversation_repository, "messages", a_message_arrives_meanwhile)
        scene.api.post(f"/conversations/{cid}/messages", {"body": "Sunday?"}, as_=pete)
        assert scene.api.get(f"/conversations/{cid}/messages", as_=olga).status_code == 200
        inbox = {e["conversation_id"]: e["unread"] for e in scene.api.get("/me/conversations", as_=olga).json["items"]}
        assert inbox[cid] == 1, "the message that arrived after the page was read stays unread"

    def test_messages_paginate_newest_first(self, scene):
        olga, pete = scene.member("olga", 0), scene.member("pete", 0)
        lid = scene.listing(olga)["id"]
        cid = scene.api.post(f"/listings/{lid}/messages", {"body": "m0"}, as_=pete).json["conversation_id"]
        for index in range(1, 5):
            sender = olga if index % 2 else pete
            scene.api.post(f"/conversations/{cid}/messages", {"body": f"m{index}"}, as_=sender)
        bodies, cursor = [], None
        while True:
            page = scene.api.get(
                f"/conversations/{cid}/messages?limit=2" + (f"&cursor={cursor}" if cursor else ""), as_=pete
            ).json
            assert len(page["items"]) <= 2
            bodies += [m["body"] for m in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert bodies == ["m4", "m3", "m2", "m1", "m0"]
        assert_problem(scene.api.get(f"/conversations/{cid}/messages?cursor=garbage", as_=pete), 400)
        other = scene.api.post(f"/listings/{lid}/messages", {"body": "x"}, as_=scene.member("sam", 0)).json
        first = scene.api.get(f"/conversations/{cid}/messages?limit=1", as_=olga).json["next_cursor"]
        assert_problem(
            scene.api.get(f"/conversations/{other['conversation_id']}/messages?cursor={first}", as_=olga), 400
        )

    def test_an_exchange_has_its_own_thread(self, scene):
        olga, pete, sam = scene.member("olga", 0), scene.member("pete"), scene.member("sam", 0)
        lid = scene.listing(olga)["id"]
        x = scene.propose(pete, lid, message="Saturday morning?")
        cid = x["conversation_id"]
        assert cid and scene.exchange(olga, x["id"])["conversation_id"] == cid
        inbox = scene.api.get("/me/conversations", as_=olga).json["items"]
        assert [(e["conversation_id"], e["subject"], e["unread"]) for e in inbox] == [(cid, f"exchange:{x['id']}", 1)]
        reply = scene.api.post(f"/conversations/{cid}/messages", {"body": "Yes, 9am"}, as_=olga)
        assert reply.status_code == 201, reply.body
        read = scene.api.get(f"/conversations/{cid}/messages", as_=pete).json["items"]
        assert [m["body"] for m in read] == ["Yes, 9am", "Saturday morning?"]
        assert_problem(scene.api.get(f"/conversations/{cid}/messages", as_=sam), 404)
        quiet = scene.propose(pete, lid)
        assert (
            scene.api.post(f"/conversations/{quiet['conversation_id']}/messages", {"body": "Hi"}, as_=olga).status_code
            == 201
        )
        assert [
            m["body"]
            for m in scene.api.get(f"/conversations/{quiet['conversation_id']}/messages", as_=pete).json["items"]
        ] == ["Hi"]
