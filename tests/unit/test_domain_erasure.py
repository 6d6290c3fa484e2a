"""Erasure rules, without any database: what blocks it, the confirmation, the pseudonym, the forfeit, the
order of the steps."""

from __future__ import annotations

import pytest

from chalicelib.api.problems import status_of
from chalicelib.domain.erasure import (
    FORMER_MEMBER,
    Blocker,
    Step,
    blockers,
    check_confirmed,
    forfeit,
    pseudonymised,
    remaining,
)
from chalicelib.domain.exchanges import ExchangeType, State
from chalicelib.domain.ledger import Balance, PlatformAccount, TransferKind
from chalicelib.domain.members import Member
from chalicelib.domain.missions import Claim, ClaimState
from chalicelib.domain.purchases import Currency, Purchase, PurchaseStatus
from chalicelib.errors import AppError
from tests.unit.test_domain_exchanges import exchange

NOW = "2026-05-01T10:00:00.000000Z"
WALLET = Balance("member:ann", 70, 0, 70)


def purchase(status: PurchaseStatus) -> Purchase:
    return Purchase(f"p-{status}", "ann", "starter", 100, 1000, Currency.CHF, status, NOW)


def claim(state: ClaimState) -> Claim:
    return Claim(f"m-{state}", "ann", 20, NOW, "Water the garden", NOW, NOW, state=state)


def test_nothing_open_blocks_nothing():
    finished = [exchange(state=state) for state in (State.COMPLETED, State.DECLINED, State.CANCELLED, State.RESOLVED)]
    closed = [purchase(PurchaseStatus.SUCCEEDED), purchase(PurchaseStatus.FAILED)]
    ended = [claim(state) for state in (ClaimState.APPROVED, ClaimState.REJECTED, ClaimState.ABANDONED)]
    assert blockers(WALLET, finished, closed, ended) == []


def test_everything_open_is_listed_once_with_its_id():
    wallet = Balance("member:ann", 70, 30, 40, frozen=True, owed=5, open_disputes=1)
    found = blockers(
        wallet,
        [
            exchange(state=State.ACCEPTED, exchange_id="t1"),
            exchange(ExchangeType.LOAN, State.DAMAGE_CLAIMED, exchange_id="l1"),
            exchange(state=State.DISPUTED, exchange_id="t2"),
        ],
        [purchase(PurchaseStatus.PENDING)],
        [claim(ClaimState.CLAIMED), claim(ClaimState.SUBMITTED)],
    )
    assert found == [
        Blocker("exchange", "t1"),
        Blocker("loan", "l1"),
        Blocker("exchange", "t2"),
        Blocker("held_credits", "member:ann"),
        Blocker("owed_credits", "member:ann"),
        Blocker("card_dispute", "member:ann"),
        Blocker("purchase", "p-pending"),
        Blocker("mission_claim", "m-claimed"),
        Blocker("mission_claim", "m-submitted"),
    ]


@pytest.mark.parametrize("typed", ["erase my account", "erase ANN", "erase ann ", "ann", ""])
def test_only_erase_and_the_members_own_id_confirm(typed):
    with pytest.raises(AppError) as refused:
        check_confirmed("ann", typed)
    assert (status_of(refused.value), refused.value.code) == (422, "erasure-not-confirmed")
    check_confirmed("ann", "erase ann")


def test_the_pseudonym_keeps_the_id_and_drops_everything_written_about_oneself():
    member = Member(
        "ann", "Ann Martin", NOW, "By the lake", ("fr",), ("gardening",), "c1", "u0hqe", ("c1",), "2026-04-27"
    )
    erased = pseudonymised(member, NOW)
    kept = ("member_id", "created_at", "community_ids", "active_day")  # communities: left by a later step
    assert all(getattr(erased, name) == getattr(member, name) for name in kept)
    assert (erased.display_name, erased.erased_at, erased.erasure_step) == (FORMER_MEMBER, NOW, Step.PSEUDONYMISED)
    assert not any((erased.bio, erased.languages, erased.skills, erased.home_community_id, erased.location))


def test_the_forfeit_moves_every_posted_credit_to_the_rewards_pool_under_one_id():
    request = forfeit(WALLET, "ann")
    assert request is not None
    assert (request.transfer_id, request.payer, request.payee, request.amount, request.kind) == (
        "erasure:ann",
        "member:ann",
        PlatformAccount.REWARDS_POOL,
        70,
        TransferKind.FORFEIT,
    )
    assert forfeit(Balance("member:ann", 0, 0, 0), "ann") is None


def test_steps_resume_after_the_last_one_done_and_the_identity_goes_last():
    assert remaining(None) == list(Step)
    assert remaining(Step.PSEUDONYMISED)[0] is Step.LISTINGS_REMOVED
    assert remaining(Step.COMMUNITIES_LEFT) == [Step.PROXIES_REVOKED, Step.IDENTITY_DELETED]
    assert remaining(Step.IDENTITY_DELETED) == []
