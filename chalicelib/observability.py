"""Observability, configured once for the whole app: one structured JSON Logger whose lines carry the
invocation's correlation ids, EMF Metrics, and X-Ray tracing where a stage turns it on.

Entry points (the API dispatcher, each scheduled job) call `invocation(...)` around their work."""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any, cast

import msgspec
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.shared.constants import XRAY_TRACE_ID_ENV
from botocore.exceptions import ClientError

from chalicelib import config

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer
    from aws_lambda_powertools.logging.formatter import BasePowertoolsFormatter

SERVICE = "pwiic"


def _json_line(log: Any) -> str:
    """A log line's JSON by msgspec (Powertools' json.dumps costs a fifth of an access line); a value it
    cannot encode becomes its str, as Powertools' default does."""
    return msgspec.json.encode(log, enc_hook=str).decode()


def _message(text: Any) -> Any:
    """A message (str) that is a JSON object or array is logged as structure, as Powertools does; any
    other text is left as it is, without raising and catching a decode error on every line."""
    return json.loads(text) if text[:1] in ("{", "[") else text


class _Formatter(LambdaPowertoolsFormatter):
    """Powertools' JSON lines, where an exception shows its type and traceback but not its message, which
    may quote the data that caused it (logs carry ids only). An AWS error keeps its error code."""

    def formatException(self, ei: Any) -> str:
        kind, error, frames = ei
        cause = getattr(error, "cause_response_code", None)  # PynamoDB's errors: the AWS error code
        if isinstance(error, ClientError):
            cause = f"{error.response.get('Error', {}).get('Code')} on {error.operation_name}"
        described = f"{kind.__name__} ({cause})" if cause else kind.__name__
        return "Traceback (most recent call last):\n" + "".join(traceback.format_tb(frames)) + described


logger = Logger(
    service=SERVICE,
    logger_formatter=_Formatter(json_serializer=_json_line, json_deserializer=_message, serialize_stacktrace=False),
)


def access(**fields: Any) -> None:
    """The request's access line: the line `logger.info("request", extra=fields)` writes (the logger's keys
    in its order, the fields, the X-Ray trace id; no None), made and written here, to the same handler's
    stream: neither a log record nor Powertools' formatting of it (together a fifth of a search's CPU).
    The location is the caller's, as logger.info's."""
    if not _std_logger().isEnabledFor(logging.INFO):
        return
    handler = cast("logging.StreamHandler[Any]", logger.registered_handler)  # Powertools' own, to stdout
    formatter = cast("BasePowertoolsFormatter", handler.formatter)
    caller = sys._getframe(1)
    now = time.time()
    line = {
        **formatter.get_current_keys(),
        "level": "INFO",
        "location": f"{caller.f_code.co_name}:{caller.f_lineno}",
        "message": "request",
        "timestamp": _second(int(now)).format(int((now - int(now)) * 1000)),
        **formatter.thread_safe_get_current_keys(),
        **fields,
    }
    trace = os.environ.get(XRAY_TRACE_ID_ENV)
    if trace:
        line["xray_trace_id"] = trace.split(";")[0].replace("Root=", "")
    text = _json_line({key: value for key, value in line.items() if value is not None})
    with handler.lock or nullcontext():
        handler.stream.write(text + handler.terminator)
        handler.flush()


@cache
def _std_logger() -> logging.Logger:
    """The standard logger under Powertools' (`logging.getLogger` takes the logging module's lock)."""
    return logging.getLogger(logger.name)


@lru_cache(maxsize=1)
def _second(epoch_second: int) -> str:
    """Powertools' timestamp (`%Y-%m-%d %H:%M:%S,<ms>%z`, local time) of one second, the milliseconds
    left as `{:03d}`: formatted once per second, not on every line."""
    return time.strftime("%Y-%m-%d %H:%M:%S,{:03d}%z", time.localtime(epoch_second))


metrics = Metrics(namespace="Pwiic", service=SERVICE)
metrics.set_default_dimensions(stage=config.stage())  # two stages in one account: their alarms tell them apart

_cold_start = [True]


@cache
def tracer() -> Tracer | None:
    """X-Ray tracing (and tracing of every DynamoDB call) when the stage sets
    `POWERTOOLS_TRACE_DISABLED=false` and the code runs in Lambda. Importing the X-Ray SDK costs about
    0.4 s, so it never happens otherwise (locally, in tests, or on stages without tracing)."""
    enabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "true").lower() == "false"
    if not enabled or "AWS_LAMBDA_FUNCTION_NAME" not in os.environ:
        return None
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE, patch_modules=("botocore",))


@contextmanager
def invocation(name: str, correlation_id: str | None, lambda_context: Any) -> Iterator[None]:
    """Every log line inside carries the correlation id (API Gateway's request id, or the Lambda
    request id), the Lambda request id and whether this is the container's first invocation; with
    tracing on, the work is one X-Ray subsegment named `name`.

    What the container's first invocation leaves behind (modules, clients and botocore's service
    model, caches) lives as long as the container: it is then frozen out of the garbage collector's
    full collections, which would otherwise walk it all again every few hundred requests."""
    first = _cold_start[0]
    function_request_id = getattr(lambda_context, "aws_request_id", None)
    logger.append_keys(  # one call: each reaches Powertools' handler through the Logger's properties
        correlation_id=correlation_id or function_request_id, function_request_id=function_request_id, cold_start=first
    )
    _cold_start[0] = False
    traced = tracer()
    try:
        with traced.provider.in_subsegment(name) if traced is not None else nullcontext():
            yield
    finally:
        if first:
            gc.freeze()
