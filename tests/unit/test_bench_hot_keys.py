"""Hot partitions are found from the requests a profile sends, and scaled by who shares them."""

from __future__ import annotations

from typing import Any

import pytest

from bench._harness import Call, Index
from bench.hot_keys import SECONDS_PER_MONTH, Played, family, hot_partitions

GSI1 = Index("GSI1", ("GSI1PK", "GSI1SK"))


def s(value: str) -> dict[str, str]:
    return {"S": value}


def put(pk: str, sk: str, **extra: str) -> Call:
    item = {"PK": s(pk), "SK": s(sk), **{name: s(value) for name, value in extra.items()}}
    return Call("TransactWriteItems", {"TransactItems": [{"Put": {"TableName": "t", "Item": item}}]}, {}, [None])


def query(index: str, pk: str, items: int) -> Call:
    params = {
        "TableName": "t",
        "IndexName": index,
        "KeyConditionExpression": "#0 = :0",
        "ExpressionAttributeNames": {"#0": f"{index}PK"},
        "ExpressionAttributeValues": {":0": s(pk)},
    }
    return Call("Query", params, {"Items": [{"PK": s("x"), "SK": s(str(n))} for n in range(items)]}, [])


def nothing_stored(table_name: str, key: Any) -> None:
    return None


def test_family_hides_ids_months_and_shards() -> None:
    assert family("table:AUDIT#2026-11#3") == "table:AUDIT#<month>#<n>"
    assert family("GSI1:BROWSE#c0ffee00c0ffee00#goods") == "GSI1:BROWSE#<id>#goods"
    assert family("table:ACCOUNT#platform:rewards.6") == "table:ACCOUNT#platform:rewards.<n>"
    assert family("table:ACCOUNT#member:a817a15f-e825-4ebc-b37d-592f201e0879") == "table:ACCOUNT#member:<id>"


def test_a_partition_every_member_writes_is_global_and_scaled_to_every_active_member() -> None:
    played = [
        Played(f"m{n}", f"c{n % 2}", weight=2.0, calls=[put("AUDIT#2026-11", f"e{n}"), put(f"MEMBER#m{n}", "P")])
        for n in range(4)
    ]

    figures = hot_partitions(played, [GSI1], nothing_stored, active_members=1_000_000, largest_community=1000)

    audit = figures["partitions"]["table:AUDIT#<month>"]
    assert audit["scope"] == "global"
    # 2 units per transactional item, twice a member-month, for every one of a million members.
    assert audit["write_units_per_second"] == pytest.approx(round(4 * 1_000_000 / SECONDS_PER_MONTH, 4))
    assert audit["percent_of_partition_limit"] == pytest.approx(audit["write_units_per_second"] / 10, abs=1e-3)
    assert "table:MEMBER#<id>" not in figures["partitions"]  # one member's own partition is nobody's hot key


def test_an_index_partition_of_one_community_scales_with_that_community() -> None:
    played = [
        Played(f"m{n}", "c0", weight=1.0, calls=[put(f"L#{n}", "L", GSI1PK="BROWSE#c0", GSI1SK=str(n))])
        for n in range(3)
    ] + [Played("reader", "c1", weight=30.0, calls=[query("GSI1", "BROWSE#c0", items=20)])]

    figures = hot_partitions(played, [GSI1], nothing_stored, active_members=10**6, largest_community=50_000)

    browse = figures["partitions"]["GSI1:BROWSE#<id>"]
    assert browse["scope"] == "global"  # read by a member of another community too
    assert browse["write_units_per_second"] > 0 and browse["read_units_per_second"] > 0
    assert figures["hottest_percent_of_limit"] == browse["percent_of_partition_limit"]
