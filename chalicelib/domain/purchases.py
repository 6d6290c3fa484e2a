"""Credit purchases: packs, the purchase lifecycle, and how refunds and disputes turn into credits.

Stripe's events arrive late, twice and out of order, so nothing here depends on arrival order:
a refund or a dispute proves the charge succeeded, and every reversal is keyed by its Stripe id."""

from __future__ import annotations

from enum import StrEnum

from msgspec import Struct, field
from msgspec.structs import replace

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
    reversed_credits: int = 0  # always `reversal_target(self)`: what the charge's facts take back
    refunded_cents: int = 0  # the highest running total of the charge's refunds seen
    lost_dispute_cents: int = 0  # the amounts of the charge's lost disputes
    open_dispute_ids: frozenset[str] = field(default_factory=frozenset)
    closed_dispute_ids: frozenset[str] = field(default_factory=frozenset)
    version: int = 0  # of the charge's facts: each change applies only over the version read

    @property
    def day(self) -> str:
        return self.created_at[:10]


class PendingPurchases(Struct, frozen=True):
    """A member's purchases still waiting for their payment, as `<created_at>#<purchase_id>` entries."""

    entries: frozenset[str] = frozenset()
    version: int = 0

    def entry(self, purchase: Purchase) -> str:
        return f"{purchase.created_at}#{purchase.purchase_id}"

    def recent(self, since: str) -> frozenset[str]:
        """Those that may still count: a PaymentIntent left unpaid past the window no longer does."""
        return frozenset(entry for entry in self.entries if entry >= since)

    @staticmethod
    def purchase_id(entry: str) -> str:
        return entry.rsplit("#", 1)[-1]


def find_pack(packs: tuple[CreditPack, ...], pack_id: str) -> CreditPack:
    for pack in packs:
        if pack.pack_id == pack_id:
            if not pack.active:
                raise errors.Unprocessable("purchases.pack-inactive", code="pack-inactive", params={"pack_id": pack_id})
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


def reversal_target(purchase: Purchase) -> int:
    """The credits a charge's refunds and lost disputes take back: the pack's share of the money that
    went back, never more than the pack (a refunded charge can still be disputed and lost)."""
    cents = min(purchase.amount_cents, purchase.refunded_cents + purchase.lost_dispute_cents)
    return purchase.credits * cents // purchase.amount_cents


class Refunded(Struct, frozen=True):
    """The charge's running total of refunds (`amount_refunded`) as one event saw it."""

    cents: int


class DisputeOpened(Struct, frozen=True):
    dispute_id: str


class DisputeClosed(Struct, frozen=True):
    dispute_id: str
    lost_cents: int  # 0 when the dispute was won


ChargeFact = Refunded | DisputeOpened | DisputeClosed


class ChargeChange(Struct, frozen=True):
    """What a fact does: the purchase with it recorded, the credits to take back now, and the change
    in the wallet's open disputes (spending is frozen while one is open)."""

    purchase: Purchase
    reverse: int
    disputes: int


def record_fact(purchase: Purchase, fact: ChargeFact) -> ChargeChange | None:
    """Facts only accumulate (the highest refund total, each dispute's opening and closing once), so
    any arrival order, duplicates included, ends in the same purchase. None: nothing new."""
    disputes = 0
    if isinstance(fact, Refunded):
        refunded = min(max(purchase.refunded_cents, fact.cents), purchase.amount_cents)
        if refunded == purchase.refunded_cents:
            return None
        after = replace(purchase, refunded_cents=refunded)
    elif isinstance(fact, DisputeOpened):
        if fact.dispute_id in purchase.open_dispute_ids:
            return None
        closed_first = fact.dispute_id in purchase.closed_dispute_ids  # counted nothing: the closing came first
        disputes = 0 if closed_first else 1
        after = replace(purchase, open_dispute_ids=purchase.open_dispute_ids | {fact.dispute_id})
    else:
        if fact.dispute_id in purchase.closed_dispute_ids:
            return None
        disputes = -1 if fact.dispute_id in purchase.open_dispute_ids else 0
        after = replace(
            purchase,
            closed_dispute_ids=purchase.closed_dispute_ids | {fact.dispute_id},
            lost_dispute_cents=purchase.lost_dispute_cents + max(fact.lost_cents, 0),
        )
    target = reversal_target(after)
    after = replace(after, reversed_credits=target, version=purchase.version + 1)
    return ChargeChange(after, target - purchase.reversed_credits, disputes)
