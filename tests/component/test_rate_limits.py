"""Per-member rate limits over HTTP, with the `reports` limit lowered to 3 an hour: the fourth call is a
429 problem with Retry-After; the count is the member's and the action's; refused input and idempotent
replays do not count, and a 429 is not kept as a replay; the next window starts afresh. The routes the
document says are limited are exactly the ones a member could abuse."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib import clock, config
from chalicelib.api import openapi
from tests.component.support import assert_problem, mint  # noqa: F401  (the fast minter)

LIMIT = 3
WINDOW = 3600
REASON = {"reason": "spam in the listing"}


@pytest.fixture
def limited(api, monkeypatch):
    monkeypatch.setenv("PWIIC_RATE_LIMITS", f'{{"reports": {{"limit": {LIMIT}, "window_seconds": {WINDOW}}}}}')
    config.reset()
    return api


def report(api, *, as_: str = "alice", key: str | None = None, body: object = REASON):
    """A report of a listing that does not exist: the view answers 404, after the limit counted it."""
    headers = {"Idempotency-Key": key} if key else None
    return api.post("/listings/no-such-listing/report", body, as_=as_, headers=headers)


def fill(api, **kwargs) -> None:
    assert [report(api, **kwargs).status_code for _ in range(LIMIT)] == [404] * LIMIT


def test_the_call_after_the_limit_is_a_429_problem_with_retry_after(limited):
    fill(limited)
    refused = report(limited)
    problem = assert_problem(refused, 429, "rate-limited")
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= WINDOW and problem["retry_after"] == retry_after
    assert (problem["action"], problem["limit"], problem["window_seconds"]) == ("reports", LIMIT, WINDOW)
    assert report(limited).status_code == 429, "refused calls do not reopen the window"


def test_the_count_is_per_member_and_per_action(limited):
    fill(limited)
    assert report(limited).status_code == 429
    assert report(limited, as_="bob").status_code == 404
    assert limited.post("/conversations/no-such-conversation/messages", {"body": "Hello"}).status_code == 404


def test_refused_input_is_not_counted(limited):
    for _ in range(LIMIT + 2):
        assert report(limited, body={"reason": ""}).status_code == 422
    fill(limited)


def test_the_next_window_starts_afresh(limited, monkeypatch):
    fill(limited)
    retry_after = int(report(limited).headers["Retry-After"])
    later = clock.now() + timedelta(seconds=retry_after)
    monkeypatch.setattr(clock, "now", lambda: later)
    fill(limited)
    assert report(limited).status_code == 429


def test_a_replay_is_not_counted_and_a_429_is_not_kept_for_replays(limited, monkeypatch):
    assert report(limited, key="first").status_code == 404
    for _ in range(LIMIT + 1):
        assert report(limited, key="first").status_code == 404, "the stored answer, replayed"
    assert [report(limited).status_code for _ in range(LIMIT - 1)] == [404] * (LIMIT - 1)
    assert report(limited, key="refused").status_code == 429
    later = clock.now() + timedelta(seconds=WINDOW)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert report(limited, key="refused").status_code == 404, "the key was released, not kept as a 429"


LIMITED_ROUTES = {
    ("POST", "/listings/{listing_id}/messages"): "messages",
    ("POST", "/conversations/{conversation_id}/messages"): "messages",
    ("POST", "/proposals/{proposal_id}/messages"): "messages",
    ("POST", "/listings/{listing_id}/report"): "reports",
    ("POST", "/exchanges/{exchange_id}/reviews/{author_id}/report"): "reports",
    ("POST", "/listings/{listing_id}/exchanges"): "proposals",
    ("POST", "/listings/{listing_id}/seats"): "proposals",
    ("POST", "/listings/{listing_id}/bookings"): "proposals",
    ("POST", "/proposals"): "proposals",
    ("POST", "/listings"): "listings",
    ("POST", "/purchases"): "purchases",
    ("POST", "/transfers"): "transfers",
}


def test_the_document_declares_the_429_and_its_retry_after_on_the_limited_routes_only():
    paths = openapi.document()["paths"]
    limited = {
        (method.upper(), path): operation
        for path, operations in paths.items()
        for method, operation in operations.items()
        if "429" in operation["responses"]
    }
    assert set(limited) == set(LIMITED_ROUTES)
    for route, operation in limited.items():
        assert operation["responses"]["429"]["headers"]["Retry-After"]["required"] is True
        assert f"`{LIMITED_ROUTES[route]}` rate limit" in operation["description"]
