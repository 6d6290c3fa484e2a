"""A member's export holds everything the platform keeps about them — checked against a member who used
every feature — and splits into parts that together are the whole export."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from chalicelib import clock
from chalicelib.api.export import LISTS, SINGLES
from chalicelib.domain import notifications as rules
from chalicelib.services import notifications
from tests.component import support
from tests.component.support import assert_problem
from tests.component.test_governance_flow import cooperative, open_now, schedule, vote  # noqa: F401
from tests.component.test_missions_flow import post as post_mission
from tests.component.test_reviews_flow import review, setup_community, trade
from tests.component.test_stripe_webhooks import seed_purchase
from tests.conftest import OPERATOR

commits = support.commits


def export(api: Any, who: str = "ann", part: int = 1) -> dict[str, Any]:
    answer = api.get(f"/me/export?part={part}", as_=who)
    assert answer.status_code == 200, answer.body
    return dict(answer.json)


def every_page(api: Any, path: str, who: str = "ann") -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = api.get(f"{path}{'&' if '?' in path else '?'}limit=100{cursor}", as_=who).json
        items += page["items"]
        if not page.get("next_cursor"):
            return items
        cursor = f"&cursor={page['next_cursor']}"


@pytest.fixture
def active_member(api: Any, cooperative: None) -> str:  # noqa: F811
    """ann has used every feature: joined, published, bought and sold, written, reviewed and been
    reviewed, given and held a proxy, voted on a named ballot, claimed a mission, bought credits, was
    notified and chose which notifications to get."""
    community = setup_community(api, "ann", "ben", "cat")
    bought = trade(api, community, owner="ben", buyer="ann")
    trade(api, community, owner="ann", buyer="ben", complete=False)
    assert review(api, bought, "ann", 5, comment="Great hedge", private_note="for the team").status_code == 200
    assert review(api, bought, "ben", 4, comment="Paid on time").json["state"] == "published"
    assert api.post("/me/proxies", {"holder_id": "ben"}, as_="ann").status_code == 201
    assert api.post("/me/proxies", {"holder_id": "ann"}, as_="cat").status_code == 201
    ballot_id = schedule(api)
    open_now(ballot_id)
    assert vote(api, ballot_id, "ann", "yes").status_code == 200
    mission = post_mission(api, community, as_="op", groups=OPERATOR)
    assert mission.status_code == 201, mission.body
    assert api.post(f"/missions/{mission.json['mission_id']}/claims", as_="ann").status_code == 201
    seed_purchase(api, "ann")
    # A reminder stored as the reminders job stores it (the stream's notifications need the stream).
    assert notifications.deliver(rules.ballot_reminders(ballot_id, clock.now_iso(), ["ann"])) == 0
    off = {"off": ["credits_received"]}
    assert api.put("/me/notification-preferences", off, as_="ann").status_code == 200
    return community


def test_the_export_holds_everything_about_a_member_who_used_every_feature(api, active_member):
    found = export(api)
    assert (found["member_id"], found["part"], found["parts"]) == ("ann", 1, 1)
    data = found["data"]
    empty = [name for name in (*SINGLES, *LISTS) if not data[name]]
    assert empty == [], f"sections the export left empty: {empty}"

    assert data["profile"] == api.get("/me", as_="ann").json
    assert data["wallet"] == api.get("/me/wallet", as_="ann").json
    assert data["statement"] == every_page(api, "/me/wallet/entries")
    assert data["purchases"] == every_page(api, "/me/purchases")
    assert data["mission_claims"] == every_page(api, "/me/missions")
    mine = every_page(api, "/me/exchanges?role=proposer") + every_page(api, "/me/exchanges?role=owner")
    assert data["exchanges"] == mine and len(mine) == 2
    browsed = [{**listing, "owner_reviews": None} for listing in every_page(api, "/listings?owner=ann")]
    assert data["listings"] == browsed and len(browsed) == 1  # without the owner's reputation summary
    assert data["conversations"] == every_page(api, "/me/conversations")
    assert {m["message"]["body"] for m in data["messages"]} >= {"Saturday?"}
    assert [(r["author_id"], r["private_note"]) for r in data["reviews_written"]] == [("ann", "for the team")]
    assert [(r["author_id"], r["comment"]) for r in data["reviews_received"]] == [("ben", "Paid on time")]
    proxies = api.get("/me/proxies", as_="ann").json
    assert (data["proxies_given"], data["proxies_held"]) == (proxies["given"], proxies["held"])
    assert [(v["voted"], v["choice"]["options"]) for v in data["votes"]] == [(True, ["yes"])]
    assert data["cooperator"] == api.get("/me/cooperator", as_="ann").json
    assert data["memberships"][0]["member_id"] == "ann"
    assert data["notifications"] == every_page(api, "/me/notifications") and len(data["notifications"]) == 1
    assert data["notification_preferences"] == api.get("/me/notification-preferences", as_="ann").json


def test_the_export_reads_without_writing_and_shows_no_one_else(api, active_member, commits):
    before = len(commits)
    ben = export(api, "ben")["data"]
    assert len(commits) == before  # nothing marked read, nothing created
    assert {listing["owner_id"] for listing in ben["listings"]} == {"ben"}
    assert [r["author_id"] for r in ben["reviews_written"]] == ["ben"]
    assert ben["purchases"] == [] and ben["mission_claims"] == []


def test_a_large_export_comes_in_parts_that_together_are_the_whole(api, active_member, monkeypatch):
    whole = export(api)["data"]
    monkeypatch.setenv("PWIIC_EXPORT_PART_BYTES", "1500")
    from chalicelib import config

    config.reset()
    first = export(api)
    assert first["parts"] > 2
    parts = [first["data"]] + [export(api, part=n)["data"] for n in range(2, first["parts"] + 1)]
    assert {name: parts[0][name] for name in SINGLES} == {name: whole[name] for name in SINGLES}
    assert all(part[name] is None for part in parts[1:] for name in SINGLES)
    for name in LISTS:
        assert [record for part in parts for record in part[name]] == whole[name], name
    for part in parts:
        records = [msgspec.json.encode(record) for name in LISTS for record in part[name]]
        assert len(records) == 1 or sum(len(r) + 1 for r in records) <= 1500
    assert_problem(api.get(f"/me/export?part={first['parts'] + 1}", as_="ann"), 404)


def test_the_part_must_be_a_positive_number(api):
    for bad in ("0", "-1", "two", "99999"):
        assert_problem(api.get(f"/me/export?part={bad}", as_="ann"), 422)
