"""Stripe webhooks: the only path that issues purchased credits, and the one that takes them back.

Every handler is a conditional transition keyed by a Stripe id (PaymentIntent, refund, dispute), so
duplicates, concurrent deliveries and any arrival order end in the same state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib import clock, errors
from chalicelib.adapters import stripe_gateway
from chalicelib.adapters.dynamodb import purchase_repository as purchases
from chalicelib.adapters.dynamodb.models import PurchaseItem
from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork
from chalicelib.config import settings
from chalicelib.domain.ledger import PlatformAccount, TransferKind, TransferRequest, wallet_account
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
from chalicelib.observability import logger
from chalicelib.services import ledger, transaction


def _purchase_changing() -> errors.Busy:
    return errors.Busy("The purchase keeps changing; Stripe will retry.")


def handle(raw_body: bytes, signature: str | None) -> None:
    event = stripe_gateway.verify_event(raw_body, signature)
    if bool(event.get("livemode")) != settings().stripe_livemode:
        raise errors.LivemodeMismatch("The event's livemode does not match this deployment.")
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
    """Take back credits once per refund or dispute id (see `ledger.add_reversal`). When the credits
    depend on what was already reversed (`credits_of` a function of the purchase as read), the reversal
    applies only if nothing else was reversed meanwhile."""
    refs = {"purchase_id": purchase.purchase_id, "stripe_id": stripe_id}

    def build(uow: UnitOfWork) -> None:
        current = _reload(purchase)
        if stripe_id in current.reversal_ids:
            return  # already reversed
        credits = credits_of(current) if callable(credits_of) else credits_of
        expected = current.reversed_credits if callable(credits_of) else None
        purchases.add_once(
            uow,
            current,
            PurchaseItem.reversal_ids,
            stripe_id,
            clock.now_iso(),
            extra=[PurchaseItem.reversed_credits.add(credits)],
            reversed_credits=expected,
        )
        ledger.add_reversal(uow, ledger.balance(wallet_account(purchase.member_id)), credits, stripe_id, refs)

    transaction.run(build, keeps_changing=_purchase_changing())


def _change_standing(purchase: Purchase, dispute_id: str, opening: bool) -> None:
    """A dispute opens and closes once each, in either order: closing releases the wallet only if the
    opening was counted, and an opening that arrives after its closing counts nothing. Each change
    applies only while the other one is still as it was read."""
    own, other = PurchaseItem.open_dispute_ids, PurchaseItem.closed_dispute_ids
    if not opening:
        own, other = other, own

    def build(uow: UnitOfWork) -> None:
        current = _reload(purchase)
        opened, closed = dispute_id in current.open_dispute_ids, dispute_id in current.closed_dispute_ids
        if opened if opening else closed:
            return  # done already
        other_done = closed if opening else opened
        delta = (0 if other_done else 1) if opening else (-1 if other_done else 0)
        purchases.add_once(uow, current, own, dispute_id, clock.now_iso(), other_set=other, in_other=other_done)
        ledger.add_standing_change(uow, ledger.balance(wallet_account(purchase.member_id)), disputes=delta)

    transaction.run(build, keeps_changing=_purchase_changing())


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
