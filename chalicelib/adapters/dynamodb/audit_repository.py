"""The audit log, partitioned by month over a few shards, read newest first across them."""

from __future__ import annotations

import json
from functools import partial

from chalicelib.adapters.dynamodb import keys, pages, reads
from chalicelib.adapters.dynamodb.models import AuditItem
from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork
from chalicelib.domain.audit import AuditAction, AuditEntry


def add_entry(uow: UnitOfWork, entry: AuditEntry) -> None:
    uow.put(
        AuditItem(
            keys.audit_pk(entry.at[:7], keys.audit_shard(entry.entry_id)),
            keys.audit_sk(entry.at, entry.entry_id),
            operator_id=entry.operator_id,
            action=entry.action.value,
            target=entry.target,
            reason=entry.reason,
            details=json.dumps(entry.details, sort_keys=True),
            at=entry.at,
        ),
    )


def _entry(raw: reads.RawItem) -> AuditEntry:
    item = AuditItem.from_raw_data(raw)  # an operator's page, not a hot read: the model's decoding will do
    return AuditEntry(
        entry_id=item.SK.rsplit(keys.SEP, 1)[-1],
        operator_id=item.operator_id,
        action=AuditAction(item.action),
        target=item.target,
        reason=item.reason,
        at=item.at,
        details=json.loads(item.details),
    )


def _newest(month: str, below: str | None, limit: int) -> list[tuple[str, AuditEntry]]:
    partitions = (keys.audit_pk(month, shard) for shard in range(keys.AUDIT_SHARDS))
    return [(sort_key, _entry(item)) for sort_key, item in reads.newest_first(partitions, below=below, limit=limit)]


def list_month(month: str, cursor: str | None, limit: int) -> tuple[list[AuditEntry], str | None]:
    return pages.newest_page(partial(_newest, month), scope=f"audit:{month}", cursor=cursor, limit=limit)
