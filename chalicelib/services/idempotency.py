"""`Idempotency-Key` on POST: the same key and body replay the first response; another body is a 422."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import NoReturn

from chalicelib import errors
from chalicelib.adapters.dynamodb import idempotency_repository as records
from chalicelib.adapters.dynamodb.unit_of_work import AlreadyDone, UnitOfWork, stale
from chalicelib.config import settings
from chalicelib.services import transaction

LEASE_SECONDS = 30


def run(
    member_id: str, key: str, request_fingerprint: bytes, execute: Callable[[], tuple[int, bytes]]
) -> tuple[int, bytes]:
    """`key` is checked at the edge (schemas.IDEMPOTENCY_KEY: 1 to 128 visible ASCII characters)."""
    fingerprint = hashlib.sha256(request_fingerprint).hexdigest()
    existing = transaction.run(lambda uow: _claim(uow, member_id, key, fingerprint))
    if existing is not None:
        if existing.fingerprint != fingerprint:
            raise errors.Unprocessable("idempotency.idempotency-key-was-already", code="idempotency-key-reused")
        if existing.state != records.DONE or existing.status_code is None:
            raise errors.Conflict(
                "idempotency.request-idempotency-key-still",
                code="request-in-progress",
            )
        return existing.status_code, (existing.body or "").encode()
    try:
        status, body = execute()
    except BaseException:
        transaction.run(lambda uow: records.add_release(uow, member_id, key))
        raise
    if status >= 500:
        transaction.run(lambda uow: records.add_release(uow, member_id, key))
    else:
        transaction.run(lambda uow: records.add_completion(uow, member_id, key, status, body.decode()))
    return status, body


def _claim(uow: UnitOfWork, member_id: str, key: str, fingerprint: str) -> records.Record | None:
    """None when this request holds the key now; otherwise the record of the request that does."""
    ttl = settings().idempotency_ttl_seconds
    records.add_claim(uow, member_id, key, fingerprint, LEASE_SECONDS, ttl, taken=lambda: _holder(member_id, key))
    return None


def _holder(member_id: str, key: str) -> NoReturn:
    existing = records.get(member_id, key)
    if existing is None:
        stale()  # released meanwhile: claim again
    raise AlreadyDone(existing)
