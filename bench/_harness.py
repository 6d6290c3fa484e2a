"""What the DynamoDB benchmarks share: item sizes and billed write units, counters and stubs on the
botocore client every model shares, a meter of every call with AWS-billed read and write units, a
scratch table on DynamoDB Local, the API through the Chalice test client, members, and thread runs.

Nothing here reads the environment or imports the application at import time."""

from __future__ import annotations

import argparse
import contextlib
import copy
import cProfile
import json
import logging
import math
import os
import pstats
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from tools import devkeys, localstack, table

KB = 1024
WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem"})  # non-transactional, 1 unit per KB
READ_OPERATIONS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})
WRITE_REQUESTS = frozenset({"TransactWriteItems", "PutItem", "UpdateItem", "DeleteItem"})
READ_UNIT_BYTES = 4 * KB

AttributeValue = Mapping[str, Any]
Item = Mapping[str, AttributeValue]


# Item size and write units, as DynamoDB counts them.


def _number_size(text: str) -> int:
    """1 byte per two significant digits, plus 1 byte (leading and trailing zeros do not count)."""
    digits = text.lstrip("+-").replace(".", "").lstrip("0")
    digits = digits.rstrip("0") if digits else ""
    return math.ceil(len(digits) / 2) + 1


def _binary_size(value: bytes | str) -> int:
    return len(value) if isinstance(value, bytes) else len(value.encode())


def value_size(value: AttributeValue) -> int:
    ((kind, data),) = value.items()
    if kind == "S":
        return len(str(data).encode())
    if kind == "N":
        return _number_size(str(data))
    if kind == "B":
        return _binary_size(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(element).encode()) for element in data)
    if kind == "NS":
        return sum(_number_size(str(element)) for element in data)
    if kind == "BS":
        return sum(_binary_size(element) for element in data)
    if kind == "L":
        return 3 + sum(1 + value_size(element) for element in data)
    if kind == "M":
        return 3 + sum(len(name.encode()) + 1 + value_size(element) for name, element in data.items())
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: Item) -> int:
    """Attribute names (UTF-8) plus values, per DynamoDB's item size rules."""
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def started_kb(size: int) -> int:
    return max(1, math.ceil(size / KB))


@dataclass(frozen=True)
class Index:
    name: str
    key_attributes: tuple[str, ...]
    projection: str = "ALL"  # ALL, KEYS_ONLY or INCLUDE
    non_key_attributes: tuple[str, ...] = ()

    def holds(self, item: Item | None) -> bool:
        """Whether `item` has an entry in this (sparse) index."""
        return item is not None and all(key in item for key in self.key_attributes)

    def projects_any(self, names: set[str]) -> bool:
        if self.projection == "ALL":
            return bool(names)
        return self.projection == "INCLUDE" and bool(names.intersection(self.non_key_attributes))


def table_indexes() -> list[Index]:
    return [
        Index(
            index["IndexName"],
            tuple(key["AttributeName"] for key in index["KeySchema"]),
            index["Projection"]["ProjectionType"],
            tuple(index["Projection"].get("NonKeyAttributes", ())),
        )
        for index in table.table_definition()["GlobalSecondaryIndexes"]
    ]


@dataclass
class WriteUnits:
    transactional: int = 0  # 2 per started KB of every item the transaction writes
    index: int = 0  # 1 per started KB of every GSI entry written
    standard: int = 0  # 1 per started KB of every item a non-transactional write writes
    actions: Counter[str] = field(default_factory=Counter)
    largest_item_bytes: int = 0

    @property
    def total(self) -> int:
        return self.transactional + self.index + self.standard

    @property
    def total_if_index_doubled(self) -> int:
        """The upper bound if index entries written by a transaction were billed at the transactional rate too."""
        return self.transactional + 2 * self.index + self.standard

    def add(self, other: WriteUnits) -> None:
        self.transactional += other.transactional
        self.index += other.index
        self.standard += other.standard
        self.actions.update(other.actions)
        self.largest_item_bytes = max(self.largest_item_bytes, other.largest_item_bytes)


StoredItem = Callable[[str, Item], Item | None]  # (table name, key) -> the item as stored after the request


def _update_names(update: Mapping[str, Any]) -> set[str]:
    """Attribute names the UpdateExpression touches (placeholders resolved)."""
    names: Mapping[str, str] = update.get("ExpressionAttributeNames", {})
    tokens = re.findall(r"#?[A-Za-z_][A-Za-z0-9_]*", update.get("UpdateExpression", ""))
    return {names.get(token, token) for token in tokens}


def stored_items(admin: Any) -> StoredItem:
    """Items as stored now, read once each with `admin`, a client of its own (so reads are not counted)."""
    found: dict[str, Item | None] = {}

    def stored_item(table_name: str, key: Item) -> Item | None:
        cache_key = json.dumps([table_name, key], sort_keys=True)
        if cache_key not in found:
            found[cache_key] = admin.get_item(TableName=table_name, Key=dict(key), ConsistentRead=True).get("Item")
        return found[cache_key]

    return stored_item


def _update_index_writes(update: Mapping[str, Any], stored: Item | None, indexes: Sequence[Index]) -> int:
    """Index entries an update writes, in units of the item's size: 2 where it sets an index key (the
    entry may move: delete + put), 1 where the item is in the index and a projected attribute changes."""
    touched = _update_names(update)
    writes = 0
    for index in indexes:
        if touched.intersection(index.key_attributes):
            writes += 2
        elif index.holds(stored) and index.projects_any(touched):
            writes += 1
    return writes


def transact_write_units(params: Mapping[str, Any], indexes: Sequence[Index], stored_item: StoredItem) -> WriteUnits:
    """What AWS bills for one TransactWriteItems (on-demand or provisioned write units)."""
    units = WriteUnits()
    for action in params["TransactItems"]:
        ((kind, body),) = action.items()
        units.actions[kind] += 1
        if kind == "Put":
            size = item_size(body["Item"])
            units.transactional += 2 * started_kb(size)
            written = [index for index in indexes if index.holds(body["Item"])]
            units.index += len(written) * started_kb(size)  # ALL projection: the entry is the whole item
        else:
            stored = stored_item(body["TableName"], body["Key"])
            size = item_size(stored or body["Key"])
            units.transactional += 2 * started_kb(size)
            if kind == "Update":
                units.index += _update_index_writes(body, stored, indexes) * started_kb(size)
        units.largest_item_bytes = max(units.largest_item_bytes, size)
    return units


def write_units(
    operation: str, params: Mapping[str, Any], indexes: Sequence[Index], stored_item: StoredItem
) -> WriteUnits:
    """What AWS bills for one non-transactional PutItem, UpdateItem or DeleteItem: 1 per started KB of the
    item, plus 1 per started KB of every GSI entry written (the same index rules as transactions)."""
    units = WriteUnits()
    units.actions[operation] += 1
    if operation == "PutItem":
        size = item_size(params["Item"])
        units.index += sum(1 for index in indexes if index.holds(params["Item"])) * started_kb(size)
    else:
        stored = stored_item(params["TableName"], params["Key"])
        size = item_size(stored or params["Key"])
        if operation == "UpdateItem":
            units.index += _update_index_writes(params, stored, indexes) * started_kb(size)
    units.standard += started_kb(size)
    units.largest_item_bytes = size
    return units


# Event handlers on the shared botocore client.


class _Http:
    """What botocore needs of an HTTP response when a before-call handler answers instead of the network."""

    status_code = 200
    headers: Mapping[str, str] = {}
    content = b""


class Recorder:
    """Counts DynamoDB API calls (by operation), HTTP attempts and error codes (with transaction
    cancellation reasons); keeps TransactWriteItems requests (`requests`), non-transactional writes
    (`writes`) and, with `keep_all`, every call's parameters (`all_calls`). Safe under threads."""

    def __init__(self, client: Any, *, consumed_capacity: bool, keep_all: bool = False) -> None:
        self._client = client
        self._consumed_capacity = consumed_capacity
        self._keep_all = keep_all
        self._id = f"bench-recorder-{uuid.uuid4().hex}"
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.http_attempts = 0
        self.requests: list[dict[str, Any]] = []
        self.consumed: list[list[dict[str, Any]]] = []
        self.writes: list[tuple[str, dict[str, Any]]] = []
        self.all_calls: list[tuple[str, dict[str, Any]]] = []
        self.errors: Counter[str] = Counter()
        self.cancellation_reasons: Counter[str] = Counter()

    def _params(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        with self._lock:
            if self._keep_all:
                self.all_calls.append((model.name, copy.deepcopy(params)))
            if model.name == "TransactWriteItems":
                self.requests.append(copy.deepcopy(params))  # as the application built it
                if self._consumed_capacity:
                    params["ReturnConsumedCapacity"] = "INDEXES"
            elif model.name in WRITE_OPERATIONS:
                self.writes.append((model.name, copy.deepcopy(params)))

    def _call(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[model.name] += 1

    def _send(self, **_: Any) -> None:
        with self._lock:
            self.http_attempts += 1

    def _after(self, parsed: Mapping[str, Any], model: Any, **_: Any) -> None:
        with self._lock:
            error = parsed.get("Error") or {}
            if error.get("Code"):
                self.errors[str(error["Code"])] += 1
                for reason in parsed.get("CancellationReasons") or ():
                    self.cancellation_reasons[str(reason.get("Code", "None"))] += 1
            if model.name == "TransactWriteItems" and self._consumed_capacity:
                self.consumed.append(list(parsed.get("ConsumedCapacity", [])))

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @contextlib.contextmanager
    def recording(self) -> Iterator[Recorder]:
        events = self._client.meta.events
        hooks: list[tuple[str, Callable[..., None]]] = [
            ("provide-client-params.dynamodb", self._params),
            ("before-call.dynamodb", self._call),
            ("before-send.dynamodb", self._send),
            ("after-call.dynamodb", self._after),
        ]
        for event, handler in hooks:
            events.register(event, handler, unique_id=f"{self._id}-{event}")
        try:
            yield self
        finally:
            for event, handler in hooks:
                events.unregister(event, handler, unique_id=f"{self._id}-{event}")


Answer = Mapping[str, Any] | Callable[[Mapping[str, Any]], Mapping[str, Any]]
_METADATA = {"ResponseMetadata": {"HTTPStatusCode": 200, "HTTPHeaders": {}, "RetryAttempts": 0}}


@contextlib.contextmanager
def stubbed(client: Any, answers: Mapping[str, Answer]) -> Iterator[Counter[str]]:
    """Each operation in `answers` is answered before any network, by `before-call`: with a fixed parsed
    response, or with what a function of the call's API parameters returns (for a GetItem that depends on
    its key). botocore still validates, builds and serializes every request. Any request that still
    reaches the network is counted by operation (it must stay zero)."""
    leaked: Counter[str] = Counter()
    http = _Http()
    tag = uuid.uuid4().hex
    params_key = f"bench-params-{tag}"
    hooks: list[tuple[str, Callable[..., Any]]] = []

    def answer_with(fixed: Mapping[str, Any]) -> Callable[..., tuple[_Http, Mapping[str, Any]]]:
        response = (http, {**fixed, **_METADATA})

        def stub(**_: Any) -> tuple[_Http, Mapping[str, Any]]:
            return response

        return stub

    def answer_by(function: Callable[[Mapping[str, Any]], Mapping[str, Any]]) -> Callable[..., Any]:
        def stub(context: Mapping[str, Any], **_: Any) -> tuple[_Http, Mapping[str, Any]]:
            return http, {**function(context[params_key]), **_METADATA}

        return stub

    def keep_params(params: Mapping[str, Any], context: dict[str, Any], **_: Any) -> None:
        context[params_key] = params  # the same context dict reaches before-call

    def leak(request: Any, **_: Any) -> None:  # before-send gets the request, not the operation model
        target = request.headers.get("X-Amz-Target") or b""
        leaked[(target.decode() if isinstance(target, bytes) else str(target)).rpartition(".")[2]] += 1

    for operation, answer in answers.items():
        if callable(answer):
            hooks.append((f"provide-client-params.dynamodb.{operation}", keep_params))
            hooks.append((f"before-call.dynamodb.{operation}", answer_by(answer)))
        else:
            hooks.append((f"before-call.dynamodb.{operation}", answer_with(answer)))
    hooks.append(("before-send.dynamodb", leak))

    events = client.meta.events
    for number, (event, handler) in enumerate(hooks):
        events.register(event, handler, unique_id=f"bench-stub-{tag}-{number}")
    try:
        yield leaked
    finally:
        for number, (event, handler) in enumerate(hooks):
            events.unregister(event, handler, unique_id=f"bench-stub-{tag}-{number}")


@contextlib.contextmanager
def stubbed_transactions(client: Any) -> Iterator[Counter[str]]:
    """TransactWriteItems answered with an empty success before any network; any request that still
    reaches the network is counted by operation (it must stay zero)."""
    with stubbed(client, {"TransactWriteItems": {}}) as leaked:
        yield leaked


# Counting requests, with what each read returned and what each write replaced.


@dataclass
class Call:
    operation: str
    params: dict[str, Any]  # as the application built them
    parsed: dict[str, Any]
    replaced: list[Item | None]  # writes: the item each action found, read before the request
    scanned_bytes: int | None = None  # a filtered Query or Scan: the bytes it read before its filter


@dataclass
class Sample:
    calls: list[Call]
    http_attempts: int | None = None  # None: a part of a measured call, whose attempts are counted whole
    status: int | None = None


def key_of(item: Item) -> dict[str, Any]:
    return {"PK": item["PK"], "SK": item["SK"]}


def written_keys(operation: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The key each action of a write request writes."""
    if operation == "TransactWriteItems":
        bodies = [next(iter(action.values())) for action in params["TransactItems"]]
        return [key_of(body["Item"]) if "Item" in body else dict(body["Key"]) for body in bodies]
    return [key_of(params["Item"]) if operation == "PutItem" else dict(params["Key"])]


def _unfiltered(params: Mapping[str, Any]) -> dict[str, Any]:
    """The same page of a Query or Scan without its filter (nor projection): the items it read."""
    kept = {
        name: value
        for name, value in params.items()
        if name not in ("FilterExpression", "ProjectionExpression", "Select", "ReturnConsumedCapacity")
    }
    used = set(re.findall(r"[#:][A-Za-z0-9_]+", str(kept.get("KeyConditionExpression", ""))))
    for name in ("ExpressionAttributeNames", "ExpressionAttributeValues"):
        found = {token: value for token, value in kept.pop(name, {}).items() if token in used}
        if found:
            kept[name] = found
    return kept


class Meter:
    """The harness Recorder (API calls by operation, HTTP attempts), plus every call's parameters with
    its parsed response, and, before each write, the items it will replace (read with the admin client,
    which is not counted; so is its replay of a filtered Query or Scan page, for the bytes it read).
    Reads ask for DynamoDB Local's ConsumedCapacity, for comparison."""

    def __init__(self, client: Any, admin: Any, table_name: str) -> None:
        self.recorder = Recorder(client, consumed_capacity=True, keep_all=True)
        self.calls: list[Call] = []
        self._client = client
        self._admin = admin
        self._table = table_name
        self._id = f"bench-reviews-meter-{uuid.uuid4().hex}"

    def _params(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        built = copy.deepcopy({name: value for name, value in params.items() if name != "ReturnConsumedCapacity"})
        replaced: list[Item | None] = []
        if model.name in WRITE_REQUESTS:
            for key in written_keys(model.name, built):
                found = self._admin.get_item(TableName=self._table, Key=key, ConsistentRead=True)
                replaced.append(found.get("Item"))
        context[self._id] = (built, replaced)
        if model.name in READ_OPERATIONS:
            params["ReturnConsumedCapacity"] = "TOTAL"

    def _after(self, parsed: Mapping[str, Any], model: Any, context: Mapping[str, Any], **_: Any) -> None:
        built, replaced = context.get(self._id, ({}, []))
        scanned = None
        if model.name in ("Query", "Scan") and "FilterExpression" in built and not parsed.get("Error"):
            read = getattr(self._admin, model.name.lower())(**_unfiltered(built))
            scanned = sum(item_size(item) for item in read.get("Items", []))
        self.calls.append(Call(model.name, built, copy.deepcopy(dict(parsed)), replaced, scanned))

    @contextlib.contextmanager
    def metering(self) -> Iterator[Meter]:
        events = self._client.meta.events
        with self.recorder.recording():
            events.register("provide-client-params.dynamodb", self._params, unique_id=f"{self._id}-params")
            events.register("after-call.dynamodb", self._after, unique_id=f"{self._id}-after")
            try:
                yield self
            finally:
                events.unregister("provide-client-params.dynamodb", self._params, unique_id=f"{self._id}-params")
                events.unregister("after-call.dynamodb", self._after, unique_id=f"{self._id}-after")

    def measure(self, call: Callable[[], Any]) -> tuple[Sample, Any]:
        first, attempts = len(self.calls), self.recorder.http_attempts
        answer = call()
        status = answer[0] if isinstance(answer, tuple) and answer and isinstance(answer[0], int) else None
        return Sample(self.calls[first:], self.recorder.http_attempts - attempts, status), answer


# Read units as AWS bills them, and write units (the harness' formula, plus what it leaves out).


def _units(size: int, consistent: bool) -> float:
    return max(1, math.ceil(size / READ_UNIT_BYTES)) * (1.0 if consistent else 0.5)


def read_units(call: Call) -> float:
    """A Query or Scan rounds the sum of the items it read (before its filter: a filter does not reduce
    them); GetItem and BatchGetItem round each item (an absent one still costs the minimum). Index reads
    are always eventually consistent."""
    params, parsed = call.params, call.parsed
    if call.operation in ("Query", "Scan"):
        consistent = bool(params.get("ConsistentRead")) and "IndexName" not in params
        returned = sum(item_size(item) for item in parsed.get("Items", []))
        return _units(returned if call.scanned_bytes is None else call.scanned_bytes, consistent)
    if call.operation == "GetItem":
        found = parsed.get("Item")
        return _units(item_size(found) if found else 0, bool(params.get("ConsistentRead")))
    if call.operation == "BatchGetItem":
        total = 0.0
        for table_name, request in params["RequestItems"].items():
            consistent = bool(request.get("ConsistentRead"))
            items = parsed.get("Responses", {}).get(table_name, [])
            unprocessed = len(parsed.get("UnprocessedKeys", {}).get(table_name, {}).get("Keys", []))
            absent = len(request["Keys"]) - len(items) - unprocessed
            total += sum(_units(item_size(item), consistent) for item in items) + absent * _units(0, consistent)
        return total
    return 0.0


def local_read_units(call: Call) -> float:
    """What DynamoDB Local reported for a read (ReturnConsumedCapacity=TOTAL)."""
    if call.operation not in READ_OPERATIONS:
        return 0.0
    consumed = call.parsed.get("ConsumedCapacity")
    entries = consumed if isinstance(consumed, list) else [consumed] if consumed else []
    return sum(float(entry.get("CapacityUnits", 0)) for entry in entries)


def items_read(call: Call) -> tuple[int, int]:
    """(items, bytes) a read returned."""
    if call.operation in ("Query", "Scan"):
        found = list(call.parsed.get("Items", []))
    elif call.operation == "GetItem":
        found = [call.parsed["Item"]] if call.parsed.get("Item") else []
    elif call.operation == "BatchGetItem":
        found = [item for items in call.parsed.get("Responses", {}).values() for item in items]
    else:
        found = []
    return len(found), sum(item_size(item) for item in found)


def _index_key(index: Index, item: Item) -> list[Any]:
    return [item[name] for name in index.key_attributes]


def write_actions(call: Call) -> list[tuple[str, dict[str, Any]]]:
    """A write request's actions: (Put, Update, Delete or ConditionCheck, its body)."""
    if call.operation == "TransactWriteItems":
        return [(kind, body) for action in call.params["TransactItems"] for kind, body in action.items()]
    kind = {"PutItem": "Put", "UpdateItem": "Update", "DeleteItem": "Delete"}.get(call.operation)
    return [(kind, call.params)] if kind else []


@dataclass(frozen=True)
class IndexEntry:
    """One index entry a write request writes (`item`, under its key) or deletes (`item` as it was)."""

    index: Index
    item: Item
    units: int
    deleted: bool
    moved: bool = False  # one half of a move: the entry left its old key for a new one


def index_entries(call: Call, indexes: Sequence[Index], stored_item: Any) -> Iterator[IndexEntry]:
    """The index entries a write request writes, as AWS bills them: a put where the new item is indexed
    (and has changed), a delete where the replaced item was indexed and the new one is not, or is under
    another key (a move: delete and put). The harness' formula counts no delete on a put, and, as its
    update rule reads only named attributes (`#name`, not PynamoDB's `#0`), no index write on an update."""
    for (kind, body), old in zip(write_actions(call), call.replaced, strict=True):
        if kind == "Put":
            new = body["Item"]
        elif kind == "Update":
            new = stored_item(body["TableName"], body["Key"])
        elif kind == "Delete":
            new = None
        else:
            continue
        for index in indexes:
            had, has = index.holds(old), index.holds(new)
            if had and has and old is not None and new is not None:
                if _index_key(index, old) != _index_key(index, new):
                    yield IndexEntry(index, old, started_kb(item_size(old)), deleted=True, moved=True)
                    yield IndexEntry(index, new, started_kb(item_size(new)), deleted=False, moved=True)
                elif kind == "Put" or old != new:
                    yield IndexEntry(index, new, started_kb(item_size(new)), deleted=False)
            else:
                if had and old is not None:
                    yield IndexEntry(index, old, started_kb(item_size(old)), deleted=True)
                if has and new is not None:
                    yield IndexEntry(index, new, started_kb(item_size(new)), deleted=False)


def index_writes(call: Call, indexes: Sequence[Index], stored_item: Any) -> tuple[int, int, int]:
    """Returns (entries dropped, entries moved, index write units) of `index_entries`."""
    entries = list(index_entries(call, indexes, stored_item))
    dropped = sum(1 for entry in entries if entry.deleted and not entry.moved)
    moved = sum(1 for entry in entries if entry.deleted and entry.moved)
    return dropped, moved, sum(entry.units for entry in entries)


def call_write_units(call: Call, indexes: Sequence[Index], stored_item: Any) -> WriteUnits:
    if call.operation == "TransactWriteItems":
        return transact_write_units(call.params, indexes, stored_item)
    if call.operation in WRITE_REQUESTS:
        return write_units(call.operation, call.params, indexes, stored_item)
    return WriteUnits()


def summary(samples: Sequence[Sample], unit: str, admin: Any) -> dict[str, Any]:
    """Per `unit` (one sample): requests by operation, writes and their items and units, reads and their units."""
    n = len(samples)
    indexes = table_indexes()
    stored_item = stored_items(admin)
    operations: Counter[str] = Counter()
    per_sample_requests: Counter[int] = Counter()
    transact_items: list[int] = []
    units: list[WriteUnits] = []
    index_units: list[int] = []  # as AWS bills them, deletes included
    dropped = moved = 0
    reads: list[float] = []
    local_reads: list[float] = []
    returned: list[tuple[int, int]] = []
    actions: Counter[str] = Counter()
    for sample in samples:
        operations.update(call.operation for call in sample.calls)
        per_sample_requests[len(sample.calls)] += 1
        total = WriteUnits()
        index_total = 0
        for call in sample.calls:
            if call.operation == "TransactWriteItems":
                transact_items.append(len(call.params["TransactItems"]))
            total.add(call_write_units(call, indexes, stored_item))
            drops, moves, index = index_writes(call, indexes, stored_item)
            dropped, moved, index_total = dropped + drops, moved + moves, index_total + index
        units.append(total)
        actions.update(total.actions)
        index_units.append(index_total)
        reads.append(sum(read_units(call) for call in sample.calls))
        local_reads.append(sum(local_read_units(call) for call in sample.calls))
        counts = [items_read(call) for call in sample.calls if call.operation in READ_OPERATIONS]
        returned.append((sum(count for count, _ in counts), sum(size for _, size in counts)))
    requests = sum(operations.values())
    write_requests = sum(count for operation, count in operations.items() if operation in WRITE_REQUESTS)
    attempts = [sample.http_attempts for sample in samples if sample.http_attempts is not None]
    statuses = sorted({sample.status for sample in samples if sample.status is not None})
    figure: dict[str, Any] = {
        f"{unit}s": n,
        f"requests_per_{unit}": requests / n,
        "requests_by_operation": {operation: count / n for operation, count in sorted(operations.items())},
        "requests_histogram": {str(k): v for k, v in sorted(per_sample_requests.items())},
    }
    if attempts:
        figure["http_attempts_per_request"] = round(sum(attempts) / max(1, requests), 3)
    if statuses:
        figure["statuses"] = statuses
    if write_requests:
        figure |= {
            "write_requests": write_requests / n,
            "transact_write_items": operations["TransactWriteItems"] / n,
            "transact_items": statistics.fmean(transact_items) if transact_items else None,
            "actions": {kind: count / n for kind, count in sorted(actions.items())},
            "write_units": statistics.fmean(unit.total for unit in units),
            "write_units_max": max(unit.total for unit in units),
            "transactional_write_units": statistics.fmean(unit.transactional for unit in units),
            "index_write_units": statistics.fmean(unit.index for unit in units),
            "standard_write_units": statistics.fmean(unit.standard for unit in units),
            "largest_item_bytes": max(unit.largest_item_bytes for unit in units),
            "index_entries_dropped": dropped / n,
            "index_entries_moved": moved / n,
            "index_write_units_with_deletes": statistics.fmean(index_units),
            "write_units_with_index_deletes": statistics.fmean(
                unit.transactional + unit.standard + index for unit, index in zip(units, index_units, strict=True)
            ),
        }
    else:
        figure["write_requests"] = 0.0
    return figure | {
        "reads": sum(count for operation, count in operations.items() if operation in READ_OPERATIONS) / n,
        "read_units": statistics.fmean(reads),
        "read_units_dynamodb_local": statistics.fmean(local_reads),
        "items_read": statistics.fmean(count for count, _ in returned),
        "bytes_read": statistics.fmean(size for _, size in returned),
    }


# Command lines: the options every benchmark shares.


def bench_parser(name: str, description: str, *, profiled: str, cpu_calls: int) -> argparse.ArgumentParser:
    """--quick, --cpu-calls, --cpu-rounds, --endpoint and --profile; each benchmark adds its own."""
    parser = argparse.ArgumentParser(prog=f"python -m bench.{name}", description=description.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (smoke test)")
    parser.add_argument("--cpu-calls", type=int, help=f"stubbed calls per CPU round and side (default {cpu_calls})")
    parser.add_argument("--cpu-rounds", type=int, help="CPU rounds, rotating which side goes first (default 5)")
    parser.add_argument(
        "--endpoint", help="use this DynamoDB Local instead of starting one (a table is made and dropped)"
    )
    parser.add_argument("--profile", action="store_true", help=f"print a cProfile of stubbed {profiled} to stderr")
    return parser


def cpu_rounds(args: argparse.Namespace) -> int:
    return int(args.cpu_rounds or (3 if args.quick else 5))


# The application's table and services.


@contextlib.contextmanager
def bench_table(
    endpoint: str | None, prefix: str, extra_env: Mapping[str, str] | None = None
) -> Iterator[tuple[Any, str]]:
    """A table of its own (dropped at the end) on `endpoint`, or on a DynamoDB Local started for the run,
    with the application configured to use it. Yields the admin client and the table name."""
    with contextlib.ExitStack() as stack:
        url = endpoint or stack.enter_context(localstack.dynamodb_local())
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pwiic-bench-")))
        admin = table.dynamodb_client(url)
        table_name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        table.ensure_table(admin, table_name)
        stack.callback(_drop_table, admin, table_name)  # runs before a DynamoDB Local we started is stopped
        configure(url, table_name, scratch, extra_env)
        yield admin, table_name


def _drop_table(admin: Any, table_name: str) -> None:
    with contextlib.suppress(Exception):
        admin.delete_table(TableName=table_name)


def configure(endpoint: str, table_name: str, scratch: Path, extra_env: Mapping[str, str] | None = None) -> None:
    from chalicelib import config
    from chalicelib.adapters.dynamodb import store

    env = devkeys.local_env(devkeys.ensure_local_secrets(scratch), dynamodb_endpoint=endpoint, table_name=table_name)
    os.environ.update({**env, **(extra_env or {})})
    config.reset()
    store.reset()
    store.bind()


def shared_client() -> Any:
    from chalicelib.adapters.dynamodb import models

    return models.connection().client


def new_member(label: str) -> str:
    """A member (profile + empty wallet, as the first authenticated call makes them); returns the wallet account."""
    from chalicelib import clock
    from chalicelib.domain.members import Member
    from chalicelib.services import members

    member_id = str(uuid.uuid4())  # shaped like a Cognito sub
    members.provision(Member(member_id=member_id, display_name=label, created_at=clock.now_iso()))
    return "member:" + member_id


@contextlib.contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """The application's clock (`chalicelib.clock.now`) stands at `moment` meanwhile."""
    from chalicelib import clock

    real = clock.now
    clock.now = lambda: moment
    try:
        yield
    finally:
        clock.now = real


@contextlib.contextmanager
def no_recheck_wait() -> Iterator[None]:
    """The audit looks again at an account that differs a few seconds later, in case writes were in flight:
    a benchmark's writes are done when it audits, and its bare issuance transfers always differ (unpurchased)."""
    from chalicelib import config

    previous = os.environ.get("PWIIC_AUDIT_RECHECK_SECONDS")
    os.environ["PWIIC_AUDIT_RECHECK_SECONDS"] = "0"
    config.reset()
    try:
        yield
    finally:
        if previous is None:
            del os.environ["PWIIC_AUDIT_RECHECK_SECONDS"]
        else:
            os.environ["PWIIC_AUDIT_RECHECK_SECONDS"] = previous
        config.reset()


def ledger_balanced(at: datetime | None = None) -> bool:
    """Double entry survived: the full audit, run to its end, finds every balance equal to its entries and
    pending holds, `available = posted - held`, and balances summing to zero. Its purchase and economy
    checks are left out: benchmarks fund wallets with bare issuance transfers, not purchases. `at`: the
    audit's clock, when the benchmark dated transfers later than now (the audit leaves later entries out)."""
    from chalicelib.domain.reconciliation import Check
    from chalicelib.services import ledger_audit

    moment = clock_at(at) if at else contextlib.nullcontext()
    with app_output_to_stderr(), moment, no_recheck_wait():  # stdout carries the one JSON object
        report = ledger_audit.run_to_end()
    ledger_checks = {Check.ENTRIES, Check.HELD, Check.AVAILABLE, Check.UNKNOWN_ACCOUNT}
    broken = [mismatch for mismatch in report.mismatches if mismatch.check in ledger_checks]
    if broken or report.total_posted:
        print(f"ledger audit: {report}", file=sys.stderr)
    return not broken and report.total_posted == 0


def profile_calls(label: str, batch: Sequence[Any], call: Callable[[Any], Any]) -> None:
    """A cProfile of `call` over `batch`, printed to stderr."""
    profiler = cProfile.Profile()
    profiler.enable()
    for entry in batch:
        call(entry)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stderr)
    print(f"cProfile of {len(batch)} {label}, by own time:", file=sys.stderr)
    stats.sort_stats("tottime").print_stats(25)
    print("by cumulative time:", file=sys.stderr)
    stats.sort_stats("cumulative").print_stats(30)


# The application over HTTP, as clients call it.


class Api:
    """JSON requests through the Chalice test client, each member with a minted ID token."""

    def __init__(self, client: Any, secrets_root: Path) -> None:
        self.client = client
        self._root = secrets_root
        self._headers: dict[str, dict[str, str]] = {}

    def add_member(self, member_id: str, name: str, groups: Sequence[str] = ()) -> None:
        from tools import devkeys

        token = devkeys.mint_token(member_id, groups=groups, name=name, root=self._root)
        self._headers[member_id] = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def headers(self, member_id: str) -> dict[str, str]:
        return self._headers[member_id]

    def call(
        self, method: str, path: str, member_id: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> tuple[int, Any]:
        payload = json.dumps(body).encode() if body is not None else b""
        sent = {**self._headers[member_id], **(headers or {})}
        response = self.client.http.request(method, path, headers=sent, body=payload)
        return response.status_code, (json.loads(response.body) if response.body else None)


def secrets_root() -> Path:
    """Where bench_table's scratch key material lives (the app reads its JWKS from there)."""
    return Path(urlparse(os.environ["PWIIC_OIDC_JWKS_URL"]).path).parent.parent


@contextlib.contextmanager
def app_log_to(sink: Any) -> Iterator[None]:
    """The app's structured log lines go to `sink` for a while (still formatted: same CPU), then back."""
    handlers = [h for h in logging.getLogger("pwiic").handlers if isinstance(h, logging.StreamHandler)]
    previous = [handler.setStream(sink) for handler in handlers]
    try:
        yield
    finally:
        for handler, stream in zip(handlers, previous, strict=True):
            if stream is not None:
                handler.setStream(stream)


@contextlib.contextmanager
def app_output_to_stderr() -> Iterator[None]:
    """The app's log lines and metrics go to stderr for a while."""
    with app_log_to(sys.stderr), contextlib.redirect_stdout(sys.stderr):
        yield


# Throughput: threads on DynamoDB Local.


@dataclass
class Run:
    done: int = 0
    errors: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    error_samples: list[str] = field(default_factory=list)

    def add(self, other: Run) -> None:
        self.done += other.done
        self.errors += other.errors
        self.seconds += other.seconds
        self.cpu_seconds += other.cpu_seconds
        self.error_samples = (self.error_samples + other.error_samples)[:3]

    @property
    def per_second(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0


def run_threads(
    threads: int, work: Callable[[int, int], Any], *, seconds: float | None = None, per_worker: int | None = None
) -> Run:
    """`work(worker, sequence)` on `threads` threads released together, for `seconds` or `per_worker` calls each."""
    if (seconds is None) == (per_worker is None):
        raise ValueError("give seconds or per_worker")
    stop = threading.Event()
    start_line = threading.Barrier(threads + 1)
    done = [0] * threads
    failed = [0] * threads
    samples: list[str] = []

    def worker_loop(worker: int) -> None:
        start_line.wait()
        sequence = 0
        while not stop.is_set() and (per_worker is None or sequence < per_worker):
            try:
                work(worker, sequence)
                done[worker] += 1
            except Exception as error:
                failed[worker] += 1
                if len(samples) < 3:
                    samples.append(f"{type(error).__name__}: {error}")
            sequence += 1

    workers = [threading.Thread(target=worker_loop, args=(index,), daemon=True) for index in range(threads)]
    for worker in workers:
        worker.start()
    start_line.wait()
    wall, cpu = time.perf_counter(), time.process_time()
    if seconds is not None:
        time.sleep(seconds)
        stop.set()
    for worker in workers:
        worker.join()
    return Run(sum(done), sum(failed), time.perf_counter() - wall, time.process_time() - cpu, samples)


def compare_threads(threads: int, run: Callable[[int], Run], unit: str = "transfers") -> dict[str, Any]:
    """1 thread against `threads`, in ABBA order: `run(thread_count)` is called twice per configuration."""
    single, many = Run(), Run()
    for configuration in (single, many, many, single):
        count = 1 if configuration is single else threads
        configuration.add(run(count))
    return {
        "threads": threads,
        f"{unit}_per_second_1_thread": round(single.per_second, 1),
        f"{unit}_per_second_{threads}_threads": round(many.per_second, 1),
        "ratio": round(many.per_second / single.per_second, 3) if single.per_second else None,
        unit: single.done + many.done,
        "errors": single.errors + many.errors,
        "error_samples": single.error_samples + many.error_samples,
        "client_cpu_share_1_thread": round(single.cpu_seconds / single.seconds, 3) if single.seconds else None,
        f"client_cpu_share_{threads}_threads": round(many.cpu_seconds / many.seconds, 3) if many.seconds else None,
    }


def transact_actions(samples: Sequence[Sample], label: Callable[[str, str], str]) -> dict[str, float]:
    """Per sample: the TransactWriteItems' actions by kind and by `label(pk, sk)` of the key written."""
    found: Counter[str] = Counter()
    for sample in samples:
        for call in sample.calls:
            if call.operation != "TransactWriteItems":
                continue
            for action in call.params["TransactItems"]:
                ((kind, body),) = action.items()
                key = body["Item"] if "Item" in body else body["Key"]
                found[f"{kind} {label(str(key['PK']['S']), str(key['SK']['S']))}"] += 1
    return {name: count / len(samples) for name, count in sorted(found.items())} if samples else {}
