"""Credit purchases: packs, the purchase lifecycle, and how refunds and disputes turn into credits.

Stripe's events arrive late, twice and out of order, so nothing here depends on arrival order:
a refund or a dispute proves the charge succeeded, and every reversal is keyed by its Stripe id."""

from __future__ import annotations

from enum import StrEnum

from msgspec import Struct, field

from chalicelib import errors


class Currency(StrEnum):
    EUR = "eur"
    CHF = "chf"


class CreditPack(Struct, frozen=True):
    pack_id: str
    credits: int
    price_cents: int
    currency: Currency
    active: bool = True


class PurchaseStatus(StrEnum):
    PENDING = "pending"  # PaymentIntent created, waiting for the payment
    SUCCEEDED = "succeeded"  # credits issued
    FAILED = "failed"  # payment failed or canceled (a later success still credits)


class Purchase(Struct, frozen=True):
    purchase_id: str
    member_id: str
    pack_id: str
    credits: int
    amount_cents: int
    currency: Currency
    status: PurchaseStatus
    created_at: str
    payment_intent_id: str | None = None
    reversed_credits: int = 0
    reversal_ids: frozenset[str] = field(default_factory=frozenset)
    open_dispute_ids: frozenset[str] = field(default_factory=frozenset)
    closed_dispute_ids: frozenset[str] = field(default_factory=frozenset)

    @property
    def day(self) -> str:
        return self.created_at[:10]


def find_pack(packs: tuple[CreditPack, ...], pack_id: str) -> CreditPack:
    for pack in packs:
        if pack.pack_id == pack_id:
            if not pack.active:
                raise errors.Unprocessable(f"The pack '{pack_id}' is no longer sold.", code="pack-inactive")
            return pack
    raise errors.UnknownPack(pack_id)


class PaymentFacts(Struct, frozen=True):
    """What a Stripe object says about the money, to be checked against the purchase."""

    amount_cents: int
    currency: str
    pack_id: str | None
    purchase_id: str | None


def mismatch(purchase: Purchase, facts: PaymentFacts) -> str | None:
    """Why the payment does not match the purchase, or None when it does."""
    if facts.amount_cents != purchase.amount_cents:
        return f"amount {facts.amount_cents} != {purchase.amount_cents}"
    if facts.currency.lower() != purchase.currency.value:
        return f"currency {facts.currency} != {purchase.currency.value}"
    if facts.pack_id is not None and facts.pack_id != purchase.pack_id:
        return f"pack {facts.pack_id} != {purchase.pack_id}"
    if facts.purchase_id is not None and facts.purchase_id != purchase.purchase_id:
        return f"purchase {facts.purchase_id} != {purchase.purchase_id}"
    return None


class Refund(Struct, frozen=True):
    refund_id: str
    amount_cents: int


def refund_credits(purchase: Purchase, refunds_in_order: list[Refund]) -> dict[str, int]:
    """Credits to reverse for each refund of one charge, from the charge's full refund list.

    Each refund reverses the growth of floor(credits * refunded_so_far / amount), so partial refunds
    add up exactly to the pack's credits at a full refund, never more (refunds past the amount are
    capped), and the same list always gives the same split whichever event carried it."""
    split: dict[str, int] = {}
    refunded = 0
    reversed_so_far = 0
    for refund in refunds_in_order:
        refunded = min(purchase.amount_cents, refunded + max(refund.amount_cents, 0))
        target = purchase.credits * refunded // purchase.amount_cents
        split[refund.refund_id] = target - reversed_so_far
        reversed_so_far = target
    return split


def credits_for(purchase: Purchase, cents: int) -> int:
    """The purchase's credits bought by `cents` of its amount, rounded down, never past the amount."""
    capped = min(max(cents, 0), purchase.amount_cents)
    return purchase.credits * capped // purchase.amount_cents


def dispute_credits(purchase: Purchase, disputed_cents: int) -> int:
    return credits_for(purchase, disputed_cents)


REFUND_TOTAL_MARK = ":refunded:"


def refund_total_id(charge_id: str, refunded_cents: int) -> str:
    """The reversal id of one running total of a charge's refunds."""
    return f"{charge_id}{REFUND_TOTAL_MARK}{refunded_cents}"


def refund_total_credits(purchase: Purchase, charge_id: str, refunded_cents: int) -> int:
    """Credits to reverse for a new running total of a charge's refunds, when the event gives only
    `amount_refunded` (since API version 2022-11-15 a charge no longer lists its refunds).

    The totals already reversed for this charge took back the share of the highest of them; this one
    takes back only what it adds, so totals arriving in any order, twice or past the amount add up to
    the share of the highest total, never more."""
    prefix = f"{charge_id}{REFUND_TOTAL_MARK}"
    done = [int(r[len(prefix) :]) for r in purchase.reversal_ids if r.startswith(prefix) and r[len(prefix) :].isdigit()]
    taken = max((credits_for(purchase, cents) for cents in done), default=0)
    return max(0, credits_for(purchase, refunded_cents) - taken)
