"""The one place where HTTP meets the application: authentication, input validation, idempotent
replays, problem+json errors, serialization and the access log line. Views stay thin."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any, Generic, Literal, TypeVar, cast

import msgspec
from chalice.app import Blueprint, MultiDict, Request, Response
from msgspec import Struct, field

from chalicelib import errors, i18n, observability
from chalicelib.adapters.dynamodb import store
from chalicelib.api import problems
from chalicelib.api.schemas import CONTROL, IDEMPOTENCY_KEY, Header
from chalicelib.auth import Principal, verify_bearer
from chalicelib.domain.limits import Action as LimitedAction
from chalicelib.errors import AppError, FieldError
from chalicelib.i18n import Language
from chalicelib.observability import logger
from chalicelib.services import idempotency, limits, members

Access = Literal["public", "member", "operator"]
Body = TypeVar("Body")
Query = TypeVar("Query")

JSON = "application/json"
MAX_BODY_BYTES = 64 * 1024  # the largest valid body, every character escaped, is under 32 KiB
MAX_RAW_BODY_BYTES = 512 * 1024  # signed webhooks: a Stripe event is larger than our own bodies
MAX_JSON_DEPTH = 32  # our bodies nest 3 levels, Stripe's events about 10; deeper would exhaust the stack
MAX_PATH_PARAM = 256  # no id is longer; a longer one must not reach DynamoDB's key-size limit (a 500)
PROBLEM_JSON = "application/problem+json"

_UNREADABLE = re.compile(f"[{CONTROL}\ud800-\udfff]")  # in a path, query or header value
_JSON_STRUCTURE = re.compile(rb'\\.|["\[\]{}]', re.DOTALL)  # an escaped byte, a quote or a bracket


class Operation(Struct, frozen=True):
    """What the OpenAPI document says about one route; built from the same declaration as the route."""

    name: str
    method: str
    path: str
    summary: str
    tag: str
    access: Access
    status: int
    description: str = ""  # the rules the schemas cannot express
    body: Any = None
    query: Any = None
    headers: tuple[Header, ...] = ()
    response: Any = None
    problems: tuple[int, ...] = ()
    raw_body: bool = False  # the view gets the body's bytes untouched (signed webhooks)
    limit: LimitedAction | None = None  # the member's rate limit this route counts against
    erased_may_call: bool = False  # a member whose account was erased may still call it (their erasure's retry)
    media_type: str = JSON  # another one (CSV, HTML): the view returns the document as text
    response_headers: tuple[tuple[str, str], ...] = ()  # sent with every success (a page's Content-Security-Policy)

    @property
    def max_body_bytes(self) -> int:
        return MAX_RAW_BODY_BYTES if self.raw_body else MAX_BODY_BYTES


OPERATIONS: list[Operation] = []


class Call(Struct, Generic[Body, Query], frozen=True):
    """What a view receives: the caller, the validated body and query, the path parameters and the language."""

    principal: Principal | None
    body: Body
    query: Query
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # the declared headers sent, by lower-case name
    language: Language = i18n.DEFAULT  # of the texts the response shows

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
        description: str = "",
        access: Access = "member",
        body: Any = None,
        query: Any = None,
        headers: tuple[Header, ...] = (),
        response: Any = None,
        status: int = 200,
        problems: tuple[int, ...] = (),
        raw_body: bool = False,
        limit: LimitedAction | None = None,
        erased_may_call: bool = False,
        media_type: str = JSON,
        response_headers: tuple[tuple[str, str], ...] = (),
    ) -> Callable[[View], View]:
        assert limit is None or access == "member", "rate limits count a member's own calls"
        if method == "POST" and access != "public":
            headers = (IDEMPOTENCY_KEY, *headers)

        def register(view: View) -> View:
            operation = Operation(
                view.__name__,
                method,
                path,
                summary,
                tag,
                access,
                status,
                description,
                body,
                query,
                headers,
                response,
                problems,
                raw_body,
                limit,
                erased_may_call,
                media_type,
                response_headers,
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
    language = i18n.DEFAULT
    problem_headers: dict[str, str] = {}
    request_id = (request.context or {}).get("requestId") or getattr(request.lambda_context, "aws_request_id", None)
    with observability.invocation(f"{operation.method} {operation.path}", request_id, request.lambda_context):
        try:
            store.bind()
            language = language_of(None, request)
            principal = _authenticate(operation, request)
            if principal is not None and principal.locale:
                language = language_of(principal, request)
            if any(len(value) > MAX_PATH_PARAM or _UNREADABLE.search(value) for value in params.values()):
                raise errors.NotFound("not-found.resource")  # no id is that long or holds a control character
            headers = _parse_headers(operation, request)
            request_body, query = _parse_body(operation, request), _parse_query(operation, request)
            call = Call(principal, request_body, query, params, headers, language)
            replay_key = headers.get(IDEMPOTENCY_KEY.name.lower())
            if replay_key is not None:
                status, body = idempotency.run(
                    call.member.member_id,
                    replay_key,
                    request_fingerprint=msgspec.json.encode([operation.name, params, call.body], order="sorted"),
                    execute=lambda: _execute(operation, view, call),
                )
            else:
                status, body = _execute(operation, view, call)
        except AppError as error:
            status, body = problems.problem(error, language)
            problem_headers = problems.headers(error)
        except Exception as error:
            if store.is_contention(error):  # a read that timed out or was throttled: nothing changed
                status, body = problems.problem(errors.Busy("request.busy"), language)
            else:
                status, body = problems.internal(language)
                logger.exception("unhandled error", extra={"route": operation.name})
        finally:
            observability.access(
                request_id=request_id,
                route=f"{operation.method} {operation.path}",
                status=status,
                latency_ms=round((time.perf_counter() - started) * 1000, 2),
                member_id=principal.member_id if principal else None,
            )
    if status >= 400:
        return Response(
            body=body.decode(), status_code=status, headers={"Content-Type": PROBLEM_JSON, **problem_headers}
        )
    sent: dict[str, str | list[str]] = {"Content-Type": operation.media_type, **dict(operation.response_headers)}
    return Response(body=body.decode(), status_code=status, headers=sent)


def _execute(operation: Operation, view: View, call: Call[Any, Any]) -> tuple[int, bytes]:
    """Run the view; expected failures become problem responses (so idempotent replays keep them). A
    rate limit's refusal is raised instead: the request's Idempotency-Key is released, not kept as a 429."""
    if operation.limit is not None:
        limits.take(call.member.member_id, operation.limit)
    try:
        result = view(call)
    except AppError as error:
        return problems.problem(error, call.language)
    if result is None:
        return operation.status, b""
    if operation.media_type != JSON:
        return operation.status, cast(str, result).encode()
    return operation.status, msgspec.json.encode(result)


def language_of(principal: Principal | None, request: Request) -> Language:
    """The member's own language (their token's `locale`), else the best of Accept-Language we speak."""
    return i18n.language_of(principal.locale if principal else None, request.headers.get("accept-language"))


def _authenticate(operation: Operation, request: Request) -> Principal | None:
    if operation.access == "public":
        return None
    principal = verify_bearer(request.headers.get("authorization"))
    if operation.access == "operator" and not principal.is_operator:
        raise errors.Forbidden("request.operation-reserved-operators")
    members.ensure_member(principal, erased_may_call=operation.erased_may_call)
    return principal


def _parse_headers(operation: Operation, request: Request) -> dict[str, str]:
    found: dict[str, str] = {}
    for header in operation.headers:
        value = request.headers.get(header.name)
        if value is None:
            if header.required:
                raise header.refusal("request.header-required", params={"header": header.name})
            continue
        try:
            found[header.name.lower()] = msgspec.convert(value, type=header.type)
        except msgspec.ValidationError as error:
            reason = validation_error(header.name, str(error))
            raise header.refusal(
                "request.header-invalid",
                params={"header": header.name, "reason": i18n.Message(reason.message, reason.params)},
            ) from None
    return found


def _parse_body(operation: Operation, request: Request) -> Any:
    raw = cast(bytes, request.raw_body or b"")  # typed str | bytes; Chalice always hands bytes
    if operation.body is None and not operation.raw_body:
        if raw.strip():
            raise errors.Malformed("request.operation-takes-request-body")
        return None
    if len(raw) > operation.max_body_bytes:
        raise errors.TooLarge("request.too-large", params={"kib": operation.max_body_bytes // 1024})
    _check_depth(raw)
    if operation.raw_body:
        return raw
    media_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media_type != JSON:
        raise errors.UnsupportedMediaType("request.send-body-as-application")
    if not raw.strip():
        raise errors.Malformed("request.json-request-body-required")
    try:
        data = msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError):
        raise errors.Malformed("request.request-body-valid-json") from None
    return _convert(operation.body, _whole_numbers(data), location="body")


def _check_depth(raw: bytes) -> None:
    """Refuse JSON nested deeper than MAX_JSON_DEPTH before a parser recurses into it."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return
    depth, in_string = 0, False
    for match in _JSON_STRUCTURE.finditer(raw):
        token = match.group()
        if token == b'"':
            in_string = not in_string
        elif in_string or len(token) == 2:
            continue
        elif token in (b"[", b"{"):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise errors.Malformed("request.too-deep", params={"depth": MAX_JSON_DEPTH})
        else:
            depth -= 1


def _whole_numbers(data: Any) -> Any:
    """JSON has one number type: 3.0 is the integer 3, as JSON Schema's `integer` says (3.5 stays a float)."""
    if isinstance(data, float) and data.is_integer():
        return int(data)
    if isinstance(data, dict):
        return {name: _whole_numbers(value) for name, value in data.items()}
    if isinstance(data, list):
        return [_whole_numbers(value) for value in data]
    return data


def _parse_query(operation: Operation, request: Request) -> Any:
    sent = request.query_params or MultiDict(None)
    given: dict[str, str] = {}
    repeated: list[FieldError] = []
    for name in sent:
        values = sent.getlist(name)
        if _UNREADABLE.search(name) or any(_UNREADABLE.search(value) for value in values):
            raise errors.Malformed("request.query-string-holds-control")
        if len(values) > 1:
            repeated.append(FieldError(name, "request.give-parameter-once"))
        given[name] = values[-1]
    if repeated:
        raise errors.Invalid(repeated)
    if operation.query is None:
        if given:
            raise errors.Invalid([FieldError(name, "request.unknown-query-parameter") for name in given])
        return None
    return _convert(operation.query, given, location="query", strict=False)


def _convert(target: Any, data: Any, *, location: str, strict: bool = True) -> Any:
    try:
        return msgspec.convert(data, type=target, strict=strict)
    except msgspec.ValidationError:
        unknown = "request.unknown-query-parameter" if location == "query" else "request.unknown-field"
        raise errors.Invalid(field_errors(target, data, strict=strict, unknown=unknown)) from None


def field_errors(
    target: Any, data: Any, *, strict: bool = True, unknown: str = "request.unknown-field"
) -> list[FieldError]:
    """Every problem of a JSON object against a struct, field by field (msgspec stops at the first)."""
    if not isinstance(data, dict):
        return [FieldError("$", "request.expected-json-object")]
    fields = {info.encode_name: info for info in msgspec.structs.fields(target)}
    found = [FieldError(name, unknown) for name in data if name not in fields]
    for name, info in fields.items():
        if name not in data:
            if info.required:
                found.append(FieldError(name, "request.field-required"))
            continue
        try:
            msgspec.convert(data[name], type=info.type, strict=strict)
        except msgspec.ValidationError as error:
            found.append(validation_error(name, str(error).split(" - at ")[0]))
    if not found:  # a rule spanning several fields (the struct's __post_init__ raises a message id)
        try:
            msgspec.convert(data, type=target, strict=strict)
        except msgspec.ValidationError as error:
            message, _, where = str(error).partition(" - at ")
            found.append(validation_error(where.removeprefix("`$.").rstrip("`") or "$", message))
    return found


# msgspec's messages, as catalogue messages with their parts as parameters (their English is msgspec's own)
_VALIDATION_MESSAGES = [
    (re.compile(pattern), message_id)
    for pattern, message_id in (
        (r"Expected `(?P<expected>[^`]+)`, got `(?P<got>[^`]+)`", "validation.type"),
        (r"Expected `(?P<expected>[^`]+)` of length (?P<op>[<>]=) (?P<n>\d+)", "validation.length"),
        (r"Expected `(?P<expected>[^`]+)` (?P<op>[<>]=?) (?P<n>\S+)", "validation.bound"),
        (r"Expected `str` matching regex (?P<pattern>.+)", "validation.pattern"),
        (r"Expected `(?P<expected>[^`]+)` with a timezone component", "validation.timezone"),
        (r"Invalid enum value (?P<value>.+)", "validation.enum"),
        (r"Invalid RFC3339 encoded (?P<expected>\w+)", "validation.rfc3339"),
        (r"Object missing required field `(?P<name>[^`]+)`", "validation.missing-field"),
        (r"Object contains unknown field `(?P<name>[^`]+)`", "validation.unknown-field"),
        (r"(?:Integer value|Number) out of range", "validation.out-of-range"),
        (r"Invalid value (?P<value>.+)", "validation.value"),
    )
]


def validation_error(field: str, message: str) -> FieldError:
    """A field's problem from msgspec's message, or from the message id a struct's own rule raised."""
    if i18n.has(message):
        return FieldError(field, message)
    for pattern, message_id in _VALIDATION_MESSAGES:
        match = pattern.fullmatch(message)
        if match is not None:
            return FieldError(field, message_id, match.groupdict())
    return FieldError(field, "validation.other", {"text": message})
