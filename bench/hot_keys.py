"""Which partitions many members write or read, and their rate at a given number of active members.

DynamoDB serves at most 1,000 write units and 3,000 read units a second per partition (base table or
index). Every request a measured call sends is attributed to the partitions it touches: the base
table partition of each item written or read, and, for writes, the index partition of every entry
written, deleted or moved (as `_harness.index_writes` bills them). A partition written or read on
behalf of at least `SHARED_AT` different members is shared: with members of two or more communities
among them it is global (every active member's profile adds to it), otherwise it belongs to one
community (its active members add to it). Its rate at scale is its units per member-month in the
sample, times the members it is shared by at scale, over the seconds of a month.

`bench.cost` plays the reference profile for members of two communities and calls `hot_partitions`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench._harness import (
    WRITE_REQUESTS,
    Call,
    Index,
    Item,
    StoredItem,
    index_entries,
    item_size,
    read_units,
    started_kb,
    write_actions,
)

SECONDS_PER_MONTH = 30 * 24 * 3600
WRITE_UNITS_PER_PARTITION = 1000
READ_UNITS_PER_PARTITION = 3000
SHARED_AT = 3  # two writers may be the two parties of one exchange or conversation, not a crowd
GOAL_PERCENT_OF_LIMIT = 1.0


@dataclass(frozen=True)
class Played:
    """What one member's calls sent, weighted by how many times a member-month makes that call."""

    member_id: str
    community_id: str
    weight: float
    calls: Sequence[Call]


@dataclass
class _Partition:
    write_units: float = 0.0
    read_units: float = 0.0
    members: set[str] = field(default_factory=set)
    communities: set[str] = field(default_factory=set)


def _base_partition(key: Mapping[str, Any]) -> str:
    return f"table:{key['PK']['S']}"


def _index_partition(index: Index, item: Item) -> str:
    return f"{index.name}:{item[index.key_attributes[0]]['S']}"


def _written(call: Call, indexes: Sequence[Index], stored_item: StoredItem) -> Iterator[tuple[str, float]]:
    units_per_kb = 2 if call.operation == "TransactWriteItems" else 1
    for kind, body in write_actions(call):
        if kind == "ConditionCheck":
            continue
        key = body.get("Item") or body["Key"]
        item = body.get("Item") or stored_item(body["TableName"], body["Key"]) or body["Key"]
        yield _base_partition(key), units_per_kb * started_kb(item_size(item))
    for entry in index_entries(call, indexes, stored_item):
        yield _index_partition(entry.index, entry.item), entry.units


def _queried_partition(params: Mapping[str, Any]) -> str:
    names = params.get("ExpressionAttributeNames", {})
    values = params.get("ExpressionAttributeValues", {})
    for name, value in re.findall(r"(#?\w+)\s*=\s*(:\w+)", params["KeyConditionExpression"]):
        if names.get(name, name).endswith("PK"):
            return f"{params.get('IndexName', 'table')}:{values[value]['S']}"
    raise ValueError(f"no partition key in {params['KeyConditionExpression']!r}")


def _read(call: Call) -> Iterator[tuple[str, float]]:
    if call.operation == "Query":
        yield _queried_partition(call.params), read_units(call)
    elif call.operation == "GetItem":
        yield _base_partition(call.params["Key"]), read_units(call)
    elif call.operation == "BatchGetItem":
        keys = [key for request in call.params["RequestItems"].values() for key in request["Keys"]]
        for key in keys:
            yield _base_partition(key), read_units(call) / len(keys)


_ID = re.compile(r"^(?:[0-9a-f]{8,}|[0-9a-f-]{36}|[a-z0-9_-]*\d[a-z0-9_-]*)$", re.IGNORECASE)
_MONTH = re.compile(r"^\d{4}-\d{2}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")
_SMALL = re.compile(r"^\d{1,2}$")


def _shape(part: str) -> str:
    if _MONTH.match(part):
        return "<month>"
    if _DAY.match(part):
        return "<day>"
    if _SMALL.match(part):
        return "<n>"
    if _ID.match(part):
        return "<id>"
    if ":" in part:  # an account: "member:<id>", "platform:rewards.6"
        kind, _, rest = part.partition(":")
        name, dot, shard = rest.rpartition(".")
        return f"{kind}:{name}.<n>" if dot and _SMALL.match(shard) else f"{kind}:{_shape(rest)}"
    return part


def family(partition: str) -> str:
    """The partition's shape: ids, months, days and shard numbers replaced by placeholders."""
    space, _, key = partition.partition(":")
    return f"{space}:{'#'.join(_shape(part) for part in key.split('#'))}"


def hot_partitions(
    played: Sequence[Played],
    indexes: Sequence[Index],
    stored_item: StoredItem,
    *,
    active_members: int,
    largest_community: int,
) -> dict[str, Any]:
    """Shared partitions by family, each with its busiest key's write and read rate at scale."""
    partitions: dict[str, _Partition] = defaultdict(_Partition)
    for member in played:
        for call in member.calls:
            if call.operation in WRITE_REQUESTS:
                touched = [(p, u, "write") for p, u in _written(call, indexes, stored_item)]
            else:
                touched = [(p, u, "read") for p, u in _read(call)]
            for partition, units, way in touched:
                entry = partitions[partition]
                if way == "write":
                    entry.write_units += units * member.weight
                else:
                    entry.read_units += units * member.weight
                entry.members.add(member.member_id)
                entry.communities.add(member.community_id)
    members_by_community: dict[str, set[str]] = defaultdict(set)
    for member in played:
        members_by_community[member.community_id].add(member.member_id)
    sample_members = len({member.member_id for member in played})
    families: dict[str, dict[str, Any]] = {}
    for partition, entry in partitions.items():
        if len(entry.members) < SHARED_AT:
            continue
        if len(entry.communities) > 1:
            scope, in_sample, at_scale = "global", sample_members, active_members
        else:
            (community,) = entry.communities
            scope, in_sample, at_scale = "community", len(members_by_community[community]), largest_community
        factor = at_scale / in_sample / SECONDS_PER_MONTH
        writes, reads = entry.write_units * factor, entry.read_units * factor
        percent = max(writes / WRITE_UNITS_PER_PARTITION, reads / READ_UNITS_PER_PARTITION) * 100
        name = family(partition)
        if name not in families or percent > families[name]["percent_of_partition_limit"]:
            families[name] = {
                "scope": scope,
                "write_units_per_second": round(writes, 4),
                "read_units_per_second": round(reads, 4),
                "percent_of_partition_limit": round(percent, 4),
            }
    ranked = dict(sorted(families.items(), key=lambda pair: -pair[1]["percent_of_partition_limit"]))
    return {
        "active_members": active_members,
        "largest_community": largest_community,
        "partitions": ranked,
        "hottest_percent_of_limit": max((f["percent_of_partition_limit"] for f in ranked.values()), default=0.0),
        "goal_percent_of_limit": GOAL_PERCENT_OF_LIMIT,
    }
