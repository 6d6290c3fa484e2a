"""Buying credits: packs, purchases, and Stripe's webhook."""

from __future__ import annotations

from chalicelib.api.http import Call, Router
from chalicelib.api.schemas import (
    STRIPE_SIGNATURE,
    CreditPackOut,
    NewPurchase,
    Page,
    PageQuery,
    PurchaseOut,
    StartedPurchaseOut,
    WebhookAck,
    project,
)
from chalicelib.domain.purchases import Purchase
from chalicelib.services import purchases, stripe_events

router = Router("purchases")


def purchase_out(purchase: Purchase) -> PurchaseOut:
    return project(purchase, PurchaseOut)


@router.route(
    "GET",
    "/credit-packs",
    summary="The credit packs on sale",
    tag="purchases",
    access="public",
    response=list[CreditPackOut],
)
def list_credit_packs(call: Call[None, None]) -> list[CreditPackOut]:
    return [CreditPackOut(p.pack_id, p.credits, p.price_cents, p.currency.value, p.active) for p in purchases.packs()]


@router.route(
    "POST",
    "/purchases",
    summary="Start buying a pack: returns the PaymentIntent's client secret for Stripe's Payment Element or "
    "PaymentSheet. Credits arrive when Stripe confirms the payment.",
    description="An unknown pack is a 404 `unknown-pack`; a pack no longer sold, a 422 `pack-inactive`; too many "
    "unfinished purchases or today's limit reached, a 409.",
    tag="purchases",
    body=NewPurchase,
    response=StartedPurchaseOut,
    status=201,
    problems=(404, 409, 502),
    limit="purchases",
)
def start_purchase(call: Call[NewPurchase, None]) -> StartedPurchaseOut:
    started = purchases.start_purchase(call.member.member_id, call.body.pack_id)
    purchase = started.purchase
    return StartedPurchaseOut(
        purchase=purchase_out(purchase),
        payment_intent_id=purchase.payment_intent_id or "",
        client_secret=started.client_secret,
        publishable_key=started.publishable_key,
        amount_cents=purchase.amount_cents,
        currency=purchase.currency.value,
        credits=purchase.credits,
    )


@router.route(
    "GET",
    "/me/purchases",
    summary="Your purchases, newest first",
    tag="purchases",
    query=PageQuery,
    response=Page[PurchaseOut],
    problems=(400,),
)
def list_my_purchases(call: Call[None, PageQuery]) -> Page[PurchaseOut]:
    found, cursor = purchases.my_purchases(call.member.member_id, call.query.cursor, call.query.limit)
    return Page([purchase_out(p) for p in found], cursor)


@router.route(
    "GET",
    "/purchases/{purchase_id}",
    summary="One of your purchases",
    tag="purchases",
    response=PurchaseOut,
    problems=(404,),
)
def get_purchase(call: Call[None, None]) -> PurchaseOut:
    return purchase_out(purchases.my_purchase(call.member.member_id, call.params["purchase_id"]))


@router.route(
    "POST",
    "/webhooks/stripe",
    summary="Stripe's webhook. The Stripe-Signature header over the raw body is the credential.",
    tag="purchases",
    access="public",
    headers=(STRIPE_SIGNATURE,),
    raw_body=True,
    response=WebhookAck,
    problems=(503,),
)
def stripe_webhook(call: Call[bytes, None]) -> WebhookAck:
    stripe_events.handle(call.body, call.headers.get("stripe-signature"))
    return WebhookAck(received=True)
