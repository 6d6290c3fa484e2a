"""Stripe webhooks: the only path that issues purchased credits, and the one that takes them back.

Every handler is a conditional transition keyed by a Stripe id (PaymentIntent, refund, dispute), so
duplicates, concurrent deliveries and any arrival order end in the same state."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

from chalicelib import clock, errors
from chalicelib.adapters import stripe_gateway
from chalicelib.adapters.dynamodb import ledger_repository, store
from chalicelib.adapters.dynamodb import purchase_repository as purchases
from chalicelib.adapters.dynamodb.models import PurchaseItem
from chalicelib.adapters.dynamodb.unit_of_work import Rejected, Retryable, UnitOfWork
from chalicelib.config import settings
from chalicelib.domain.ledger import (
    PlatformAccount,
    TransferKind,
    TransferRequest,
    shard_order,
    wallet_account,
)
from chalicelib.domain.purchases import (
    PaymentFacts,
    Purchase,
    PurchaseStatus,
    Refund,
    dispute_credits,
    mismatch,
    refund_credits,
    refund_total_credits,
    refund_total_id,
)
from chalicelib.services import ledger

logger = Logger(service="pwiic")


def handle(raw_body: bytes, signature: str | None) -> None:
    event = stripe_gateway.verify_event(raw_body, signature)
    if bool(event.get("livemode")) != settings().stripe_livemode:
        raise errors.AppError(
            "The event's livemode does not match this deployment.", 400, "livemode-mismatch", "Livemode mismatch"
        )
    store.ready()
    event_id, event_type = str(event.get("id")), str(event.get("type"))
    if purchases.event_seen(event_id):
        return
    handler = HANDLERS.get(event_type)
    if handler is not None:
        handler(event["data"].get("object") or {})
    purchases.remember_event(event_id, event_type, clock.now_iso())


def _purchase_for(payment_intent_id: str | None, metadata: dict[str, Any] | None) -> Purchase | None:
    """Our own PaymentIntent lookup; the signed metadata covers a webhook faster than our own write."""
    found = purchases.by_payment_intent(payment_intent_id) if payment_intent_id else None
    if found is None and metadata and metadata.get("purchase_id"):
        found = purchases.get(str(metadata["purchase_id"]))
        if found is not None and found.payment_intent_id not in (None, payment_intent_id):
            found = None
    if found is None:
        logger.warning("stripe object for no purchase of ours", extra={"payment_intent": payment_intent_id})
    return found


def _payment_succeeded(intent: dict[str, Any]) -> None:
    purchase = _purchase_for(intent.get("id"), intent.get("metadata"))
    if purchase is not None:
        metadata = intent.get("metadata") or {}
        facts = PaymentFacts(
            int(intent.get("amount_received") or intent.get("amount") or 0),
            str(intent.get("currency", "")),
            metadata.get("pack_id"),
            metadata.get("purchase_id"),
        )
        fulfil(purchase, str(intent["id"]), facts)


def fulfil(purchase: Purchase, payment_intent_id: str, facts: PaymentFacts) -> bool:
    """Issue the pack's credits once, keyed on the PaymentIntent. False when the payment does not match."""
    problem = mismatch(purchase, facts)
    if problem is not None:
        logger.error(
            "payment does not match its purchase: nothing credited",
            extra={"purchase_id": purchase.purchase_id, "payment_intent": payment_intent_id, "mismatch": problem},
        )
        return False
    request = TransferRequest(
        transfer_id=f"purchase:{payment_intent_id}",
        payer=PlatformAccount.ISSUANCE.value,
        payee=wallet_account(purchase.member_id),
        amount=purchase.credits,
        kind=TransferKind.PURCHASE,
        reason=purchase.pack_id,
        refs={"purchase_id": purchase.purchase_id, "payment_intent": payment_intent_id},
    )
    current: Purchase | None = purchase  # read consistently by the caller: no second read unless refused
    for _attempt in range(ledger.MAX_ATTEMPTS):
        assert current is not None
        if current.status is PurchaseStatus.SUCCEEDED:
            break  # credited in the transaction that marked it succeeded; another PaymentIntent never credits it again
        try:
            ledger.transfer(request, also=_marks_succeeded(current))
            break
        except Rejected:
            current = purchases.get(purchase.purchase_id)  # changed meanwhile (failed, or a concurrent delivery)
    else:
        raise errors.AppError("The purchase keeps changing; Stripe will retry.", 503, "ledger-busy", "Service busy")
    _settle_owed(purchase)
    return True


def _marks_succeeded(purchase: Purchase) -> ledger.Also:
    """The purchase's transition, in the same transaction as its credits."""

    day_cents = purchase.amount_cents if purchase.status is PurchaseStatus.FAILED else 0  # freed by the failure

    def add(uow: UnitOfWork) -> None:
        purchases.add_status_change(uow, purchase, PurchaseStatus.SUCCEEDED, clock.now_iso(), day_cents=day_cents)

    return add


def _payment_failed(intent: dict[str, Any]) -> None:
    purchase = _purchase_for(intent.get("id"), intent.get("metadata"))
    while purchase is not None and purchase.status is PurchaseStatus.PENDING:
        uow = UnitOfWork()
        purchases.add_status_change(
            uow, purchase, PurchaseStatus.FAILED, clock.now_iso(), day_cents=-purchase.amount_cents
        )
        try:
            uow.commit()
            return
        except Rejected:
            purchase = purchases.get(purchase.purchase_id)


def _charge_refunded(charge: dict[str, Any]) -> None:
    """A refund proves the charge succeeded: credit first (if that event is late), then reverse."""
    purchase = _charge_purchase(charge)
    if purchase is None:
        return
    listed = sorted((charge.get("refunds") or {}).get("data") or [], key=lambda r: (r.get("created", 0), r["id"]))
    returned = [r for r in listed if r.get("status") not in ("failed", "canceled")]  # no money went back
    refunds = [Refund(str(r["id"]), int(r.get("amount", 0))) for r in returned]
    if not refunds and charge.get("amount_refunded"):  # API versions since 2022-11-15 list no refunds
        charge_id, total = str(charge["id"]), int(charge["amount_refunded"])
        _reverse(purchase, refund_total_id(charge_id, total), lambda now: refund_total_credits(now, charge_id, total))
        return
    for refund_id, credits in refund_credits(purchase, refunds).items():
        _reverse(purchase, refund_id, credits)


def _dispute_created(dispute: dict[str, Any]) -> None:
    purchase = _dispute_purchase(dispute)
    if purchase is not None:
        _change_standing(purchase, str(dispute["id"]), opening=True)


def _dispute_closed(dispute: dict[str, Any]) -> None:
    purchase = _dispute_purchase(dispute)
    if purchase is None:
        return
    dispute_id = str(dispute["id"])
    if dispute.get("status") == "lost":
        _reverse(purchase, dispute_id, dispute_credits(purchase, int(dispute.get("amount", 0))))
    _change_standing(purchase, dispute_id, opening=False)


def _charge_purchase(charge: dict[str, Any]) -> Purchase | None:
    purchase = _purchase_for(charge.get("payment_intent"), charge.get("metadata"))
    if purchase is None:
        return None
    facts = PaymentFacts(int(charge.get("amount", 0)), str(charge.get("currency", "")), None, None)
    return purchase if fulfil(purchase, str(charge["payment_intent"]), facts) else None


def _dispute_purchase(dispute: dict[str, Any]) -> Purchase | None:
    purchase = _purchase_for(dispute.get("payment_intent"), None)
    if purchase is None or purchase.payment_intent_id is None:
        return purchase
    facts = PaymentFacts(purchase.amount_cents, purchase.currency.value, None, None)  # a dispute proves payment
    return purchase if fulfil(purchase, purchase.payment_intent_id, facts) else None


def _reverse(purchase: Purchase, stripe_id: str, credits_of: int | Callable[[Purchase], int]) -> None:
    """Take back credits once per refund or dispute id: what the wallet still has goes back to
    issuance; what was already spent is carried by the receivable account and owed by the member,
    whose spending is frozen until it is settled. When the credits depend on what was already reversed
    (`credits_of` a function of the purchase as read), the reversal applies only if nothing else was
    reversed meanwhile."""
    wallet_id = wallet_account(purchase.member_id)
    refs = {"purchase_id": purchase.purchase_id, "stripe_id": stripe_id}
    issuance = shard_order(PlatformAccount.ISSUANCE, stripe_id, settings().platform_shards)[0]
    for attempt in range(ledger.MAX_ATTEMPTS):
        current = purchases.get(purchase.purchase_id)
        assert current is not None
        if stripe_id in current.reversal_ids:
            return  # already reversed
        credits = credits_of(current) if callable(credits_of) else credits_of
        expected = current.reversed_credits if callable(credits_of) else None
        wallet = ledger_repository.get_balance(wallet_id)
        assert wallet is not None
        from_wallet = min(max(wallet.available, 0), credits)
        owed = credits - from_wallet
        at = clock.now_iso()
        uow = UnitOfWork()
        purchases.add_once(
            uow,
            current,
            PurchaseItem.reversal_ids,
            stripe_id,
            at,
            extra=[PurchaseItem.reversed_credits.add(credits)],
            reversed_credits=expected,
        )
        if credits:
            ledger_repository.add_wallet_state(uow, wallet, debit=from_wallet, owed_delta=owed)
            ledger_repository.add_credit(uow, "issuance", issuance, credits)
        if from_wallet:
            taken = TransferRequest(
                f"reversal:{stripe_id}",
                wallet_id,
                PlatformAccount.ISSUANCE.value,
                from_wallet,
                TransferKind.REVERSAL,
                "refund or lost dispute",
                refs=refs,
            )
            ledger_repository.add_record(uow, "record", taken, wallet_id, issuance, at)
        if owed:
            carried = TransferRequest(
                f"reversal:{stripe_id}:owed",
                PlatformAccount.RECEIVABLE.value,
                PlatformAccount.ISSUANCE.value,
                owed,
                TransferKind.REVERSAL,
                f"owed by {wallet_id}",
                refs=refs,
            )
            ledger_repository.add_record(uow, "owed-record", carried, PlatformAccount.RECEIVABLE.value, issuance, at)
            ledger_repository.add_debit(uow, "receivable", PlatformAccount.RECEIVABLE.value, owed)
        try:
            uow.commit()
            return
        except Rejected as rejected:  # reversed meanwhile (the next read sees it), or the wallet changed
            if rejected.failed & {"issuance", "receivable"}:
                ledger.ensure_platform_accounts()  # first reversal on a fresh ledger
            _pause(attempt)
        except Retryable:
            _pause(attempt)
    raise errors.AppError("The ledger is busy; Stripe will retry.", 503, "ledger-busy", "Service busy")


def _change_standing(purchase: Purchase, dispute_id: str, opening: bool) -> None:
    """A dispute opens and closes once each, in either order: closing releases the wallet only if the
    opening was counted, and an opening that arrives after its closing counts nothing. Each change
    applies only while the other one is still as it was read."""
    wallet_id = wallet_account(purchase.member_id)
    own, other = PurchaseItem.open_dispute_ids, PurchaseItem.closed_dispute_ids
    if not opening:
        own, other = other, own
    for attempt in range(ledger.MAX_ATTEMPTS):
        current = purchases.get(purchase.purchase_id)
        assert current is not None
        opened, closed = dispute_id in current.open_dispute_ids, dispute_id in current.closed_dispute_ids
        if opened if opening else closed:
            return  # done already
        other_done = closed if opening else opened
        delta = (0 if other_done else 1) if opening else (-1 if other_done else 0)
        wallet = ledger_repository.get_balance(wallet_id)
        assert wallet is not None
        uow = UnitOfWork()
        purchases.add_once(uow, current, own, dispute_id, clock.now_iso(), other_set=other, in_other=other_done)
        ledger_repository.add_wallet_state(uow, wallet, disputes_delta=delta)
        try:
            uow.commit()
            return
        except (Rejected, Retryable):  # the purchase or the wallet changed meanwhile: read again
            _pause(attempt)
    raise errors.AppError("The ledger is busy; Stripe will retry.", 503, "ledger-busy", "Service busy")


def _pause(attempt: int) -> None:
    """Jittered backoff between attempts that lost a race, so concurrent deliveries spread out."""
    time.sleep(random.uniform(0, 0.005 * 2**attempt))


def _settle_owed(purchase: Purchase) -> None:
    """New credits first pay back what the member owes; spending unfreezes when nothing is owed."""
    wallet_id = wallet_account(purchase.member_id)
    for _attempt in range(ledger.MAX_ATTEMPTS):
        wallet = ledger_repository.get_balance(wallet_id)
        if wallet is None or wallet.owed <= 0 or wallet.available <= 0:
            return
        amount = min(wallet.owed, wallet.available)
        at = clock.now_iso()
        request = TransferRequest(
            f"settlement:{purchase.purchase_id}",
            wallet_id,
            PlatformAccount.RECEIVABLE.value,
            amount,
            TransferKind.SETTLEMENT,
            "credits owed after a reversal",
            refs={"purchase_id": purchase.purchase_id},
        )
        uow = UnitOfWork()
        ledger_repository.add_record(uow, "record", request, wallet_id, PlatformAccount.RECEIVABLE.value, at)
        ledger_repository.add_wallet_state(uow, wallet, debit=amount, owed_delta=-amount)
        ledger_repository.add_credit(uow, "receivable", PlatformAccount.RECEIVABLE.value, amount)
        try:
            uow.commit()
            return
        except Rejected as rejected:
            if "record" in rejected.failed:
                return
        except Retryable:
            continue


HANDLERS = {
    "payment_intent.succeeded": _payment_succeeded,
    "payment_intent.payment_failed": _payment_failed,
    "payment_intent.canceled": _payment_failed,
    "charge.refunded": _charge_refunded,
    "charge.dispute.created": _dispute_created,
    "charge.dispute.closed": _dispute_closed,
}
