"""Reads without a model per item: `near` sends its cells' Queries at once and merges their pages newest
first, as reading them one after another did. DynamoDB is a stub on the shared botocore client (answered
before any network), so nothing runs but the application's code."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import msgspec
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from chalicelib import config
from chalicelib.adapters.dynamodb import keys, listing_repository, models, reads, store, unit_of_work
from chalicelib.domain.geo import neighbourhood
from chalicelib.domain.listings import GEO_INDEX_PRECISION, Kind, Listing, Mode, Status

CELL = "u0hq"
CELLS = sorted(cell[:GEO_INDEX_PRECISION] for cell in neighbourhood(CELL))


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The models bound to a table on an endpoint nothing listens on: every call must be stubbed."""
    env = {
        "PWIIC_TABLE_NAME": f"unit-{uuid.uuid4().hex[:12]}",
        "PWIIC_DYNAMODB_ENDPOINT": "http://127.0.0.1:9",
        "AWS_DEFAULT_REGION": "eu-central-2",
        "AWS_ACCESS_KEY_ID": "unit",
        "AWS_SECRET_ACCESS_KEY": "unit",
        "PWIIC_OIDC_ISSUER": "https://issuer.example",
        "PWIIC_OIDC_AUDIENCE": "unit",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config.reset()
    store.reset()
    store.bind()
    yield models.connection().client
    config.reset()
    store.reset()


def listing(cell: str, number: int) -> Listing:
    return Listing(
        listing_id=f"{cell}-{number}",
        owner_id="olga",
        kind=Kind.OFFER,
        category="goods.tools",
        mode=Mode.GIFT,
        title=f"Listing {number} in {cell}",
        description="",
        community_id="c1",
        status=Status.ACTIVE,
        created_at=f"2026-01-{1 + number:02d}T{CELLS.index(cell):02d}:00:00.000000Z",
        location=cell + "k",
    )


def page(cell: str, count: int) -> dict[str, Any]:
    """A cell's browse entries as DynamoDB returns them, newest first."""
    entries = sorted((listing(cell, number) for number in range(count)), key=lambda found: found.created_at)
    items = [
        {
            "PK": {"S": keys.listing_pk(entry.listing_id)},
            "SK": {"S": keys.facet_sk("geo")},
            "GSI1PK": {"S": keys.browse_pk("geo", cell)},
            "GSI1SK": {"S": keys.browse_sk(entry.created_at, entry.listing_id, None)},
            "listing_id": {"S": entry.listing_id},
            "summary": {"S": msgspec.json.encode(entry).decode()},
        }
        for entry in reversed(entries)
    ]
    return {"Items": items, "Count": len(items), "ScannedCount": len(items)}


def stub_queries(client: Any, pages: dict[str, dict[str, Any]], together: threading.Barrier | None) -> list[str]:
    """Answers each Query with its cell's page; with `together`, only once every Query has started (a
    Query sent after another one's answer waits for one that never comes: the barrier breaks)."""
    asked: list[str] = []

    def answer(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        sent = json.loads(params["body"])
        cell = sent["ExpressionAttributeValues"][":pk"]["S"].rsplit(keys.SEP, 1)[-1]
        asked.append(cell)
        if together is not None:
            together.wait()
        metadata = {"ResponseMetadata": {"HTTPStatusCode": 200, "HTTPHeaders": {}, "RetryAttempts": 0}}
        return SimpleNamespace(status_code=200, headers={}, content=b""), {**pages[cell], **metadata}

    client.meta.events.register("before-call.dynamodb.Query", answer, unique_id="unit-reads-query")
    return asked


def test_near_queries_its_cells_at_once_and_merges_them_newest_first(client):
    limit = 21  # a page of 20 and one more, as the service asks
    pages = {cell: page(cell, count) for cell, count in zip(CELLS, (0, 3, 30, 1, 5, 25, 2, 0, 7), strict=True)}
    together = threading.Barrier(len(CELLS), timeout=10)
    asked = stub_queries(client, pages, together)

    found = listing_repository.browse_cells(set(CELLS), None, limit)

    assert sorted(asked) == CELLS, "one Query per cell"
    assert not together.broken, "every Query was under way before any was answered"
    every = [
        (item["GSI1SK"]["S"], msgspec.json.decode(item["summary"]["S"], type=Listing))
        for cell_page in pages.values()
        for item in cell_page["Items"]
    ]
    assert found == sorted(every, key=lambda entry: entry[0], reverse=True)[:limit]


def test_near_continues_before_the_last_key_seen(client):
    pages = {cell: page(cell, 2) for cell in CELLS}
    stub_queries(client, pages, None)
    sent: list[dict[str, Any]] = []
    client.meta.events.register(
        "provide-client-params.dynamodb.Query", lambda params, **_: sent.append(params), unique_id="unit-reads-sent"
    )

    listing_repository.browse_cells(set(CELLS), "2026-01-02", 5)

    assert len(sent) == len(CELLS)
    for params in sent:
        assert params["KeyConditionExpression"] == "#pk = :pk AND #sk < :sk"
        assert params["ExpressionAttributeNames"] == {"#pk": "GSI1PK", "#sk": "GSI1SK"}
        assert params["ExpressionAttributeValues"][":sk"] == {"S": "2026-01-02"}
        assert params["IndexName"] == "GSI1" and params["ScanIndexForward"] is False and params["Limit"] == 5


def test_at_once_keeps_the_order_given_and_raises_a_failure():
    assert reads.at_once([lambda: 1, lambda: 2, lambda: 3]) == [1, 2, 3]

    def fails() -> int:
        raise ValueError("a failed read")

    with pytest.raises(ValueError, match="a failed read"):
        reads.at_once([lambda: 1, fails])


def test_at_once_from_one_of_the_pools_threads_runs_the_calls_in_turn():
    """A call on the pool waiting for the pool could wait forever once every thread does the same."""
    found: list[str] = []

    def nested() -> None:
        found.extend(reads.at_once([lambda: threading.current_thread().name] * 3))

    worker = threading.Thread(target=nested, name=f"{reads.POOL_THREADS}_0")
    worker.start()
    worker.join(10)
    assert found == [worker.name] * 3


def test_botocore_errors_of_contention_are_told_apart():
    def client_error(code: str) -> ClientError:
        return ClientError({"Error": {"Code": code, "Message": code}}, "Query")

    assert unit_of_work.is_contention(client_error("ThrottlingException"))
    assert unit_of_work.is_contention(client_error("ProvisionedThroughputExceededException"))
    assert unit_of_work.is_contention(ReadTimeoutError(endpoint_url="http://dynamodb"))
    assert not unit_of_work.is_contention(client_error("ValidationException"))
    assert not unit_of_work.is_contention(ValueError("not a store error"))


def entry(number: int) -> dict[str, Any]:
    return {
        "PK": {"S": f"LISTING#{number}"},
        "SK": {"S": "FACET#owner"},
        "GSI2PK": {"S": "OWNER#olga"},
        "GSI2SK": {"S": f"2026-01-{number:02d}"},
    }


@pytest.mark.parametrize(
    ("pages", "limit", "items", "last"),
    [
        # a filter left 1 of a page of 3: the next page is read until the limit is met, inside a page
        ([[1], [2, 3, 4]], 3, [1, 2, 3], entry(3)),
        # the limit met at a page's end: where DynamoDB said the next page starts
        ([[1, 2, 3]], 3, [1, 2, 3], entry(9)),
        # fewer items than the limit, and no page after: nothing more
        ([[1], [2]], 3, [1, 2], None),
    ],
)
def test_a_query_pages_until_its_limit_as_pynamodb_does(client, pages, limit, items, last):
    starts: list[Any] = []

    def answer(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        start = json.loads(params["body"]).get("ExclusiveStartKey")
        number = len(starts)
        starts.append(start)
        found = [entry(n) for n in pages[number]]
        more = {"LastEvaluatedKey": entry(9)} if number + 1 < len(pages) or len(found) == limit else {}
        metadata = {"ResponseMetadata": {"HTTPStatusCode": 200, "HTTPHeaders": {}, "RetryAttempts": 0}}
        return SimpleNamespace(status_code=200, headers={}, content=b""), {
            "Items": found,
            "Count": len(found),
            "ScannedCount": limit,
            **more,
            **metadata,
        }

    client.meta.events.register("before-call.dynamodb.Query", answer, unique_id="unit-reads-pages")
    modelled = models.ListingItem.gsi2.query("OWNER#olga", limit=limit, page_size=limit)
    assert [item.PK for item in modelled] == [f"LISTING#{n}" for n in items]
    pynamodb_starts = list(starts)
    starts.clear()

    query = reads.query("OWNER#olga", index=models.ListingItem.gsi2, limit=limit)

    assert list(query) == [entry(n) for n in items]
    assert query.last_evaluated_key == last == modelled.last_evaluated_key
    assert starts == pynamodb_starts == [None] + [entry(9)] * (len(starts) - 1), "pages start where DynamoDB said"
