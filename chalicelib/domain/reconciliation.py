"""Proofs the ledger must satisfy, computed from a full read of balances, transfers and holds."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from chalicelib.domain.ledger import Balance, Hold, HoldStatus, Transfer


@dataclass(frozen=True)
class Mismatch:
    account_id: str
    check: str
    expected: int
    actual: int


@dataclass(frozen=True)
class Report:
    at: str
    accounts: int
    transfers: int
    total_posted: int  # the sum of every posted balance: zero, by double entry
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return self.total_posted == 0 and not self.mismatches


def reconcile(at: str, balances: list[Balance], transfers: list[Transfer], holds: list[Hold]) -> Report:
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
    return Report(at, len(balances), len(transfers), sum(b.posted for b in balances), mismatches)
