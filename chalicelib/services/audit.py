"""Operator actions are recorded in the same transaction as their effect."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from chalicelib import clock
from chalicelib.adapters.dynamodb import audit_repository, store
from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork
from chalicelib.domain.audit import AuditAction, AuditEntry


def entry(operator_id: str, action: AuditAction, target: str, reason: str, **details: str) -> AuditEntry:
    return AuditEntry(uuid.uuid4().hex, operator_id, action, target, reason, clock.now_iso(), dict(details))


def recorder(audit: AuditEntry) -> Callable[[UnitOfWork], None]:
    """Adds the entry to the use case's own transaction."""
    return lambda uow: audit_repository.add_entry(uow, audit)


def list_entries(month: str | None, cursor: str | None, limit: int) -> tuple[list[AuditEntry], str | None]:
    store.ready()
    return audit_repository.list_month(month or clock.now_iso()[:7], cursor, limit)
