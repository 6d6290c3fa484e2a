"""`Idempotency-Key` on POST: the same key and body replay the first response; another body is a 422."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from chalicelib import errors
from chalicelib.adapters.dynamodb import idempotency_repository as records
from chalicelib.adapters.dynamodb import store
from chalicelib.config import settings

MAX_KEY_LENGTH = 128
LEASE_SECONDS = 30


def run(
    member_id: str, key: str, request_fingerprint: bytes, execute: Callable[[], tuple[int, bytes]]
) -> tuple[int, bytes]:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise errors.malformed(f"The Idempotency-Key header must be 1 to {MAX_KEY_LENGTH} printable characters.")
    store.ready()
    fingerprint = hashlib.sha256(request_fingerprint).hexdigest()
    existing = records.claim(member_id, key, fingerprint, LEASE_SECONDS, settings().idempotency_ttl_seconds)
    if existing is not None:
        if existing.fingerprint != fingerprint:
            raise errors.unprocessable(
                "This Idempotency-Key was already used with another request.", "idempotency-key-reused"
            )
        if existing.state != records.DONE or existing.status_code is None:
            raise errors.conflict(
                "A request with this Idempotency-Key is still being processed; retry shortly.", "request-in-progress"
            )
        return existing.status_code, (existing.body or "").encode()
    try:
        status, body = execute()
    except BaseException:
        records.release(member_id, key)
        raise
    if status >= 500:
        records.release(member_id, key)
    else:
        records.complete(member_id, key, status, body.decode())
    return status, body
