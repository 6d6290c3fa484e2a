"""A member's wallet: balance, statement, and paying another member."""

from __future__ import annotations

from chalicelib.api.http import Call, Router
from chalicelib.api.schemas import NewTransfer, Page, PageQuery, StatementEntry, TransferOut, Wallet
from chalicelib.domain.ledger import Balance, StatementLine, Transfer, TransferKind, wallet_account
from chalicelib.services import ledger, payments

router = Router("wallet")


def wallet_out(balance: Balance) -> Wallet:
    return Wallet(balance.account_id, balance.posted, balance.held, balance.available, balance.frozen)


def transfer_out(transfer: Transfer) -> TransferOut:
    request = transfer.request
    return TransferOut(
        id=request.transfer_id,
        from_account=request.payer,
        to_account=request.payee,
        amount=request.amount,
        kind=request.kind.value,
        reason=request.reason,
        memo=request.memo,
        created_at=transfer.created_at,
        replayed=transfer.replayed,
    )


def statement_page(lines: list[StatementLine], names: dict[str, str], cursor: str | None) -> Page[StatementEntry]:
    return Page(
        [
            StatementEntry(
                transfer_id=line.transfer_id,
                amount=line.amount,
                balance_after=line.balance_after,
                counterparty_account=line.counterparty,
                counterparty_name=names.get(line.counterparty, line.counterparty),
                kind=line.kind,
                reason=line.reason,
                memo=line.memo,
                refs=line.refs,
                created_at=line.created_at,
            )
            for line in lines
        ],
        cursor,
    )


@router.route("GET", "/me/wallet", summary="Your credits: posted, held and available", tag="wallet", response=Wallet)
def get_wallet(call: Call[None, None]) -> Wallet:
    return wallet_out(ledger.balance(wallet_account(call.member.member_id)))


@router.route(
    "GET",
    "/me/wallet/entries",
    summary="Your statement, newest first, with the balance after each entry",
    tag="wallet",
    query=PageQuery,
    response=Page[StatementEntry],
    problems=(400,),
)
def get_wallet_entries(call: Call[None, PageQuery]) -> Page[StatementEntry]:
    return statement_page(*ledger.statement(wallet_account(call.member.member_id), call.query.cursor, call.query.limit))


@router.route(
    "POST",
    "/transfers",
    summary="Pay or tip another member. Retrying with the same transfer_id never pays twice.",
    description="The `amount` is at most the deployment's ceiling (`PWIIC_MAX_TRANSFER_AMOUNT`, 100 000 by default): "
    "above it, a 422 `invalid-amount`. Paying yourself is a 422 `self-transfer`; an unknown member, a 404; "
    "not enough credits or a frozen wallet, a 409; a `transfer_id` reused with other details, a 409.",
    tag="wallet",
    body=NewTransfer,
    response=TransferOut,
    status=201,
    problems=(404, 409, 503),
    limit="transfers",
)
def create_transfer(call: Call[NewTransfer, None]) -> TransferOut:
    body = call.body
    return transfer_out(
        payments.pay_member(
            call.member.member_id, body.to_member_id, body.amount, TransferKind(body.kind), body.memo, body.transfer_id
        )
    )
