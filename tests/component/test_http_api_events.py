"""The packaged stage puts the API behind an HTTP API (tools/package.py), which calls the handler with its
1.0 payload: every route must answer those events as it answers the REST API's."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import parse_qs

from chalice.local import LambdaContext

from tests.component.support import create_community
from tests.conftest import Api, Mint


def http_api_event(method: str, route: str, path: str, headers: dict[str, str], body: Any = None) -> dict[str, Any]:
    """An HTTP API's payload format 1.0 event, as API Gateway documents it: the route's path in `resource`
    and `requestContext.resourcePath`, header names lower-cased, the stage `api`."""
    bare_path, _, query = path.partition("?")
    values = parse_qs(query)
    route_parts, path_parts = route.strip("/").split("/"), bare_path.strip("/").split("/")
    parameters = {
        part[1:-1]: value for part, value in zip(route_parts, path_parts, strict=True) if part.startswith("{")
    }
    lowered = {name.lower(): value for name, value in headers.items()}
    return {
        "version": "1.0",
        "resource": route,
        "path": f"/api{bare_path}",
        "httpMethod": method,
        "headers": lowered,
        "multiValueHeaders": {name: [value] for name, value in lowered.items()},
        "queryStringParameters": {name: found[-1] for name, found in values.items()} or None,
        "multiValueQueryStringParameters": values or None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "id",
            "domainName": "id.execute-api.eu-central-2.amazonaws.com",
            "domainPrefix": "id",
            "extendedRequestId": "extended",
            "httpMethod": method,
            "identity": {"sourceIp": "192.0.2.1", "userAgent": "test"},
            "path": f"/api{bare_path}",
            "protocol": "HTTP/1.1",
            "requestId": str(uuid.uuid4()),
            "requestTime": "27/Nov/2026:12:00:00 +0000",
            "requestTimeEpoch": 1795780800000,
            "resourceId": None,
            "resourcePath": route,
            "stage": "api",
        },
        "pathParameters": parameters or None,
        "stageVariables": None,
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


def call(event: dict[str, Any]) -> tuple[int, Any]:
    from app import app

    response = app(event, LambdaContext("api_handler", 512, 20_000))
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else None


def test_routes_answer_the_http_api_payload_as_they_answer_the_rest_api(api: Api, mint: Mint) -> None:
    headers = {"Authorization": f"Bearer {mint('alice')}", "Content-Type": "application/json"}
    community = create_community(api)

    assert call(http_api_event("GET", "/health", "/health", {}))[0] == 200
    status, body = call(http_api_event("GET", "/me/wallet", "/me/wallet", headers))
    assert status == 200 and body == api.get("/me/wallet").json

    route = "/communities/{community_id}"
    status, body = call(http_api_event("GET", route, f"/communities/{community['id']}", headers))
    assert status == 200 and body["id"] == community["id"]

    join = "/communities/{community_id}/join"
    status, joined = call(http_api_event("POST", join, f"/communities/{community['id']}/join", headers))
    assert 200 <= status < 300, joined
    status, problem = call(http_api_event("POST", "/listings", "/listings", headers, {"title": 5}))
    assert status == 422 and problem["status"] == 422, "the body reaches the view, which validates it"
    query = f"/listings?community={community['id']}&limit=5"
    status, page = call(http_api_event("GET", "/listings", query, headers))
    assert status == 200 and page == api.get(query).json

    status, problem = call(http_api_event("GET", "/me/wallet", "/me/wallet", {}))
    assert status == 401 and problem["status"] == 401
    status, problem = call(http_api_event("GET", "/listings/{listing_id}", "/listings/nope", headers))
    assert status == 404 and problem["status"] == 404
