"""Reviews over HTTP: who may review, the blind reveal, replies, moderation, reputations, and what a
third member never sees — for every kind of exchange (trade, loan, seat, booking, resolved dispute)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib import clock
from chalicelib.services import exchanges, reviews
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


# Every kind of exchange: bob gives (the provider), alice gets (the receiver).


def soon() -> datetime:
    """A whole hour in the future, as bookings need."""
    return (datetime.now(UTC) + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)


def later(monkeypatch: pytest.MonkeyPatch, delta: timedelta) -> None:
    """Move the services' clock forward."""
    real = clock.now
    monkeypatch.setattr(clock, "now", lambda: real() + delta)


def listing(api: Any, community: str, owner: str, **fields: Any) -> str:
    body = {"kind": "offer", "category": "goods.tools", "mode": "credits", "title": "Thing", "community_id": community}
    response = api.post("/listings", {**body, **fields}, as_=owner)
    assert response.status_code == 201, response.body
    return response.json["id"]


def act(api: Any, xid: str, who: str, action: str, **body: Any) -> dict:
    response = api.post(f"/exchanges/{xid}/actions", {"action": action, **body}, as_=who)
    assert response.status_code == 200, (action, response.body)
    return response.json


def lent(api: Any, community: str, lender: str = "bob", borrower: str = "alice") -> str:
    """A drill of `lender` out with `borrower`: accepted, not yet returned."""
    drill = listing(api, community, lender, mode="loan", title="Drill", price=5, deposit=40)
    body = {"return_by": (datetime.now(UTC) + timedelta(days=7)).isoformat()}
    xid = api.post(f"/listings/{drill}/exchanges", body, as_=borrower).json["id"]
    assert act(api, xid, lender, "accept")["state"] == "accepted"
    return xid


def seated(api: Any, community: str, *riders: str, organiser: str = "bob") -> tuple[str, list[str]]:
    """A carpool of `organiser` in an hour, a seat for each rider: (listing, seats)."""
    event = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    trip = listing(
        api, community, organiser, category="sharing.carpool", title="To Geneva", price=10, seats=3, event_at=event
    )
    seats = [api.post(f"/listings/{trip}/seats", as_=rider) for rider in riders]
    assert [s.status_code for s in seats] == [201] * len(riders), [s.body for s in seats]
    return trip, [s.json["id"] for s in seats]


def booked(api: Any, community: str, owner: str = "bob", booker: str = "alice") -> str:
    """Two hours of `owner`'s shared car, booked by `booker`."""
    car = listing(api, community, owner, category="pooled.vehicle", title="Shared car", price=4)
    start = soon()
    slot = {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat()}
    response = api.post(f"/listings/{car}/bookings", slot, as_=booker)
    assert response.status_code == 201, response.body
    return response.json["id"]


def returned_loan(api: Any, community: str, monkeypatch: pytest.MonkeyPatch | None = None) -> str:
    xid = lent(api, community)
    assert act(api, xid, "bob", "confirm_return")["state"] == "completed"
    return xid


def loan_with_damage_accepted(api: Any, community: str, monkeypatch: pytest.MonkeyPatch) -> str:
    xid = lent(api, community)
    act(api, xid, "bob", "claim_damage", amount=10)
    assert act(api, xid, "alice", "accept_claim")["state"] == "completed"
    return xid


def seat_after_the_event(api: Any, community: str, monkeypatch: pytest.MonkeyPatch) -> str:
    trip, (seat,) = seated(api, community, "alice")
    later(monkeypatch, timedelta(hours=2))
    done = api.post(f"/listings/{trip}/done", as_="bob")
    assert [(e["id"], e["state"]) for e in done.json] == [(seat, "completed")], done.body
    return seat


def booking_after_use(api: Any, community: str, monkeypatch: pytest.MonkeyPatch) -> str:
    xid = booked(api, community)
    later(monkeypatch, timedelta(hours=5))
    assert act(api, xid, "bob", "confirm")["state"] == "completed"
    return xid


def trade_on_a_request(api: Any, community: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """alice asks for garden help and pays; bob answers and gives it."""
    ask = listing(api, community, "alice", kind="request", category="services.gardening", title="Help!", price=20)
    xid = api.post(f"/listings/{ask}/exchanges", {}, as_="bob").json["id"]
    act(api, xid, "alice", "accept")
    act(api, xid, "bob", "confirm")
    assert act(api, xid, "alice", "confirm")["state"] == "completed"
    return xid


def gift(api: Any, community: str, monkeypatch: pytest.MonkeyPatch) -> str:
    given = listing(api, community, "bob", mode="gift", title="Old ladder")
    xid = api.post(f"/listings/{given}/exchanges", {}, as_="alice").json["id"]
    act(api, xid, "bob", "accept")
    act(api, xid, "alice", "confirm")
    assert act(api, xid, "bob", "confirm")["state"] == "completed"
    return xid


def reputation_roles(api: Any, member: str) -> tuple[int, int]:
    """(reviews as provider, reviews as receiver)"""
    found = api.get(f"/members/{member}/reputation", as_="carol").json
    assert found["overall"]["count"] == found["as_provider"]["count"] + found["as_receiver"]["count"]
    return found["as_provider"]["count"], found["as_receiver"]["count"]


@pytest.mark.parametrize(
    ("completed", "exchange_type"),
    [
        (returned_loan, "loan"),
        (loan_with_damage_accepted, "loan"),
        (seat_after_the_event, "share"),
        (booking_after_use, "booking"),
        (trade_on_a_request, "trade"),
        (gift, "trade"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_every_completed_exchange_is_reviewed_by_who_gave_and_who_got(
    api, community, monkeypatch, completed, exchange_type
):
    xid = completed(api, community, monkeypatch)
    pending = {who: api.get("/me/reviews/pending", as_=who).json for who in ("alice", "bob", "carol")}
    assert [(p["exchange_id"], p["exchange_type"], p["your_role"]) for p in pending["bob"]] == [
        (xid, exchange_type, "provider")
    ]
    assert [(p["exchange_id"], p["your_role"], p["other_member_id"]) for p in pending["alice"]] == [
        (xid, "receiver", "bob")
    ]
    assert pending["carol"] == []

    sealed = review(api, xid, "alice", 5, kind_words=["generous"])
    assert (sealed.status_code, sealed.json["subject_id"], sealed.json["subject_role"]) == (200, "bob", "provider")
    both = review(api, xid, "bob", 4, kind_words=["careful"])
    assert (both.json["state"], both.json["subject_id"], both.json["subject_role"]) == (
        "published",
        "alice",
        "receiver",
    )
    assert both.json["after_dispute"] is False
    assert reputation_roles(api, "bob") == (1, 0)
    assert reputation_roles(api, "alice") == (0, 1)
    assert api.get("/members/alice/reputation", as_="carol").json["as_receiver"]["kind_words"] == {"careful": 1}
    assert_problem(review(api, xid, "carol", 5), 404)


def test_a_seat_is_reviewed_by_its_participant_and_the_organiser_only(api, monkeypatch):
    community = setup_community(api, "alice", "bob", "carol", "dave")
    trip, (alices, carols) = seated(api, community, "alice", "carol")
    later(monkeypatch, timedelta(hours=2))
    assert api.post(f"/listings/{trip}/done", as_="bob").status_code == 200
    assert_problem(review(api, alices, "carol", 1, comment="Snored"), 404)
    assert_problem(api.get(f"/exchanges/{alices}/reviews", as_="carol"), 404)
    assert_problem(review(api, carols, "alice", 1), 404)
    assert_problem(review(api, alices, "dave", 1), 404)
    assert review(api, alices, "alice", 5, comment="Smooth ride").json["subject_role"] == "provider"
    assert review(api, alices, "bob", 4).json["state"] == "published"
    assert review(api, carols, "bob", 3).json["subject_id"] == "carol"
    assert [r["author_id"] for r in api.get("/members/bob/reviews", as_="dave").json["items"]] == ["alice"]
    assert reputation_roles(api, "bob") == (1, 0) and reputation_roles(api, "alice") == (0, 1)
    assert reputation_roles(api, "carol") == (0, 0)  # bob's review of carol stays sealed until carol's is in


def disputed_trade(api: Any, community: str) -> str:
    xid = trade(api, community, complete=False)
    act(api, xid, "alice", "dispute")
    return xid


def disputed_damage_claim(api: Any, community: str) -> str:
    xid = lent(api, community)
    act(api, xid, "bob", "claim_damage", amount=40)
    act(api, xid, "alice", "dispute")
    return xid


@pytest.mark.parametrize("disputed", [disputed_trade, disputed_damage_claim], ids=lambda f: f.__name__)
def test_an_exchange_resolved_after_a_dispute_is_reviewed_and_marked_so(api, community, disputed):
    xid = disputed(api, community)
    assert_problem(review(api, xid, "alice", 1), 409, "exchange-not-completed")
    body = {"payee_share": 10, "reason": "Half of it"}
    resolved = api.post(f"/operator/exchanges/{xid}/resolve", body, as_="op", groups=OPERATOR)
    assert resolved.json["state"] == "resolved", resolved.body
    assert api.get("/me/reviews/pending", as_="alice").json[0]["after_dispute"] is True

    first = review(api, xid, "alice", 2, comment="Not what we agreed")
    assert (first.json["state"], first.json["after_dispute"]) == ("sealed", True), first.body
    second = review(api, xid, "bob", 2, comment="Difficult")
    assert (second.json["state"], second.json["after_dispute"]) == ("published", True), second.body
    seen = api.get(f"/exchanges/{xid}/reviews", as_="bob").json
    assert seen["after_dispute"] is True
    assert {(r["author_id"], r["subject_role"], r["after_dispute"]) for r in seen["reviews"]} == {
        ("alice", "provider", True),
        ("bob", "receiver", True),
    }
    assert [r["after_dispute"] for r in api.get("/members/bob/reviews", as_="carol").json["items"]] == [True]
    assert reputation_roles(api, "bob") == (1, 0) and reputation_roles(api, "alice") == (0, 1)
    assert_problem(review(api, xid, "carol", 5), 404)


def test_an_exchange_in_progress_is_not_reviewed_yet(api, community):
    loan = lent(api, community)
    _, (seat,) = seated(api, community, "alice")
    booking = booked(api, community)
    for xid in (trade(api, community, complete=False), loan, seat, booking):
        assert_problem(review(api, xid, "alice", 5), 409, "exchange-not-completed")
        assert_problem(review(api, xid, "bob", 5), 409, "exchange-not-completed")
        assert_problem(api.get(f"/exchanges/{xid}/reviews", as_="alice"), 409, "exchange-not-completed")
        assert_problem(review(api, xid, "carol", 5), 404)
    assert api.get("/me/reviews/pending", as_="alice").json == []
    assert reputation_roles(api, "bob") == (0, 0)


def test_a_declined_or_cancelled_exchange_is_never_reviewed(api, community):
    garden = listing(api, community, "bob", category="services.gardening", title="Garden help", price=30)
    declined = api.post(f"/listings/{garden}/exchanges", {}, as_="alice").json["id"]
    act(api, declined, "bob", "decline")
    withdrawn = api.post(f"/listings/{garden}/exchanges", {}, as_="alice").json["id"]
    act(api, withdrawn, "alice", "cancel")
    _, (seat,) = seated(api, community, "alice")
    act(api, seat, "alice", "cancel")
    booking = booked(api, community)
    act(api, booking, "alice", "cancel")
    for xid, state in ((declined, "declined"), (withdrawn, "cancelled"), (seat, "cancelled"), (booking, "cancelled")):
        for who in ("alice", "bob"):
            problem = assert_problem(review(api, xid, who, 5), 409, "exchange-not-completed")
            assert problem["state"] == state, problem
        assert_problem(review(api, xid, "carol", 5), 404)
    assert api.get("/me/reviews/pending", as_="bob").json == []


def test_a_published_review_cannot_be_submitted_again(api, community):
    xid = returned_loan(api, community)
    review(api, xid, "alice", 5)
    review(api, xid, "bob", 5)
    for who in ("alice", "bob"):
        assert_problem(review(api, xid, who, 1, comment="Changed my mind"), 409, "review-published")
    assert api.get("/members/bob/reputation", as_="carol").json["overall"]["average"] == 5.0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"rating": 0}, "rating"),
        ({"rating": 6}, "rating"),
        ({"rating": 5, "comment": "x" * 1001}, "comment"),
        ({"rating": 5, "kind_words": ["rude"]}, "kind_words"),
        ({"rating": 5, "private_note": "x" * 501}, "private_note"),
    ],
    ids=["rating-0", "rating-6", "comment-too-long", "unknown-kind-word", "note-too-long"],
)
def test_an_invalid_review_is_a_422_and_nothing_is_written(api, community, fields, field):
    xid = trade(api, community)
    problem = assert_problem(api.put(f"/exchanges/{xid}/review", fields, as_="alice"), 422)
    assert field in {error["field"] for error in problem["errors"]}, problem
    assert api.get(f"/exchanges/{xid}/reviews", as_="alice").json["reviews"] == []
    assert api.get("/me/reviews/pending", as_="alice").json[0]["exchange_id"] == xid


def test_a_third_member_never_sees_a_sealed_review_nor_a_private_note(api, community):
    xid = returned_loan(api, community)
    secret = "Key code is 4321"
    review(api, xid, "alice", 5, comment="Great drill", private_note=secret)
    for path in (f"/exchanges/{xid}/reviews", "/members/bob/reviews", "/members/alice/reviews"):
        shown = api.get(path, as_="carol")
        assert "Great drill" not in shown.body.decode() and secret not in shown.body.decode(), (path, shown.body)
    assert_problem(api.get(f"/exchanges/{xid}/reviews", as_="carol"), 404)
    assert api.get("/members/bob/reviews", as_="carol").json["items"] == []

    review(api, xid, "bob", 4, comment="Returned clean", private_note="Thanks for the oil")
    assert_problem(api.get(f"/exchanges/{xid}/reviews", as_="carol"), 404)
    public = api.get("/members/bob/reviews", as_="carol")
    assert [r["comment"] for r in public.json["items"]] == ["Great drill"]
    assert secret not in public.body.decode() and "private_note" not in public.json["items"][0]
    theirs = api.get("/members/alice/reviews", as_="carol")
    assert "Thanks for the oil" not in theirs.body.decode() and theirs.json["items"][0]["comment"] == "Returned clean"
    # ... while the reviewed member reads the note addressed to them.
    notes = {r["author_id"]: r["private_note"] for r in api.get(f"/exchanges/{xid}/reviews", as_="bob").json["reviews"]}
    assert notes == {"alice": secret, "bob": "Thanks for the oil"}


def test_a_seat_or_a_loan_the_scheduler_completes_is_reviewed_too(api, community, monkeypatch):
    _, (seat,) = seated(api, community, "alice")
    loan = lent(api, community)  # never returned: settled past its grace
    later(monkeypatch, timedelta(days=40))
    assert exchanges.run_deadlines() == 2
    for xid in (seat, loan):
        assert review(api, xid, "alice", 3).json["subject_role"] == "provider"
        assert review(api, xid, "bob", 3).json["state"] == "published"
    assert reputation_roles(api, "bob") == (2, 0) and reputation_roles(api, "alice") == (0, 2)
