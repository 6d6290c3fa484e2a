"""Rate limits without a table: the fixed window a moment falls in, the refusal and its Retry-After, and
the limits read from PWIIC_RATE_LIMITS."""

from __future__ import annotations

import json

import pytest

from chalicelib import config, errors
from chalicelib.api import problems
from chalicelib.domain.limits import DEFAULT_RATE_LIMITS, RateLimit, Window, refusal, window_at

HOURLY = RateLimit(10, 3600)


@pytest.mark.parametrize(
    ("moment", "window"),
    [
        (7200.0, Window(7200, 10800)),  # a window's first second belongs to it
        (10799.9, Window(7200, 10800)),
        (10800.0, Window(10800, 14400)),
    ],
)
def test_a_moment_falls_in_one_fixed_window(moment: float, window: Window):
    assert window_at(moment, HOURLY) == window


def test_the_refusal_says_when_the_window_ends_in_whole_seconds_and_its_header_says_the_same():
    error = refusal("messages", HOURLY, Window(7200, 10800), 9000.2)
    assert error.retry_after == 1800  # 1799.8 s, rounded up: retrying earlier would be refused again
    assert problems.status_of(error) == 429 and error.code == "rate-limited"
    assert problems.headers(error) == {"Retry-After": "1800"}
    status, body = problems.problem(error)
    document = json.loads(body)
    assert (status, document["retry_after"], document["limit"], document["window_seconds"]) == (429, 1800, 10, 3600)


def test_retry_after_is_at_least_a_second():
    assert refusal("messages", HOURLY, Window(7200, 10800), 10799.99).retry_after == 1


def test_other_problems_carry_no_extra_header():
    assert problems.headers(errors.Busy("busy")) == {}


def limits_from(monkeypatch: pytest.MonkeyPatch, value: str | None) -> dict[str, RateLimit]:
    monkeypatch.setenv("PWIIC_TABLE_NAME", "t")
    monkeypatch.setenv("PWIIC_OIDC_ISSUER", "https://issuer.example")
    monkeypatch.setenv("PWIIC_OIDC_AUDIENCE", "client")
    if value is None:
        monkeypatch.delenv("PWIIC_RATE_LIMITS", raising=False)
    else:
        monkeypatch.setenv("PWIIC_RATE_LIMITS", value)
    config.reset()
    try:
        return dict(config.settings().rate_limits)
    finally:
        config.reset()


def test_configured_limits_replace_the_defaults_of_the_actions_they_name(monkeypatch):
    assert limits_from(monkeypatch, None) == DEFAULT_RATE_LIMITS
    configured = limits_from(monkeypatch, '{"messages": {"limit": 5, "window_seconds": 60}}')
    assert configured == {**DEFAULT_RATE_LIMITS, "messages": RateLimit(5, 60)}


@pytest.mark.parametrize(
    "value",
    [
        '{"likes": {"limit": 5, "window_seconds": 60}}',  # no such action
        '{"messages": {"limit": 0, "window_seconds": 60}}',
        '{"messages": {"limit": 5, "window_seconds": 172800}}',  # over a day
        '{"messages": {"limit": 5}}',
        '{"messages": {"limit": 5, "window_seconds": 60, "burst": 2}}',
        "messages=5",
    ],
)
def test_a_limit_that_is_not_valid_stops_the_configuration(monkeypatch, value: str):
    with pytest.raises(RuntimeError, match="PWIIC_RATE_LIMITS"):
        limits_from(monkeypatch, value)
