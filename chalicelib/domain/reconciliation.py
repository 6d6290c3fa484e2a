"""Proofs the ledger must satisfy, computed from a full read of balances, transfers and holds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from msgspec import Struct, field

from chalicelib.domain.economy import ValueShare
from chalicelib.domain.ledger import Balance, Hold, HoldStatus, PlatformAccount, Transfer, TransferKind
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


# The rewards pool pays only these flows (by their transfer id's family): operators' grants, missions,
# automatic rewards and budget ballots' earmarks.
POOL_FLOWS = ("reward:", "mission:", "auto:", "earmark:")


def economy_mismatches(
    transfers: list[Transfer], revenues: dict[str, int], statements: dict[str, ValueShare]
) -> list[Mismatch]:
    """Each month's revenue counter equals the fees charged that month; nothing leaves the rewards pool
    but its known flows; each month's value-sharing transfers equal its statement."""
    fees: dict[str, int] = defaultdict(int)
    shared: dict[str, dict[str, int]] = defaultdict(dict)
    mismatches: list[Mismatch] = []
    for transfer in transfers:
        request = transfer.request
        if request.kind is TransferKind.FEE:
            fees[transfer.created_at[:7]] += request.amount
        elif request.kind is TransferKind.VALUE_SHARE:
            shared[request.reason][request.payee] = request.amount
        if request.payer == PlatformAccount.REWARDS_POOL.value and not request.transfer_id.startswith(POOL_FLOWS):
            mismatches.append(
                Mismatch(request.transfer_id, "the rewards pool pays only its known flows", 0, request.amount)
            )
    for month in fees.keys() | revenues.keys():
        if fees.get(month, 0) != revenues.get(month, 0):
            mismatches.append(
                Mismatch(
                    f"revenue:{month}",
                    "the month's revenue equals its fees",
                    fees.get(month, 0),
                    revenues.get(month, 0),
                )
            )
    for month in statements.keys() | shared.keys():
        statement = statements.get(month)
        expected = {f"member:{share.member_id}": share.credits for share in statement.shares} if statement else {}
        paid = shared.get(month, {})
        if sum(paid.values()) > sum(expected.values()) or any(paid.get(m, v) != v for m, v in expected.items()):
            mismatches.append(
                Mismatch(
                    f"value-share:{month}",
                    "the month's shares equal its statement",
                    sum(expected.values()),
                    sum(paid.values()),
                )
            )
    return mismatches
