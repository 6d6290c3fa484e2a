"""Value sharing over HTTP: fees make the month's revenue, contributions earn points, and the month's
share of revenue is paid to contributors in proportion, exactly, once."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import clock, config
from chalicelib.domain.ledger import PlatformAccount
from chalicelib.services import fees, ledger, value_sharing
from tests import books
from tests.component.support import assert_problem
from tests.component.test_reviews_flow import review, setup_community, trade
from tests.conftest import OPERATOR


@pytest.fixture
def community(api: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PWIIC_FREE_LISTINGS_PER_MONTH", "0")
    monkeypatch.setenv("PWIIC_FEE_PUBLISH_LISTING", "10")
    config.reset()
    fees.reset()
    return setup_community(api, "alice", "bob")


def test_the_month_s_share_of_revenue_goes_to_contributors_exactly_and_once(api, community):
    month = clock.now_iso()[:7]
    body = {"kind": "offer", "category": "goods.books", "mode": "gift", "title": "Old novels"}
    listings = [api.post("/listings", {**body, "community_id": community}, as_="alice").json["id"] for _ in range(3)]
    xid = trade(api, community)  # bob's listing: the fourth fee
    review(api, xid, "alice", 5)
    review(api, xid, "bob", 5)
    hidden = api.post(f"/listings/{listings[0]}/hide", {"reason": "duplicate listing"}, as_="op", groups=OPERATOR)
    assert hidden.status_code == 200, hidden.body
    mine = api.get("/me/contributions", as_="alice").json
    assert (mine["reviews_written"], mine["points"], mine["share"]) == (1, 1, None)
    assert_problem(api.get(f"/economy/value-sharing/{month}", as_="alice"), 404)

    statement = value_sharing.share_month(month)
    assert (statement.revenue, statement.percent, statement.distributed) == (40, 20, 8)
    # points: op 2 (a moderation decision), alice 1 and bob 1 (a review each)
    assert {s.member_id: s.credits for s in statement.shares} == {"op": 4, "alice": 2, "bob": 2}
    again = value_sharing.share_month(month)  # a second run moves nothing
    assert again == statement
    entries = api.get("/me/wallet/entries", as_="alice").json["items"]
    assert [e["amount"] for e in entries if e["kind"] == "value_share"] == [2]
    shown = api.get(f"/economy/value-sharing/{month}", as_="bob").json
    assert sum(share["credits"] for share in shown["shares"]) == shown["distributed"] == 8
    assert api.get("/me/contributions", as_="alice").json["share"] == 2
    books.assert_reconciled()


def test_the_share_of_a_member_erased_before_the_sharing_stays_in_revenue(api, community):
    month = clock.now_iso()[:7]
    xid = trade(api, community)
    review(api, xid, "alice", 5)
    review(api, xid, "bob", 5)
    assert api.call("DELETE", "/me", {"confirm": "erase bob"}, as_="bob").status_code == 200
    revenue = ledger.balance(PlatformAccount.REVENUE.value).posted

    statement = value_sharing.share_month(month)  # bob's wallet is closed: the run goes on, and ends
    assert {s.member_id: s.credits for s in statement.shares}.keys() == {"alice", "bob"} and statement.paid
    bob, alice = (next(s.credits for s in statement.shares if s.member_id == who) for who in ("bob", "alice"))
    assert ledger.balance("member:bob").posted == 0
    assert ledger.balance(PlatformAccount.REVENUE.value).posted == revenue - alice, f"bob's {bob} stayed"
    assert value_sharing.share_month(month) == statement
    books.assert_reconciled()
