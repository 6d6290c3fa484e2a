"""Value sharing: once a month, a configurable share of the month's fee revenue goes to the members
who contributed (missions approved, reviews written, moderation decisions, weighted), in proportion
to their points, computed from each member's recorded facts of the month (an index Query, never a
scan). The month's statement is written once; each share is a transfer whose id derives from the
month and the member, so a second run moves nothing. The share of a member erased meanwhile stays in
revenue: their wallet is closed."""

from __future__ import annotations

from datetime import timedelta

from msgspec.structs import replace

from chalicelib import clock, errors
from chalicelib.adapters.dynamodb import economy_repository as repository
from chalicelib.adapters.dynamodb import ledger_repository
from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork, already_done
from chalicelib.config import settings
from chalicelib.domain.economy import Contribution, ContributionKind, ValueShare, distribute
from chalicelib.domain.ledger import PlatformAccount, TransferKind, TransferRequest, wallet_account
from chalicelib.observability import logger
from chalicelib.services import ledger, transaction


def weights() -> dict[ContributionKind, int]:
    return {ContributionKind(kind): weight for kind, weight in settings().contribution_weights.items()}


def add_contribution(uow: UnitOfWork, member_id: str, kind: ContributionKind) -> None:
    """A contribution, recorded in the unit of work of the action it counts."""
    repository.add_contribution(uow, member_id, clock.now_iso()[:7], kind)


def contribution(member_id: str, month: str) -> tuple[Contribution, int, ValueShare | None]:
    """A member's facts of a month, their points, and the month's statement once published."""
    found = repository.contribution(member_id, month)
    return found, found.points(weights()), repository.value_share(month)


def statement(month: str) -> ValueShare:
    found = repository.value_share(month)
    if found is None:
        raise errors.NotFound("not-found.month-value-sharing")
    return found


def share_last_month_exists(month: str) -> bool:
    return repository.value_share(month) is not None


def share_month(month: str) -> ValueShare:
    """The month's statement (computed and written once), then every share not paid yet."""
    found = repository.value_share(month)
    rerun = found is not None  # a run that stopped halfway may have paid some shares
    if found is None:
        computed = distribute(
            month, repository.revenue(month), settings().value_share_percent, repository.contributors(month), weights()
        )
        transaction.run(lambda uow: repository.add_value_share(uow, computed, exists=already_done()))
        found = statement(month)  # the stored one, whichever run wrote it
    if found.paid:
        return found  # every later daily run stops here: one read
    for share in found.shares:
        transfer_id = f"value-share:{month}:{share.member_id}"
        if rerun and ledger_repository.get_transfer(transfer_id) is not None:
            continue  # paid by the run that stopped halfway
        request = TransferRequest(
            transfer_id=transfer_id,
            payer=PlatformAccount.REVENUE.value,
            payee=wallet_account(share.member_id),
            amount=share.credits,
            kind=TransferKind.VALUE_SHARE,
            reason=month,
        )
        try:
            ledger.transfer(request)  # the same id again is the same transfer: nothing moves twice
        except errors.UnknownAccount:  # erased since: a closed wallet takes nothing, the share stays in revenue
            logger.info("value share not paid: wallet closed", extra={"member_id": share.member_id, "month": month})
    paid = replace(found, paid=True)
    transaction.run(lambda uow: repository.add_value_share_paid(uow, paid))
    return paid


def share_last_month() -> ValueShare:
    """Scheduled daily: the previous month's sharing, done once (later runs find it done)."""
    first_of_month = clock.parse(clock.now_iso()[:8] + "01T00:00:00.000000Z")
    return share_month(clock.iso(first_of_month - timedelta(days=1))[:7])
