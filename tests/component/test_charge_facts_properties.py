"""A property of Stripe reversals: whatever the order, the duplicates and the concurrency of a charge's
events (its success, refunds with or without their list, disputes opened and closed, won or lost), the
credits taken back are floor(pack credits x min(pack cents, refunded cents + lost-dispute cents) /
pack cents), never more than the pack, and the books balance. Real webhooks, on DynamoDB Local."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain.ledger import PlatformAccount
from chalicelib.services import ledger, stripe_events
from tests.component.test_stripe_webhooks import (
    assert_books_balanced,
    body_of,
    charge,
    deliver_each,
    dispute,
    event,
    intent,
    refund,
    run_together,
    seed_purchase,
    sign,
    stored,
    wallet,
)

PACKS = {"starter-eur": (50, 500), "neighbour-eur": (120, 1000), "community-eur": (300, 2250)}


@st.composite
def histories(draw: st.DrawFn) -> dict[str, Any]:
    pack_id = draw(st.sampled_from(sorted(PACKS)))
    cents = PACKS[pack_id][1]
    totals = sorted(draw(st.sets(st.integers(1, cents), max_size=3)))  # running refund totals
    disputes = draw(st.lists(st.tuples(st.integers(1, cents), st.sampled_from(["won", "lost"])), max_size=2))
    steps: list[tuple[Any, ...]] = [("succeeded",)]
    steps += [("refunded", index, draw(st.booleans())) for index in range(len(totals))]  # with the list or not
    for index in range(len(disputes)):
        steps += [("opened", index), ("closed", index)]
    order = draw(st.permutations(steps))
    again = draw(st.lists(st.sampled_from(steps), max_size=3))  # Stripe delivers some twice
    return {
        "pack_id": pack_id,
        "totals": totals,
        "disputes": disputes,
        "steps": [*order, *again],
        "at_once": draw(st.booleans()),
    }


def stripe_event(history: dict[str, Any], purchase: Any, step: tuple[Any, ...]) -> dict[str, Any]:
    kind = step[0]
    if kind == "succeeded":
        return event("payment_intent.succeeded", intent(purchase))
    if kind == "refunded":
        _, index, listed = step
        totals = history["totals"][: index + 1]
        amounts = [total - before for total, before in zip(totals, [0, *totals], strict=False)]
        refunds = [
            refund(purchase, cents, 1_700_000_000 + n, f"re_{purchase.purchase_id}_{n}")
            for n, cents in enumerate(amounts)
        ]
        return event("charge.refunded", charge(purchase, refunds if listed else None, amount_refunded=totals[-1]))
    amount, outcome = history["disputes"][step[1]]
    dispute_id = f"dp_{purchase.purchase_id}_{step[1]}"
    if kind == "opened":
        return event("charge.dispute.created", dispute(purchase, dispute_id, "needs_response", amount))
    return event("charge.dispute.closed", dispute(purchase, dispute_id, outcome, amount))


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # the same examples in every CI run
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories())
def test_reversals_follow_the_charge_facts_whatever_the_order(api, local_secrets, history):
    member = f"m{uuid.uuid4().hex[:12]}"
    purchase = seed_purchase(api, member, history["pack_id"])
    ledger.ensure_platform_accounts()
    credits, cents = PACKS[history["pack_id"]]
    issuance_before = ledger.balance(PlatformAccount.ISSUANCE.value).posted
    receivable_before = ledger.balance(PlatformAccount.RECEIVABLE.value).posted
    secret = local_secrets.stripe_webhook_secret
    payloads = [body_of(stripe_event(history, purchase, step)) for step in history["steps"]]
    if history["at_once"]:
        assert run_together(len(payloads), deliver_each(payloads, secret)) == []
    else:
        for payload in payloads:
            stripe_events.handle(payload, sign(payload, secret))

    refunded = max(history["totals"], default=0)
    lost = sum(amount for amount, outcome in history["disputes"] if outcome == "lost")
    expected = credits * min(cents, refunded + lost) // cents
    found, member_wallet = stored(purchase), wallet(member)
    assert found.reversed_credits == expected <= credits
    assert (member_wallet.posted, member_wallet.owed) == (credits - expected, 0)
    assert (member_wallet.open_disputes, member_wallet.frozen) == (0, False)  # every dispute closed
    assert ledger.balance(PlatformAccount.ISSUANCE.value).posted - issuance_before == -(credits - expected)
    assert ledger.balance(PlatformAccount.RECEIVABLE.value).posted == receivable_before
    assert_books_balanced()
