"""Operator actions are recorded in the same unit of work as their effect."""

from __future__ import annotations

import uuid

from chalicelib import clock
from chalicelib.adapters.dynamodb import audit_repository
from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork
from chalicelib.domain.audit import AuditAction, AuditEntry


def record(uow: UnitOfWork, operator_id: str, action: AuditAction, target: str, reason: str, **details: str) -> None:
    entry = AuditEntry(uuid.uuid4().hex, operator_id, action, target, reason, clock.now_iso(), dict(details))
    audit_repository.add_entry(uow, entry)


def list_entries(month: str | None, cursor: str | None, limit: int) -> tuple[list[AuditEntry], str | None]:
    return audit_repository.list_month(month or clock.now_iso()[:7], cursor, limit)
