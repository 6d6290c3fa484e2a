"""Fault injection around the DynamoDB client the models share: transaction conflicts, throttling and
"the write committed but the response was lost". Retries keep their ids, so each ends in exactly one
transfer; a fault that outlasts the retries is a 503 that moves nothing (or, for a lost response,
exactly once)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError
from pynamodb.exceptions import TransactWriteError

from chalicelib.adapters.dynamodb import ledger_repository
from chalicelib.domain.ledger import (
    HoldRequest,
    HoldStatus,
    PlatformAccount,
    TransferKind,
    TransferRequest,
    shard_account,
    shard_order,
)
from chalicelib.services import audit, ledger, rewards
from chalicelib.services.transaction import ATTEMPTS as MAX_ATTEMPTS
from tests.integration import ledger_kit

TRANSACT = "TransactWriteItems"
FUTURE = "2999-01-01T00:00:00.000000Z"


def cancelled(*reasons: str) -> Callable[[int], dict[str, Any]]:
    """A TransactionCanceledException whose first item has `reasons[0]`, the next `reasons[1]`..."""

    def error(items: int) -> dict[str, Any]:
        codes = [*reasons, *["None"] * items][:items]
        return {
            "Error": {"Code": "TransactionCanceledException", "Message": f"Transaction cancelled [{', '.join(codes)}]"},
            "CancellationReasons": [{"Code": code} for code in codes],
        }

    return error


def plain(code: str) -> Callable[[int], dict[str, Any]]:
    return lambda items: {"Error": {"Code": code, "Message": f"injected {code}"}}


CONFLICT = cancelled("None", "TransactionConflict")  # the payer's item is being written by another transaction
THROTTLES = {
    "throttling": plain("ThrottlingException"),
    "throughput": plain("ProvisionedThroughputExceededException"),
    "request-limit": plain("RequestLimitExceeded"),
    "throttled-item": cancelled("None", "ThrottlingError"),
    "item-throughput": cancelled("ProvisionedThroughputExceeded"),
}


class Faults:
    """Counts TransactWriteItems calls and breaks some of them."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls = 0
        self.committed = 0
        self._registered: list[tuple[str, Callable[..., Any]]] = []
        self._on(f"before-call.dynamodb.{TRANSACT}", self._count)
        self._on(f"after-call.dynamodb.{TRANSACT}", self._count_commits)

    def _on(self, event: str, handler: Callable[..., Any]) -> None:
        self.client.meta.events.register(event, handler)
        self._registered.append((event, handler))

    def _count(self, **_: Any) -> None:
        self.calls += 1

    def _count_commits(self, http_response: Any, **_: Any) -> None:
        self.committed += http_response.status_code == 200

    def fail(self, error: Callable[[int], dict[str, Any]], times: int | None = 1) -> None:
        """The next `times` calls (every call: None) answer `error` without reaching the store."""
        left = [times]

        def handler(params: dict[str, Any], **_: Any) -> Any:
            if left[0] == 0:
                return None
            if left[0] is not None:
                left[0] -= 1
            items = len(json.loads(params["body"])["TransactItems"])
            parsed = {**error(items), "ResponseMetadata": {"HTTPStatusCode": 400, "HTTPHeaders": {}}}
            return AWSResponse("http://dynamodb.injected", 400, {}, None), parsed

        self._on(f"before-call.dynamodb.{TRANSACT}", handler)

    def lose_responses(self, times: int | None = 1) -> None:
        """The next `times` calls (every call: None) reach the store, which applies them, but their
        response is lost on the way back: the caller sees a read timeout."""
        left = [times]

        def handler(**_: Any) -> None:
            if left[0] == 0:
                return
            if left[0] is not None:
                left[0] -= 1
            raise ReadTimeoutError(endpoint_url="http://dynamodb.injected")

        self._on(f"after-call.dynamodb.{TRANSACT}", handler)

    def heal(self) -> None:
        for event, handler in reversed(self._registered):
            self.client.meta.events.unregister(event, handler)
        self._registered.clear()


@pytest.fixture
def wallets(table_name: str) -> list[str]:
    found = [ledger_kit.open_wallet(name) for name in ("alice", "bob")]
    ledger_kit.fund(found[0], 100, "buy:alice")
    return found


@pytest.fixture
def faults(wallets: list[str]) -> Iterator[Faults]:
    injected = Faults(ledger_kit.dynamodb_client())
    yield injected
    injected.heal()


def payment(alice: str, bob: str, amount: int = 30, transfer_id: str = "t1") -> TransferRequest:
    return TransferRequest(transfer_id, alice, bob, amount, TransferKind.PAYMENT, memo="rent", refs={"exchange": "e1"})


def assert_moved_once(wallets: list[str], transfer_id: str = "t1", amount: int = 30) -> None:
    alice, bob = wallets
    found = ledger_repository.get_transfer(transfer_id)
    assert found is not None
    assert found[0].request.amount == amount
    balance = ledger.balance(alice)
    assert (balance.posted, balance.held, balance.available) == (100 - amount, 0, 100 - amount)
    assert ledger.balance(bob).posted == amount
    assert ledger_kit.assert_statement_adds_up(alice).count(transfer_id) == 1
    assert ledger_kit.assert_statement_adds_up(bob) == [transfer_id]
    ledger_kit.assert_reconciled()


def assert_nothing_moved(wallets: list[str], transfer_id: str = "t1") -> None:
    alice, bob = wallets
    assert ledger_repository.get_transfer(transfer_id) is None
    assert ledger.balance(alice).posted == 100
    assert ledger.balance(bob).posted == 0
    assert ledger_kit.statement_ids(bob) == []
    ledger_kit.assert_reconciled()


# transaction conflicts


@pytest.mark.parametrize("times", [1, 3, MAX_ATTEMPTS - 1])
def test_conflicts_are_retried_with_the_same_id(wallets, faults, times):
    faults.fail(CONFLICT, times)
    request = payment(*wallets)
    done = ledger.transfer(request)
    assert (done.request, done.replayed) == (request, False)
    assert (faults.calls, faults.committed) == (times + 1, 1)
    assert_moved_once(wallets)


def test_a_conflict_beside_a_failed_condition_is_retried(wallets, faults):
    """Contention decides nothing: the ledger must not take the funds check's failure at face value."""
    faults.fail(cancelled("None", "ConditionalCheckFailed", "TransactionConflict"), 2)
    ledger.transfer(payment(*wallets))
    assert faults.calls == 3
    assert_moved_once(wallets)


def test_conflicts_on_holds_are_retried(wallets, faults):
    alice, bob = wallets
    faults.fail(cancelled("None", "TransactionConflict"), 2)
    ledger.place_hold(HoldRequest("h", alice, bob, 50, FUTURE))
    faults.fail(CONFLICT, 2)
    posted = ledger.post_hold("h", 30)
    assert (posted.status, posted.posted_amount) == (HoldStatus.POSTED, 30)
    assert faults.calls == 6 and faults.committed == 2
    assert_moved_once(wallets, "h:post", 30)


def test_a_conflict_that_outlasts_the_retries_is_a_503_and_moves_nothing(wallets, faults):
    faults.fail(CONFLICT, times=None)
    ledger_kit.assert_problem(lambda: ledger.transfer(payment(*wallets)), 503, "ledger-busy")
    assert (faults.calls, faults.committed) == (MAX_ATTEMPTS, 0)
    faults.heal()
    assert_nothing_moved(wallets)
    # the client retries later with the same id: one transfer
    assert not ledger.transfer(payment(*wallets)).replayed
    assert_moved_once(wallets)


# throttling


@pytest.mark.parametrize("kind", sorted(THROTTLES))
def test_throttling_is_retried_with_the_same_id(wallets, faults, kind):
    faults.fail(THROTTLES[kind], 2)
    request = payment(*wallets)
    assert ledger.transfer(request).request == request
    assert (faults.calls, faults.committed) == (3, 1)
    assert_moved_once(wallets)


def test_throttling_that_outlasts_the_retries_is_a_503_and_moves_nothing(wallets, faults):
    faults.fail(THROTTLES["throttling"], times=None)
    ledger_kit.assert_problem(lambda: ledger.transfer(payment(*wallets)), 503, "ledger-busy")
    assert faults.calls == MAX_ATTEMPTS
    faults.heal()
    assert_nothing_moved(wallets)


def test_a_refusal_that_is_not_contention_is_not_retried(wallets, faults):
    """A cancellation for a reason no retry can cure surfaces at once."""
    faults.fail(cancelled("ValidationError"), times=None)
    with pytest.raises(TransactWriteError):
        ledger.transfer(payment(*wallets))
    assert faults.calls == 1
    faults.heal()
    assert_nothing_moved(wallets)


# lost responses: the write committed, the caller never heard


def test_a_lost_response_is_retried_into_the_original_transfer(wallets, faults):
    faults.lose_responses(1)
    request = payment(*wallets)
    done = ledger.transfer(request)
    assert done.request == request
    assert (faults.calls, faults.committed) == (2, 1)  # the retry found the committed record
    stored = ledger_repository.get_transfer("t1")
    assert stored is not None
    assert (done.created_at, done.payer_account, done.payee_account) == (
        stored[0].created_at,
        stored[0].payer_account,
        stored[0].payee_account,
    )
    assert_moved_once(wallets)
    again = ledger.transfer(request)
    assert again.replayed and again.created_at == done.created_at
    ledger_kit.assert_problem(lambda: ledger.transfer(payment(*wallets, amount=31)), 409, "transfer-id-reused")
    assert_moved_once(wallets)


def test_lost_responses_and_conflicts_together(wallets, faults):
    faults.lose_responses(1)
    ledger.transfer(payment(*wallets))
    faults.fail(CONFLICT, 2)  # the retries meet contention too
    ledger.transfer(payment(*wallets, amount=20, transfer_id="t2"))
    alice, bob = wallets
    assert ledger.balance(alice).posted == 50
    assert sorted(ledger_kit.statement_ids(bob)) == ["t1", "t2"]
    ledger_kit.assert_reconciled()


def test_a_response_lost_on_every_try_is_a_503_but_the_transfer_exists_once(wallets, faults):
    faults.lose_responses(times=None)
    ledger_kit.assert_problem(lambda: ledger.transfer(payment(*wallets)), 503, "ledger-busy")
    assert faults.calls == MAX_ATTEMPTS
    faults.heal()
    assert_moved_once(wallets)
    # the client retries with the same id and learns the outcome
    assert ledger.transfer(payment(*wallets)).replayed
    assert_moved_once(wallets)


def test_a_refused_transfer_with_a_lost_response_stays_refused(wallets, faults):
    """The store refused (insufficient funds) but the answer was lost: the retry is refused again."""
    faults.lose_responses(1)
    ledger_kit.assert_problem(lambda: ledger.transfer(payment(*wallets, amount=101)), 409, "insufficient-funds")
    assert faults.calls == 2
    assert_nothing_moved(wallets)


def test_lost_responses_on_holds(wallets, faults):
    alice, bob = wallets
    hold = HoldRequest("h", alice, bob, 50, FUTURE, "deposit")
    faults.lose_responses(1)
    placed = ledger.place_hold(hold)
    assert (placed.request, placed.status) == (hold, HoldStatus.PENDING)
    balance = ledger.balance(alice)
    assert (balance.posted, balance.held, balance.available) == (100, 50, 50)

    faults.lose_responses(1)
    posted = ledger.post_hold("h", 30)
    assert (posted.status, posted.posted_amount) == (HoldStatus.POSTED, 30)
    assert (faults.calls, faults.committed) == (3, 2)  # the post's retry read the posted hold: no new write
    assert_moved_once(wallets, "h:post", 30)

    ledger.place_hold(HoldRequest("h2", alice, bob, 20, FUTURE))
    faults.lose_responses(1)
    assert ledger.void_hold("h2").status is HoldStatus.VOIDED
    balance = ledger.balance(alice)
    assert (balance.posted, balance.held, balance.available) == (70, 0, 70)
    ledger_kit.assert_reconciled()


def test_a_lost_response_after_falling_through_to_another_shard(table_name, faults):
    """The rewards pool is sharded and its first shard for this id is empty: the committed try used a
    later shard. The retry starts again at the empty shard and must still find the record."""
    member = ledger_kit.open_wallet("carol")
    ledger.ensure_platform_accounts()
    funded = shard_account(PlatformAccount.REWARDS_POOL, 0)
    ledger.transfer(TransferRequest("fund", PlatformAccount.ISSUANCE.value, funded, 500, TransferKind.POOL_FUNDING))
    reward_id = next(
        f"r{n}" for n in range(100) if shard_order(PlatformAccount.REWARDS_POOL, f"reward:r{n}", 8)[0] != funded
    )
    faults.lose_responses(1)
    done = rewards.reward_member("op", "carol", 40, "welcome_newcomer", "welcomed bob", reward_id)
    assert done.payer_account == funded
    assert ledger.balance(member).posted == 40
    assert ledger.balance(PlatformAccount.REWARDS_POOL.value).posted == 460
    assert ledger_kit.statement_ids(member) == [f"reward:{reward_id}"]
    entries, _ = audit.list_entries(None, None, 50)
    assert [entry.action.value for entry in entries] == ["reward"]
    ledger_kit.assert_reconciled()


def test_a_reward_and_its_audit_entry_happen_once(table_name, faults):
    ledger_kit.open_wallet("carol")
    faults.lose_responses(1)
    rewards.fund_rewards_pool("op", 800, "pilot", "f1")
    faults.fail(CONFLICT, 1)
    faults.lose_responses(1)
    rewards.reward_member("op", "carol", 40, "welcome_newcomer", "welcomed bob", "r1")
    rewards.reward_member("op", "carol", 40, "welcome_newcomer", "welcomed bob", "r1")
    assert ledger.balance("member:carol").posted == 40
    assert ledger.balance(PlatformAccount.REWARDS_POOL.value).posted == 760
    assert ledger.balance(PlatformAccount.ISSUANCE.value).posted == -900  # with alice's 100
    entries, _ = audit.list_entries(None, None, 50)
    assert sorted(entry.action.value for entry in entries) == ["fund_rewards_pool", "reward"]
    ledger_kit.assert_reconciled()
