"""The reconciliation proofs, on hand-made ledgers."""

from __future__ import annotations

from chalicelib.domain.economy import Share, ValueShare
from chalicelib.domain.ledger import (
    Balance,
    Hold,
    HoldRequest,
    HoldStatus,
    Transfer,
    TransferKind,
    TransferRequest,
)
from chalicelib.domain.purchases import Currency, Purchase, PurchaseStatus
from chalicelib.domain.reconciliation import Mismatch, economy_mismatches, reconcile

AT = "2024-05-01T00:00:00.000000Z"
ISSUANCE = "platform:issuance.0"
POOL = "platform:rewards.1"


def transfer(transfer_id: str, payer: str, payee: str, amount: int) -> Transfer:
    request = TransferRequest(transfer_id, payer.split(".")[0], payee.split(".")[0], amount, TransferKind.PAYMENT)
    return Transfer(request, AT, payer, payee)


def hold(hold_id: str, payer: str, amount: int, status: HoldStatus, posted: int = 0) -> Hold:
    return Hold(HoldRequest(hold_id, payer, "member:bob", amount, "2030-01-01"), status, AT, posted)


def ledger() -> tuple[list[Balance], list[Transfer], list[Hold]]:
    """Issuance sold 100 to alice and 50 to the pool; alice paid bob 30, 15 of it through a posted hold;
    alice has 20 in a pending hold, and a voided one."""
    transfers = [
        transfer("buy", ISSUANCE, "member:alice", 100),
        transfer("fund", ISSUANCE, POOL, 50),
        transfer("pay", "member:alice", "member:bob", 15),
        transfer("h1:post", "member:alice", "member:bob", 15),
    ]
    holds = [
        hold("h1", "member:alice", 25, HoldStatus.POSTED, 15),
        hold("h2", "member:alice", 20, HoldStatus.PENDING),
        hold("h3", "member:alice", 40, HoldStatus.VOIDED),
    ]
    balances = [
        Balance(ISSUANCE, -150, 0, -150),
        Balance(POOL, 50, 0, 50),
        Balance("member:alice", 70, 20, 50),
        Balance("member:bob", 30, 0, 30),
        Balance("member:carol", 0, 0, 0),
    ]
    return balances, transfers, holds


def replace(balances: list[Balance], account_id: str, **fields: int) -> list[Balance]:
    return [
        Balance(b.account_id, **{"posted": b.posted, "held": b.held, "available": b.available, **fields})
        if b.account_id == account_id
        else b
        for b in balances
    ]


def test_a_balanced_ledger():
    balances, transfers, holds = ledger()
    report = reconcile(AT, balances, transfers, holds)
    assert report.balanced
    assert report.mismatches == []
    assert (report.at, report.accounts, report.transfers, report.total_posted) == (AT, 5, 4, 0)


def test_an_empty_ledger_is_balanced():
    report = reconcile(AT, [], [], [])
    assert report.balanced and report.accounts == 0 and report.transfers == 0


def test_a_posted_balance_that_differs_from_its_entries():
    balances, transfers, holds = ledger()
    # a credit out of nowhere: both the entries check and the zero sum fail
    report = reconcile(AT, replace(balances, "member:bob", posted=31, available=31), transfers, holds)
    assert not report.balanced
    assert report.total_posted == 1
    assert report.mismatches == [Mismatch("member:bob", "posted equals the sum of its entries", 30, 31)]


def test_balances_that_sum_to_zero_but_disagree_with_the_entries():
    balances, transfers, holds = ledger()
    moved = replace(replace(balances, "member:bob", posted=40, available=40), "member:alice", posted=60, available=40)
    report = reconcile(AT, moved, transfers, holds)
    assert report.total_posted == 0
    assert not report.balanced
    assert report.mismatches == [
        Mismatch("member:alice", "posted equals the sum of its entries", 70, 60),
        Mismatch("member:bob", "posted equals the sum of its entries", 30, 40),
    ]


def test_a_transfer_without_its_balance_change():
    balances, transfers, holds = ledger()
    report = reconcile(AT, balances, [*transfers, transfer("ghost", "member:bob", "member:carol", 5)], holds)
    assert not report.balanced
    assert report.total_posted == 0
    assert {(m.account_id, m.expected, m.actual) for m in report.mismatches} == {
        ("member:bob", 25, 30),
        ("member:carol", 5, 0),
    }


def test_held_that_differs_from_pending_holds():
    balances, transfers, holds = ledger()
    report = reconcile(AT, replace(balances, "member:alice", held=0, available=70), transfers, holds)
    assert not report.balanced
    assert report.mismatches == [Mismatch("member:alice", "held equals its pending holds", 20, 0)]
    # a pending hold the balance never took
    report = reconcile(AT, balances, transfers, [*holds, hold("h4", "member:bob", 5, HoldStatus.PENDING)])
    assert report.mismatches == [Mismatch("member:bob", "held equals its pending holds", 5, 0)]


def test_settled_holds_are_not_held():
    balances, transfers, holds = ledger()
    still_pending = [hold("h1", "member:alice", 25, HoldStatus.PENDING), *holds[1:]]
    report = reconcile(AT, balances, transfers, still_pending)
    assert report.mismatches == [Mismatch("member:alice", "held equals its pending holds", 45, 20)]


def test_available_that_is_not_posted_minus_held():
    balances, transfers, holds = ledger()
    report = reconcile(AT, replace(balances, "member:alice", available=70), transfers, holds)
    assert not report.balanced
    assert report.total_posted == 0
    assert report.mismatches == [Mismatch("member:alice", "available equals posted minus held", 50, 70)]


def test_entries_for_an_account_that_does_not_exist():
    balances, transfers, holds = ledger()
    without_pool = [b for b in balances if b.account_id != POOL]
    report = reconcile(AT, without_pool, transfers, holds)
    assert not report.balanced
    assert report.total_posted == -50
    assert report.mismatches == [Mismatch(POOL, "entries for an account that does not exist", 0, 50)]


def test_a_sum_that_is_not_zero_alone_unbalances():
    report = reconcile(AT, [Balance("member:alice", 5, 0, 5)], [], [])
    assert not report.balanced
    assert report.total_posted == 5


def test_shards_reconcile_on_their_own_items():
    """Entries are booked on the shard that moved, not on the logical account."""
    balances, transfers, holds = ledger()
    misbooked = [Balance("platform:issuance.1", -150, 0, -150) if b.account_id == ISSUANCE else b for b in balances]
    report = reconcile(AT, misbooked, transfers, holds)
    assert {(m.account_id, m.check) for m in report.mismatches} == {
        ("platform:issuance.1", "posted equals the sum of its entries"),
        (ISSUANCE, "entries for an account that does not exist"),
    }


# purchases: every purchase transfer belongs to a succeeded purchase, reversals to its refunds and disputes


def purchase(purchase_id: str, credits: int, status: PurchaseStatus, reversed_credits: int = 0) -> Purchase:
    refunded_cents = -(-reversed_credits * 1000 // credits) if credits else 0  # the refund behind the reversal
    return Purchase(
        purchase_id,
        "alice",
        "pack-100",
        credits,
        1000,
        Currency.EUR,
        status,
        AT,
        reversed_credits=reversed_credits,
        refunded_cents=refunded_cents,
    )


def issued(transfer_id: str, purchase_id: str, amount: int, kind: TransferKind = TransferKind.PURCHASE) -> Transfer:
    payer, payee = (ISSUANCE, "member:alice") if kind is TransferKind.PURCHASE else ("member:alice", ISSUANCE)
    request = TransferRequest(transfer_id, payer, payee, amount, kind, refs={"purchase_id": purchase_id})
    return Transfer(request, AT, payer, payee)


def purchases_ledger(*extra: Transfer) -> tuple[list[Balance], list[Transfer]]:
    transfers = [issued("purchase:pi_1", "p1", 100), issued("reversal:re_1", "p1", 30, TransferKind.REVERSAL), *extra]
    net = sum(t.request.amount if t.payee_account == "member:alice" else -t.request.amount for t in transfers)
    return [Balance(ISSUANCE, -net, 0, -net), Balance("member:alice", net, 0, net)], transfers


def test_purchases_that_match_their_credits():
    balances, transfers = purchases_ledger()
    purchases = [purchase("p1", 100, PurchaseStatus.SUCCEEDED, 30), purchase("p2", 50, PurchaseStatus.FAILED)]
    report = reconcile(AT, balances, transfers, [], purchases)
    assert report.balanced, report
    assert report.purchases == 2


def test_a_succeeded_purchase_without_its_credits():
    balances, transfers = purchases_ledger()
    purchases = [purchase("p1", 100, PurchaseStatus.SUCCEEDED, 30), purchase("p2", 50, PurchaseStatus.SUCCEEDED)]
    report = reconcile(AT, balances, transfers, [], purchases)
    assert report.mismatches == [Mismatch("purchase:p2", "issued credits equal the succeeded purchase's", 50, 0)]


def test_credits_issued_twice_or_for_a_failed_purchase():
    balances, transfers = purchases_ledger(issued("purchase:pi_2", "p1", 100))
    report = reconcile(AT, balances, transfers, [], [purchase("p1", 100, PurchaseStatus.SUCCEEDED, 30)])
    assert report.mismatches == [Mismatch("purchase:p1", "issued credits equal the succeeded purchase's", 100, 200)]
    balances, transfers = purchases_ledger()
    report = reconcile(AT, balances, transfers, [], [purchase("p1", 100, PurchaseStatus.FAILED, 30)])
    assert report.mismatches == [Mismatch("purchase:p1", "issued credits equal the succeeded purchase's", 0, 100)]


def test_credits_issued_without_a_purchase():
    balances, transfers = purchases_ledger(issued("purchase:pi_9", "ghost", 10))
    report = reconcile(AT, balances, transfers, [], [purchase("p1", 100, PurchaseStatus.SUCCEEDED, 30)])
    assert not report.balanced
    assert report.mismatches == [Mismatch("purchase:ghost", "credits issued without a succeeded purchase", 0, 10)]


def test_reversals_that_differ_from_the_refunds():
    balances, transfers = purchases_ledger()
    report = reconcile(AT, balances, transfers, [], [purchase("p1", 100, PurchaseStatus.SUCCEEDED, 40)])
    assert report.mismatches == [
        Mismatch("purchase:p1", "reversed credits equal its refunds and lost disputes", 40, 30)
    ]


# The economy's proofs


def economy_transfer(
    transfer_id: str, payer: str, payee: str, amount: int, kind: TransferKind, reason: str = ""
) -> Transfer:
    return Transfer(TransferRequest(transfer_id, payer, payee, amount, kind, reason), AT, payer, payee)


FEES = [
    economy_transfer("fee:publish_listing:l1", "member:alice", "platform:revenue", 5, TransferKind.FEE),
    economy_transfer("fee:feature_listing:l1:x", "member:alice", "platform:revenue", 3, TransferKind.FEE),
]
STATEMENT = ValueShare("2024-05", 8, 50, 4, (Share("bob", 1, 3), Share("carol", 1, 1)), {})


def test_the_month_s_revenue_equals_its_fees():
    assert economy_mismatches(FEES, {"2024-05": 8}, {}) == []
    assert economy_mismatches(FEES, {"2024-05": 7}, {}) == [
        Mismatch("revenue:2024-05", "the month's revenue equals its fees", 8, 7)
    ]


def test_the_rewards_pool_pays_only_its_known_flows():
    paid = [
        economy_transfer(tid, "platform:rewards", "member:bob", 1, TransferKind.REWARD)
        for tid in ("reward:1", "mission:m:bob", "auto:review_written:bob:x", "earmark:b:p")
    ]
    assert economy_mismatches(paid, {}, {}) == []
    stray = economy_transfer("gift:1", "platform:rewards", "member:bob", 9, TransferKind.REWARD)
    assert [m.check for m in economy_mismatches([*paid, stray], {}, {})] == [
        "the rewards pool pays only its known flows"
    ]


def test_each_month_s_shares_equal_its_statement():
    shares = [
        economy_transfer(
            f"value-share:2024-05:{m}", "platform:revenue", f"member:{m}", c, TransferKind.VALUE_SHARE, "2024-05"
        )
        for m, c in (("bob", 3), ("carol", 1))
    ]
    assert economy_mismatches([*FEES, *shares], {"2024-05": 8}, {"2024-05": STATEMENT}) == []
    assert economy_mismatches([*FEES, *shares[:1]], {"2024-05": 8}, {"2024-05": STATEMENT}) == []  # paying
    wrong = economy_transfer(
        "value-share:2024-05:bob", "platform:revenue", "member:bob", 4, TransferKind.VALUE_SHARE, "2024-05"
    )
    assert economy_mismatches([*FEES, wrong], {"2024-05": 8}, {"2024-05": STATEMENT})[0].check == (
        "the month's shares equal its statement"
    )
