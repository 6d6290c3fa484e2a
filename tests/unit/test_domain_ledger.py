"""Pure ledger rules: no database."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib import errors
from chalicelib.api.problems import status_of
from chalicelib.domain.ledger import (
    SHARDED,
    HoldRequest,
    PlatformAccount,
    Transfer,
    TransferKind,
    TransferRequest,
    check_amount,
    check_transfer,
    logical_account,
    may_overdraw,
    member_of,
    shard_account,
    shard_order,
    shards_of,
    split_evenly,
    wallet_account,
    with_running_balance,
)

CEILING = 1_000


def request(**changes) -> TransferRequest:
    fields = {
        "transfer_id": "t1",
        "payer": "member:alice",
        "payee": "member:bob",
        "amount": 10,
        "kind": TransferKind.PAYMENT,
        "reason": "coffee",
        "memo": "thanks",
        "refs": {"exchange": "x1"},
    }
    return TransferRequest(**{**fields, **changes})


def refused(call, code: str) -> errors.AppError:
    with pytest.raises(errors.AppError) as caught:
        call()
    assert caught.value.code == code, caught.value
    assert status_of(caught.value) == 422
    return caught.value


# check_transfer


def test_a_valid_transfer_passes():
    check_transfer(request(), CEILING)
    check_transfer(request(amount=1), CEILING)
    check_transfer(request(amount=CEILING), CEILING)
    check_transfer(request(payer=PlatformAccount.ISSUANCE.value, payee="member:bob"), CEILING)
    check_transfer(
        request(payer=shard_account(PlatformAccount.ISSUANCE, 0), payee=shard_account(PlatformAccount.REWARDS_POOL, 0)),
        CEILING,
    )


@pytest.mark.parametrize(
    ("payer", "payee"),
    [
        ("member:alice", "member:alice"),
        (PlatformAccount.REVENUE.value, PlatformAccount.REVENUE.value),
        (shard_account(PlatformAccount.ISSUANCE, 0), shard_account(PlatformAccount.ISSUANCE, 1)),
        (shard_account(PlatformAccount.ISSUANCE, 3), PlatformAccount.ISSUANCE.value),
        (PlatformAccount.REWARDS_POOL.value, shard_account(PlatformAccount.REWARDS_POOL, 2)),
    ],
)
def test_self_transfers_are_refused(payer, payee):
    refused(lambda: check_transfer(request(payer=payer, payee=payee), CEILING), "self-transfer")


@pytest.mark.parametrize("amount", [0, -1, -CEILING, CEILING + 1, 10**12, True, False, 1.0, 2.5, "5", None])
def test_invalid_amounts_are_refused(amount):
    problem = refused(lambda: check_transfer(request(amount=amount), CEILING), "invalid-amount")
    assert str(CEILING) in problem.detail()
    refused(lambda: check_amount(amount, CEILING), "invalid-amount")


def test_the_amount_is_checked_before_the_accounts():
    refused(lambda: check_transfer(request(payee="member:alice", amount=0), CEILING), "invalid-amount")


@given(st.integers(min_value=1, max_value=CEILING))
def test_every_whole_amount_up_to_the_ceiling_is_valid(amount):
    check_amount(amount, CEILING)


# accounts and shards


def test_account_names():
    assert wallet_account("alice") == "member:alice"
    assert member_of("member:alice") == "alice"
    assert member_of(PlatformAccount.ISSUANCE.value) is None
    assert logical_account(shard_account(PlatformAccount.REVENUE, 5)) == PlatformAccount.REVENUE.value
    assert logical_account("member:alice") == "member:alice"
    assert may_overdraw(shard_account(PlatformAccount.ISSUANCE, 2))
    assert may_overdraw(PlatformAccount.RECEIVABLE.value)
    assert not may_overdraw(shard_account(PlatformAccount.REWARDS_POOL, 2))
    assert not may_overdraw("member:alice")


@pytest.mark.parametrize("account", sorted(SHARDED))
@pytest.mark.parametrize("count", [1, 2, 8, 13])
def test_shard_order_covers_every_shard_once_and_is_stable(account, count):
    for key in ("t1", "t2", "reward:abc", "", "ü-é"):
        order = shard_order(account, key, count)
        assert sorted(order) == sorted(shards_of(account, count))
        assert len(set(order)) == count
        assert all(logical_account(shard) == account.value for shard in order)
        assert order == shard_order(account, key, count)
        # a rotation: the shards keep their cyclic order from the starting one
        start = shards_of(account, count).index(order[0])
        assert order == shards_of(account, count)[start:] + shards_of(account, count)[:start]


def test_shard_order_spreads_keys_over_shards():
    firsts = {shard_order(PlatformAccount.ISSUANCE, f"t{index}", 8)[0] for index in range(200)}
    assert firsts == set(shards_of(PlatformAccount.ISSUANCE, 8))


def test_unsharded_accounts_have_one_item():
    for account in set(PlatformAccount) - SHARDED:
        assert shards_of(account, 8) == [account.value]
        assert shard_order(account, "t1", 8) == [account.value]


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=1, max_value=64))
def test_split_evenly_sums_and_differs_by_at_most_one(amount, parts):
    shares = split_evenly(amount, parts)
    assert len(shares) == parts
    assert sum(shares) == amount
    assert max(shares) - min(shares) <= 1
    assert shares == sorted(shares, reverse=True)
    assert all(isinstance(share, int) for share in shares)


def test_split_evenly_examples():
    assert split_evenly(10, 3) == [4, 3, 3]
    assert split_evenly(2, 4) == [1, 1, 0, 0]
    assert split_evenly(0, 2) == [0, 0]


# statements


def transfer(transfer_id: str, payer: str, payee: str, amount: int, at: str) -> Transfer:
    return Transfer(request(transfer_id=transfer_id, payer=payer, payee=payee, amount=amount), at, payer, payee)


def test_running_balance_signs_and_balances():
    newest_first = [
        transfer("t3", "member:alice", "member:carol", 5, "2024-01-03"),
        transfer("t2", "member:bob", "member:alice", 20, "2024-01-02"),
        transfer("t1", "platform:issuance.3", "member:alice", 100, "2024-01-01"),
    ]
    lines = with_running_balance("member:alice", newest_first, 115)
    assert [(line.transfer_id, line.amount, line.balance_after, line.counterparty) for line in lines] == [
        ("t3", -5, 115, "member:carol"),
        ("t2", 20, 120, "member:bob"),
        ("t1", 100, 100, "platform:issuance.3"),
    ]
    # the oldest line's balance before is zero: the account started empty
    assert lines[-1].balance_after - lines[-1].amount == 0
    assert lines[0].kind == "payment" and lines[0].memo == "thanks" and lines[0].refs == {"exchange": "x1"}
    assert lines[0].created_at == "2024-01-03"


def test_running_balance_of_a_page_continues_from_the_previous_page():
    history = [
        transfer(f"t{index}", "member:alice" if index % 3 == 0 else "member:bob", "member:carol", index, f"{index:04d}")
        for index in range(1, 10)
    ]
    newest_first = list(reversed(history))
    whole = with_running_balance("member:carol", newest_first, 45)
    first = with_running_balance("member:carol", newest_first[:4], 45)
    rest = with_running_balance("member:carol", newest_first[4:], first[-1].balance_after - first[-1].amount)
    assert first + rest == whole
    assert whole[-1].balance_after - whole[-1].amount == 0


@given(st.lists(st.tuples(st.booleans(), st.integers(min_value=1, max_value=1000)), max_size=30))
def test_running_balance_replays_history(history):
    oldest_first = [
        transfer(
            f"t{index}", "member:me" if outgoing else "member:x", "member:x" if outgoing else "member:me", amount, ""
        )
        for index, (outgoing, amount) in enumerate(history)
    ]
    final = sum(-amount if outgoing else amount for outgoing, amount in history)
    lines = with_running_balance("member:me", list(reversed(oldest_first)), final)
    running = 0
    for line, (outgoing, amount) in zip(reversed(lines), history, strict=True):
        running += -amount if outgoing else amount
        assert line.amount == (-amount if outgoing else amount)
        assert line.balance_after == running
        assert line.counterparty == "member:x"


def test_empty_statement():
    assert with_running_balance("member:alice", [], 0) == []


# fingerprints


TRANSFER_CHANGES = {
    "transfer_id": "t2",
    "payer": "member:carol",
    "payee": "member:dave",
    "amount": 11,
    "kind": TransferKind.TIP,
    "reason": "tea",
    "memo": "thank you",
    "refs": {"exchange": "x2"},
}


def test_transfer_changes_cover_every_field():
    assert set(TRANSFER_CHANGES) == {f.name for f in msgspec.structs.fields(TransferRequest)}


@pytest.mark.parametrize(("name", "value"), sorted(TRANSFER_CHANGES.items()))
def test_transfer_fingerprint_differs_when_any_field_differs(name, value):
    assert request().fingerprint() != request(**{name: value}).fingerprint()


@pytest.mark.parametrize("refs", [{}, {"exchange": "x1", "extra": ""}, {"purchase": "x1"}])
def test_transfer_fingerprint_sees_refs(refs):
    assert request().fingerprint() != request(refs=refs).fingerprint()


def test_transfer_fingerprint_is_stable():
    assert request().fingerprint() == request().fingerprint()
    assert request(refs={"a": "1", "b": "2"}).fingerprint() == request(refs={"b": "2", "a": "1"}).fingerprint()
    assert request(kind=TransferKind.PAYMENT).fingerprint() == request(kind="payment").fingerprint()


def hold(**changes) -> HoldRequest:
    fields = {
        "hold_id": "h1",
        "payer": "member:alice",
        "payee": "member:bob",
        "amount": 10,
        "expires_at": "2030-01-01T00:00:00.000000Z",
        "reason": "deposit",
        "refs": {"exchange": "x1"},
    }
    return HoldRequest(**{**fields, **changes})


HOLD_CHANGES = {
    "hold_id": "h2",
    "payer": "member:carol",
    "payee": "member:dave",
    "amount": 11,
    "expires_at": "2030-01-01T00:00:00.000001Z",
    "reason": "booking",
    "refs": {"exchange": "x2"},
}


def test_hold_changes_cover_every_field():
    assert set(HOLD_CHANGES) == {f.name for f in msgspec.structs.fields(HoldRequest)}


@pytest.mark.parametrize(("name", "value"), sorted(HOLD_CHANGES.items()))
def test_hold_fingerprint_differs_when_any_field_differs(name, value):
    assert hold().fingerprint() != hold(**{name: value}).fingerprint()
    assert hold().fingerprint() == hold().fingerprint()
