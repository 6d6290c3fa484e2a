"""Operator routes for the ledger: rewards, pool funding, account lookups, audit log, reconciliation."""

from __future__ import annotations

from chalicelib.api.http import Call, Router
from chalicelib.api.schemas import (
    AccountOut,
    AuditEntryOut,
    AuditQuery,
    FundingOut,
    MismatchOut,
    NewFunding,
    NewReward,
    Page,
    PageQuery,
    ReconciliationOut,
    StatementEntry,
    TransferOut,
)
from chalicelib.api.wallet import statement_page, transfer_out
from chalicelib.services import audit, ledger, reconciliation, rewards

router = Router("operator")


@router.route(
    "POST",
    "/operator/rewards",
    summary="Reward a member from the rewards pool for a micro-action",
    description="The `amount` is at most the deployment's ceiling (`PWIIC_MAX_TRANSFER_AMOUNT`, 100 000 by default): "
    "above it, a 422 `invalid-amount`. An unknown member is a 404; an empty pool or a `reward_id` reused with "
    "other details, a 409.",
    tag="operator",
    access="operator",
    body=NewReward,
    response=TransferOut,
    status=201,
    problems=(404, 409, 503),
)
def create_reward(call: Call[NewReward, None]) -> TransferOut:
    body = call.body
    return transfer_out(
        rewards.reward_member(
            call.member.member_id, body.member_id, body.amount, body.reason_code, body.note, body.reward_id
        )
    )


@router.route(
    "POST",
    "/operator/rewards-pool/fundings",
    summary="Fund the rewards pool from issuance (spread over its shards)",
    description="The `amount` is at most the deployment's ceiling (`PWIIC_MAX_TRANSFER_AMOUNT`, 100 000 by default): "
    "above it, a 422 `invalid-amount`. A `funding_id` reused with other details is a 409.",
    tag="operator",
    access="operator",
    body=NewFunding,
    response=FundingOut,
    status=201,
    problems=(409, 503),
)
def fund_rewards_pool(call: Call[NewFunding, None]) -> FundingOut:
    body = call.body
    funding_id, transfers = rewards.fund_rewards_pool(call.member.member_id, body.amount, body.note, body.funding_id)
    return FundingOut(funding_id, body.amount, [transfer_out(t) for t in transfers])


@router.route(
    "GET",
    "/operator/accounts/{account_id}",
    summary="Any account's balance: member:<id>, or platform:<name> (summed over its shards) or one shard",
    tag="operator",
    access="operator",
    response=AccountOut,
    problems=(404,),
)
def get_account(call: Call[None, None]) -> AccountOut:
    found, shards = ledger.account(call.params["account_id"])
    return AccountOut(found.account_id, found.posted, found.held, found.available, found.frozen, shards)


@router.route(
    "GET",
    "/operator/accounts/{account_id}/entries",
    summary="An account's statement (platform accounts: one shard, e.g. platform:rewards.0)",
    tag="operator",
    access="operator",
    query=PageQuery,
    response=Page[StatementEntry],
    problems=(400, 404),
)
def get_account_entries(call: Call[None, PageQuery]) -> Page[StatementEntry]:
    return statement_page(*ledger.statement(call.params["account_id"], call.query.cursor, call.query.limit))


@router.route(
    "GET",
    "/operator/audit",
    summary="The operators' audit log for a month (default: this month), newest first",
    tag="operator",
    access="operator",
    query=AuditQuery,
    response=Page[AuditEntryOut],
    problems=(400,),
)
def list_audit(call: Call[None, AuditQuery]) -> Page[AuditEntryOut]:
    entries, cursor = audit.list_entries(call.query.month, call.query.cursor, call.query.limit)
    return Page(
        [
            AuditEntryOut(e.entry_id, e.operator_id, e.action.value, e.target, e.reason, e.details, e.at)
            for e in entries
        ],
        cursor,
    )


@router.route(
    "GET",
    "/operator/reconciliation",
    summary="The last reconciliation report of the ledger",
    tag="operator",
    access="operator",
    response=ReconciliationOut,
    problems=(404,),
)
def get_reconciliation(call: Call[None, None]) -> ReconciliationOut:
    report = reconciliation.latest()
    return ReconciliationOut(
        report.at,
        report.balanced,
        report.accounts,
        report.transfers,
        report.purchases,
        report.total_posted,
        [MismatchOut(m.account_id, m.check, m.expected, m.actual) for m in report.mismatches],
    )
