"""Stripe webhooks through POST /webhooks/stripe, signed here as Stripe signs them, and the purchase routes.

Every scenario checks the wallet, the purchase, the ledger records, and that the books still balance
(the sum of all balances is 0 and reconciliation finds no mismatch). Purchases are written straight
through the purchase repository (as `services.purchases.start_purchase` writes them), so webhook tests
need no Stripe; the POST /purchases tests use one localstripe for the session."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from msgspec.structs import replace

from chalicelib import clock, config, errors
from chalicelib.adapters import stripe_gateway
from chalicelib.adapters.dynamodb import ledger_repository, store
from chalicelib.adapters.dynamodb import purchase_repository as purchase_repo
from chalicelib.adapters.dynamodb.unit_of_work import stale
from chalicelib.config import settings
from chalicelib.domain.ledger import Balance, PlatformAccount, logical_account, wallet_account
from chalicelib.domain.purchases import Purchase, PurchaseStatus, find_pack
from chalicelib.services import ledger, purchases, stripe_events, transaction
from tests import books
from tests.component.support import assert_problem, mint  # noqa: F401  (fast tokens)
from tools import localstack

WEBHOOK = "/webhooks/stripe"
STRIPE_DELIVERIES = 4  # a delivery that met a 503 and its retries


# Signing, as Stripe does it: Stripe-Signature: t=<ts>,v1=<hex hmac_sha256(secret, f"{ts}.{payload}")>


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    ts = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


def body_of(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode()


# Stripe objects and events


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def event(event_type: str, obj: dict[str, Any], *, event_id: str | None = None, livemode: bool = False) -> dict:
    return {
        "id": event_id or new_id("evt"),
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": livemode,
        "pending_webhooks": 1,
        "type": event_type,
        "data": {"object": obj},
    }


def intent(
    purchase: Purchase,
    *,
    amount: int | None = None,
    currency: str | None = None,
    pack_id: str | None = None,
    status: str = "succeeded",
    payment_intent_id: str | None = None,
) -> dict[str, Any]:
    amount = purchase.amount_cents if amount is None else amount
    return {
        "id": payment_intent_id or purchase.payment_intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount if status == "succeeded" else 0,
        "currency": currency or purchase.currency.value,
        "status": status,
        "livemode": False,
        "metadata": {
            "member_id": purchase.member_id,
            "pack_id": pack_id or purchase.pack_id,
            "purchase_id": purchase.purchase_id,
        },
    }


def charge_id(purchase: Purchase) -> str:
    return "ch_" + str(purchase.payment_intent_id).removeprefix("pi_")


def refund(purchase: Purchase, amount: int, created: int, refund_id: str | None = None) -> dict[str, Any]:
    return {
        "id": refund_id or new_id("re"),
        "object": "refund",
        "amount": amount,
        "charge": charge_id(purchase),
        "payment_intent": purchase.payment_intent_id,
        "currency": purchase.currency.value,
        "created": created,
        "status": "succeeded",
    }


def charge(
    purchase: Purchase, refunds: list[dict[str, Any]] | None, *, amount_refunded: int | None = None
) -> dict[str, Any]:
    """A refunded charge. `refunds=None` leaves the list out, as API versions since 2022-11-15 do."""
    refunded = sum(r["amount"] for r in refunds or []) if amount_refunded is None else amount_refunded
    obj: dict[str, Any] = {
        "id": charge_id(purchase),
        "object": "charge",
        "payment_intent": purchase.payment_intent_id,
        "amount": purchase.amount_cents,
        "amount_captured": purchase.amount_cents,
        "amount_refunded": refunded,
        "currency": purchase.currency.value,
        "paid": True,
        "refunded": refunded >= purchase.amount_cents,
        "metadata": {},
    }
    if refunds is not None:
        obj["refunds"] = {"object": "list", "data": list(refunds), "has_more": False}
    return obj


def dispute(purchase: Purchase, dispute_id: str, status: str, amount: int | None = None) -> dict[str, Any]:
    return {
        "id": dispute_id,
        "object": "dispute",
        "amount": purchase.amount_cents if amount is None else amount,
        "charge": charge_id(purchase),
        "payment_intent": purchase.payment_intent_id,
        "currency": purchase.currency.value,
        "reason": "fraudulent",
        "status": status,
    }


# Fixtures and helpers


class Hooks:
    """Sends signed events to POST /webhooks/stripe through the Chalice test client."""

    def __init__(self, api: Any, secret: str) -> None:
        self.api = api
        self.secret = secret

    def post(self, body: bytes, signature: str | None) -> Any:
        headers = {} if signature is None else {"Stripe-Signature": signature}
        return self.api.post(WEBHOOK, raw=body, as_=None, headers=headers)

    def send(self, evt: dict[str, Any]) -> Any:
        response = self.post(body_of(evt), sign(body_of(evt), self.secret))
        assert response.status_code == 200, response.body
        assert response.json == {"received": True}
        return response

    def send_all(self, *events: dict[str, Any]) -> None:
        for evt in events:
            self.send(evt)


@pytest.fixture
def hooks(api: Any, local_secrets: Any) -> Hooks:
    assert settings().stripe_livemode is False  # a test deployment
    return Hooks(api, local_secrets.stripe_webhook_secret)


@pytest.fixture
def logged_errors(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    monkeypatch.setattr(stripe_events.logger, "error", lambda msg, *args, **kwargs: seen.append(str(msg)))
    return seen


def seed_purchase(api: Any, member: str, pack_id: str = "starter-eur", *, with_intent: bool = True) -> Purchase:
    """A pending purchase written as start_purchase writes it, with its PaymentIntent id recorded."""
    api.get("/me", as_=member)  # the member's first call creates the wallet
    store.bind()
    pack = find_pack(settings().credit_packs, pack_id)
    purchase = Purchase(
        purchase_id=uuid.uuid4().hex,
        member_id=member,
        pack_id=pack.pack_id,
        credits=pack.credits,
        amount_cents=pack.price_cents,
        currency=pack.currency,
        status=PurchaseStatus.PENDING,
        created_at=clock.now_iso(),
    )
    limit = settings().daily_purchase_limit_cents
    transaction.run(lambda uow: purchase_repo.add_new_purchase(uow, purchase, limit, over_limit=stale))
    payment_intent_id = new_id("pi")
    if with_intent:
        at = clock.now_iso()
        transaction.run(lambda uow: purchase_repo.add_payment_intent(uow, purchase.purchase_id, payment_intent_id, at))
    return replace(purchase, payment_intent_id=payment_intent_id)


def stored(purchase: Purchase) -> Purchase:
    found = purchase_repo.get(purchase.purchase_id)
    assert found is not None
    return found


def wallet(member: str) -> Balance:
    found = ledger_repository.get_balance(wallet_account(member))
    assert found is not None
    return found


def receivable() -> int:
    found = ledger_repository.get_balance(PlatformAccount.RECEIVABLE.value)
    return 0 if found is None else found.posted


def records(purchase: Purchase | None = None) -> list[tuple[str, str, str, str, int]]:
    """(transfer id, kind, payer, payee, amount), platform shards folded into their account."""
    found = [
        (
            t.request.transfer_id,
            t.request.kind.value,
            logical_account(t.payer_account),
            logical_account(t.payee_account),
            t.request.amount,
        )
        for t in books.transfers()
        if purchase is None or t.request.refs.get("purchase_id") == purchase.purchase_id
    ]
    return sorted(found)


def assert_books_balanced() -> None:
    books.assert_reconciled()


def snapshot() -> tuple[list, list, list]:
    return (
        sorted(
            (b.account_id, b.posted, b.held, b.available, b.frozen, b.owed, b.open_disputes) for b in books.balances()
        ),
        sorted((t.request.transfer_id, t.request.amount, t.payer_account, t.payee_account) for t in books.transfers()),
        sorted(
            (p.purchase_id, p.status.value, p.reversed_credits, p.refunded_cents, p.lost_dispute_cents)
            for p in books.purchases()
        ),
    )


def api_purchase(api: Any, purchase: Purchase) -> dict[str, Any]:
    response = api.get(f"/purchases/{purchase.purchase_id}", as_=purchase.member_id)
    assert response.status_code == 200, response.body
    return response.json


def assert_credited_once(api: Any, purchase: Purchase, posted: int | None = None) -> None:
    credits = purchase.credits if posted is None else posted
    assert api.get("/me/wallet", as_=purchase.member_id).json["posted"] == credits
    assert api_purchase(api, purchase)["status"] == "succeeded"
    issued = [r for r in records(purchase) if r[1] == "purchase"]
    wallet_id = f"member:{purchase.member_id}"
    assert issued == [
        (f"purchase:{purchase.payment_intent_id}", "purchase", "platform:issuance", wallet_id, purchase.credits)
    ]


# Refused deliveries: a 400 problem, and nothing changes


class TestRefusedDeliveries:
    def test_bad_signatures_bodies_and_livemode_get_400_and_change_nothing(self, api, hooks, local_secrets):
        purchase = seed_purchase(api, "alice")
        good = event("payment_intent.succeeded", intent(purchase))
        body = body_of(good)
        secret = local_secrets.stripe_webhook_secret
        now = int(time.time())
        tampered = body_of({**good, "data": {"object": intent(purchase, amount=1)}})
        live = event("payment_intent.succeeded", intent(purchase), livemode=True)
        cases = {
            "forged signature (hmac of other bytes)": (body, sign(tampered, secret), "invalid-signature"),
            "forged signature (body changed after signing)": (tampered, sign(body, secret), "invalid-signature"),
            "forged signature (random hex)": (body, f"t={now},v1={'ab' * 32}", "invalid-signature"),
            "wrong secret": (body, sign(body, "whsec_" + "0" * 48), "invalid-signature"),
            "stale timestamp (> 300 s)": (body, sign(body, secret, now - 301), "invalid-signature"),
            "very stale timestamp": (body, sign(body, secret, now - 3 * 24 * 3600), "invalid-signature"),
            "missing header": (body, None, "invalid-signature"),
            "empty header": (body, "", "invalid-signature"),
            "header without v1": (body, f"t={now}", "invalid-signature"),
            "garbage body": (b"\x00not json{", sign(b"\x00not json{", secret), "malformed-request"),
            "not utf-8": (b"\xff\xfe\xfd", sign(b"\xff\xfe\xfd", secret), "malformed-request"),
            "json but no event": (b"[1, 2]", sign(b"[1, 2]", secret), "malformed-request"),
            "event without data": (b'{"id": "evt_x"}', sign(b'{"id": "evt_x"}', secret), "malformed-request"),
            "livemode event in a test deployment": (body_of(live), sign(body_of(live), secret), "livemode-mismatch"),
        }
        before = snapshot()
        for name, (payload, signature, problem_type) in cases.items():
            response = hooks.post(payload, signature)
            assert response.status_code == 400, (name, response.body)
            assert_problem(response, 400, problem_type)
            assert snapshot() == before, name
        assert not purchase_repo.event_seen(good["id"]) and not purchase_repo.event_seen(live["id"])
        assert api_purchase(api, purchase)["status"] == "pending"
        assert_books_balanced()

        # The refusals did not poison the event id: the genuine delivery still credits.
        hooks.send(good)
        assert_credited_once(api, purchase)
        assert_books_balanced()

    def test_signed_events_of_the_wrong_shape_are_a_400_never_a_500(self, api, hooks, local_secrets):
        purchase = seed_purchase(api, "alice")
        secret = local_secrets.stripe_webhook_secret
        before = snapshot()
        shapes = [
            {"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": "pi_1"}},
            {"id": "evt_2", "type": "charge.refunded", "data": {"object": [1, 2]}},
            {"type": "payment_intent.succeeded", "data": {"object": intent(purchase)}},  # no id
            {"id": "evt_3", "data": {"object": intent(purchase)}},  # no type
            {"id": 42, "type": "payment_intent.succeeded", "data": {"object": intent(purchase)}},
        ]
        for shape in shapes:
            payload = body_of(shape)
            response = hooks.post(payload, sign(payload, secret))
            assert_problem(response, 400, "malformed-request")
        assert snapshot() == before
        assert_books_balanced()


# payment_intent.succeeded: the pack's credits, once


class TestSuccess:
    def test_credits_exactly_the_pack_and_replays_change_nothing(self, api, hooks, local_secrets):
        purchase = seed_purchase(api, "alice", "neighbour-chf")
        succeeded = event("payment_intent.succeeded", intent(purchase))
        hooks.send(succeeded)
        assert_credited_once(api, purchase)
        assert api.get("/me/wallet").json == {
            "account_id": "member:alice",
            "posted": 120,
            "held": 0,
            "available": 120,
            "frozen": False,
        }
        assert purchase_repo.event_seen(succeeded["id"])
        after = snapshot()

        hooks.send(succeeded)  # Stripe's retry: re-signed, later timestamp
        payload = body_of(succeeded)
        signature = sign(payload, local_secrets.stripe_webhook_secret)
        assert hooks.post(payload, signature).status_code == 200
        assert hooks.post(payload, signature).status_code == 200  # byte-for-byte replay
        assert snapshot() == after
        assert_credited_once(api, purchase)
        assert_books_balanced()

    def test_success_announced_by_different_events_credits_once(self, api, hooks):
        purchase = seed_purchase(api, "alice")
        for _ in range(3):
            hooks.send(event("payment_intent.succeeded", intent(purchase)))
        assert_credited_once(api, purchase)
        assert_books_balanced()

    def test_the_same_event_delivered_by_many_threads_at_once_credits_once(self, api, local_secrets):
        purchase = seed_purchase(api, "alice", "community-eur")
        payload = body_of(event("payment_intent.succeeded", intent(purchase)))
        signature = sign(payload, local_secrets.stripe_webhook_secret)
        failures = run_together(8, lambda _: stripe_events.handle(payload, signature))
        assert failures == []
        assert_credited_once(api, purchase)
        assert wallet("alice").available == 300
        assert_books_balanced()

    def test_different_events_for_one_payment_delivered_at_once_credit_once(self, api, local_secrets):
        purchase = seed_purchase(api, "alice")
        payloads = [body_of(event("payment_intent.succeeded", intent(purchase))) for _ in range(8)]
        secret = local_secrets.stripe_webhook_secret
        failures = run_together(8, deliver_each(payloads, secret))
        assert failures == []
        assert_credited_once(api, purchase)
        assert_books_balanced()

    def test_payments_of_several_members_at_once_each_credit_once(self, api, local_secrets):
        bought = [seed_purchase(api, f"m{i}", "starter-chf") for i in range(6)]
        payloads = [body_of(event("payment_intent.succeeded", intent(p))) for p in bought]
        secret = local_secrets.stripe_webhook_secret
        failures = run_together(12, deliver_each(payloads * 2, secret))
        assert failures == []
        for purchase in bought:
            assert_credited_once(api, purchase)
        assert_books_balanced()

    def test_a_second_payment_intent_for_one_purchase_never_credits_it_twice(self, api, hooks, logged_errors):
        """The webhook may beat our own write of the PaymentIntent id: the signed metadata finds the
        purchase. A second PaymentIntent carrying the same purchase (made by hand in the dashboard)
        must not credit it again."""
        purchase = seed_purchase(api, "alice", with_intent=False)
        hooks.send(event("payment_intent.succeeded", intent(purchase)))
        assert_credited_once(api, purchase)
        other = intent(purchase, payment_intent_id=new_id("pi"))
        hooks.send(event("payment_intent.succeeded", other))
        assert_credited_once(api, purchase)
        assert_books_balanced()


def run_together(threads: int, work: Any) -> list[BaseException]:
    """Runs work(i) on `threads` threads released at the same moment; returns what they raised.

    The platform accounts exist first, as in any running deployment: on a brand-new ledger, concurrent
    first transfers race in services/ledger._refuse_debit (a thread that finds the issuance shards
    created by another meanwhile reports insufficient funds, a 409 that Stripe retries)."""
    ledger.ensure_platform_accounts()
    barrier = threading.Barrier(threads)
    failures: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            work(index)
        except BaseException as error:  # reported to the test
            failures.append(error)

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    return failures


def deliver_each(payloads: list[bytes], secret: str) -> Any:
    """Work for run_together: thread i delivers payloads[i] through the webhook's service, signed, and
    delivers it again after a 503 (the purchase kept changing under the other threads), as Stripe does."""

    def deliver(index: int) -> None:
        for _ in range(STRIPE_DELIVERIES - 1):
            try:
                stripe_events.handle(payloads[index], sign(payloads[index], secret))
                return
            except errors.Busy:
                time.sleep(0.05)
        stripe_events.handle(payloads[index], sign(payloads[index], secret))

    return deliver


# Payments that do not match their purchase


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"amount": 499}, "amount"),
        ({"amount": 50000}, "amount"),
        ({"currency": "chf"}, "currency"),
        ({"pack_id": "neighbour-eur"}, "pack"),
    ],
    ids=["amount-lower", "amount-higher", "currency", "pack"],
)
def test_a_mismatch_credits_nothing_is_logged_and_acknowledged(api, hooks, logged_errors, change, expected):
    purchase = seed_purchase(api, "alice")
    before = snapshot()
    hooks.send(event("payment_intent.succeeded", intent(purchase, **change)))
    assert snapshot() == before
    assert api_purchase(api, purchase)["status"] == "pending"
    assert wallet("alice").posted == 0
    assert logged_errors == ["payment does not match its purchase: nothing credited"]
    assert_books_balanced()


def test_a_refund_of_a_charge_that_does_not_match_reverses_nothing(api, hooks, logged_errors):
    purchase = seed_purchase(api, "alice")
    mismatched = charge(purchase, [refund(purchase, 100, 1)])
    mismatched["amount"] = 400
    before = snapshot()
    hooks.send(event("charge.refunded", mismatched))
    assert snapshot() == before
    assert len(logged_errors) == 1
    assert_books_balanced()


# Failed and canceled payments


class TestFailures:
    def test_failed_then_succeeded_on_the_same_intent_ends_succeeded_and_credited_once(self, api, hooks):
        purchase = seed_purchase(api, "alice")
        hooks.send(event("payment_intent.payment_failed", intent(purchase, status="requires_payment_method")))
        assert api_purchase(api, purchase)["status"] == "failed"
        assert wallet("alice").posted == 0
        hooks.send(event("payment_intent.succeeded", intent(purchase)))
        hooks.send(event("payment_intent.payment_failed", intent(purchase, status="requires_payment_method")))
        assert_credited_once(api, purchase)
        assert_books_balanced()

    def test_succeeded_then_failed_or_canceled_stays_succeeded(self, api, hooks):
        purchase = seed_purchase(api, "alice")
        hooks.send(event("payment_intent.succeeded", intent(purchase)))
        hooks.send(event("payment_intent.payment_failed", intent(purchase, status="requires_payment_method")))
        hooks.send(event("payment_intent.canceled", intent(purchase, status="canceled")))
        assert_credited_once(api, purchase)
        assert_books_balanced()

    def test_canceled_marks_the_purchase_failed(self, api, hooks):
        purchase = seed_purchase(api, "alice")
        hooks.send(event("payment_intent.canceled", intent(purchase, status="canceled")))
        assert api_purchase(api, purchase)["status"] == "failed"
        assert records(purchase) == []
        assert_books_balanced()


# Refunds


def assert_fully_reversed(api: Any, purchase: Purchase) -> None:
    found = stored(purchase)
    assert found.status is PurchaseStatus.SUCCEEDED
    assert found.reversed_credits == purchase.credits
    kinds = [(r[1], r[4]) for r in records(purchase)]
    assert sum(amount for kind, amount in kinds if kind == "purchase") == purchase.credits
    assert sum(amount for kind, amount in kinds if kind == "reversal") == purchase.credits
    assert api_purchase(api, purchase)["reversed_credits"] == purchase.credits


class TestRefunds:
    def test_refund_before_success_credits_then_reverses_and_the_late_success_changes_nothing(self, api, hooks):
        purchase = seed_purchase(api, "alice", "neighbour-eur")
        full = refund(purchase, purchase.amount_cents, 1_700_000_000)
        hooks.send(event("charge.refunded", charge(purchase, [full])))
        assert_fully_reversed(api, purchase)
        assert api.get("/me/wallet").json["posted"] == 0
        assert wallet("alice").owed == 0 and not wallet("alice").frozen
        assert records(purchase) == sorted(
            [
                (f"purchase:{purchase.payment_intent_id}", "purchase", "platform:issuance", "member:alice", 120),
                (f"reversal:{purchase.purchase_id}:120", "reversal", "member:alice", "platform:issuance", 120),
            ]
        )
        settled = snapshot()

        hooks.send(event("payment_intent.succeeded", intent(purchase)))  # late
        hooks.send(event("charge.refunded", charge(purchase, [full])))  # again, another event id
        hooks.send(event("payment_intent.payment_failed", intent(purchase, status="requires_payment_method")))
        assert snapshot() == settled
        assert_books_balanced()

    def test_partial_refunds_add_up_to_the_pack_exactly_in_any_order_and_never_more(self, api, hooks):
        """community-eur: 300 credits for 22.50. Refunds of 7.00, 8.00 and 9.00 add up past the amount."""
        finals = []
        orders = [[0, 1, 2], [2, 1, 0], [1, 0, 1, 2, 0, 2]]
        for index, order in enumerate(orders):
            member = f"buyer{index}"
            purchase = seed_purchase(api, member, "community-eur")
            base = 1_700_000_000
            refunds = [refund(purchase, cents, base + i) for i, cents in enumerate((700, 800, 900))]
            growing = [charge(purchase, refunds[: n + 1]) for n in range(3)]
            for step in order:
                hooks.send(event("charge.refunded", growing[step]))
                assert 0 < stored(purchase).reversed_credits <= 300
            found = stored(purchase)
            assert found.reversed_credits == 300
            # Each new running total reverses what it adds, keyed by the total it reaches:
            # floor(300 * 700 / 2250) = 93, floor(300 * 1500 / 2250) = 200, then the amount: 300.
            reversals = {r[0]: r[4] for r in records(purchase) if r[1] == "reversal"}
            reached = [int(transfer_id.rsplit(":", 1)[1]) for transfer_id in reversals]
            assert set(reached) <= {93, 200, 300} and max(reached) == 300
            assert sum(reversals.values()) == 300
            assert wallet(member).posted == 0 and wallet(member).owed == 0
            finals.append((found.status, found.reversed_credits, sum(reversals.values())))
            assert_books_balanced()
        assert finals[0] == finals[1] == finals[2]

    def test_each_partial_refund_reverses_its_share_and_failed_or_canceled_ones_nothing(self, api, hooks):
        purchase = seed_purchase(api, "alice", "neighbour-eur")  # 120 credits for 10.00
        first = refund(purchase, 250, 1)
        hooks.send(event("charge.refunded", charge(purchase, [first])))
        assert wallet("alice").posted == 90 and stored(purchase).reversed_credits == 30
        failed = {**refund(purchase, 500, 2), "status": "failed"}
        canceled = {**refund(purchase, 400, 3), "status": "canceled"}
        hooks.send(event("charge.refunded", charge(purchase, [first, failed, canceled], amount_refunded=250)))
        assert wallet("alice").posted == 90
        second = refund(purchase, 250, 4)
        hooks.send(event("charge.refunded", charge(purchase, [first, failed, canceled, second], amount_refunded=500)))
        assert wallet("alice").posted == 60 and stored(purchase).reversed_credits == 60
        assert_books_balanced()

    def test_refunds_without_the_list_reverse_each_new_total(self, api, hooks):
        """Since API version 2022-11-15 a charge no longer lists its refunds: charge.refunded carries
        only the running amount_refunded. Each new total reverses its share, once, in any order."""
        purchase = seed_purchase(api, "alice", "community-eur")  # 300 credits for 22.50
        totals = [charge(purchase, None, amount_refunded=cents) for cents in (700, 1500, 2400)]
        for step in (1, 0, 1, 2, 0):
            hooks.send(event("charge.refunded", totals[step]))
            assert stored(purchase).reversed_credits <= 300
        assert stored(purchase).reversed_credits == 300
        assert wallet("alice").posted == 0
        assert_books_balanced()

        other = seed_purchase(api, "bob", "community-eur")
        for cents in (700, 1500):
            hooks.send(event("charge.refunded", charge(other, None, amount_refunded=cents)))
        assert stored(other).reversed_credits == 200  # floor(300 * 1500 / 2250)
        assert wallet("bob").posted == 100
        assert_books_balanced()

    def test_concurrent_refund_totals_never_reverse_more_than_the_pack(self, api, local_secrets):
        purchase = seed_purchase(api, "alice", "community-eur")
        secret = local_secrets.stripe_webhook_secret
        payloads = [
            body_of(event("charge.refunded", charge(purchase, None, amount_refunded=cents)))
            for cents in (700, 1500, 2250, 700, 1500, 2250)
        ]
        failures = run_together(6, deliver_each(payloads, secret))
        assert failures == []
        assert stored(purchase).reversed_credits == 300
        assert wallet("alice").posted == 0
        assert_books_balanced()

    def test_concurrent_success_refunds_and_failures_end_in_one_state(self, api, local_secrets):
        purchase = seed_purchase(api, "alice", "community-chf")
        secret = local_secrets.stripe_webhook_secret
        refunds = [refund(purchase, cents, 10 + i) for i, cents in enumerate((1000, 1250))]
        events = [
            event("payment_intent.succeeded", intent(purchase)),
            event("payment_intent.succeeded", intent(purchase)),
            event("payment_intent.payment_failed", intent(purchase, status="requires_payment_method")),
            event("charge.refunded", charge(purchase, refunds[:1])),
            event("charge.refunded", charge(purchase, refunds)),
            event("charge.refunded", charge(purchase, refunds)),
        ]
        payloads = [body_of(e) for e in events]
        failures = run_together(len(payloads), deliver_each(payloads, secret))
        assert failures == []
        assert_fully_reversed(api, purchase)
        assert wallet("alice").posted == 0
        assert_books_balanced()

    @pytest.mark.parametrize("ids", ["ascending", "descending"])
    def test_split_refunds_reverse_the_whole_pack_whatever_their_ids(self, api, hooks, ids):
        """Three partial refunds of 1.66, 1.67 and 1.67 of a 50-credit pack: Stripe's refund ids are
        random, and the credits taken back must not depend on how they sort."""
        purchase = seed_purchase(api, "alice", "starter-eur")  # 50 credits for 5.00
        names = ["re_c", "re_b", "re_a"] if ids == "descending" else ["re_a", "re_b", "re_c"]
        refunds = [
            refund(purchase, cents, 1_700_000_000, name) for cents, name in zip((166, 167, 167), names, strict=True)
        ]
        for count in (1, 2, 3):
            hooks.send(event("charge.refunded", charge(purchase, refunds[:count])))
        assert stored(purchase).reversed_credits == 50
        assert (wallet("alice").posted, wallet("alice").owed) == (0, 0)
        assert_books_balanced()

    def test_a_refunded_charge_disputed_and_lost_reverses_the_pack_once(self, api, hooks):
        """A cardholder can dispute a charge that was already refunded: the money went back once."""
        purchase = seed_purchase(api, "alice", "starter-eur")
        hooks.send(event("charge.refunded", charge(purchase, [refund(purchase, 500, 1)])))
        hooks.send(event("charge.dispute.created", dispute(purchase, "dp_1", "needs_response")))
        hooks.send(event("charge.dispute.closed", dispute(purchase, "dp_1", "lost")))
        alice = wallet("alice")
        assert stored(purchase).reversed_credits == 50
        assert (alice.posted, alice.owed, alice.open_disputes, alice.frozen) == (0, 0, 0, False)
        assert receivable() == 0
        assert_books_balanced()

    def test_a_partial_refund_then_a_lost_dispute_of_the_rest_reverses_the_pack(self, api, hooks):
        purchase = seed_purchase(api, "alice", "neighbour-eur")  # 120 credits for 10.00
        hooks.send(event("charge.refunded", charge(purchase, None, amount_refunded=400)))
        assert stored(purchase).reversed_credits == 48
        hooks.send(event("charge.dispute.closed", dispute(purchase, "dp_1", "lost", amount=1000)))
        assert stored(purchase).reversed_credits == 120
        hooks.send(event("charge.refunded", charge(purchase, None, amount_refunded=1000)))  # later, the rest
        assert stored(purchase).reversed_credits == 120 and wallet("alice").posted == 0
        assert_books_balanced()

    def test_a_refund_after_the_credits_were_spent_is_owed_and_freezes(self, api, hooks):
        purchase = seed_purchase(api, "alice", "starter-eur")  # 50 credits
        hooks.send(event("payment_intent.succeeded", intent(purchase)))
        api.get("/me", as_="bob")
        assert api.post("/transfers", {"to_member_id": "bob", "amount": 45}).status_code == 201
        hooks.send(event("charge.refunded", charge(purchase, [refund(purchase, 500, 1)])))
        alice = wallet("alice")
        assert (alice.posted, alice.owed, alice.frozen) == (0, 45, True)
        assert receivable() == -45
        refused = api.post("/transfers", {"to_member_id": "bob", "amount": 1})
        assert_problem(refused, 409, "wallet-frozen")
        assert_books_balanced()


# Disputes


class TestDisputes:
    def test_dispute_after_the_credits_were_spent_freezes_reverses_and_is_settled_by_the_next_purchase(
        self, api, hooks
    ):
        purchase = seed_purchase(api, "alice", "starter-eur")  # 50 credits
        hooks.send(event("payment_intent.succeeded", intent(purchase)))
        api.get("/me", as_="bob")
        assert api.post("/transfers", {"to_member_id": "bob", "amount": 40}).status_code == 201
        assert wallet("alice").available == 10

        hooks.send(event("charge.dispute.created", dispute(purchase, "dp_1", "needs_response")))
        assert api.get("/me/wallet").json["frozen"] is True
        assert (wallet("alice").open_disputes, wallet("alice").posted) == (1, 10)
        assert_problem(api.post("/transfers", {"to_member_id": "bob", "amount": 5}), 409, "wallet-frozen")
        hooks.send(event("charge.dispute.created", dispute(purchase, "dp_1", "needs_response")))  # again
        assert wallet("alice").open_disputes == 1
        assert_books_balanced()

        hooks.send(event("charge.dispute.closed", dispute(purchase, "dp_1", "lost")))
        alice = wallet("alice")
        assert (alice.posted, alice.available, alice.owed, alice.open_disputes, alice.frozen) == (0, 0, 40, 0, True)
        assert receivable() == -40
        assert wallet("bob").posted == 40  # what was paid to another member stays paid
        assert sorted(r for r in records(purchase) if r[1] == "reversal") == [
            (f"reversal:{purchase.purchase_id}:50", "reversal", "member:alice", "platform:issuance", 10),
            (f"reversal:{purchase.purchase_id}:50:owed", "reversal", "platform:receivable", "platform:issuance", 40),
        ]
        assert stored(purchase).reversed_credits == 50
        assert_problem(api.post("/transfers", {"to_member_id": "bob", "amount": 1}), 409, "wallet-frozen")
        closed = snapshot()
        hooks.send(event("charge.dispute.closed", dispute(purchase, "dp_1", "lost")))  # again
        hooks.send(event("charge.dispute.created", dispute(purchase, "dp_1", "needs_response")))  # late
        hooks.send(event("payment_intent.succeeded", intent(purchase)))  # late
        assert snapshot() == closed
        assert_books_balanced()

        # The next purchase pays back the debt first, and spending unfreezes.
        small = seed_purchase(api, "alice", "starter-chf")  # 50 credits
        hooks.send(event("payment_intent.succeeded", intent(small)))
        alice = wallet("alice")
        assert (alice.posted, alice.owed, alice.open_disputes, alice.frozen) == (10, 0, 0, False)
        assert receivable() == 0
        assert [r for r in records(small) if r[1] == "settlement"] == [
            (f"settlement:{small.purchase_id}", "settlement", "member:alice", "platform:receivable", 40)
        ]
        assert api.get("/me/wallet").json == {
            "account_id": "member:alice",
            "posted": 10,
            "held": 0,
            "available": 10,
            "frozen": False,
        }
        assert api.post("/transfers", {"to_member_id": "bob", "amount": 10}).status_code == 201
        assert_books_balanced()

    def test_a_purchase_smaller_than_the_debt_settles_part_and_stays_frozen(self, api, hooks):
        purchase = seed_purchase(api, "alice", "community-eur")  # 300 credits
        hooks.send(event("payment_intent.succeeded", intent(purchase)))
        api.get("/me", as_="bob")
        assert api.post("/transfers", {"to_member_id": "bob", "amount": 300}).status_code == 201
        hooks.send(event("charge.dispute.closed", dispute(purchase, "dp_2", "lost")))
        assert (wallet("alice").owed, wallet("alice").frozen) == (300, True)
        first = seed_purchase(api, "alice", "neighbour-eur")  # 120 credits
        hooks.send(event("payment_intent.succeeded", intent(first)))
        assert (wallet("alice").posted, wallet("alice").owed, wallet("alice").frozen) == (0, 180, True)
        assert receivable() == -180
        second = seed_purchase(api, "alice", "community-chf")  # 300 credits
        hooks.send(event("payment_intent.succeeded", intent(second)))
        hooks.send(event("payment_intent.succeeded", intent(second)))
        assert (wallet("alice").posted, wallet("alice").owed, wallet("alice").frozen) == (120, 0, False)
        assert receivable() == 0
        assert_books_balanced()

    def test_dispute_won_unfreezes_and_reverses_nothing(self, api, hooks):
        purchase = seed_purchase(api, "carol", "neighbour-chf")
        hooks.send(event("payment_intent.succeeded", intent(purchase)))
        hooks.send(event("charge.dispute.created", dispute(purchase, "dp_won", "needs_response")))
        assert wallet("carol").frozen is True
        hooks.send(event("charge.dispute.closed", dispute(purchase, "dp_won", "won")))
        carol = wallet("carol")
        assert (carol.posted, carol.owed, carol.open_disputes, carol.frozen) == (120, 0, 0, False)
        assert stored(purchase).reversed_credits == 0
        assert [r for r in records(purchase) if r[1] == "reversal"] == []
        api.get("/me", as_="dave")
        paid = api.post("/transfers", {"to_member_id": "dave", "amount": 20}, as_="carol")
        assert paid.status_code == 201, paid.body
        assert_books_balanced()

    @pytest.mark.parametrize("outcome", ["won", "lost"])
    def test_dispute_closed_before_created_ends_unfrozen_by_the_dispute(self, api, hooks, outcome):
        purchase = seed_purchase(api, "carol", "starter-eur")
        hooks.send(event("payment_intent.succeeded", intent(purchase)))
        hooks.send(event("charge.dispute.closed", dispute(purchase, "dp_late", outcome)))
        hooks.send(event("charge.dispute.created", dispute(purchase, "dp_late", "needs_response")))
        carol = wallet("carol")
        assert carol.open_disputes == 0 and carol.frozen is False
        assert carol.posted == (50 if outcome == "won" else 0)
        assert_books_balanced()

    def test_dispute_before_success_credits_first(self, api, hooks):
        purchase = seed_purchase(api, "carol", "starter-eur")
        hooks.send(event("charge.dispute.created", dispute(purchase, "dp_early", "needs_response")))
        assert api_purchase(api, purchase)["status"] == "succeeded"
        assert (wallet("carol").posted, wallet("carol").frozen) == (50, True)
        hooks.send(event("charge.dispute.closed", dispute(purchase, "dp_early", "lost")))
        hooks.send(event("payment_intent.succeeded", intent(purchase)))
        carol = wallet("carol")
        assert (carol.posted, carol.owed, carol.frozen) == (0, 0, False)
        assert_fully_reversed(api, purchase)
        assert_books_balanced()

    def test_concurrent_dispute_deliveries_end_in_one_state(self, api, local_secrets):
        purchase = seed_purchase(api, "carol", "neighbour-eur")
        secret = local_secrets.stripe_webhook_secret
        events = [
            event("payment_intent.succeeded", intent(purchase)),
            event("charge.dispute.created", dispute(purchase, "dp_c", "needs_response")),
            event("charge.dispute.created", dispute(purchase, "dp_c", "needs_response")),
            event("charge.dispute.closed", dispute(purchase, "dp_c", "won")),
            event("charge.dispute.closed", dispute(purchase, "dp_c", "won")),
        ]
        for _ in range(3):  # three rounds, each a fresh set of event ids
            payloads = [body_of({**e, "id": new_id("evt")}) for e in events]
            failures = run_together(len(payloads), deliver_each(payloads, secret))
            assert failures == []
        carol = wallet("carol")
        assert (carol.posted, carol.open_disputes, carol.frozen) == (120, 0, False)
        assert_books_balanced()


# Events we do not act on


class TestIgnored:
    def test_unknown_event_types_are_acknowledged_and_ignored(self, api, hooks):
        purchase = seed_purchase(api, "alice")
        before = snapshot()
        for event_type in ("customer.created", "charge.dispute.funds_withdrawn", "payout.paid", "refund.created"):
            evt = event(event_type, {"id": new_id("obj"), "payment_intent": purchase.payment_intent_id})
            hooks.send(evt)
            assert purchase_repo.event_seen(evt["id"])
        assert snapshot() == before
        assert_books_balanced()

    def test_events_for_a_payment_intent_that_is_not_ours_are_ignored(self, api, hooks):
        purchase = seed_purchase(api, "alice")
        stranger = replace(purchase, payment_intent_id=new_id("pi"), purchase_id=uuid.uuid4().hex)
        before = snapshot()
        hooks.send_all(
            event("payment_intent.succeeded", intent(stranger)),
            event("payment_intent.payment_failed", intent(stranger, status="requires_payment_method")),
            event("charge.refunded", charge(stranger, [refund(stranger, 500, 1)])),
            event("charge.dispute.created", dispute(stranger, "dp_x", "needs_response")),
            event("charge.dispute.closed", dispute(stranger, "dp_x", "lost")),
        )
        # Someone else's PaymentIntent pointing at our purchase in its metadata is not ours either.
        hooks.send(event("payment_intent.succeeded", intent(purchase, payment_intent_id=new_id("pi"))))
        hooks.send(event("payment_intent.succeeded", {"id": new_id("pi"), "amount": 500, "currency": "eur"}))
        assert snapshot() == before
        assert api_purchase(api, purchase)["status"] == "pending"
        assert_books_balanced()


# Purchase history and POST /purchases guards (a real PaymentIntent at localstripe)


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    with localstack.localstripe() as url:
        yield url


@pytest.fixture
def stripe_api(table_name: str, localstripe_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("PWIIC_STRIPE_API_BASE", localstripe_url)
    config.reset()
    stripe_gateway.reset()
    yield localstripe_url
    stripe_gateway.reset()


def configure(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    config.reset()


def start(api: Any, pack_id: str, member: str = "alice") -> Any:
    return api.post("/purchases", {"pack_id": pack_id}, as_=member)


class TestPurchaseRoutes:
    def test_packs_are_public(self, api):
        packs = api.get("/credit-packs", as_=None)
        assert packs.status_code == 200
        assert {"id": "starter-chf", "credits": 50, "price_cents": 500, "currency": "chf", "active": True} in packs.json

    def test_start_a_purchase_and_see_only_your_own(self, api, hooks, stripe_api):
        started = start(api, "neighbour-chf")
        assert started.status_code == 201, started.body
        body = started.json
        assert body["client_secret"].startswith(body["payment_intent_id"])
        assert (body["amount_cents"], body["currency"], body["credits"]) == (1000, "chf", 120)
        assert body["publishable_key"] == "pk_test_local"
        assert body["purchase"]["status"] == "pending"
        purchase_id = body["purchase"]["id"]

        mine = api.get("/me/purchases")
        assert [p["id"] for p in mine.json["items"]] == [purchase_id]
        assert api.get(f"/purchases/{purchase_id}").json["payment_intent_id"] == body["payment_intent_id"]
        assert api.get("/me/purchases", as_="bob").json["items"] == []
        assert_problem(api.get(f"/purchases/{purchase_id}", as_="bob"), 404, "not-found")
        assert_problem(api.get("/purchases/nope"), 404, "not-found")
        assert api.get(f"/purchases/{purchase_id}", as_=None).status_code == 401

        purchase = replace_id(purchase_id)
        hooks.send(event("payment_intent.succeeded", intent(purchase)))
        assert api.get(f"/purchases/{purchase_id}").json["status"] == "succeeded"
        assert api.get("/me/wallet").json["posted"] == 120
        assert_books_balanced()

    def test_unknown_and_inactive_packs(self, api, monkeypatch):
        packs = [
            {"pack_id": "sold", "credits": 10, "price_cents": 100, "currency": "eur"},
            {"pack_id": "retired", "credits": 10, "price_cents": 100, "currency": "eur", "active": False},
        ]
        configure(monkeypatch, PWIIC_CREDIT_PACKS=json.dumps(packs))
        assert_problem(start(api, "no-such-pack"), 404, "unknown-pack")
        assert_problem(start(api, "retired"), 422, "pack-inactive")
        assert {p["id"]: p["active"] for p in api.get("/credit-packs").json} == {"sold": True, "retired": False}
        assert api.get("/me/purchases").json["items"] == []
        assert_books_balanced()

    def test_too_many_pending_purchases(self, api, hooks, stripe_api, monkeypatch):
        configure(monkeypatch, PWIIC_MAX_PENDING_PURCHASES="2")
        first = start(api, "starter-eur")
        assert first.status_code == 201, first.body
        assert start(api, "starter-eur").status_code == 201
        refused = start(api, "starter-eur")
        assert_problem(refused, 409, "too-many-pending-purchases")
        assert start(api, "starter-eur", member="bob").status_code == 201  # per member
        assert len(api.get("/me/purchases").json["items"]) == 2

        # A finished purchase no longer counts as pending.
        purchase = replace_id(first.json["purchase"]["id"])
        hooks.send(event("payment_intent.succeeded", intent(purchase)))
        assert start(api, "starter-eur").status_code == 201
        assert_books_balanced()

    def test_the_pending_cap_holds_when_purchases_start_at_once(self, api, stripe_api, monkeypatch):
        """Eight purchases started at the same moment by one member: exactly the cap gets through."""
        configure(monkeypatch, PWIIC_MAX_PENDING_PURCHASES="3")
        api.get("/me")
        started: list[Any] = []
        failures = run_together(8, lambda i: started.append(purchases.start_purchase("alice", "starter-eur")))
        assert len(started) == 3, (started, failures)
        assert len(failures) == 5 and all(
            isinstance(error, errors.Conflict) and error.code == "too-many-pending-purchases" for error in failures
        ), failures
        assert len(api.get("/me/purchases").json["items"]) == 3
        assert_books_balanced()

    def test_daily_money_limit(self, api, hooks, stripe_api, monkeypatch):
        configure(monkeypatch, PWIIC_DAILY_PURCHASE_LIMIT_CENTS="2500", PWIIC_MAX_PENDING_PURCHASES="10")
        first = start(api, "neighbour-eur")  # 10.00
        assert first.status_code == 201, first.body
        assert start(api, "neighbour-eur").status_code == 201  # 20.00
        refused = start(api, "neighbour-eur")  # 30.00 > 25.00
        assert_problem(refused, 409, "daily-limit-reached")
        assert start(api, "starter-eur").status_code == 201  # 25.00: exactly the limit
        assert_problem(start(api, "starter-eur"), 409, "daily-limit-reached")
        assert start(api, "neighbour-chf").status_code == 201  # another currency, its own limit
        assert start(api, "neighbour-eur", member="bob").status_code == 201  # another member
        assert len(api.get("/me/purchases").json["items"]) == 4
        assert_books_balanced()

    def test_a_failed_payment_frees_its_share_of_the_day_and_a_late_success_takes_it_again(
        self, api, hooks, stripe_api, monkeypatch
    ):
        configure(monkeypatch, PWIIC_DAILY_PURCHASE_LIMIT_CENTS="2500", PWIIC_MAX_PENDING_PURCHASES="10")
        first = start(api, "neighbour-eur")
        assert first.status_code == 201, first.body
        purchase = replace_id(first.json["purchase"]["id"])
        hooks.send(event("payment_intent.payment_failed", intent(purchase, status="requires_payment_method")))
        assert start(api, "neighbour-eur").status_code == 201  # 10.00 counted today
        hooks.send(event("payment_intent.succeeded", intent(purchase)))  # the member retried the card
        assert_problem(start(api, "neighbour-eur"), 409, "daily-limit-reached")  # 30.00 > 25.00
        assert start(api, "starter-eur").status_code == 201  # 25.00
        assert_books_balanced()


def replace_id(purchase_id: str) -> Purchase:
    found = purchase_repo.get(purchase_id)
    assert found is not None
    return found
