"""Buying credits: packs, starting a purchase with a Stripe PaymentIntent, and purchase history."""

from __future__ import annotations

import uuid
from datetime import timedelta

from msgspec import Struct
from msgspec.structs import replace

from chalicelib import clock, errors
from chalicelib.adapters import stripe_gateway
from chalicelib.adapters.dynamodb import purchase_repository as repository
from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork, raises
from chalicelib.config import settings
from chalicelib.domain.purchases import CreditPack, PendingPurchases, Purchase, PurchaseStatus, find_pack
from chalicelib.services import transaction

PENDING_WINDOW = timedelta(hours=24)  # an unpaid PaymentIntent older than this no longer counts as pending


class StartedPurchase(Struct, frozen=True):
    purchase: Purchase
    client_secret: str
    publishable_key: str


def packs() -> tuple[CreditPack, ...]:
    return settings().credit_packs


def start_purchase(member_id: str, pack_id: str) -> StartedPurchase:
    config = settings()
    pack = find_pack(config.credit_packs, pack_id)
    purchase = Purchase(
        purchase_id=uuid.uuid4().hex,
        member_id=member_id,
        pack_id=pack.pack_id,
        credits=pack.credits,
        amount_cents=pack.price_cents,
        currency=pack.currency,
        status=PurchaseStatus.PENDING,
        created_at=clock.now_iso(),
    )
    over_limit = raises(
        errors.Conflict(
            "purchases.daily-limit",
            params={"limit": f"{config.daily_purchase_limit_cents / 100:.2f}", "currency": pack.currency.value.upper()},
            code="daily-limit-reached",
        )
    )

    def build(uow: UnitOfWork) -> None:
        """The purchase, counted against the pending cap and the day's limit in the same write."""
        pending = repository.pending(member_id)
        counted = _still_pending(pending.recent(clock.iso(clock.now() - PENDING_WINDOW)), config.max_pending_purchases)
        if len(counted) >= config.max_pending_purchases:
            raise errors.Conflict(
                "purchases.too-many-pending",
                params={"count": len(counted)},
                code="too-many-pending-purchases",
            )
        repository.add_new_purchase(uow, purchase, config.daily_purchase_limit_cents, over_limit)
        repository.add_pending(uow, member_id, pending, counted | {pending.entry(purchase)})

    transaction.run(build)
    intent = stripe_gateway.create_payment_intent(
        purchase.amount_cents,
        purchase.currency.value,
        {"member_id": member_id, "pack_id": pack.pack_id, "purchase_id": purchase.purchase_id},
        idempotency_key=f"pwiic-purchase-{purchase.purchase_id}",
    )
    at = clock.now_iso()
    transaction.run(lambda uow: repository.add_payment_intent(uow, purchase.purchase_id, intent.payment_intent_id, at))
    return StartedPurchase(
        replace(purchase, payment_intent_id=intent.payment_intent_id),
        intent.client_secret,
        config.stripe_publishable_key,
    )


def _still_pending(entries: frozenset[str], cap: int) -> frozenset[str]:
    """The entries whose purchase still waits for its payment; read only when the cap is in sight
    (completing a purchase writes nothing here, so a full list may hold finished ones)."""
    if len(entries) < cap:
        return entries
    ids = {PendingPurchases.purchase_id(entry): entry for entry in entries}
    waiting = {p.purchase_id for p in repository.get_many(set(ids)) if p.status is PurchaseStatus.PENDING}
    return frozenset(entry for purchase_id, entry in ids.items() if purchase_id in waiting)


def waiting(member_id: str) -> list[Purchase]:
    """The member's purchases still waiting for their payment, started within the pending window."""
    since = clock.iso(clock.now() - PENDING_WINDOW)
    return [
        p
        for p in repository.member_purchases(member_id)
        if p.status is PurchaseStatus.PENDING and p.created_at >= since
    ]


def my_purchases(member_id: str, cursor: str | None, limit: int) -> tuple[list[Purchase], str | None]:
    return repository.list_for_member(member_id, cursor, limit)


def my_purchase(member_id: str, purchase_id: str) -> Purchase:
    """Someone else's purchase is as unknown as a missing one."""
    purchase = repository.get(purchase_id)
    if purchase is None or purchase.member_id != member_id:
        raise errors.NotFound("not-found.purchase")
    return purchase
