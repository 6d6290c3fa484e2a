"""Stripe webhooks: the only path that issues purchased credits, and the one that takes them back.

Every handler is a conditional transition keyed by a Stripe id (PaymentIntent, refund, dispute), so
duplicates, concurrent deliveries and any arrival order end in the same state."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from chalicelib import clock, errors
from chalicelib.adapters import stripe_gateway
from chalicelib.adapters.dynamodb import purchase_repository as purchases
from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork
from chalicelib.config import settings
from chalicelib.domain.ledger import PlatformAccount, TransferKind, TransferRequest, wallet_account
from chalicelib.domain.purchases import (
    ChargeFact,
    DisputeClosed,
    DisputeOpened,
    PaymentFacts,
    Purchase,
    PurchaseStatus,
    Refunded,
    mismatch,
    record_fact,
)
from chalicelib.observability import logger, metrics
from chalicelib.services import ledger, transaction


def _purchase_changing() -> errors.Busy:
    return errors.Busy("webhook.purchase-keeps-changing-stripe")


def handle(raw_body: bytes, signature: str | None) -> None:
    """Counts what fails (docs/operations.md, its alarms): `StripeWebhookRejected` for an event refused
    (no or a bad signature, another shape, the other livemode: a 400), `StripeWebhookFailed` for any other
    error (Stripe delivers the event again)."""
    try:
        _handle(raw_body, signature)
    except errors.Malformed:
        _count("StripeWebhookRejected")
        raise
    except Exception:
        _count("StripeWebhookFailed")
        raise


def _count(metric: str) -> None:
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()


def _handle(raw_body: bytes, signature: str | None) -> None:
    event = stripe_gateway.verify_event(raw_body, signature)
    if bool(event.get("livemode")) != settings().stripe_livemode:
        raise errors.LivemodeMismatch("webhook.livemode-mismatch")
    event_id, event_type = str(event.get("id")), str(event.get("type"))
    if purchases.event_seen(event_id):
        return
    handler = HANDLERS.get(event_type)
    if handler is not None:
        handler(event["data"].get("object") or {})
    at = clock.now_iso()
    transaction.run(lambda uow: purchases.add_event(uow, event_id, event_type, at))


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

    def build(uow: UnitOfWork) -> None:
        current = purchase if uow.attempt == 0 else _reload(purchase)  # the caller read it consistently
        if current.status is PurchaseStatus.SUCCEEDED:
            return  # credited with the transition; another PaymentIntent never credits it again
        day_cents = current.amount_cents if current.status is PurchaseStatus.FAILED else 0  # freed by the failure
        purchases.add_status_change(uow, current, PurchaseStatus.SUCCEEDED, clock.now_iso(), day_cents=day_cents)
        ledger.add_transfer(uow, request)

    transaction.run(build, keeps_changing=_purchase_changing())
    _settle_owed(purchase)
    return True


def _reload(purchase: Purchase) -> Purchase:
    current = purchases.get(purchase.purchase_id)
    assert current is not None, "purchases are never deleted"
    return current


def _payment_failed(intent: dict[str, Any]) -> None:
    purchase = _purchase_for(intent.get("id"), intent.get("metadata"))
    if purchase is None:
        return

    def build(uow: UnitOfWork) -> None:
        current = purchase if uow.attempt == 0 else _reload(purchase)
        if current.status is PurchaseStatus.PENDING:
            freed = -current.amount_cents
            purchases.add_status_change(uow, current, PurchaseStatus.FAILED, clock.now_iso(), day_cents=freed)

    transaction.run(build, keeps_changing=_purchase_changing())


def _charge_refunded(charge: dict[str, Any]) -> None:
    """A refund proves the charge succeeded: credit first (if that event is late), then reverse.
    The running total is the charge's `amount_refunded` (or, without it, its listed refunds that
    returned money): refund ids and their order do not matter."""
    purchase = _charge_purchase(charge)
    if purchase is None:
        return
    total = charge.get("amount_refunded")
    if not isinstance(total, int):
        listed = (charge.get("refunds") or {}).get("data") or []
        total = sum(int(r.get("amount", 0)) for r in listed if r.get("status") not in ("failed", "canceled"))
    _record(purchase, Refunded(total))


def _dispute_created(dispute: dict[str, Any]) -> None:
    purchase = _dispute_purchase(dispute)
    if purchase is not None:
        _record(purchase, DisputeOpened(str(dispute["id"])))


def _dispute_closed(dispute: dict[str, Any]) -> None:
    purchase = _dispute_purchase(dispute)
    if purchase is not None:
        lost = int(dispute.get("amount", 0)) if dispute.get("status") == "lost" else 0
        _record(purchase, DisputeClosed(str(dispute["id"]), lost))


def _record(purchase: Purchase, fact: ChargeFact) -> None:
    """One fact of the charge, the credits it takes back and the wallet's standing, in one unit of
    work over the purchase's facts as read: concurrent and repeated deliveries converge."""
    wallet_id = wallet_account(purchase.member_id)

    def build(uow: UnitOfWork) -> None:
        current = _reload(purchase)
        change = record_fact(current, fact)
        if change is None:
            return
        after = change.purchase
        purchases.add_charge_facts(uow, current, after, clock.now_iso())
        refs = {"purchase_id": purchase.purchase_id}
        reversal_id = f"{purchase.purchase_id}:{after.reversed_credits}"  # each new total once
        ledger.add_reversal(uow, ledger.balance(wallet_id), change.reverse, reversal_id, refs, disputes=change.disputes)

    transaction.run(build, keeps_changing=_purchase_changing())


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


def _settle_owed(purchase: Purchase) -> None:
    """New credits first pay back what the member owes; spending unfreezes when nothing is owed."""
    refs = {"purchase_id": purchase.purchase_id}
    wallet_id = wallet_account(purchase.member_id)
    transaction.run(lambda uow: ledger.add_settlement(uow, ledger.balance(wallet_id), purchase.purchase_id, refs))


HANDLERS = {
    "payment_intent.succeeded": _payment_succeeded,
    "payment_intent.payment_failed": _payment_failed,
    "payment_intent.canceled": _payment_failed,
    "charge.refunded": _charge_refunded,
    "charge.dispute.created": _dispute_created,
    "charge.dispute.closed": _dispute_closed,
}
