"""The public books' closed periods: one item each (a day, a month), written once, never changed."""

from __future__ import annotations

import msgspec

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.models import DocumentItem
from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork
from chalicelib.domain.books import CommunityMonth, Period

DAY, MONTH = "DAY", "MONTH"


def kind_of(period: Period) -> str:
    return DAY if len(period.period) == len("YYYY-MM-DD") else MONTH


def add_period(uow: UnitOfWork, period: Period) -> None:
    """Once, with the checkpoint that closes it: a period already published is never written over."""
    item = DocumentItem(keys.books_pk(kind_of(period)), period.period, doc=msgspec.json.encode(period).decode())
    uow.put(item, condition=DocumentItem.PK.does_not_exist())


def put_community_months(months: list[CommunityMonth]) -> None:
    """Each community's closed month as counted (statistics publish it suppressed); written again alike
    when the run that closes the month retries."""
    with DocumentItem.batch_write() as batch:
        for month in months:
            doc = msgspec.json.encode(month).decode()
            batch.save(DocumentItem(keys.community_stats_pk(month.community_id), month.month, doc=doc))


def community_months(community_id: str, first: str, last: str) -> list[CommunityMonth]:
    found = DocumentItem.query(keys.community_stats_pk(community_id), DocumentItem.SK.between(first, last))
    return [msgspec.json.decode(item.doc, type=CommunityMonth) for item in found]


def community_month_of(community_ids: list[str], month: str) -> list[CommunityMonth]:
    """Several communities' month, in BatchGetItem pages."""
    found = DocumentItem.batch_get([(keys.community_stats_pk(community_id), month) for community_id in community_ids])
    return [msgspec.json.decode(item.doc, type=CommunityMonth) for item in found]


def periods(kind: str, first: str, last: str) -> list[Period]:
    """The closed periods from `first` to `last` (inclusive), oldest first: one Query."""
    found = DocumentItem.query(keys.books_pk(kind), DocumentItem.SK.between(first, last))
    return [msgspec.json.decode(item.doc, type=Period) for item in found]
