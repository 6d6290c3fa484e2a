"""Governance over HTTP: colleges, cooperators, a ballot's life from schedule to binding result, votes
in person and by proxy, secret ballots with receipts, and what the result publishes."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest

from chalicelib import clock
from chalicelib.services import ballots, governance
from tests.component.support import assert_problem
from tests.conftest import OPERATOR

COLLEGES = [
    {"college_id": "users", "name": "Users", "weight": 50},
    {"college_id": "pros", "name": "Local professionals", "weight": 30},
    {"college_id": "staff", "name": "Staff", "weight": 20},
]
PLACES = {"ann": "users", "ben": "users", "cat": "users", "dan": "pros", "eve": "pros", "fay": "staff"}


def operator(api: Any, method: str, path: str, body: Any = None) -> Any:
    return getattr(api, method)(path, body, as_="op", groups=OPERATOR)


@pytest.fixture
def cooperative(api: Any) -> None:
    answer = operator(api, "put", "/operator/governance/colleges", {"colleges": COLLEGES, "reason": "statutes"})
    assert answer.status_code == 200, answer.body
    for member, college in PLACES.items():
        assert api.get("/me", as_=member).status_code == 200  # the member exists
        placed = operator(api, "put", f"/operator/cooperators/{member}", {"college_id": college, "reason": "general assembly"})
        assert (placed.status_code, placed.json["status"]) == (200, "active"), placed.body


def schedule(api: Any, **fields: Any) -> str:
    now = clock.now()
    body = {
        "title": "Lengthen the review window",
        "description": "Three weeks instead of two.",
        "kind": "yes_no",
        "opens_at": clock.iso(now + timedelta(seconds=1)),
        "closes_at": clock.iso(now + timedelta(hours=1)),
        "reason": "board decision",
        **fields,
    }
    answer = operator(api, "post", "/operator/ballots", body)
    assert answer.status_code == 201, answer.body
    return str(answer.json["ballot_id"])


def open_now(ballot_id: str) -> None:
    ballots.open_ballot(ballots.get(ballot_id))


def close_now(ballot_id: str) -> Any:
    later = clock.iso(clock.parse(ballots.get(ballot_id).closes_at) + timedelta(minutes=5))
    return ballots.close(ballot_id, later)


def vote(api: Any, ballot_id: str, who: str, *options: str, **extra: Any) -> Any:
    return api.put(f"/ballots/{ballot_id}/vote", {"options": list(options), **extra}, as_=who)


def test_colleges_are_validated_with_configured_bounds(api):
    bad = [{"college_id": "a", "name": "A", "weight": 60}, {"college_id": "b", "name": "B", "weight": 40}]
    assert_problem(operator(api, "put", "/operator/governance/colleges", {"colleges": bad, "reason": "try"}), 422)
    assert_problem(api.put("/operator/governance/colleges", {"colleges": COLLEGES, "reason": "x"}, as_="ann"), 403)


def test_a_yes_no_ballot_binds_a_parameter_once(api, cooperative, monkeypatch):
    ballot_id = schedule(api, decision={"parameter": "review_window_days", "value": 21}, quorum_percent=50)
    assert_problem(vote(api, ballot_id, "ann", "yes"), 409, "ballot-not-open")
    open_now(ballot_id)
    opened = api.get(f"/ballots/{ballot_id}", as_="ann").json
    assert (opened["state"], opened["eligible"]) == ("open", {"users": 3, "pros": 2, "staff": 1})
    for who, choice in [("ann", "yes"), ("ben", "no"), ("dan", "yes"), ("eve", "yes"), ("fay", "no")]:
        assert vote(api, ballot_id, who, choice).status_code == 200
    changed = vote(api, ballot_id, "ben", "yes")  # a named vote changes; the last counts
    assert changed.json["choice"]["options"] == ["yes"]
    assert_problem(vote(api, ballot_id, "zed", "yes"), 403)
    assert_problem(vote(api, ballot_id, "ann", "maybe"), 422)
    participation = api.get(f"/ballots/{ballot_id}/participation", as_="cat").json
    assert participation["voted"] == {"users": 2, "pros": 2, "staff": 1}
    assert_problem(api.get(f"/ballots/{ballot_id}/result", as_="cat"), 409, "ballot-not-closed")

    result = close_now(ballot_id)
    assert result is not None and result.adopted is True
    assert close_now(ballot_id) is None  # a second close changes nothing
    shown = api.get(f"/ballots/{ballot_id}/result", as_="cat").json
    # users: 2 yes / 2 expressed; pros 2/2; staff 0/1: 50 + 30 + 0 = 80 %
    assert shown["weighted"]["yes"] == pytest.approx(0.8)
    assert shown["applied"] == ["review_window_days = 21"]
    governance.reset()
    assert api.get("/governance/parameters", as_="cat").json["review_window_days"] == 21
    assert_problem(vote(api, ballot_id, "cat", "yes"), 409, "ballot-not-open")


def test_a_secret_ballot_keeps_no_choice_on_the_roll_and_publishes_receipts(api, cooperative):
    options = [{"option_id": "garden", "label": "Shared garden"}, {"option_id": "tools", "label": "Tool library"}]
    ballot_id = schedule(api, kind="single", options=options, secret=True, min_secret_voters=2)
    open_now(ballot_id)
    first = vote(api, ballot_id, "ann", "garden").json
    assert first["choice"] is None and first["receipt"]
    assert_problem(vote(api, ballot_id, "ann", "tools"), 409, "already-voted")
    vote(api, ballot_id, "dan", "tools")
    vote(api, ballot_id, "fay", "garden")
    assert api.get(f"/ballots/{ballot_id}/vote", as_="ann").json["voted"] is True
    close_now(ballot_id)
    receipts = api.get(f"/ballots/{ballot_id}/receipts", as_="ben").json["items"]
    assert len(receipts) == 3 and all("member_id" not in r for r in receipts)
    mine = hashlib.sha256(first["receipt"].encode()).hexdigest()
    assert api.get(f"/ballots/{ballot_id}/receipts/{mine}", as_="ann").json["choice"]["options"] == ["garden"]
    result = api.get(f"/ballots/{ballot_id}/result", as_="ben").json
    assert result["winners"] == ["garden"] and result["withheld"] is False


def test_a_proxy_votes_for_its_principal_until_the_principal_votes(api, cooperative):
    assert_problem(api.post("/me/proxies", {"holder_id": "dan"}, as_="ann"), 409, "proxy-other-college")
    given = api.post("/me/proxies", {"holder_id": "ben"}, as_="ann")
    assert given.status_code == 201, given.body
    ballot_id = schedule(api)
    open_now(ballot_id)
    by_proxy = vote(api, ballot_id, "ben", "no", on_behalf_of="ann")
    assert (by_proxy.status_code, by_proxy.json["voted_by"]) == (200, "ben"), by_proxy.body
    assert_problem(vote(api, ballot_id, "cat", "no", on_behalf_of="ann"), 403)
    in_person = vote(api, ballot_id, "ann", "yes")
    assert in_person.json["voted_by"] is None
    assert_problem(vote(api, ballot_id, "ben", "no", on_behalf_of="ann"), 409, "voted-in-person")
    assert api.get(f"/ballots/{ballot_id}/participation", as_="ann").json["voted"] == {"users": 1}
    assert api.delete("/me/proxies", as_="ann").status_code == 204
    assert api.get("/me/proxies", as_="ben").json["held"] == []


def test_an_election_makes_spokespeople(api, cooperative):
    ballot_id = schedule(api, kind="election", seats=1, decision={"term_days": 365})
    assert api.post(f"/ballots/{ballot_id}/candidacies", as_="cat").status_code == 200
    assert api.post(f"/ballots/{ballot_id}/candidacies", as_="eve").status_code == 200
    open_now(ballot_id)
    assert_problem(api.post(f"/ballots/{ballot_id}/candidacies", as_="ann"), 409, "ballot-not-scheduled")
    vote(api, ballot_id, "ann", "cat")
    vote(api, ballot_id, "dan", "eve")
    vote(api, ballot_id, "eve", "eve")
    result = close_now(ballot_id)
    # one vote against two, but users weigh 50 % and professionals 30 % (staff did not vote: excluded)
    assert result is not None and result.winners == ("cat",)
    assert result.weighted == {"cat": pytest.approx(50 / 80), "eve": pytest.approx(30 / 80)}
    assert [s["member_id"] for s in api.get("/governance/spokespeople", as_="ann").json] == ["cat"]
