"""Fees over HTTP: the schedule, quotes, a free monthly quota then paid publications, professional
listings, a client's expected fee, too few credits, and a fee changed by an adopted ballot, once."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest

from chalicelib import clock, config
from chalicelib.services import ballots, fees, listings
from tests import books
from tests.component.support import assert_problem
from tests.component.test_governance_flow import COLLEGES, PLACES, close_now, open_now, operator, schedule, vote
from tests.component.test_reviews_flow import setup_community


@pytest.fixture
def community(api: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PWIIC_FEE_NOTICE_SECONDS", "1")
    config.reset()
    fees.reset()
    return setup_community(api, "alice", "bob")


def listing(api: Any, community: str, who: str = "alice", category: str = "services.gardening", **extra: Any) -> Any:
    body = {"kind": "offer", "category": category, "mode": "credits", "title": "Garden help", "price": 10}
    if "title" in extra:
        body["title"] = extra.pop("title")
    return api.post("/listings", {**body, "community_id": community, **extra}, as_=who)


def set_fees(api: Any, **prices: int) -> None:
    """A version with these prices and a free quota of one listing a month, applying in a moment."""
    change = {
        "prices": prices,
        "free_listings_per_month": 1,
        "effective_at": clock.iso(clock.now() + timedelta(seconds=1.2)),
        "reason": "pilot prices",
    }
    answer = operator(api, "post", "/operator/fees", change)
    assert answer.status_code == 201, answer.body
    assert answer.json["upcoming"][0]["prices"] == {k: v for k, v in prices.items() if v}
    time.sleep(1.3)
    fees.reset()  # a container rereads the schedule within a minute; this one, now


def balance(api: Any, who: str) -> int:
    return int(api.get("/me/wallet", as_=who).json["available"])


def test_publications_are_free_up_to_the_quota_then_pay_their_fee_once(api, community):
    assert api.get("/fees", as_=None).json["in_force"]["free_listings_per_month"] == 10
    set_fees(api, publish_listing=5, publish_professional_listing=20)
    assert api.get("/fees/quote", as_="alice").json == {
        "operation": "publish_listing",
        "price": 0,
        "free": True,
        "free_left": 1,
        "schedule": 1,
    }
    before = balance(api, "alice")
    assert listing(api, community).status_code == 201
    assert balance(api, "alice") == before  # the free one
    assert api.get("/fees/quote", as_="alice").json["price"] == 5
    assert_problem(listing(api, community, expected_fee=0), 409, "fee-changed")
    paid = listing(api, community, expected_fee=5)
    assert paid.status_code == 201, paid.body
    assert balance(api, "alice") == before - 5
    lid = paid.json["id"]
    for status in ("paused", "active"):  # published once: paying once
        assert api.patch(f"/listings/{lid}", {"status": status}, as_="alice").status_code == 200
    assert balance(api, "alice") == before - 5
    entries = api.get("/me/wallet/entries", as_="alice").json["items"]
    assert entries[0]["kind"] == "fee" and entries[0]["amount"] == -5
    books.assert_reconciled()


def test_a_draft_pays_when_published_and_a_professional_listing_pays_its_own_fee(api, community):
    set_fees(api, publish_professional_listing=20)
    before = balance(api, "bob")
    draft = listing(api, community, who="bob", category="pro.crafts", status="draft")
    assert draft.status_code == 201 and balance(api, "bob") == before  # a draft is not published
    published = api.patch(f"/listings/{draft.json['id']}", {"status": "active", "expected_fee": 20}, as_="bob")
    assert published.status_code == 200, published.body
    assert balance(api, "bob") == before - 20
    assert api.get("/fees/quote?operation=publish_listing", as_="bob").json["free_left"] == 1


def test_too_few_credits_says_how_many_and_where_to_buy_them(api, community):
    set_fees(api, publish_professional_listing=500)
    refused = listing(api, community, category="pro.crafts")
    problem = assert_problem(refused, 409, "insufficient-funds")
    assert (problem["needed"], problem["credit_packs"]) == (500, "/credit-packs")
    assert api.get("/listings?owner=alice", as_="alice").json["items"] == []  # nothing half-written


def test_a_change_applies_only_ahead_of_the_notice(api, community):
    too_soon = {
        "prices": {"publish_listing": 3},
        "free_listings_per_month": 0,
        "effective_at": clock.now_iso(),
        "reason": "now",
    }
    assert_problem(operator(api, "post", "/operator/fees", too_soon), 422)
    assert_problem(api.post("/operator/fees", too_soon, as_="alice"), 403)


def test_an_adopted_ballot_changes_a_fee_once(api, community):
    operator(api, "put", "/operator/governance/colleges", {"colleges": COLLEGES, "reason": "statutes"})
    for member, college in PLACES.items():
        api.get("/me", as_=member)
        operator(api, "put", f"/operator/cooperators/{member}", {"college_id": college, "reason": "general assembly"})
    ballot_id = schedule(api, decision={"parameter": "fee_publish_listing", "value": 2})
    open_now(ballot_id)
    for who in ("ann", "dan", "fay"):
        assert vote(api, ballot_id, who, "yes").status_code == 200
    result = close_now(ballot_id)
    assert result is not None and result.adopted and result.applied[0].startswith("fee_publish_listing = 2 from ")
    assert close_now(ballot_id) is None
    fees.reset()
    upcoming = api.get("/fees", as_=None).json["upcoming"]
    assert [(v["prices"], v["free_listings_per_month"]) for v in upcoming] == [({"publish_listing": 2}, 10)]
    assert ballots.result(ballot_id).applied == result.applied


def test_a_featured_listing_comes_first_in_its_community_until_its_period_ends(api, community, monkeypatch):
    set_fees(api, feature_listing=3)
    first = listing(api, community, title="Older listing").json["id"]
    listing(api, community, title="Newer listing")
    browse = f"/listings?community={community}"
    assert [item["title"] for item in api.get(browse, as_="bob").json["items"]] == ["Newer listing", "Older listing"]
    assert_problem(api.post(f"/listings/{first}/feature", {}, as_="bob"), 403)
    assert_problem(api.post(f"/listings/{first}/feature", {"expected_fee": 1}, as_="alice"), 409, "fee-changed")
    before = balance(api, "alice")
    featured = api.post(f"/listings/{first}/feature", {"expected_fee": 3}, as_="alice")
    assert featured.status_code == 200, featured.body
    assert balance(api, "alice") == before - 3
    shown = api.get(browse, as_="bob").json["items"]
    assert [item["title"] for item in shown] == ["Older listing", "Newer listing"]  # still one Query
    assert shown[0]["featured_until"] == featured.json["featured_until"]
    assert listings.end_featuring() == 0  # not over yet
    later = clock.parse(featured.json["featured_until"]) + timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert listings.end_featuring() == 1
    assert [item["title"] for item in api.get(browse, as_="bob").json["items"]] == ["Newer listing", "Older listing"]
