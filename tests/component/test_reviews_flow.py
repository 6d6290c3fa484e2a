"""Reviews over HTTP: who may review, the blind reveal, replies, moderation, reputations, and what a
third member never sees."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import clock
from chalicelib.services import reviews
from tests.component.support import assert_problem
from tests.conftest import OPERATOR


def setup_community(api: Any, *members: str) -> str:
    community = api.post(
        "/communities", {"name": "Carouge", "slug": "carouge", "area": ["u0hqe"]}, as_="op", groups=OPERATOR
    ).json["id"]
    api.post("/operator/rewards-pool/fundings", {"amount": 10_000, "note": "pool"}, as_="op", groups=OPERATOR)
    for member in members:
        assert api.post(f"/communities/{community}/join", as_=member).status_code == 200
        reward = {"member_id": member, "amount": 100, "reason_code": "other", "note": "start"}
        assert api.post("/operator/rewards", reward, as_="op", groups=OPERATOR).status_code == 201
    return community


def trade(api: Any, community: str, owner: str = "bob", buyer: str = "alice", *, complete: bool = True) -> str:
    """A garden service of `owner` bought by `buyer` for 30 credits, completed by both."""
    listing = {
        "kind": "offer",
        "category": "services.gardening",
        "mode": "credits",
        "title": "Garden help",
        "community_id": community,
        "price": 30,
    }
    lid = api.post("/listings", listing, as_=owner).json["id"]
    xid = api.post(f"/listings/{lid}/exchanges", {"message": "Saturday?"}, as_=buyer).json["id"]
    assert api.post(f"/exchanges/{xid}/actions", {"action": "accept"}, as_=owner).status_code == 200
    if complete:
        api.post(f"/exchanges/{xid}/actions", {"action": "confirm"}, as_=buyer)
        done = api.post(f"/exchanges/{xid}/actions", {"action": "confirm"}, as_=owner)
        assert done.json["state"] == "completed", done.body
    return xid


@pytest.fixture
def community(api: Any) -> str:
    return setup_community(api, "alice", "bob", "carol")


def review(api: Any, xid: str, who: str, rating: int, **fields: Any) -> Any:
    return api.put(f"/exchanges/{xid}/review", {"rating": rating, **fields}, as_=who)


def test_both_reviews_are_published_together_and_counted_exactly(api, community):
    xid = trade(api, community)
    pending = api.get("/me/reviews/pending", as_="alice").json
    assert [(p["exchange_id"], p["your_role"], p["other_member_id"]) for p in pending] == [(xid, "receiver", "bob")]
    assert pending[0]["closes_at"] > clock.now_iso()

    first = review(
        api, xid, "alice", 5, comment="Lovely hedge", kind_words=["punctual", "friendly"], private_note="Thanks!"
    )
    assert first.status_code == 200, first.body
    assert (first.json["state"], first.json["subject_role"]) == ("sealed", "provider")
    assert api.get("/me/reviews/pending", as_="alice").json == []
    # Sealed: bob does not see it, nor does anyone else; alice edits it.
    assert api.get(f"/exchanges/{xid}/reviews", as_="bob").json["reviews"] == []
    assert_problem(api.get(f"/exchanges/{xid}/reviews", as_="carol"), 404)
    assert api.get("/members/bob/reviews", as_="carol").json["items"] == []
    edited = review(api, xid, "alice", 4, comment="Lovely hedge", kind_words=["punctual"], private_note="Thanks!")
    assert (edited.status_code, edited.json["rating"]) == (200, 4), edited.body
    assert api.get("/me/reviews/pending", as_="bob").json[0]["other_has_reviewed"] is True

    second = review(api, xid, "bob", 5, comment="Paid on time", kind_words=["reliable"])
    assert (second.status_code, second.json["state"]) == (200, "published"), second.body
    both = api.get(f"/exchanges/{xid}/reviews", as_="bob").json
    assert {(r["author_id"], r["state"], r["private_note"]) for r in both["reviews"]} == {
        ("alice", "published", "Thanks!"),
        ("bob", "published", ""),
    }
    assert both["published_at"] is not None
    public = api.get("/members/bob/reviews", as_="carol").json["items"]
    assert [(r["author_id"], r["rating"], r["comment"]) for r in public] == [("alice", 4, "Lovely hedge")]
    assert "private_note" not in public[0]
    assert_problem(review(api, xid, "alice", 1), 409, "review-published")

    bob = api.get("/members/bob/reputation", as_="carol").json
    assert (bob["overall"]["count"], bob["overall"]["average"], bob["overall"]["histogram"]) == (
        1,
        4.0,
        [0, 0, 0, 1, 0],
    )
    assert bob["as_provider"]["count"] == 1 and bob["as_receiver"]["count"] == 0
    assert bob["overall"]["kind_words"] == {"punctual": 1}
    assert bob["overall"]["bayesian_average"] == round((5 * 4.0 + 4) / 6, 2)
    alice = api.get("/members/alice/reputation", as_="carol").json
    assert (alice["as_receiver"]["count"], alice["overall"]["average"]) == (1, 5.0)
    # Browsing results and public profiles carry the owner's summary.
    found = api.get(f"/listings?community={community}", as_="carol").json["items"]
    assert {(item["owner_id"], item["owner_reviews"]["count"]) for item in found} == {("bob", 1)}
    assert api.get("/members/bob", as_="carol").json["reviews"] == {
        "count": 1,
        "average": 4.0,
        "bayesian_average": round((5 * 4.0 + 4) / 6, 2),
    }


def test_who_may_review_what(api, community):
    open_trade = trade(api, community, complete=False)
    assert_problem(review(api, open_trade, "alice", 5), 409, "exchange-not-completed")
    assert_problem(review(api, open_trade, "carol", 5), 404)
    done = trade(api, community)
    assert_problem(review(api, done, "carol", 5), 404)
    assert_problem(review(api, "nope", "alice", 5), 404)
    bad = review(api, done, "alice", 6, kind_words=["rude"])
    assert bad.status_code == 422, bad.body


def test_the_window_closer_publishes_what_was_submitted(api, community):
    xid = trade(api, community)
    review(api, xid, "alice", 2, comment="Late")
    later = clock.iso(clock.now().replace(year=clock.now().year + 1))
    assert reviews.close_windows(later) == 1
    assert reviews.close_windows(later) == 0  # once
    shown = api.get("/members/bob/reviews", as_="carol").json["items"]
    assert [(r["author_id"], r["rating"]) for r in shown] == [("alice", 2)]
    assert_problem(review(api, xid, "bob", 5), 409)  # too late for bob
    assert api.get("/members/bob/reputation", as_="carol").json["overall"]["count"] == 1


def test_reply_once_report_and_hide(api, community):
    xid = trade(api, community)
    review(api, xid, "alice", 1, comment="Rude")
    review(api, xid, "bob", 5)
    path = f"/exchanges/{xid}/reviews/alice"
    assert_problem(api.post(f"{path}/reply", {"text": "Not true"}, as_="carol"), 404)
    replied = api.post(f"{path}/reply", {"text": "Sorry you felt so"}, as_="bob")
    assert (replied.status_code, replied.json["reply"]) == (200, "Sorry you felt so"), replied.body
    assert_problem(api.post(f"{path}/reply", {"text": "Again"}, as_="bob"), 409, "already-replied")

    assert api.post(f"{path}/report", {"reason": "insulting"}, as_="carol").status_code == 202
    queue = api.get(f"/communities/{community}/review-reports", as_="op", groups=OPERATOR).json["items"]
    assert [(r["exchange_id"], r["author_id"], r["reporter_id"]) for r in queue] == [(xid, "alice", "carol")]
    assert_problem(api.post(f"{path}/hide", {"reason": "insulting"}, as_="carol"), 403)
    hidden = api.post(f"{path}/hide", {"reason": "insulting"}, as_="op", groups=OPERATOR)
    assert (hidden.status_code, hidden.json["state"]) == (200, "hidden"), hidden.body
    assert api.get(f"/communities/{community}/review-reports", as_="op", groups=OPERATOR).json["items"] == []
    assert api.get("/members/bob/reviews", as_="carol").json["items"] == []
    assert api.get("/members/bob/reputation", as_="carol").json["overall"]["count"] == 0
    mine = api.get(f"/exchanges/{xid}/reviews", as_="alice").json["reviews"]
    assert {(r["author_id"], r["state"]) for r in mine} == {("alice", "hidden"), ("bob", "published")}
    assert "alice" not in {r["author_id"] for r in api.get(f"/exchanges/{xid}/reviews", as_="bob").json["reviews"]}
    audit = api.get("/operator/audit", as_="op", groups=OPERATOR).json["items"]
    assert "hide_review" in {entry["action"] for entry in audit}
    assert reviews.recount_touched() >= 2  # bob and alice: checked, and equal


def test_kind_words_have_french_and_english_labels(api):
    words = api.get("/review-kind-words", as_=None).json
    assert {"punctual", "great_teacher"} <= {w["id"] for w in words}
    assert all(set(w["labels"]) == {"fr", "en"} and all(w["labels"].values()) for w in words)


def test_a_member_without_reviews_has_an_empty_reputation_and_no_member_is_a_404(api, community):
    assert api.get("/members/carol/reviews", as_="alice").json["items"] == []
    assert api.get("/members/carol/reputation", as_="alice").json["overall"]["count"] == 0
    assert_problem(api.get("/members/nobody/reviews", as_="alice"), 404)
    assert_problem(api.get("/members/nobody/reputation", as_="alice"), 404)
