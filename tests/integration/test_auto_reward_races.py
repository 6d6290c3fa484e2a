"""Automatic rewards raced on DynamoDB Local: the same reward granted from many threads at once pays
once, and different rewards of one member granted at once never pass the daily cap (its counter is
in the write's condition, not in Python)."""

from __future__ import annotations

import json

import pytest

from chalicelib import config
from chalicelib.adapters.dynamodb import ledger_repository
from chalicelib.domain.economy import RewardRule, reward_id
from chalicelib.domain.ledger import Transfer, wallet_account
from chalicelib.services import auto_rewards, ledger, rewards
from tests.integration import ledger_kit
from tests.integration.ledger_kit import at_once


@pytest.fixture
def member(table_name: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PWIIC_AUTO_REWARDS", json.dumps({"review_written": 2, "first_listing": 3}))
    monkeypatch.setenv("PWIIC_AUTO_REWARD_DAILY_CAP", "6")
    config.reset()
    ledger.ensure_platform_accounts()
    rewards.fund_rewards_pool("op", 8_000, "pool", None)
    ledger_kit.open_wallet("alice")
    return "alice"


def test_the_same_reward_granted_at_once_pays_once(member):
    results = at_once([lambda: auto_rewards.grant(RewardRule.FIRST_LISTING, member, "first")] * 8)
    paid = [result for result in results if isinstance(result, Transfer)]
    assert [result for result in results if isinstance(result, Exception)] == []
    assert ledger.balance(wallet_account(member)).posted == 3  # whatever each thread answered
    assert ledger_repository.get_transfer(reward_id(RewardRule.FIRST_LISTING, member, "first")) is not None
    assert 1 <= len(paid) <= 8  # a thread that lost the race answers the stored transfer, or None
    ledger_kit.assert_reconciled()


def test_rewards_granted_at_once_stay_within_the_daily_cap(member):
    calls = [lambda x=x: auto_rewards.grant(RewardRule.REVIEW_WRITTEN, member, f"exchange-{x}") for x in range(8)]
    results = at_once(calls)
    assert [result for result in results if isinstance(result, Exception)] == []
    assert ledger.balance(wallet_account(member)).posted == 6  # three of 2 credits: the cap, never more
    assert sum(isinstance(result, Transfer) for result in results) == 3
    ledger_kit.assert_reconciled()
