"""Shared fixtures: a throw-away DynamoDB Local for the session, a fresh table per test,
local signing keys, and a Chalice test client."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from tools import devkeys, localstack, table


@pytest.fixture(scope="session")
def dynamodb_endpoint() -> Iterator[str]:
    given = os.environ.get("PWIIC_TEST_DYNAMODB_ENDPOINT")
    if given:
        yield given
        return
    with localstack.dynamodb_local() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def dynamodb_admin(dynamodb_endpoint: str) -> Any:
    """One client for creating tables (a new client per test costs ~50 ms)."""
    return table.dynamodb_client(dynamodb_endpoint)


@pytest.fixture(scope="session")
def secrets_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("local")


@pytest.fixture(scope="session")
def local_secrets(secrets_dir: Path) -> devkeys.LocalSecrets:
    return devkeys.ensure_local_secrets(secrets_dir)


def reset_caches() -> None:
    from chalicelib import auth, config
    from chalicelib.adapters import stripe_gateway
    from chalicelib.adapters.dynamodb import store
    from chalicelib.services import fees, governance, members, reviews

    stripe_gateway.reset()
    config.reset()
    auth.reset()
    store.reset()
    members.reset()
    governance.reset()
    fees.reset()
    reviews.reset()


def store_bind() -> None:
    """Tests that call services directly are their own entry point: they bind storage as one does."""
    from chalicelib.adapters.dynamodb import store

    store.bind()


@pytest.fixture
def table_name(
    dynamodb_endpoint: str, dynamodb_admin: Any, local_secrets: devkeys.LocalSecrets, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A fresh table per test, and the environment the app reads, pointing at it."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    table.ensure_table(dynamodb_admin, name)
    for key, value in devkeys.local_env(local_secrets, dynamodb_endpoint=dynamodb_endpoint, table_name=name).items():
        monkeypatch.setenv(key, value)
    reset_caches()
    store_bind()
    yield name
    reset_caches()
    dynamodb_admin.delete_table(TableName=name)  # DynamoDB Local slows down as tables pile up


@pytest.fixture
def client(table_name: str) -> Iterator[Client]:
    from app import app

    with Client(app, stage_name="local") as test_client:
        yield test_client


Mint = Callable[..., str]


@pytest.fixture
def mint(secrets_dir: Path, local_secrets: devkeys.LocalSecrets) -> Mint:
    def make(sub: str = "alice", *, groups: tuple[str, ...] = (), name: str | None = None, **kwargs: Any) -> str:
        return devkeys.mint_token(sub, groups=groups, name=name, root=secrets_dir, **kwargs)

    return make


class Api:
    """A tiny JSON client over the Chalice test client, for readable tests."""

    def __init__(self, client: Client, mint: Mint) -> None:
        self._client = client
        self._mint = mint

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        as_: str | None = "alice",
        groups: tuple[str, ...] = (),
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Any:
        sent = {"Content-Type": "application/json", **(headers or {})}
        if as_ is not None:
            sent["Authorization"] = f"Bearer {self._mint(as_, groups=groups)}"
        payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        response = self._client.http.request(method, path, headers=sent, body=payload)
        is_json = "json" in response.headers.get("Content-Type", "")
        response.json = json.loads(response.body) if response.body and is_json else None
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.call("POST", path, body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.call("PATCH", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.call("PUT", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.call("DELETE", path, **kwargs)


@pytest.fixture
def api(client: Client, mint: Mint) -> Api:
    return Api(client, mint)


OPERATOR = ("operators",)

# The modules whose tests take tens of seconds each (subprocess benchmarks, property-based sequences, the
# demo seed, thread races). Run first, so that the workers share them out early instead of one of them
# finishing the suite alone with a long test picked up last.
SLOW_FIRST = (
    "tests/integration/test_ledger_properties.py",
    "tests/integration/test_benchmarks_smoke.py",
    "tests/integration/test_seed.py",
    "tests/component/test_charge_facts_properties.py",
    "tests/integration/test_review_races.py",
    "tests/integration/test_fee_races.py",
    "tests/integration/test_exchange_races.py",
    "tests/integration/test_ledger_races.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        module = item.nodeid.split("::", 1)[0]
        return SLOW_FIRST.index(module) if module in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: each module keeps its own order
