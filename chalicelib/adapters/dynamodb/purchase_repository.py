"""Purchases, their PaymentIntent lookup, members' daily spending and processed Stripe events."""

from __future__ import annotations

import time
from typing import Any

from pynamodb.attributes import Attribute
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.adapters.dynamodb import keys, pages
from chalicelib.adapters.dynamodb.mapping import to_attributes, to_domain
from chalicelib.adapters.dynamodb.models import PaymentIntentItem, PurchaseDayItem, PurchaseItem, StripeEventItem
from chalicelib.adapters.dynamodb.unit_of_work import Refusal, UnitOfWork
from chalicelib.domain.purchases import Purchase, PurchaseStatus

EVENT_MEMORY_SECONDS = 30 * 24 * 3600  # longer than Stripe's retry window of 3 days


def _purchase(item: PurchaseItem) -> Purchase:
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


def add_once(
    uow: UnitOfWork,
    purchase: Purchase,
    id_set: Attribute[Any],
    stripe_id: str,
    at: str,
    extra: list[Action] | None = None,
    *,
    other_set: Attribute[Any] | None = None,
    in_other: bool = False,
    reversed_credits: int | None = None,
) -> None:
    """Adds `stripe_id` to one of the purchase's id sets exactly once: the transaction carrying its
    effect is refused if the id is already there. It is also refused if `stripe_id`'s presence in
    `other_set` (`in_other`) or the purchase's `reversed_credits` are no longer what was read."""
    condition: Condition = _lacks(id_set, stripe_id)
    if other_set is not None:
        condition &= other_set.contains(stripe_id) if in_other else _lacks(other_set, stripe_id)
    if reversed_credits is not None:
        same = PurchaseItem.reversed_credits == reversed_credits
        condition &= (PurchaseItem.reversed_credits.does_not_exist() | same) if reversed_credits == 0 else same
    uow.update(
        _ref(purchase.purchase_id),
        [id_set.add({stripe_id}), PurchaseItem.updated_at.set(at), *(extra or [])],
        condition=condition,
    )


def _lacks(id_set: Attribute[Any], stripe_id: str) -> Condition:
    lacks: Condition = id_set.does_not_exist() | ~id_set.contains(stripe_id)
    return lacks


def get(purchase_id: str) -> Purchase | None:
    try:
        return _purchase(PurchaseItem.get(keys.purchase_pk(purchase_id), keys.PURCHASE_SK, consistent_read=True))
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

    return pages.collect(run, scope=f"purchases:{member_id}", cursor=cursor, convert=_purchase)


def scan_all() -> list[Purchase]:
    """Reconciliation only."""
    return [_purchase(item) for item in PurchaseItem.scan(PurchaseItem.SK == keys.PURCHASE_SK)]


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
