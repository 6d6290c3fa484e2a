"""Helpers and fixtures shared by the component tests of members, communities, auth and HTTP conventions.

Import the fixtures into a test module to use them (`from tests.component.support import mint, shared_api`).

- `mint` overrides the conftest fixture with the same tokens, signed with a key loaded once
  (devkeys.mint_token loads the private key twice per token: ~0.2 s each).
- `shared_api` is one table and one client for a whole module, for tests that only read or only
  get refused: a fresh table per test costs ~0.3 s (a table plus two botocore clients).
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from typing import Any

import jwt
import pytest
from chalice.test import Client
from cryptography.hazmat.primitives import serialization

from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork
from tests.conftest import OPERATOR, Api, reset_caches
from tools import devkeys, table
from tools.devkeys import LOCAL_AUDIENCE, LOCAL_ISSUER

PROBLEM = "application/problem+json"


@functools.cache
def signing_key(private_key_path: str, jwks_path: str) -> tuple[Any, str]:
    with open(private_key_path, "rb") as handle:
        private = serialization.load_pem_private_key(handle.read(), password=None)
    with open(jwks_path, encoding="utf-8") as handle:
        kid = json.load(handle)["keys"][0]["kid"]
    return private, kid


def fast_minter(local_secrets: devkeys.LocalSecrets):
    """Tokens exactly like devkeys.mint_token's (a test checks it), plus optional extra claims."""
    private, kid = signing_key(str(local_secrets.private_key_path), str(local_secrets.jwks_path))

    def make(sub="alice", *, groups=(), name=None, ttl_seconds=12 * 3600, now=None, **extra):
        issued_at = int(time.time()) if now is None else now
        payload = {"iss": LOCAL_ISSUER, "aud": LOCAL_AUDIENCE, "token_use": "id", "sub": sub}
        payload |= {"iat": issued_at, "exp": issued_at + ttl_seconds}
        if groups:
            payload["cognito:groups"] = list(groups)
        if name is not None:
            payload["name"] = name
        payload |= extra
        return jwt.encode(payload, private, algorithm="RS256", headers={"kid": kid})

    return make


@pytest.fixture
def mint(local_secrets):
    return fast_minter(local_secrets)


@pytest.fixture(scope="module")
def shared_api(dynamodb_endpoint, local_secrets):
    """One table and one client for the module. Tests using it must not depend on what others wrote."""
    with pytest.MonkeyPatch.context() as patch:
        name = f"test-{uuid.uuid4().hex[:12]}"
        table.ensure_table(table.dynamodb_client(dynamodb_endpoint), name)
        env = devkeys.local_env(local_secrets, dynamodb_endpoint=dynamodb_endpoint, table_name=name)
        for key, value in env.items():
            patch.setenv(key, value)
        reset_caches()
        from app import app

        with Client(app, stage_name="local") as client:
            yield Api(client, fast_minter(local_secrets))
        reset_caches()
        table.dynamodb_client(dynamodb_endpoint).delete_table(TableName=name)


@pytest.fixture
def commits(monkeypatch) -> list[int]:
    """The actions of each unit of work committed, in order (1: one plain conditional write; 0: nothing
    to write)."""
    committed: list[int] = []
    real_commit = UnitOfWork.commit

    def counted(self):
        real_commit(self)
        committed.append(len(self))

    monkeypatch.setattr(UnitOfWork, "commit", counted)
    return committed


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def assert_problem(response, status: int, type_suffix: str | None = None) -> dict:
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"] == PROBLEM, response.headers
    problem = response.json
    assert problem["status"] == status
    assert problem["type"].startswith("https://"), problem
    assert isinstance(problem["title"], str) and problem["title"]
    assert isinstance(problem["detail"], str) and problem["detail"]
    if type_suffix is not None:
        assert problem["type"].endswith("/" + type_suffix), problem
    return problem


def assert_422(response, *fields: str) -> dict:
    problem = assert_problem(response, 422, "validation-failed")
    named = {error["field"] for error in problem["errors"]}
    assert set(fields) <= named, (fields, problem["errors"])
    assert all(isinstance(error["message"], str) and error["message"] for error in problem["errors"])
    return problem


def create_community(api: Api, slug: str | None = None, *, name: str | None = None, area=("u0hq",), languages=()):
    slug = slug or unique("c")
    body = {"name": name or f"Community {slug}", "slug": slug, "area": list(area), "languages": list(languages)}
    response = api.post("/communities", body, as_="operator", groups=OPERATOR)
    assert response.status_code == 201, response.body
    return response.json
