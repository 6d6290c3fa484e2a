"""The OpenAPI 3.1 document, generated from the declared operations and their msgspec types."""

from __future__ import annotations

import re
from functools import cache
from http import HTTPStatus
from typing import Any

import msgspec

from chalicelib.api.http import MAX_JSON_DEPTH, MAX_PATH_PARAM, OPERATIONS, Operation
from chalicelib.api.schemas import LINE

_PARAM = re.compile(r"{(\w+)}")
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details. `type` is stable; `errors` lists per-field problems.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "additionalProperties": True,
}
_STATUS_TEXT = {
    400: f"Malformed request: JSON that is not valid, not UTF-8 or nested over {MAX_JSON_DEPTH} levels; control "
    "characters or bad percent-encoding in the query; a malformed header; an invalid cursor",
    401: "Missing or invalid bearer token",
    403: "Not allowed",
    404: "Not found, or a path value that cannot be an id",
    409: "Conflict with the current state",
    415: "Unsupported media type",
    422: "Validation failed: unknown, repeated or invalid fields or query parameters",
    429: "Over your rate limit for this kind of call: retry after Retry-After seconds",
    500: "Internal error",
    503: "Busy, or the identity provider cannot be reached: retry with the same ids",
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds until the rate limit's window ends",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}
_PATH_PARAMETER = {"type": "string", "minLength": 1, "maxLength": MAX_PATH_PARAM, "pattern": LINE}


@cache
def document() -> dict[str, Any]:
    types = sorted({t for op in OPERATIONS for t in (op.body, op.query, op.response) if t is not None}, key=repr)
    schemas, components = msgspec.json.schema_components(types, ref_template="#/components/schemas/{name}")
    schema_of = dict(zip(types, schemas, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for operation in OPERATIONS:
        paths.setdefault(operation.path, {})[operation.method.lower()] = _operation(operation, schema_of, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Pwiic API",
            "version": "1.0.0",
            "description": "The cooperative exchange platform's API. Errors are application/problem+json. "
            "POST requests honour an Idempotency-Key header (same key and body replay the first response). "
            "Texts a person reads (problem titles, details and field messages, notification texts, labels) are "
            "in French or English: the token's `locale` claim, else the best of Accept-Language, else English; "
            "types, codes, field names and enum values never change with the language.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": {**components, "Problem": _PROBLEM},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def _operation(op: Operation, schema_of: dict[Any, Any], components: dict[str, Any]) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": _PATH_PARAMETER} for name in _PARAM.findall(op.path)
    ]
    if op.query is not None:
        query_schema = components[schema_of[op.query]["$ref"].rsplit("/", 1)[1]]
        required = set(query_schema.get("required", []))
        parameters += [
            {"name": name, "in": "query", "required": name in required, "schema": _present(schema)}
            for name, schema in query_schema["properties"].items()
        ]
    parameters += [
        {
            "name": header.name,
            "in": "header",
            "required": header.required,
            "description": header.description,
            "schema": msgspec.json.schema(header.type),
        }
        for header in op.headers
    ]
    success: dict[str, Any] = {"description": op.summary}
    if op.media_type != "application/json":
        success["content"] = {op.media_type: {"schema": {"type": "string"}}}
    elif op.response is not None:
        success["content"] = {"application/json": {"schema": schema_of[op.response]}}
    problems = {400, 422, 500, *op.problems}
    if op.access != "public":
        # 403: an operator's route, or an erased member's token; 503: the member record is read from
        # DynamoDB, the signing keys from the provider
        problems |= {401, 403, 503}
    if _PARAM.search(op.path):  # an id that cannot exist (or is too long to be one) is a 404
        problems.add(404)
    if any(header.name == "Idempotency-Key" for header in op.headers):
        problems.add(409)  # a request with the same Idempotency-Key is still in progress
    if op.body is not None or op.raw_body:
        problems.add(413)
    if op.body is not None:
        problems.add(415)
    rules = op.description
    if op.limit is not None:
        problems.add(429)
        limit = f"Counts against your `{op.limit}` rate limit: over it, a 429 `rate-limited` with `Retry-After`."
        rules = f"{rules} {limit}".strip()
    responses: dict[str, Any] = {str(op.status): success}
    for status in sorted(problems):
        description = _STATUS_TEXT.get(status) or HTTPStatus(status).phrase
        if status == 413:
            description = f"The request body is over {op.max_body_bytes // 1024} KiB"
        responses[str(status)] = {
            "description": description,
            "content": {"application/problem+json": {"schema": _PROBLEM_REF}},
            **({"headers": _RETRY_AFTER} if status == 429 else {}),
        }
    result: dict[str, Any] = {
        "operationId": op.name,
        "summary": op.summary,
        **({"description": rules} if rules else {}),
        "tags": [op.tag],
        "parameters": parameters,
        "responses": responses,
        "security": [] if op.access == "public" else [{"bearer": []}],
    }
    if op.body is not None:
        result["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema_of[op.body]}}}
    elif op.raw_body:
        result["requestBody"] = {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
    return result


def _present(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent or has a value: `None` is its absence, never a value a client sends.
    The dispatcher refuses control characters in any query value: a string says so with its pattern."""
    options = [option for option in schema.get("anyOf", ()) if option != {"type": "null"}]
    present: dict[str, Any] = options[0] if len(options) == 1 and schema.get("default", ...) is None else schema
    if present.get("type") == "string" and "pattern" not in present and "enum" not in present:
        return {**present, "pattern": LINE}
    return present
