"""Opaque, tamper-proof pagination cursors over DynamoDB queries."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from typing import Any, Protocol, TypeVar

import msgspec

from chalicelib import errors
from chalicelib.config import secret

T = TypeVar("T")
Item = TypeVar("Item")
Item_co = TypeVar("Item_co", covariant=True)

_SIG_BYTES = 16


def _signature(scope: str, payload: bytes) -> bytes:
    signer = _keyed(secret("cursor_secret")).copy()
    signer.update(scope.encode() + b"\0" + payload)
    return signer.digest()[:_SIG_BYTES]


@lru_cache(maxsize=1)
def _keyed(key: str) -> hmac.HMAC:
    """The HMAC keyed once per container (and secret); each signature starts from a copy of it."""
    return hmac.new(key.encode(), digestmod=hashlib.sha256)


def encode_cursor(scope: str, last_key: dict[str, Any]) -> str:
    """`scope` binds the cursor to one query: a cursor from another query or member is refused."""
    payload = msgspec.json.encode(last_key, order="sorted")
    return base64.urlsafe_b64encode(_signature(scope, payload) + payload).decode().rstrip("=")


def decode_cursor(scope: str, cursor: str) -> dict[str, Any]:
    invalid = errors.InvalidCursor()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise invalid from None
    signature, payload = raw[:_SIG_BYTES], raw[_SIG_BYTES:]
    if not hmac.compare_digest(signature, _signature(scope, payload)):
        raise invalid
    try:
        decoded = json.loads(payload)
    except ValueError:
        raise invalid from None
    if not isinstance(decoded, dict):
        raise invalid
    return decoded


class Results(Protocol[Item_co]):
    """A Query's items (PynamoDB's ResultIterator, or `reads.Query`), then where its next page starts."""

    def __iter__(self) -> Iterator[Item_co]: ...

    @property
    def last_evaluated_key(self) -> dict[str, Any] | None: ...


def collect(
    run: Callable[[dict[str, Any] | None], Results[Item]],
    *,
    scope: str,
    cursor: str | None,
    convert: Callable[[Item], T],
) -> tuple[list[T], str | None]:
    """Run one query page (`run` receives the start key) and return its items and the next cursor."""
    start = decode_cursor(scope, cursor) if cursor else None
    results = run(start)
    items = [convert(item) for item in results]
    last = results.last_evaluated_key
    return items, (encode_cursor(scope, last) if last else None)


def newest_page(
    fetch: Callable[[str | None, int], Sequence[tuple[str, T]]], *, scope: str, cursor: str | None, limit: int
) -> tuple[list[T], str | None]:
    """A page of a newest-first listing merged from several partitions: `fetch(below, n)` returns up to
    n (sort key, item) pairs below the last sort key seen, which the cursor carries."""
    below = str(decode_cursor(scope, cursor)["before"]) if cursor else None
    found = fetch(below, limit + 1)
    next_cursor = encode_cursor(scope, {"before": found[limit - 1][0]}) if len(found) > limit else None
    return [item for _, item in found[:limit]], next_cursor


def offset_page(ranked: Sequence[T], *, scope: str, cursor: str | None, limit: int) -> tuple[list[T], str | None]:
    """A page of results ranked in memory (a keyword search's): the cursor carries where the next page starts."""
    start = decode_cursor(scope, cursor).get("offset") if cursor else 0
    if not isinstance(start, int) or isinstance(start, bool) or start < 0:
        raise errors.InvalidCursor()
    end = start + limit
    return list(ranked[start:end]), (encode_cursor(scope, {"offset": end}) if end < len(ranked) else None)
