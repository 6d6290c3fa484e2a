"""Schemathesis against the app: requests generated from GET /openapi.json (valid and invalid ones), sent
through Chalice's local gateway with an operator's bearer token. No answer may be a 5xx or differ from the
document (status, media type, schema); a request the document calls valid may be refused only by a rule
the operation states in its description.

Bounded and deterministic: per operation, schemathesis' coverage cases (boundaries, each constraint broken
once) plus 10 generated examples, valid and invalid, derandomized; about 60 s on one core, 35 s on two."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance, unsupported_method

import app  # noqa: F401  (registers the routes the document describes)
from chalicelib.api import openapi
from tests.component import support

shared_api = support.shared_api

DOCUMENT = openapi.document()


class Gateway:
    """A WSGI face on Chalice's local gateway: what `chalice local` serves, given the raw request URI."""

    client: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key[:5] == "HTTP_"}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        query = environ.get("QUERY_STRING")
        uri = (environ["RAW_URI"] + (f"?{query}" if query else "")).encode("latin-1").decode("utf-8")
        response = self.client.http.request(environ["REQUEST_METHOD"], uri, headers=headers, body=body)
        start_response(f"{response.status_code} -", list(response.headers.items()))
        return [response.body]


GATEWAY = Gateway()
# OPTIONS and methods without a route are answered by API Gateway (CORS preflight, 403), not by the app.
CONFIG = SchemathesisConfig.from_dict({"phases": {"coverage": {"unexpected-methods": []}}})
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)
schema.app = GATEWAY


def stated(label: str, problem: dict[str, Any]) -> bool:
    """The operation's description (or a parameter's) names the problem's type, or every field a rule
    across fields names; a field's own type or bounds (msgspec's "Expected ...") are the schema's to state."""
    method, path = label.split(" ", 1)
    operation = DOCUMENT["paths"][path][method.lower()]
    texts = [operation.get("description", "")]
    texts += [p.get("description", "") + p["schema"].get("description", "") for p in operation["parameters"]]
    text = " ".join(texts)
    code = problem["type"].rsplit("/", 1)[1]
    if code != "validation-failed":
        return f"`{code}`" in text
    named: set[str] = set()
    for error in problem["errors"]:
        if error["message"].startswith("Expected"):
            return False
        named |= set(re.findall(r"'(\w+)'", error["message"])) if error["field"] == "$" else {error["field"]}
    return bool(named) and all(f"`{name}`" in text for name in named)


def documented_refusals(ctx, response, case):
    """positive_data_acceptance, except for refusals by the rules the operation states."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if not stated(case.operation.label, json.loads(response.content)):
            raise
        return None


@pytest.fixture(scope="module")
def authorization(shared_api) -> dict[str, str]:
    GATEWAY.client = shared_api._client
    return {"Authorization": f"Bearer {shared_api._mint('fuzzer', groups=('operators',))}"}


@schema.parametrize()
@settings(max_examples=10, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_contract(case, authorization):
    case.call_and_validate(
        headers=authorization,
        excluded_checks=[unsupported_method, positive_data_acceptance],
        additional_checks=[documented_refusals],
    )
