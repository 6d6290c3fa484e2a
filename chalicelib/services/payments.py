"""Members paying each other: payments and tips ("offer a coffee")."""

from __future__ import annotations

import uuid

from chalicelib.domain.ledger import Transfer, TransferKind, TransferRequest, wallet_account
from chalicelib.services import ledger


def pay_member(
    payer_id: str, payee_id: str, amount: int, kind: TransferKind, memo: str, client_id: str | None
) -> Transfer:
    """`client_id` is the payer's own id for this payment: retrying with it never pays twice.
    An unknown payee is refused by the transfer's own condition (no read beforehand)."""
    request = TransferRequest(
        transfer_id=f"pay:{payer_id}:{client_id or uuid.uuid4().hex}",
        payer=wallet_account(payer_id),
        payee=wallet_account(payee_id),
        amount=amount,
        kind=kind,
        memo=memo,
    )
    return ledger.transfer(request)
