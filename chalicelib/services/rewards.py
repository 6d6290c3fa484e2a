"""Operators pay micro-actions from the rewards pool and fund the pool from issuance."""

from __future__ import annotations

import uuid

from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork
from chalicelib.config import settings
from chalicelib.domain.audit import AuditAction
from chalicelib.domain.ledger import (
    PlatformAccount,
    Transfer,
    TransferKind,
    TransferRequest,
    shard_account,
    split_evenly,
    wallet_account,
)
from chalicelib.services import audit, ledger, transaction


def reward_member(
    operator_id: str, member_id: str, amount: int, reason_code: str, note: str, reward_id: str | None
) -> Transfer:
    request = TransferRequest(
        transfer_id=f"reward:{reward_id or uuid.uuid4().hex}",
        payer=PlatformAccount.REWARDS_POOL.value,
        payee=wallet_account(member_id),
        amount=amount,
        kind=TransferKind.REWARD,
        reason=reason_code,
        memo=note,
    )

    def build(uow: UnitOfWork) -> Transfer:
        transfer = ledger.add_transfer(uow, request)
        audit.record(uow, operator_id, AuditAction.REWARD, member_id, note, reason_code=reason_code, amount=str(amount))
        return transfer

    return transaction.run(build)


def fund_rewards_pool(operator_id: str, amount: int, note: str, funding_id: str | None) -> tuple[str, list[Transfer]]:
    """Issuance pays each shard of the pool its share. Every share is its own idempotent transfer,
    so retrying with the same funding id completes a funding that was interrupted halfway."""
    funding = funding_id or uuid.uuid4().hex
    shares = split_evenly(amount, settings().platform_shards)
    transfers: list[Transfer] = []
    for shard, share in enumerate(shares):
        if share == 0:
            continue
        request = TransferRequest(
            transfer_id=f"funding:{funding}:{shard}",
            payer=PlatformAccount.ISSUANCE.value,
            payee=shard_account(PlatformAccount.REWARDS_POOL, shard),
            amount=share,
            kind=TransferKind.POOL_FUNDING,
            memo=note,
        )

        def build(uow: UnitOfWork, request: TransferRequest = request, first: bool = not transfers) -> Transfer:
            transfer = ledger.add_transfer(uow, request)
            if first:  # the funding's one audit entry rides with its first share
                pool = PlatformAccount.REWARDS_POOL.value
                audit.record(
                    uow, operator_id, AuditAction.FUND_REWARDS_POOL, pool, note, amount=str(amount), funding_id=funding
                )
            return transfer

        transfers.append(transaction.run(build))
    return funding, transfers
