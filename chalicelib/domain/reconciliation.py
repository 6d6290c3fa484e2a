"""Proofs the ledger must satisfy, computed from a full read of balances, transfers and holds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from msgspec import Struct, field

from chalicelib.domain.ledger import Balance, Hold, HoldStatus, Transfer, TransferKind
from chalicelib.domain.purchases import Purchase, PurchaseStatus, reversal_target


class Mismatch(Struct, frozen=True):
    account_id: str
    check: str
    expected: int
    actual: int


class Report(Struct, frozen=True):
    at: str
    accounts: int
    transfers: int
    total_posted: int  # the sum of every posted balance: zero, by double entry
    mismatches: list[Mismatch] = field(default_factory=list)
    purchases: int = 0

    @property
    def balanced(self) -> bool:
        return self.total_posted == 0 and not self.mismatches


def reconcile(
    at: str,
    balances: list[Balance],
    transfers: list[Transfer],
    holds: list[Hold],
    purchases: Sequence[Purchase] = (),
) -> Report:
    entries: dict[str, int] = defaultdict(int)
    for transfer in transfers:
        entries[transfer.payer_account] -= transfer.request.amount
        entries[transfer.payee_account] += transfer.request.amount
    pending: dict[str, int] = defaultdict(int)
    for hold in holds:
        if hold.status is HoldStatus.PENDING:
            pending[hold.request.payer] += hold.request.amount
    mismatches: list[Mismatch] = []
    known = {balance.account_id for balance in balances}
    for balance in balances:
        checks = (
            ("posted equals the sum of its entries", entries.get(balance.account_id, 0), balance.posted),
            ("held equals its pending holds", pending.get(balance.account_id, 0), balance.held),
            ("available equals posted minus held", balance.posted - balance.held, balance.available),
        )
        mismatches += [Mismatch(balance.account_id, name, want, got) for name, want, got in checks if want != got]
    mismatches += [
        Mismatch(account, "entries for an account that does not exist", 0, amount)
        for account, amount in entries.items()
        if account not in known
    ]
    mismatches += purchase_mismatches(purchases, transfers)
    return Report(at, len(balances), len(transfers), sum(b.posted for b in balances), mismatches, len(purchases))


def purchase_mismatches(purchases: Sequence[Purchase], transfers: list[Transfer]) -> list[Mismatch]:
    """Every succeeded purchase issued exactly its credits, no credits were issued without one, and
    what was reversed matches the refunds and lost disputes recorded on the purchase."""
    issued: dict[str, int] = defaultdict(int)
    reversed_: dict[str, int] = defaultdict(int)
    for transfer in transfers:
        purchase_id = transfer.request.refs.get("purchase_id", "")
        if transfer.request.kind is TransferKind.PURCHASE:
            issued[purchase_id] += transfer.request.amount
        elif transfer.request.kind is TransferKind.REVERSAL:
            reversed_[purchase_id] += transfer.request.amount
    mismatches: list[Mismatch] = []
    for purchase in purchases:
        account = f"purchase:{purchase.purchase_id}"
        expected = purchase.credits if purchase.status is PurchaseStatus.SUCCEEDED else 0
        got = issued.pop(purchase.purchase_id, 0)
        if got != expected:
            mismatches.append(Mismatch(account, "issued credits equal the succeeded purchase's", expected, got))
        target = reversal_target(purchase)
        if reversed_[purchase.purchase_id] != target:
            mismatches.append(
                Mismatch(
                    account,
                    "reversed credits equal its refunds and lost disputes",
                    target,
                    reversed_[purchase.purchase_id],
                )
            )
    mismatches += [
        Mismatch(f"purchase:{purchase_id}", "credits issued without a succeeded purchase", 0, amount)
        for purchase_id, amount in issued.items()
    ]
    return mismatches
