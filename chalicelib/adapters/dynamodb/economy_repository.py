"""Facts of the cooperative economy: each member's contributions of a month (indexed under the month),
the month's fee revenue over shards, and each month's published value-sharing statement."""

from __future__ import annotations

from typing import Any

import msgspec

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.models import ContributionItem, CounterItem, DocumentItem
from chalicelib.adapters.dynamodb.unit_of_work import Refusal, UnitOfWork
from chalicelib.domain.economy import Contribution, ContributionKind, ValueShare

_COUNTS = {
    ContributionKind.MISSION_APPROVED: ContributionItem.missions_approved,
    ContributionKind.REVIEW_WRITTEN: ContributionItem.reviews_written,
    ContributionKind.MODERATION_DECISION: ContributionItem.moderation_decisions,
}


def add_contribution(uow: UnitOfWork, member_id: str, month: str, kind: ContributionKind) -> None:
    item = ContributionItem(keys.member_pk(member_id), keys.contribution_sk(month))
    actions: list[Any] = [
        _COUNTS[kind].add(1),
        ContributionItem.member_id.set(member_id),
        ContributionItem.month.set(month),
        ContributionItem.GSI1PK.set(keys.contributors_pk(month)),
        ContributionItem.GSI1SK.set(member_id),
    ]
    uow.update(item, actions)


def _contribution(item: ContributionItem) -> Contribution:
    return Contribution(
        item.member_id, int(item.missions_approved), int(item.reviews_written), int(item.moderation_decisions)
    )


def contribution(member_id: str, month: str) -> Contribution:
    try:
        return _contribution(ContributionItem.get(keys.member_pk(member_id), keys.contribution_sk(month)))
    except ContributionItem.DoesNotExist:
        return Contribution(member_id)


def contributors(month: str) -> list[Contribution]:
    """Every member with a contribution that month: one index Query (paged), never a scan."""
    return [_contribution(item) for item in ContributionItem.gsi1.query(keys.contributors_pk(month))]


def add_revenue(uow: UnitOfWork, shard: int, amount: int, at: str) -> None:
    """A fee charged at `at` counted in its month; `at` (the fee transfer's time) pairs the two for the
    reconciliation."""
    item = CounterItem(keys.revenue_pk(at[:7]), str(shard))
    uow.update(item, [CounterItem.total.add(amount), CounterItem.moved_at.set(at)])


def revenue(month: str) -> int:
    return sum(int(item.total) for item in CounterItem.query(keys.revenue_pk(month), consistent_read=True))


def value_share(month: str) -> ValueShare | None:
    try:
        item = DocumentItem.get(keys.value_share_pk(month), keys.META_SK, consistent_read=True)
    except DocumentItem.DoesNotExist:
        return None
    return value_share_of(item)


def value_share_of(item: DocumentItem) -> ValueShare:
    return msgspec.json.decode(item.doc, type=ValueShare)


def add_value_share(uow: UnitOfWork, statement: ValueShare, exists: Refusal) -> None:
    """The month's statement, written once (a second run finds it and pays what is missing)."""
    uow.put(_statement_item(statement), condition=DocumentItem.PK.does_not_exist(), refused=exists)


def add_value_share_paid(uow: UnitOfWork, statement: ValueShare) -> None:
    uow.put(_statement_item(statement), condition=DocumentItem.PK.exists())


def _statement_item(statement: ValueShare) -> DocumentItem:
    return DocumentItem(keys.value_share_pk(statement.month), keys.META_SK, doc=msgspec.json.encode(statement).decode())
