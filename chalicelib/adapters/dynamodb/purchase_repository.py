"""Purchases, their PaymentIntent lookup, members' daily spending and processed Stripe events."""

from __future__ import annotations

import time
from typing import Any

from pynamodb.attributes import UnicodeSetAttribute
from pynamodb.expressions.update import Action

from chalicelib.adapters.dynamodb import keys, pages
from chalicelib.adapters.dynamodb.mapping import to_attributes, to_domain
from chalicelib.adapters.dynamodb.models import (
    PaymentIntentItem,
    PendingPurchasesItem,
    PurchaseDayItem,
    PurchaseItem,
    StripeEventItem,
)
from chalicelib.adapters.dynamodb.unit_of_work import Refusal, UnitOfWork
from chalicelib.domain.purchases import PendingPurchases, Purchase, PurchaseStatus

EVENT_MEMORY_SECONDS = 30 * 24 * 3600  # longer than Stripe's retry window of 3 days


def purchase_of(item: PurchaseItem) -> Purchase:
    return to_domain(item, Purchase)


def _ref(purchase_id: str) -> PurchaseItem:
    return PurchaseItem(keys.purchase_pk(purchase_id), keys.PURCHASE_SK)


def add_new_purchase(uow: UnitOfWork, purchase: Purchase, daily_limit_cents: int, over_limit: Refusal) -> None:
    """The purchase, and the member's spending of the day within its limit."""
    uow.put(
        PurchaseItem(
            keys.purchase_pk(purchase.purchase_id),
            keys.PURCHASE_SK,
            GSI1PK=keys.member_purchases_pk(purchase.member_id),
            GSI1SK=keys.member_purchases_sk(purchase.created_at, purchase.purchase_id),
            updated_at=purchase.created_at,
            **to_attributes(purchase),
        ),
        condition=PurchaseItem.PK.does_not_exist(),
    )
    uow.update(
        PurchaseDayItem(keys.member_pk(purchase.member_id), keys.purchase_day_sk(purchase.day, purchase.currency)),
        [PurchaseDayItem.cents.add(purchase.amount_cents)],
        condition=PurchaseDayItem.cents.does_not_exist()
        | (PurchaseDayItem.cents <= daily_limit_cents - purchase.amount_cents),
        refused=over_limit,
    )


def pending(member_id: str) -> PendingPurchases:
    try:
        item = PendingPurchasesItem.get(keys.member_pk(member_id), keys.PENDING_PURCHASES_SK, consistent_read=True)
    except PendingPurchasesItem.DoesNotExist:
        return PendingPurchases()
    return PendingPurchases(frozenset(item.entries or ()), int(item.version))


def get_many(purchase_ids: set[str]) -> list[Purchase]:
    wanted = [(keys.purchase_pk(purchase_id), keys.PURCHASE_SK) for purchase_id in purchase_ids]
    return [purchase_of(item) for item in PurchaseItem.batch_get(wanted, consistent_read=True)]


def add_pending(uow: UnitOfWork, member_id: str, before: PendingPurchases, entries: frozenset[str]) -> None:
    """The member's unfinished purchases, only over the version read: two purchases started at once
    cannot both see room under the cap."""
    unchanged = PendingPurchasesItem.version == before.version
    if before.version == 0:
        unchanged = PendingPurchasesItem.version.does_not_exist() | unchanged
    uow.update(
        PendingPurchasesItem(keys.member_pk(member_id), keys.PENDING_PURCHASES_SK),
        [_set_or_remove(PendingPurchasesItem.entries, entries), PendingPurchasesItem.version.set(before.version + 1)],
        condition=unchanged,
    )


def add_payment_intent(uow: UnitOfWork, purchase_id: str, payment_intent_id: str, at: str) -> None:
    uow.update(
        _ref(purchase_id),
        [PurchaseItem.payment_intent_id.set(payment_intent_id), PurchaseItem.updated_at.set(at)],
        condition=PurchaseItem.PK.exists(),
    )
    uow.put(
        PaymentIntentItem(keys.payment_intent_pk(payment_intent_id), keys.PAYMENT_INTENT_SK, purchase_id=purchase_id),
    )


def add_status_change(uow: UnitOfWork, purchase: Purchase, status: PurchaseStatus, at: str, day_cents: int = 0) -> None:
    """A conditional transition: it applies only from the state that was read. `day_cents` moves the
    member's spending of the purchase's day: a failed payment frees its share, a later success of the
    same PaymentIntent takes it back (the money was taken, so no limit applies then)."""
    uow.update(
        _ref(purchase.purchase_id),
        [PurchaseItem.status.set(status.value), PurchaseItem.updated_at.set(at)],
        condition=PurchaseItem.status == purchase.status.value,
    )

    if day_cents:
        uow.update(
            PurchaseDayItem(keys.member_pk(purchase.member_id), keys.purchase_day_sk(purchase.day, purchase.currency)),
            [PurchaseDayItem.cents.add(day_cents)],
        )


def add_charge_facts(uow: UnitOfWork, before: Purchase, after: Purchase, at: str) -> None:
    """The charge's facts (refunds, disputes) and what they reversed, only over the version read."""
    actions: list[Action] = [
        PurchaseItem.refunded_cents.set(after.refunded_cents),
        PurchaseItem.lost_dispute_cents.set(after.lost_dispute_cents),
        PurchaseItem.reversed_credits.set(after.reversed_credits),
        _set_or_remove(PurchaseItem.open_dispute_ids, after.open_dispute_ids),
        _set_or_remove(PurchaseItem.closed_dispute_ids, after.closed_dispute_ids),
        PurchaseItem.version.set(after.version),
        PurchaseItem.updated_at.set(at),
    ]
    unchanged = PurchaseItem.version == before.version
    if before.version == 0:  # purchases written before their first fact lack the attribute
        unchanged = PurchaseItem.version.does_not_exist() | unchanged
    uow.update(_ref(before.purchase_id), actions, condition=unchanged)


def _set_or_remove(attribute: UnicodeSetAttribute, ids: frozenset[str]) -> Action:
    return attribute.set(set(ids)) if ids else attribute.remove()


def get(purchase_id: str) -> Purchase | None:
    try:
        return purchase_of(PurchaseItem.get(keys.purchase_pk(purchase_id), keys.PURCHASE_SK, consistent_read=True))
    except PurchaseItem.DoesNotExist:
        return None


def by_payment_intent(payment_intent_id: str) -> Purchase | None:
    try:
        ref = PaymentIntentItem.get(keys.payment_intent_pk(payment_intent_id), keys.PAYMENT_INTENT_SK)
    except PaymentIntentItem.DoesNotExist:
        return None
    return get(ref.purchase_id)


def list_for_member(member_id: str, cursor: str | None, limit: int) -> tuple[list[Purchase], str | None]:
    def run(start: dict[str, Any] | None) -> Any:
        return PurchaseItem.gsi1.query(
            keys.member_purchases_pk(member_id),
            scan_index_forward=False,
            limit=limit,
            page_size=limit,
            last_evaluated_key=start,
        )

    return pages.collect(run, scope=f"purchases:{member_id}", cursor=cursor, convert=purchase_of)


def member_purchases(member_id: str) -> list[Purchase]:
    """Every purchase a member ever started (the full audit compares them with the wallet's credits)."""
    return [purchase_of(item) for item in PurchaseItem.gsi1.query(keys.member_purchases_pk(member_id))]


def event_seen(event_id: str) -> bool:
    try:
        StripeEventItem.get(keys.stripe_event_pk(event_id), keys.STRIPE_EVENT_SK)
        return True
    except StripeEventItem.DoesNotExist:
        return False


def add_event(uow: UnitOfWork, event_id: str, event_type: str, at: str) -> None:
    uow.put(
        StripeEventItem(
            keys.stripe_event_pk(event_id),
            keys.STRIPE_EVENT_SK,
            event_type=event_type,
            received_at=at,
            expires_at=int(time.time()) + EVENT_MEMORY_SECONDS,
        )
    )
