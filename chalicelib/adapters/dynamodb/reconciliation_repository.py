"""The reconciliation's own items: one residue item per stream batch, the scheduled job's checkpoint, the
full audit's progress, and the audit's paginated read of the whole table. Bodies are zlib-compressed
JSON (residues of account ids compress about threefold, and every kilobyte is a write unit)."""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator
from typing import Any

from pynamodb.expressions.condition import Condition

from chalicelib.adapters.dynamodb import changes, keys
from chalicelib.adapters.dynamodb.models import ReconciliationStateItem, ResidueItem, TableItem
from chalicelib.adapters.dynamodb.unit_of_work import Refusal, UnitOfWork, stale
from chalicelib.domain.changes import TableChange

RESIDUE_TTL_SECONDS = 7 * 24 * 3600  # long after the hourly job has read them


def pack(body: bytes) -> bytes:
    return zlib.compress(body, 6)


def unpack(body: bytes) -> bytes:
    return zlib.decompress(body)


def add_residues(
    uow: UnitOfWork, event_id: str, last_sequence: str, written_at: str, body: bytes, exists: Refusal
) -> None:
    """A batch's residues, once: keyed by its first record, so a redelivered batch is refused (`exists`)."""
    bucket = keys.bucket_of(event_id, keys.RESIDUE_BUCKETS)
    item = ResidueItem(
        keys.residues_pk(event_id),
        keys.RESIDUES_SK,
        GSI3PK=keys.residues_written_pk(written_at[:13], bucket),
        GSI3SK=keys.residues_written_sk(written_at, event_id),
        body=pack(body),
        last_sequence=last_sequence,
        written_at=written_at,
        expires_at=int(time.time()) + RESIDUE_TTL_SECONDS,
    )
    uow.put(item, condition=ResidueItem.PK.does_not_exist(), refused=exists)


def residues_last_sequence(event_id: str) -> str | None:
    """The last sequence number the batch that began with `event_id` covered, if it was stored."""
    try:
        return ResidueItem.get(keys.residues_pk(event_id), keys.RESIDUES_SK, consistent_read=True).last_sequence
    except ResidueItem.DoesNotExist:
        return None


def residues_written(hours: list[str], start: str, end: str) -> Iterator[bytes]:
    """Bodies of the residue items written from `start` (inclusive) to `end` (exclusive), in the given
    hours (YYYY-MM-DDTHH): one index Query per hour and bucket, paged."""
    for hour in hours:
        for bucket in range(keys.RESIDUE_BUCKETS):
            found = ResidueItem.gsi3.query(
                keys.residues_written_pk(hour, bucket), ResidueItem.GSI3SK.between(start, end)
            )
            for item in found:
                yield unpack(item.body)


def _state(sort_key: str) -> ReconciliationStateItem | None:
    try:
        return ReconciliationStateItem.get(keys.RECONCILIATION_PK, sort_key, consistent_read=True)
    except ReconciliationStateItem.DoesNotExist:
        return None


class Stored:
    """A state item as read: its body (None if absent), its version, and for the checkpoint its base."""

    def __init__(self, item: ReconciliationStateItem | None) -> None:
        self.body = unpack(item.body) if item is not None and item.body else None
        self.version = int(item.version) if item is not None else 0
        self.base_at = (item.base_at or "") if item is not None else ""


def checkpoint() -> Stored:
    return Stored(_state(keys.CHECKPOINT_SK))


def audit() -> Stored:
    return Stored(_state(keys.AUDIT_SK))


def _unchanged(read: Stored) -> Condition:
    unchanged: Condition = ReconciliationStateItem.version == read.version
    return ReconciliationStateItem.version.does_not_exist() | unchanged if read.version == 0 else unchanged


def add_checkpoint(uow: UnitOfWork, read: Stored, body: bytes) -> None:
    """The job's carried state, over the version read (an audit moving the base makes the job read again)."""
    item = ReconciliationStateItem(keys.RECONCILIATION_PK, keys.CHECKPOINT_SK)
    actions = [ReconciliationStateItem.body.set(pack(body)), ReconciliationStateItem.version.set(read.version + 1)]
    uow.update(item, actions, condition=_unchanged(read))


def add_base(uow: UnitOfWork, base_at: str) -> None:
    """A finished audit moves the incremental proof's base: what happened before it is proven."""
    item = ReconciliationStateItem(keys.RECONCILIATION_PK, keys.CHECKPOINT_SK)
    uow.update(item, [ReconciliationStateItem.base_at.set(base_at), ReconciliationStateItem.version.add(1)])


def add_audit(uow: UnitOfWork, read: Stored, body: bytes, refused: Refusal = stale) -> None:
    """The audit's progress, over the version read."""
    item = ReconciliationStateItem(keys.RECONCILIATION_PK, keys.AUDIT_SK)
    actions = [ReconciliationStateItem.body.set(pack(body)), ReconciliationStateItem.version.set(read.version + 1)]
    uow.update(item, actions, condition=_unchanged(read), refused=refused)


# What the full audit reads of every item: balances, transfer records, purchases, revenue counters.
_AUDITED = TableItem.SK.is_in(keys.BALANCE_SK, keys.TRANSFER_SK, keys.PURCHASE_SK) | TableItem.PK.startswith(
    keys.revenue_pk("")
)


def scan_page(start: dict[str, Any] | None, limit: int) -> tuple[list[TableChange], dict[str, Any] | None]:
    """One page of the table (`limit` items read; the filter drops the others after reading, so every
    item is paid for), decoded as the stream decodes a new item, and where the next page starts (None:
    the end)."""
    connection = TableItem._get_connection()
    found = connection.scan(filter_condition=_AUDITED, limit=limit, exclusive_start_key=start)  # type: ignore[arg-type]  # a key, typed as str by PynamoDB
    decoded = [changes.item(raw) for raw in found.get("Items", [])]
    return [change for change in decoded if change is not None], found.get("LastEvaluatedKey")
