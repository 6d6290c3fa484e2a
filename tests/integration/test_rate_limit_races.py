"""A burst of one member's calls on DynamoDB Local, released together: the counter's write condition,
not Python, lets exactly the limit through; the rest are refused with the window's Retry-After."""

from __future__ import annotations

import pytest

from chalicelib import config, errors
from chalicelib.services import limits
from tests.integration.ledger_kit import at_once

LIMIT = 5
BURST = 12


@pytest.fixture
def limited(table_name, monkeypatch):
    monkeypatch.setenv("PWIIC_RATE_LIMITS", f'{{"transfers": {{"limit": {LIMIT}, "window_seconds": 3600}}}}')
    config.reset()


@pytest.mark.usefixtures("limited")
def test_a_concurrent_burst_lets_exactly_the_limit_through():
    outcomes = at_once([lambda: limits.take("alice", "transfers")] * BURST)
    refused = [outcome for outcome in outcomes if isinstance(outcome, errors.RateLimited)]
    assert outcomes.count(None) == LIMIT and len(refused) == BURST - LIMIT, outcomes
    assert all(1 <= error.retry_after <= 3600 for error in refused)
    with pytest.raises(errors.RateLimited):
        limits.take("alice", "transfers")
    limits.take("bob", "transfers")  # another member's window
