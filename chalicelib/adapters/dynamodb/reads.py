"""Hot reads, straight through the botocore client every model shares: GetItem, BatchGetItem and Query
requests built here, the items left as DynamoDB returns them (`mapping.from_item` makes domain structs
of them), and several Queries sent at once.

PynamoDB's request building and its model per item cost more CPU than the call itself (a page of 20
listings: ~4x a bare Query); the routes members call most read through here (bench/exchanges.py).
Paging is PynamoDB's: pages of `limit` items, read until `limit` items are found, and a last evaluated
key rebuilt from the last item returned when `limit` stops inside a page. Botocore's errors propagate
(`unit_of_work.is_contention` knows them)."""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache, partial
from typing import Any, TypeVar

from pynamodb.constants import BATCH_GET_PAGE_LIMIT
from pynamodb.indexes import GlobalSecondaryIndex

from chalicelib.adapters.dynamodb.models import TableItem, connection

T = TypeVar("T")
AttributeValue = dict[str, Any]  # {"S": "Drill"}, {"N": "5"}, {"BOOL": false}...
RawItem = dict[str, AttributeValue]
Index = GlobalSecondaryIndex[Any]

# Reads sent at once: `near` searches nine cells, GET /me/home reads seven things. botocore clients are
# thread-safe and PynamoDB's connection pool holds 10 connections (`max_pool_connections`): more threads
# would wait for one.
QUERY_THREADS = 9
POOL_THREADS = "pwiic-read"


def _client() -> Any:
    return connection().client


def _key(pk: str, sk: str) -> RawItem:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def get_item(pk: str, sk: str, *, consistent_read: bool = False) -> RawItem | None:
    """The item, or None when there is none."""
    params = {"TableName": TableItem.Meta.table_name, "Key": _key(pk, sk), "ConsistentRead": consistent_read}
    found: RawItem | None = _client().get_item(**params).get("Item")
    return found


def batch_get_items(wanted: Iterable[tuple[str, str]], *, consistent_read: bool = False) -> Iterator[RawItem]:
    """The items found, in any order: pages of 100 keys, unprocessed keys asked again."""
    table = TableItem.Meta.table_name
    pending = [_key(pk, sk) for pk, sk in set(wanted)]
    while pending:
        page, pending = pending[:BATCH_GET_PAGE_LIMIT], pending[BATCH_GET_PAGE_LIMIT:]
        while page:
            request = {table: {"Keys": page, "ConsistentRead": consistent_read}}
            data = _client().batch_get_item(RequestItems=request)
            yield from data.get("Responses", {}).get(table, [])
            page = data.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])


@cache
def _key_names(index: Index | None) -> tuple[str, str]:
    """The partition and sort key attributes of the table or of one of its indexes."""
    if index is None:
        return "PK", "SK"
    attributes = index.Meta.attributes.values()
    hash_key = next(attribute.attr_name for attribute in attributes if attribute.is_hash_key)
    range_key = next(attribute.attr_name for attribute in attributes if attribute.is_range_key)
    return hash_key, range_key


class Query:
    """One Query's items, page after page (of `limit` items) until `limit` items are found or none is
    left; iterate once, then `last_evaluated_key` is where a next page starts (None: nothing more)."""

    def __init__(self, params: dict[str, Any], limit: int | None, key_names: tuple[str, ...]) -> None:
        self._params = params
        self._limit = limit
        self._key_names = key_names
        self.last_evaluated_key: RawItem | None = params.get("ExclusiveStartKey")

    def __iter__(self) -> Iterator[RawItem]:
        params, remaining = dict(self._params), self._limit
        while True:
            page = _client().query(**params)
            items: list[RawItem] = page.get("Items", [])
            last: RawItem | None = page.get("LastEvaluatedKey")
            if remaining is not None and remaining <= len(items):
                yield from items[:remaining]
                if remaining < len(items):  # resume after the last item returned
                    last = {name: items[remaining - 1][name] for name in self._key_names}
                self.last_evaluated_key = last
                return
            yield from items
            if remaining is not None:
                remaining -= len(items)
            self.last_evaluated_key = last
            if last is None:
                return
            params["ExclusiveStartKey"] = last


def query(
    pk: str,
    *,
    index: Index | None = None,
    below: str | None = None,
    up_to: str | None = None,
    prefix: str | None = None,
    equal: Mapping[str, AttributeValue] | None = None,
    forward: bool = True,
    limit: int | None = None,
    start: RawItem | None = None,
    consistent_read: bool = False,
) -> Query:
    """The items under `pk` whose sort key is `below` (<), `up_to` (<=) or starts with `prefix` (at most
    one of them), those with every attribute `equal` to the value given (a filter: read, then dropped)."""
    bounds = [(operator, value) for operator, value in (("<", below), ("<=", up_to), ("^", prefix)) if value]
    if len(bounds) > 1:
        raise ValueError("a Query takes one sort key condition at most")
    hash_key, range_key = _key_names(index)
    names = {"#pk": hash_key}
    values: dict[str, AttributeValue] = {":pk": {"S": pk}}
    condition = "#pk = :pk"
    for operator, value in bounds:
        names["#sk"], values[":sk"] = range_key, {"S": value}
        condition += " AND begins_with(#sk, :sk)" if operator == "^" else f" AND #sk {operator} :sk"
    params: dict[str, Any] = {"TableName": TableItem.Meta.table_name, "KeyConditionExpression": condition}
    if equal:
        filters = []
        for number, (attribute, wanted) in enumerate(equal.items()):
            names[f"#f{number}"], values[f":f{number}"] = attribute, wanted
            filters.append(f"#f{number} = :f{number}")
        params["FilterExpression"] = " AND ".join(filters)
    params |= {"ExpressionAttributeNames": names, "ExpressionAttributeValues": values, "ScanIndexForward": forward}
    if index is not None:
        params["IndexName"] = index.Meta.index_name
    if limit is not None:
        params["Limit"] = limit
    if start:
        params["ExclusiveStartKey"] = start
    if consistent_read:
        params["ConsistentRead"] = True
    key_names = ("PK", "SK") if index is None else ("PK", "SK", hash_key, range_key)
    return Query(params, limit, key_names)


def pool() -> ThreadPoolExecutor:
    """The container's threads for reads sent at once (`at_once`, GET /me/home); they outlive a request
    (a Lambda container serves one at a time)."""
    _client()  # made here if need be, not by several threads at once
    return _executor()


@cache
def _executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=QUERY_THREADS, thread_name_prefix=POOL_THREADS)


def at_once(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Every call at the same time, their results in the order given; the first failure is raised. From
    one of the pool's own threads, one after another: waiting on the pool from inside it could wait forever."""
    if len(calls) <= 1 or threading.current_thread().name.startswith(POOL_THREADS):
        return [call() for call in calls]
    futures = [pool().submit(call) for call in calls]
    return [future.result() for future in futures]


def newest_first(
    partitions: Iterable[str], *, index: Index | tuple[Index, ...] | None = None, below: str | None, limit: int
) -> list[tuple[str, RawItem]]:
    """The `limit` items with the greatest sort keys across several partitions, of the table or of one or
    several indexes (one Query each, all at once), merged, each with its sort key; `below` is the last
    sort key seen."""

    def page(pk: str, on: Index | None) -> list[tuple[str, RawItem]]:
        _, range_key = _key_names(on)
        found = query(pk, index=on, below=below, forward=False, limit=limit)
        return [(item[range_key]["S"], item) for item in found]

    indexes = index if isinstance(index, tuple) else (index,)
    pages = at_once([partial(page, pk, on) for pk in sorted(partitions) for on in indexes])
    return list(itertools.islice(heapq.merge(*pages, key=lambda pair: pair[0], reverse=True), limit))
