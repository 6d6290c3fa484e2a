"""Races on DynamoDB Local: many threads spending one wallet, repeating one transfer id, or settling
one hold at the same moment. The write conditions, not Python, must keep the ledger right."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from chalicelib import errors
from chalicelib.domain.ledger import (
    HoldRequest,
    HoldStatus,
    PlatformAccount,
    Transfer,
    TransferKind,
    TransferRequest,
)
from chalicelib.services import ledger
from tests.integration import ledger_kit

THREADS = 16
FUTURE = "2999-01-01T00:00:00.000000Z"


def at_once(calls: list[Callable[[], Any]], watch: str | None = None) -> list[Any]:
    """Runs the calls in as many threads, released together; returns each result or the exception raised.
    With `watch`, another thread reads that account's balance over and over meanwhile and checks that
    it is never negative, not even for a moment."""
    ledger_kit.dynamodb_client()  # bind the models and build the shared client before the threads start
    barrier = threading.Barrier(len(calls))
    done = threading.Event()
    seen: list[tuple[int, int, int]] = []

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait()
        try:
            return call()
        except Exception as error:
            return error

    def observe() -> None:
        while not done.is_set():
            balance = ledger.balance(watch)
            seen.append((balance.posted, balance.held, balance.available))

    observer = threading.Thread(target=observe) if watch else None
    if observer:
        observer.start()
    try:
        with ThreadPoolExecutor(len(calls)) as pool:
            return list(pool.map(run, calls))
    finally:
        done.set()
        if observer:
            observer.join()
            assert seen, "the observer read nothing"
            assert all(posted >= 0 and held >= 0 and available >= 0 for posted, held, available in seen), seen
            assert all(available == posted - held for posted, held, available in seen), seen


def outcome(result: Any) -> str:
    if isinstance(result, errors.AppError):
        return result.code
    if isinstance(result, Exception):
        raise result
    return "ok"


@pytest.fixture
def wallets(table_name):
    return [ledger_kit.open_wallet(name) for name in ("alice", "bob", "carol")]


def test_sixteen_threads_spending_one_wallet(wallets):
    alice, bob, carol = wallets
    ledger_kit.fund(alice, 100, "buy:alice")
    # 16 payments of 5 to 20 credits (200 in all) out of a wallet of 100: only some fit
    amounts = [5 + index for index in range(THREADS)]
    requests = [
        TransferRequest(f"spend:{index}", alice, bob if index % 2 else carol, amount, TransferKind.PAYMENT)
        for index, amount in enumerate(amounts)
    ]
    results = at_once([lambda request=request: ledger.transfer(request) for request in requests], watch=alice)

    outcomes = Counter(outcome(result) for result in results)
    assert set(outcomes) <= {"ok", "insufficient-funds"}, outcomes
    assert outcomes["ok"] + outcomes["insufficient-funds"] == THREADS
    assert outcomes["ok"] >= 5  # the five smallest (5..9 = 35) always fit, whatever the order
    succeeded = [request for request, result in zip(requests, results, strict=True) if isinstance(result, Transfer)]
    refused = [request for request, result in zip(requests, results, strict=True) if not isinstance(result, Transfer)]
    spent = sum(request.amount for request in succeeded)
    assert spent <= 100
    # every refusal was right when it was made: it did not fit in what was left at the end either
    assert all(request.amount > 100 - spent for request in refused)

    balance = ledger.balance(alice)
    assert (balance.posted, balance.held, balance.available) == (100 - spent, 0, 100 - spent)
    assert balance.available >= 0
    paid_to = {bob: 0, carol: 0}
    for request in succeeded:
        paid_to[request.payee] += request.amount
    assert ledger.balance(bob).posted == paid_to[bob]
    assert ledger.balance(carol).posted == paid_to[carol]
    assert ledger.balance(ledger_kit.ISSUANCE).posted == -100

    ids = ledger_kit.assert_statement_adds_up(alice)
    assert Counter(ids) == Counter(["buy:alice", *(request.transfer_id for request in succeeded)])
    for payee in (bob, carol):
        ids = ledger_kit.assert_statement_adds_up(payee)
        assert Counter(ids) == Counter(request.transfer_id for request in succeeded if request.payee == payee)
    ledger_kit.assert_reconciled()


def test_sixteen_threads_spending_one_wallet_with_a_hold_on_it(wallets):
    """Held credits are not available: concurrent spending and holding never overdraw together."""
    alice, bob, _ = wallets
    ledger_kit.fund(alice, 60, "buy:alice")
    calls: list[Callable[[], Any]] = []
    for index in range(THREADS):
        if index % 2:
            hold = HoldRequest(f"h{index}", alice, bob, 10, FUTURE)
            calls.append(lambda hold=hold: ledger.place_hold(hold))
        else:
            request = TransferRequest(f"spend:{index}", alice, bob, 10, TransferKind.PAYMENT)
            calls.append(lambda request=request: ledger.transfer(request))
    results = at_once(calls, watch=alice)
    outcomes = Counter(outcome(result) for result in results)
    assert outcomes == {"ok": 6, "insufficient-funds": 10}, outcomes
    spent = 10 * sum(isinstance(result, Transfer) for result in results)
    held = 60 - spent
    balance = ledger.balance(alice)
    assert (balance.posted, balance.held, balance.available) == (60 - spent, held, 0)
    ledger_kit.assert_reconciled()


@pytest.mark.parametrize("payer", ["member", "issuance"])
def test_sixteen_threads_sending_the_same_transfer_id(wallets, payer):
    alice, bob, _ = wallets
    ledger_kit.fund(alice, 100, "buy:alice")
    source = alice if payer == "member" else ledger_kit.ISSUANCE
    request = TransferRequest("same", source, bob, 30, TransferKind.PAYMENT, memo="once", refs={"exchange": "e1"})
    results = at_once([lambda: ledger.transfer(request)] * THREADS)

    assert all(isinstance(result, Transfer) for result in results), results
    assert sum(not result.replayed for result in results) == 1
    first = results[0]
    for result in results:  # the same transfer, whoever recorded it
        assert (result.request, result.created_at, result.payer_account, result.payee_account) == (
            request,
            first.created_at,
            first.payer_account,
            first.payee_account,
        )
    assert ledger.balance(bob).posted == 30
    assert ledger.balance(alice).posted == (70 if payer == "member" else 100)
    assert ledger.balance(ledger_kit.ISSUANCE).posted == (-100 if payer == "member" else -130)
    assert ledger_kit.assert_statement_adds_up(bob) == ["same"]
    ledger_kit.assert_reconciled()


def test_sixteen_threads_reusing_one_id_with_different_amounts(wallets):
    """Exactly one version is recorded; every other caller is told the id is taken."""
    alice, bob, _ = wallets
    ledger_kit.fund(alice, 1000, "buy:alice")
    requests = [TransferRequest("same", alice, bob, 10 + index, TransferKind.PAYMENT) for index in range(THREADS)]
    results = at_once([lambda request=request: ledger.transfer(request) for request in requests])
    winners = [result for result in results if isinstance(result, Transfer)]
    assert len(winners) == 1, results
    assert Counter(outcome(result) for result in results) == {"ok": 1, "transfer-id-reused": THREADS - 1}
    amount = winners[0].request.amount
    assert ledger.balance(alice).posted == 1000 - amount
    assert ledger.balance(bob).posted == amount
    ledger_kit.assert_reconciled()


@pytest.mark.parametrize("round_", range(6))
def test_post_and_void_of_one_hold_at_once(wallets, round_):
    alice, bob, _ = wallets
    ledger_kit.fund(alice, 100, "buy:alice")
    ledger.place_hold(HoldRequest("h", alice, bob, 40, FUTURE, "deposit"))
    results = at_once([lambda: ledger.post_hold("h", 25), lambda: ledger.void_hold("h")])

    outcomes = [outcome(result) for result in results]
    assert sorted(outcomes) == ["hold-settled", "ok"], results
    posted = outcomes[0] == "ok"
    stored = ledger.post_hold("h", 25) if posted else ledger.void_hold("h")  # the winner's answer, again
    assert stored.status is (HoldStatus.POSTED if posted else HoldStatus.VOIDED)
    alice_balance, bob_balance = ledger.balance(alice), ledger.balance(bob)
    if posted:
        assert (alice_balance.posted, alice_balance.held, alice_balance.available) == (75, 0, 75)
        assert bob_balance.posted == 25
        assert ledger_kit.statement_ids(bob) == ["h:post"]
    else:
        assert (alice_balance.posted, alice_balance.held, alice_balance.available) == (100, 0, 100)
        assert bob_balance.posted == 0
        assert ledger_kit.statement_ids(bob) == []
    ledger_kit.assert_reconciled()


def test_many_threads_settling_one_hold(wallets):
    """Posts of the same amount agree, posts of another amount and voids are told it is settled,
    and the credits move once."""
    alice, bob, _ = wallets
    ledger_kit.fund(alice, 100, "buy:alice")
    ledger.place_hold(HoldRequest("h", alice, bob, 40, FUTURE))
    calls = [lambda: ledger.post_hold("h", 30)] * 6 + [lambda: ledger.post_hold("h", 20)] * 5
    calls += [lambda: ledger.void_hold("h")] * 5
    results = at_once(calls)
    outcomes = Counter(outcome(result) for result in results)
    assert outcomes["ok"] + outcomes["hold-settled"] == THREADS, outcomes
    hold_posted = [
        result for result in results if not isinstance(result, Exception) and result.status is HoldStatus.POSTED
    ]
    hold_voided = [
        result for result in results if not isinstance(result, Exception) and result.status is HoldStatus.VOIDED
    ]
    assert not (hold_posted and hold_voided)
    assert len({result.posted_amount for result in hold_posted}) <= 1
    alice_balance = ledger.balance(alice)
    moved = hold_posted[0].posted_amount if hold_posted else 0
    # every caller who asked for the winning outcome gets it; every other one is told it is settled
    assert outcomes["ok"] == {30: 6, 20: 5, 0: 5}[moved], outcomes
    assert (alice_balance.posted, alice_balance.held) == (100 - moved, 0)
    assert ledger.balance(bob).posted == moved
    assert ledger_kit.statement_ids(bob) == (["h:post"] if moved else [])
    ledger_kit.assert_reconciled()


def test_concurrent_voids_release_the_hold_once(wallets):
    alice, bob, _ = wallets
    ledger_kit.fund(alice, 100, "buy:alice")
    ledger.place_hold(HoldRequest("h", alice, bob, 40, FUTURE))
    later = "3000-01-01T00:00:00.000000Z"
    results = at_once([lambda: ledger.void_hold("h")] * 8 + [lambda: ledger.void_expired_holds(later)] * 2)
    assert all(not isinstance(result, Exception) for result in results), results
    assert all(result.status is HoldStatus.VOIDED for result in results[:8])
    assert all(result in (0, 1) for result in results[8:])
    balance = ledger.balance(alice)
    assert (balance.posted, balance.held, balance.available) == (100, 0, 100)
    ledger_kit.assert_reconciled()


def test_first_use_of_the_platform_accounts_from_many_threads(table_name):
    """Platform accounts are created on first use: threads racing to create them must all go through,
    as payer (issuance) and as payee (revenue), never refused as short of credits or unknown."""
    names = [f"m{index}" for index in range(THREADS)]
    members = [ledger_kit.open_wallet(name) for name in names]
    results = at_once([lambda member=member: ledger_kit.fund(member, 50, f"buy:{member}") for member in members])
    assert all(isinstance(result, Transfer) for result in results), results
    revenue = PlatformAccount.REVENUE.value
    payments = [TransferRequest(f"fee:{member}", member, revenue, 5, TransferKind.PAYMENT) for member in members]
    results = at_once([lambda request=request: ledger.transfer(request) for request in payments])
    assert all(isinstance(result, Transfer) for result in results), results
    assert ledger.balance(ledger_kit.ISSUANCE).posted == -50 * THREADS
    assert ledger.balance(revenue).posted == 5 * THREADS
    assert all(ledger.balance(member).posted == 45 for member in members)
    ledger_kit.assert_reconciled()


@pytest.mark.parametrize("side", ["payer", "payee"])
def test_platform_accounts_created_by_another_request_in_between(table_name, side):
    """The interleaving that loses the creation race, made certain: this transfer is refused because
    the platform account does not exist yet, and another request creates it before this one looks."""
    member = ledger_kit.open_wallet("alice")
    if side == "payee":
        ledger_kit.fund(member, 50, "buy:alice")
        account = PlatformAccount.REVENUE
        request = TransferRequest("fee", member, account.value, 5, TransferKind.PAYMENT)
        send: Callable[[], Transfer] = lambda: ledger.transfer(request)  # noqa: E731
    else:
        account = PlatformAccount.ISSUANCE
        send = lambda: ledger_kit.fund(member, 50, "buy:alice")  # noqa: E731
    client = ledger_kit.dynamodb_client()

    def another_request_creates_them(http_response: Any, **_: Any) -> None:
        """After this transfer's try was refused, before it looks why."""
        if http_response.status_code != 200:
            client.meta.events.unregister("after-call.dynamodb.TransactWriteItems", another_request_creates_them)
            ledger.ensure_platform_accounts()

    client.meta.events.register("after-call.dynamodb.TransactWriteItems", another_request_creates_them)
    try:
        done = send()
    finally:
        client.meta.events.unregister("after-call.dynamodb.TransactWriteItems", another_request_creates_them)
    assert not done.replayed
    assert ledger.balance(account.value).posted == (5 if side == "payee" else -50)
    ledger_kit.assert_reconciled()
