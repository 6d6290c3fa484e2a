"""Idempotency records: the first response to a (member, key), kept for replays."""

from __future__ import annotations

import time

from msgspec import Struct

from chalicelib.adapters.dynamodb import keys
from chalicelib.adapters.dynamodb.models import IdempotencyItem
from chalicelib.adapters.dynamodb.unit_of_work import Refusal, UnitOfWork

IN_PROGRESS = "in_progress"
DONE = "done"


class Record(Struct, frozen=True):
    fingerprint: str
    state: str
    status_code: int | None
    body: str | None


def _ref(member_id: str, key: str) -> IdempotencyItem:
    return IdempotencyItem(keys.idempotency_pk(member_id, key), keys.IDEMPOTENCY_SK)


def add_claim(
    uow: UnitOfWork, member_id: str, key: str, fingerprint: str, lease_seconds: int, ttl_seconds: int, taken: Refusal
) -> None:
    """Claims the key for this request; refused while another request holds it or after it completed.
    A claim whose lease ran out (its Lambda died mid-flight) can be taken over."""
    now = int(time.time())
    item = IdempotencyItem(
        keys.idempotency_pk(member_id, key),
        keys.IDEMPOTENCY_SK,
        fingerprint=fingerprint,
        state=IN_PROGRESS,
        lease_until=now + lease_seconds,
        expires_at=now + ttl_seconds,
    )
    condition = IdempotencyItem.PK.does_not_exist() | (
        (IdempotencyItem.state == IN_PROGRESS) & (IdempotencyItem.lease_until < now)
    )
    uow.put(item, condition=condition, refused=taken)


def get(member_id: str, key: str) -> Record | None:
    try:
        item = IdempotencyItem.get(keys.idempotency_pk(member_id, key), keys.IDEMPOTENCY_SK, consistent_read=True)
    except IdempotencyItem.DoesNotExist:
        return None
    return Record(item.fingerprint, item.state, _int_or_none(item.status_code), item.body)


def add_completion(uow: UnitOfWork, member_id: str, key: str, status_code: int, body: str) -> None:
    uow.update(
        _ref(member_id, key),
        [
            IdempotencyItem.state.set(DONE),
            IdempotencyItem.status_code.set(status_code),
            IdempotencyItem.body.set(body),
        ],
    )


def add_release(uow: UnitOfWork, member_id: str, key: str) -> None:
    uow.delete(_ref(member_id, key))


def _int_or_none(value: float | None) -> int | None:
    return None if value is None else int(value)
