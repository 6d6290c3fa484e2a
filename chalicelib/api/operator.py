"""Operator routes: rewards, pool funding, account lookups, audit log, reconciliation, the full audit,
and the health of the scheduled jobs."""

from __future__ import annotations

from chalicelib.api.http import Call, Router
from chalicelib.api.schemas import (
    AccountOut,
    AuditEntryOut,
    AuditQuery,
    FundingOut,
    JobRunOut,
    JobStatusOut,
    LedgerAuditOut,
    MismatchOut,
    NewFunding,
    NewReward,
    OperatorHealthOut,
    Page,
    PageQuery,
    ReconciliationAgeOut,
    ReconciliationOut,
    StatementEntry,
    TransferOut,
)
from chalicelib.api.wallet import statement_page, transfer_out
from chalicelib.domain.jobs import JobRun
from chalicelib.domain.ledger_audit import AuditState
from chalicelib.domain.reconciliation import Report
from chalicelib.services import audit, job_runs, ledger, ledger_audit, reconciliation, rewards

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
    summary="The last report of the hourly reconciliation of the ledger",
    description="What changed since the previous run, read from the table's stream, with what is still open "
    "from earlier runs: a difference that stays open past the settle window is a mismatch.",
    tag="operator",
    access="operator",
    response=ReconciliationOut,
    problems=(404,),
)
def get_reconciliation(call: Call[None, None]) -> ReconciliationOut:
    return _report_out(reconciliation.latest())


@router.route(
    "POST",
    "/operator/reconciliation/audit",
    summary="Start a full audit of the ledger (every balance against its entries and holds, every purchase)",
    description="A job scheduled every minute works through it in slices; follow it with the GET. When it "
    "finishes, the hourly reconciliation proves what happened after its base time. One audit at a time: "
    "another one running is a 409 `audit-running`.",
    tag="operator",
    access="operator",
    response=LedgerAuditOut,
    status=202,
    problems=(409, 503),
)
def start_audit(call: Call[None, None]) -> LedgerAuditOut:
    return _audit_out(ledger_audit.start(call.member.member_id))


@router.route(
    "GET",
    "/operator/reconciliation/audit",
    summary="The last full audit of the ledger: its progress, and its report once finished",
    tag="operator",
    access="operator",
    response=LedgerAuditOut,
    problems=(404,),
)
def get_audit(call: Call[None, None]) -> LedgerAuditOut:
    return _audit_out(ledger_audit.progress())


def _report_out(report: Report) -> ReconciliationOut:
    return ReconciliationOut(
        report.at,
        report.balanced,
        report.accounts,
        report.transfers,
        report.purchases,
        report.total_posted,
        [MismatchOut(m.account_id, m.check, m.expected, m.actual) for m in report.mismatches],
    )


def _audit_out(state: AuditState) -> LedgerAuditOut:
    return LedgerAuditOut(
        state.audit_id,
        "running" if state.running else "finished",
        state.started_by,
        state.started_at,
        state.base_at,
        state.finished_at or None,
        state.invocations,
        state.seconds_max,
        state.scanned,
        state.accounts,
        len(state.recheck),
        _report_out(state.report) if state.report is not None else None,
    )


@router.route(
    "GET",
    "/operator/health",
    summary="Every scheduled job's last run, and the age of the ledger's last reconciliation",
    description="A job is `silent` when no run of it ended within two of its periods and 5 minutes: its "
    "schedule stopped, or its runs time out before they end. `GET /health` stays the public liveness check.",
    tag="operator",
    access="operator",
    response=OperatorHealthOut,
)
def get_health(call: Call[None, None]) -> OperatorHealthOut:
    health = job_runs.health()
    report = health.reconciliation
    return OperatorHealthOut(
        "ok" if health.healthy else "attention",
        health.checked_at,
        [
            JobStatusOut(
                status.job,
                int(status.every.total_seconds()),
                _run_out(status.last_run) if status.last_run else None,
                status.silent,
            )
            for status in health.jobs
        ],
        ReconciliationAgeOut(
            report.at if report else None,
            health.reconciliation_age_seconds,
            report.balanced if report else None,
            health.reconciliation_overdue,
        ),
    )


def _run_out(run: JobRun) -> JobRunOut:
    return JobRunOut(
        run.ended_at, run.succeeded, run.duration_ms, run.error, run.last_success_at, run.consecutive_failures
    )
