"""Governance over HTTP: colleges, cooperators, a ballot's life from schedule to binding result, votes
in person and by proxy, secret ballots with receipts, and what the result publishes."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest

from chalicelib import clock
from chalicelib.services import ballots, governance
from tests import books
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
        placed = operator(
            api, "put", f"/operator/cooperators/{member}", {"college_id": college, "reason": "general assembly"}
        )
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


def test_a_proxy_votes_for_its_principal_until_the_principal_votes(api, cooperative, caplog):
    assert_problem(api.post("/me/proxies", {"holder_id": "dan"}, as_="ann"), 409, "proxy-other-college")
    given = api.post("/me/proxies", {"holder_id": "ben"}, as_="ann")
    assert given.status_code == 201, given.body
    ballot_id = schedule(api)
    open_now(ballot_id)
    by_proxy = vote(api, ballot_id, "ben", "no", on_behalf_of="ann")
    assert (by_proxy.status_code, by_proxy.json["voted_by"]) == (200, "ben"), by_proxy.body
    logged = [r for r in caplog.records if r.getMessage() == "vote cast"]
    assert [(r.member_id, r.proxy_holder) for r in logged] == [("ann", "ben")]  # type: ignore[attr-defined]
    assert not any(hasattr(r, "choice") or hasattr(r, "options") for r in logged)
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


def test_a_proposal_collects_supports_is_discussed_and_becomes_a_ballot(api, cooperative, monkeypatch):
    monkeypatch.setenv("PWIIC_PROPOSAL_SUPPORTS", "2")
    from chalicelib import config

    config.reset()
    governance.reset()
    assert_problem(api.post("/proposals", {"title": "A repair café", "description": "Monthly."}, as_="zed"), 403)
    proposal = api.post("/proposals", {"title": "A repair café", "description": "Monthly."}, as_="ann").json
    pid = proposal["proposal_id"]
    assert (proposal["needed"], proposal["state"]) == (2, "collecting")
    said = api.post(f"/proposals/{pid}/messages", {"body": "Where would it be held?"}, as_="dan")
    assert said.status_code == 201, said.body
    assert [m["body"] for m in api.get(f"/proposals/{pid}/messages", as_="zed").json["items"]] == [
        "Where would it be held?"
    ]
    assert api.post(f"/proposals/{pid}/supports", as_="ben").json["supports"] == 1
    assert_problem(api.post(f"/proposals/{pid}/supports", as_="ben"), 409, "already-supported")
    assert api.post(f"/proposals/{pid}/supports", as_="cat").json["state"] == "qualified"
    assert_problem(api.post(f"/proposals/{pid}/supports", as_="dan"), 409, "proposal-closed")
    ballot_id = schedule(api, title="A repair café", proposal_id=pid)
    shown = api.get(f"/proposals/{pid}", as_="ann").json
    assert (shown["state"], shown["ballot_id"]) == ("scheduled", ballot_id)


def test_a_budget_funds_the_winning_projects_from_the_pool_and_their_spending_is_public(api, cooperative):
    operator(api, "post", "/operator/rewards-pool/fundings", {"amount": 8_000, "note": "budget"})
    projects = [
        {"option_id": "compost", "label": "Shared compost", "cost": 3_000},
        {"option_id": "seeds", "label": "Seed library", "cost": 2_500},
        {"option_id": "bikes", "label": "Bike workshop", "cost": 2_000},
    ]
    ballot_id = schedule(
        api, kind="budget", options=projects, budget=5_000, decision={"funding_account": "platform:rewards"}
    )
    open_now(ballot_id)
    for who, picked in [("ann", ["compost", "bikes"]), ("ben", ["compost"]), ("dan", ["seeds", "bikes"])]:
        assert vote(api, ballot_id, who, *picked).status_code == 200
    assert_problem(vote(api, ballot_id, "cat", "compost", "seeds"), 422)  # 5 500 > 5 000
    result = close_now(ballot_id)
    # users: compost 2/2, bikes 1/2; pros: seeds 1/1, bikes 1/1 -> compost 50/80, bikes 55/80, seeds 30/80
    assert result is not None and result.winners == ("bikes", "compost")  # seeds no longer fits
    account = f"earmark:{ballot_id}:compost"
    assert api.get(f"/governance/earmarks/{account}", as_="zed").json["posted"] == 3_000
    paid = operator(
        api, "post", f"/operator/earmarks/{account}/payments", {"member_id": "ann", "amount": 500, "note": "bins"}
    )
    assert paid.status_code == 201, paid.body
    entries = api.get(f"/governance/earmarks/{account}/entries", as_="zed").json["items"]
    assert entries[0]["amount"] == -500  # newest first
    assert sum(e["amount"] for e in entries[1:]) == 3_000  # paid by the pool's shards that held the credits
    assert_problem(api.get("/governance/earmarks/member:ann", as_="zed"), 404)
    books.assert_reconciled()
