"""The only module that imports stripe, and only when a payment path needs it."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec import Struct

from chalicelib import errors
from chalicelib.config import secret, settings

if TYPE_CHECKING:
    import stripe

SIGNATURE_TOLERANCE_SECONDS = 300


class CreatedIntent(Struct, frozen=True):
    payment_intent_id: str
    client_secret: str


@cache
def _client() -> stripe.StripeClient:
    import stripe

    config = settings()
    base = {"api": config.stripe_api_base} if config.stripe_api_base else None
    return stripe.StripeClient(secret("stripe_secret_key"), base_addresses=base, max_network_retries=2)  # type: ignore[arg-type]


def create_payment_intent(
    amount_cents: int, currency: str, metadata: dict[str, str], idempotency_key: str
) -> CreatedIntent:
    """The idempotency key is deterministic per purchase: a retried call returns the same intent."""
    import stripe

    try:
        intent = _client().v1.payment_intents.create(
            params={
                "amount": amount_cents,
                "currency": currency,
                "metadata": metadata,
            },  # payment methods: Stripe's automatic default (dashboard settings) since API 2023-08-16
            options={"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as error:
        if error.user_message:
            raise errors.UpstreamFailed("payments.refused-because", params={"reason": error.user_message}) from None
        raise errors.UpstreamFailed("payments.refused") from None
    return CreatedIntent(intent.id, intent.client_secret or "")


def verify_event(raw_body: bytes, signature_header: str | None) -> dict[str, Any]:
    """The signature over the raw body is the webhook's only credential."""
    import stripe

    if not signature_header:
        raise errors.InvalidSignature("webhook.stripe-signature-header-required")
    try:
        stripe.WebhookSignature.verify_header(
            raw_body.decode("utf-8"), signature_header, secret("stripe_webhook_secret"), SIGNATURE_TOLERANCE_SECONDS
        )
        event = msgspec.json.decode(raw_body)  # strict JSON: no NaN, no lone surrogate (the edge caps nesting)
    except (ValueError, msgspec.DecodeError):
        raise errors.Malformed("webhook.webhook-body-stripe-event") from None
    except stripe.SignatureVerificationError:
        raise errors.InvalidSignature("webhook.signature-mismatch") from None
    data = event.get("data") if isinstance(event, dict) else None
    if not (
        isinstance(data, dict)
        and isinstance(data.get("object"), dict)
        and isinstance(event.get("id"), str)
        and isinstance(event.get("type"), str)
    ):  # a signed body of another shape must be a 400, never a crash (500) nor a remembered "None" event id
        raise errors.Malformed("webhook.webhook-body-stripe-event")
    checked: dict[str, Any] = event
    return checked


def reset() -> None:
    _client.cache_clear()
