"""The one place where HTTP meets the application: authentication, input validation, idempotent
replays, problem+json errors, serialization and the access log line. Views stay thin."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Generic, Literal, TypeVar

import msgspec
from chalice.app import Blueprint, Request, Response
from msgspec import Struct, field

from chalicelib import errors, observability
from chalicelib.adapters.dynamodb import store
from chalicelib.api import problems
from chalicelib.auth import Principal, verify_bearer
from chalicelib.errors import AppError, FieldError
from chalicelib.observability import logger
from chalicelib.services import idempotency, members

Access = Literal["public", "member", "operator"]
Body = TypeVar("Body")
Query = TypeVar("Query")

JSON = "application/json"
MAX_PATH_PARAM = 256  # no id is longer; a longer one must not reach DynamoDB's key-size limit (a 500)
PROBLEM_JSON = "application/problem+json"


class Operation(Struct, frozen=True):
    """What the OpenAPI document says about one route; built from the same declaration as the route."""

    name: str
    method: str
    path: str
    summary: str
    tag: str
    access: Access
    status: int
    body: Any = None
    query: Any = None
    response: Any = None
    problems: tuple[int, ...] = ()
    raw_body: bool = False  # the view gets the body's bytes untouched (signed webhooks)


OPERATIONS: list[Operation] = []


class Call(Struct, Generic[Body, Query], frozen=True):
    """What a view receives: the caller, the validated body and query, and the path parameters."""

    principal: Principal | None
    body: Body
    query: Query
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def member(self) -> Principal:
        assert self.principal is not None, "route declared public"
        return self.principal


View = Callable[[Call[Any, Any]], Any]


class Router:
    """A Chalice blueprint whose routes are declared with their contract."""

    def __init__(self, name: str) -> None:
        self.blueprint = Blueprint(name)

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        tag: str,
        access: Access = "member",
        body: Any = None,
        query: Any = None,
        response: Any = None,
        status: int = 200,
        problems: tuple[int, ...] = (),
        raw_body: bool = False,
    ) -> Callable[[View], View]:
        def register(view: View) -> View:
            operation = Operation(
                view.__name__, method, path, summary, tag, access, status, body, query, response, problems, raw_body
            )
            OPERATIONS.append(operation)

            def chalice_view(**params: str) -> Response:
                return _dispatch(operation, view, self.blueprint.current_request, params)

            chalice_view.__name__ = view.__name__
            # Every media type reaches the view, so a wrong one gets a problem+json 415 too.
            self.blueprint.route(path, methods=[method], content_types=["*/*"])(chalice_view)
            return view

        return register


def _dispatch(operation: Operation, view: View, request: Request, params: dict[str, str]) -> Response:
    started = time.perf_counter()
    principal: Principal | None = None
    status, body = problems.internal()
    request_id = (request.context or {}).get("requestId") or getattr(request.lambda_context, "aws_request_id", None)
    with observability.invocation(f"{operation.method} {operation.path}", request_id, request.lambda_context):
        try:
            store.bind()
            principal = _authenticate(operation, request)
            if any(len(value) > MAX_PATH_PARAM for value in params.values()):
                raise errors.NotFound("The resource")
            call = Call(
                principal,
                _parse_body(operation, request),
                _parse_query(operation, request),
                params,
                dict(request.headers) if operation.raw_body else {},
            )
            replay_key = request.headers.get("idempotency-key")
            if operation.method == "POST" and principal is not None and replay_key:
                status, body = idempotency.run(
                    principal.member_id,
                    replay_key,
                    request_fingerprint=msgspec.json.encode([operation.name, params, call.body], order="sorted"),
                    execute=lambda: _execute(operation, view, call),
                )
            else:
                status, body = _execute(operation, view, call)
        except AppError as error:
            status, body = problems.problem(error)
        except Exception as error:
            if store.is_contention(error):  # a read that timed out or was throttled: nothing changed
                status, body = problems.problem(errors.Busy("The service is busy; retry shortly."))
            else:
                logger.exception("unhandled error", extra={"route": operation.name})
        finally:
            logger.info(
                "request",
                extra={
                    "request_id": request_id,
                    "route": f"{operation.method} {operation.path}",
                    "status": status,
                    "latency_ms": round((time.perf_counter() - started) * 1000, 2),
                    "member_id": principal.member_id if principal else None,
                },
            )
    content_type = PROBLEM_JSON if status >= 400 else JSON
    return Response(body=body.decode(), status_code=status, headers={"Content-Type": content_type})


def _execute(operation: Operation, view: View, call: Call[Any, Any]) -> tuple[int, bytes]:
    """Run the view; expected failures become problem responses (so idempotent replays keep them)."""
    try:
        result = view(call)
    except AppError as error:
        return problems.problem(error)
    return operation.status, (b"" if result is None else msgspec.json.encode(result))


def _authenticate(operation: Operation, request: Request) -> Principal | None:
    if operation.access == "public":
        return None
    principal = verify_bearer(request.headers.get("authorization"))
    if operation.access == "operator" and not principal.is_operator:
        raise errors.Forbidden("This operation is reserved to operators.")
    members.ensure_member(principal)
    return principal


def _parse_body(operation: Operation, request: Request) -> Any:
    raw = request.raw_body or b""
    if operation.raw_body:
        return raw
    if operation.body is None:
        if raw.strip():
            raise errors.Malformed("This operation takes no request body.")
        return None
    media_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media_type != JSON:
        raise errors.UnsupportedMediaType("Send the body as application/json.")
    if not raw.strip():
        raise errors.Malformed("A JSON request body is required.")
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        raise errors.Malformed("The request body is not valid JSON.") from None
    return _convert(operation.body, data, location="body")


def _parse_query(operation: Operation, request: Request) -> Any:
    given = dict(request.query_params or {})
    if operation.query is None:
        if given:
            raise errors.Invalid([FieldError(name, "Unknown query parameter.") for name in given])
        return None
    return _convert(operation.query, given, location="query", strict=False)


def _convert(target: Any, data: Any, *, location: str, strict: bool = True) -> Any:
    try:
        return msgspec.convert(data, type=target, strict=strict)
    except msgspec.ValidationError:
        raise errors.Invalid(field_errors(target, data, strict=strict)) from None


def field_errors(target: Any, data: Any, *, strict: bool = True) -> list[FieldError]:
    """Every problem of a JSON object against a struct, field by field (msgspec stops at the first)."""
    if not isinstance(data, dict):
        return [FieldError("$", "Expected a JSON object.")]
    fields = {info.encode_name: info for info in msgspec.structs.fields(target)}
    found = [FieldError(name, "Unknown field.") for name in data if name not in fields]
    for name, info in fields.items():
        if name not in data:
            if info.required:
                found.append(FieldError(name, "This field is required."))
            continue
        try:
            msgspec.convert(data[name], type=info.type, strict=strict)
        except msgspec.ValidationError as error:
            found.append(FieldError(name, str(error).split(" - at ")[0]))
    if not found:  # a rule spanning several fields (the struct's __post_init__)
        try:
            msgspec.convert(data, type=target, strict=strict)
        except msgspec.ValidationError as error:
            message, _, where = str(error).partition(" - at ")
            found.append(FieldError(where.removeprefix("`$.").rstrip("`") or "$", message))
    return found
