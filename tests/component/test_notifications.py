"""The notifications inbox over HTTP: what a trade and its messages tell each side once the table's stream
reaches the handler, pages, marking read (one, everything up to a time), preferences; a ballot's result
told to everyone on its roll."""

from __future__ import annotations

from typing import Any

import pytest

import app
from chalicelib.adapters.dynamodb import governance_repository
from chalicelib.domain.notifications import Kind
from chalicelib.services import notifications
from tests import books
from tests.component import support
from tests.component import test_governance_flow as governance
from tests.component.support import assert_problem
from tests.component.test_listings_exchanges import Scene
from tests.integration.test_notifications import emitted
from tools.jobs import LambdaContext

shared_api = support.shared_api
mint = support.mint
cooperative = governance.cooperative  # its members and colleges, on this module's table (`api` below)


@pytest.fixture
def api(shared_api) -> Any:
    return shared_api


@pytest.fixture
def scene(shared_api) -> Scene:
    return Scene(shared_api)


def inbox(api: Any, member_id: str, query: str = "") -> dict:
    response = api.get(f"/me/notifications{query}", as_=member_id)
    assert response.status_code == 200, response.body
    return response.json


def kinds(found: dict) -> list[str]:
    return [item["kind"] for item in found["items"]]


def test_a_trade_and_its_messages_notify_each_side_once(scene):
    olga, pete = scene.member("olga", 0), scene.member("pete")
    listing_id = scene.listing(olga, price=30)["id"]
    exchange_id = scene.propose(pete, listing_id, message="Saturday?")["id"]
    scene.act(olga, exchange_id, "accept")
    conversation = f"exchange-{exchange_id}"
    for body in ("Is 10 ok?", "Or 11?"):
        assert scene.api.post(f"/conversations/{conversation}/messages", {"body": body}, as_=pete).status_code == 201
    books.feed_stream()
    books.feed_stream()  # nothing new: nothing more

    owner = inbox(scene.api, olga)
    assert kinds(owner) == ["message", "exchange_proposed"]
    message = owner["items"][0]
    assert (message["about"], message["params"]["count"], message["read"]) == (conversation, 3, False)
    assert message["text"] == "Unread messages in a conversation: 3."
    assert owner["unread"] == 2
    assert kinds(inbox(scene.api, pete)) == ["exchange_accepted", "credits_received"]

    scene.act(pete, exchange_id, "confirm")
    scene.act(olga, exchange_id, "confirm")
    books.feed_stream()
    assert kinds(inbox(scene.api, olga))[:2] == ["exchange_completed", "exchange_confirmed"]
    completed = inbox(scene.api, pete)["items"][0]
    assert (completed["kind"], completed["params"], completed["about"]) == (
        "exchange_completed",
        {"type": "trade", "credits": 30},
        exchange_id,
    )


def test_pages_marking_read_and_preferences(scene):
    olga, pete = scene.member("olga", 0), scene.member("pete")
    listing_id = scene.listing(olga, price=5)["id"]
    for _ in range(3):
        scene.propose(pete, listing_id)
    books.feed_stream()

    first = inbox(scene.api, olga, "?limit=2")
    second = inbox(scene.api, olga, f"?limit=2&cursor={first['next_cursor']}")
    assert len(first["items"]) == 2 and len(second["items"]) == 1 and second["next_cursor"] is None
    assert first["unread"] == second["unread"] == 3
    newest, oldest = first["items"][0], second["items"][0]
    assert_problem(inbox_response(scene.api, pete, f"?cursor={first['next_cursor']}"), 400, "invalid-cursor")

    assert scene.api.post(f"/me/notifications/{oldest['id']}/read", as_=olga).status_code == 204
    assert scene.api.post(f"/me/notifications/{oldest['id']}/read", as_=olga).status_code == 204  # again: the same
    assert_problem(scene.api.post(f"/me/notifications/{oldest['id']}/read", as_=pete), 404, "not-found")
    assert_problem(scene.api.post("/me/notifications/bm90LWFuLWlk/read", as_=olga), 404, "not-found")
    assert inbox(scene.api, olga)["unread"] == 2
    until = {"until": first["items"][1]["at"]}
    assert scene.api.post("/me/notifications/read", until, as_=olga).status_code == 204
    found = inbox(scene.api, olga)
    assert (found["unread"], [item["read"] for item in found["items"]]) == (1, [False, True, True])
    assert newest["id"] == found["items"][0]["id"]
    earlier = {"until": oldest["at"]}
    assert scene.api.post("/me/notifications/read", earlier, as_=olga).status_code == 204  # the mark never goes back
    assert inbox(scene.api, olga)["unread"] == 1
    assert scene.api.post("/me/notifications/read", {"until": "2026-01-01"}, as_=olga).status_code == 422

    assert scene.api.get("/me/notification-preferences", as_=olga).json == {"off": []}
    chosen = scene.api.put("/me/notification-preferences", {"off": ["exchange_proposed", "message"]}, as_=olga)
    assert chosen.status_code == 200 and chosen.json == {"off": ["exchange_proposed", "message"]}
    refused = scene.api.put("/me/notification-preferences", {"off": ["everything"]}, as_=olga)
    assert refused.status_code == 422
    scene.propose(pete, listing_id)
    books.feed_stream()
    assert inbox(scene.api, olga)["unread"] == 1, "turned off: not stored"
    assert scene.api.put("/me/notification-preferences", {}, as_=olga).json == {"off": []}


def inbox_response(api: Any, member_id: str, query: str) -> Any:
    return api.get(f"/me/notifications{query}", as_=member_id)


def results_told(member_id: str) -> list[dict[str, str | int]]:
    found = notifications.page(member_id, None, 100).items
    return [stored.params for stored, _ in found if stored.kind is Kind.BALLOT_RESULT]


def test_a_ballot_result_tells_everyone_on_the_roll_once(api, cooperative, capsys, caplog):
    assert api.put("/me/notification-preferences", {"off": ["ballot_result"]}, as_="fay").status_code == 200
    ballot_id = governance.schedule(api)
    governance.open_now(ballot_id)
    for who, choice in [("ann", "yes"), ("dan", "yes"), ("fay", "no")]:
        assert governance.vote(api, ballot_id, who, choice).status_code == 200
    books.feed_stream()  # the roll: each one's ballot_opened
    result = governance.close_now(ballot_id)
    assert result is not None and result.adopted is True

    events = books._reader().batches()  # the close's records, the result's INSERT among them
    for _ in range(2):  # Lambda delivers a batch at least once
        for event in events:
            app.table_changes(event, LambdaContext(aws_request_id="r"))
    told = {member: results_told(member) for member in governance.PLACES}
    adopted = {"withheld": "no", "adopted": "yes"}
    assert told == {"ann": [adopted], "ben": [adopted], "cat": [adopted], "dan": [adopted], "eve": [adopted], "fay": []}
    (stored,) = [item for item, _ in notifications.page("ben", None, 100).items if item.kind is Kind.BALLOT_RESULT]
    assert (stored.ref, stored.at) == (ballot_id, result.closed_at)
    capsys.readouterr()

    def unreadable(ballot_id: str) -> list[str]:
        raise RuntimeError("throttled")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(governance_repository, "roll_members", unreadable)
        for event in events:
            app.table_changes(event, LambdaContext(aws_request_id="r"))  # never raises
    assert emitted(capsys.readouterr().out) == {"NotificationsFailed": [1.0]}, "counted once for the ballot"
    (logged,) = [record for record in caplog.records if record.getMessage() == "ballot results not told"]
    assert (logged.ballot_id, logged.error) == (ballot_id, "RuntimeError")  # type: ignore[attr-defined]
    assert results_told("ann") == [adopted], "what was told stays"
