"""Earmarked accounts: credits a budget ballot allotted to a project, spent by operators on it, in the
open: any member reads their balance and every entry."""

from __future__ import annotations

import uuid

from chalicelib import errors
from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork
from chalicelib.domain.audit import AuditAction
from chalicelib.domain.ledger import (
    Balance,
    StatementLine,
    Transfer,
    TransferKind,
    TransferRequest,
    is_earmark,
    wallet_account,
)
from chalicelib.services import audit, ledger, transaction


def balance(account_id: str) -> Balance:
    _check(account_id)
    return ledger.account(account_id)[0]


def statement(
    account_id: str, cursor: str | None, limit: int
) -> tuple[list[StatementLine], dict[str, str], str | None]:
    _check(account_id)
    return ledger.statement(account_id, cursor, limit)


def spend(
    operator_id: str, account_id: str, member_id: str, amount: int, memo: str, payment_id: str | None
) -> Transfer:
    """Operators pay the member carrying the project (audited); a `payment_id` retried is the same payment."""
    _check(account_id)
    request = TransferRequest(
        transfer_id=f"earmark-spending:{payment_id or uuid.uuid4().hex}",
        payer=account_id,
        payee=wallet_account(member_id),
        amount=amount,
        kind=TransferKind.EARMARK_SPENDING,
        memo=memo,
    )

    def build(uow: UnitOfWork) -> Transfer:
        transfer = ledger.add_transfer(uow, request)
        audit.record(
            uow, operator_id, AuditAction.SPEND_EARMARK, account_id, memo, member_id=member_id, amount=str(amount)
        )
        return transfer

    return transaction.run(build)


def _check(account_id: str) -> None:
    if not is_earmark(account_id):
        raise errors.NotFound("not-found.earmarked-account")
