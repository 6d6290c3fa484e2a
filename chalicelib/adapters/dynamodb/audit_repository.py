"""The audit log, partitioned by month, newest first."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.adapters.dynamodb import keys, pages
from chalicelib.adapters.dynamodb.models import AuditItem
from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork
from chalicelib.domain.audit import AuditAction, AuditEntry


def add_entry(uow: UnitOfWork, entry: AuditEntry) -> None:
    uow.put(
        AuditItem(
            keys.audit_pk(entry.at[:7]),
            keys.audit_sk(entry.at, entry.entry_id),
            operator_id=entry.operator_id,
            action=entry.action.value,
            target=entry.target,
            reason=entry.reason,
            details=json.dumps(entry.details, sort_keys=True),
            at=entry.at,
        ),
    )


def _entry(item: AuditItem) -> AuditEntry:
    return AuditEntry(
        entry_id=item.SK.rsplit(keys.SEP, 1)[-1],
        operator_id=item.operator_id,
        action=AuditAction(item.action),
        target=item.target,
        reason=item.reason,
        at=item.at,
        details=json.loads(item.details),
    )


def list_month(month: str, cursor: str | None, limit: int) -> tuple[list[AuditEntry], str | None]:
    def run(start: dict[str, Any] | None) -> Any:
        return AuditItem.query(
            keys.audit_pk(month), scan_index_forward=False, limit=limit, page_size=limit, last_evaluated_key=start
        )

    return pages.collect(run, scope=f"audit:{month}", cursor=cursor, convert=_entry)
