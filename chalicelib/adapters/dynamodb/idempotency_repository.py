"""Idempotency records: the first response to a (member, key), kept for replays."""

from __future__ import annotations

import time

from msgspec import Struct
from pynamodb.exceptions import PutError

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.models import IdempotencyItem

IN_PROGRESS = "in_progress"
DONE = "done"


class Record(Struct, frozen=True):
    fingerprint: str
    state: str
    status_code: int | None
    body: str | None


def claim(member_id: str, key: str, fingerprint: str, lease_seconds: int, ttl_seconds: int) -> Record | None:
    """Claim the key for this request. Returns the existing record when another request holds it; a
    claim whose lease ran out (its Lambda died mid-flight) can be taken over."""
    now = int(time.time())
    item = IdempotencyItem(
        keys.idempotency_pk(member_id, key),
        keys.IDEMPOTENCY_SK,
        fingerprint=fingerprint,
        state=IN_PROGRESS,
        lease_until=now + lease_seconds,
        expires_at=now + ttl_seconds,
    )
    try:
        item.save(
            condition=IdempotencyItem.PK.does_not_exist()
            | ((IdempotencyItem.state == IN_PROGRESS) & (IdempotencyItem.lease_until < now))
        )
        return None
    except PutError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
    existing = IdempotencyItem.get(item.PK, item.SK, consistent_read=True)
    return Record(existing.fingerprint, existing.state, _int_or_none(existing.status_code), existing.body)


def complete(member_id: str, key: str, status_code: int, body: str) -> None:
    IdempotencyItem(keys.idempotency_pk(member_id, key), keys.IDEMPOTENCY_SK).update(
        actions=[
            IdempotencyItem.state.set(DONE),
            IdempotencyItem.status_code.set(status_code),
            IdempotencyItem.body.set(body),
        ]
    )


def release(member_id: str, key: str) -> None:
    IdempotencyItem(keys.idempotency_pk(member_id, key), keys.IDEMPOTENCY_SK).delete()


def _int_or_none(value: float | None) -> int | None:
    return None if value is None else int(value)
