"""Observability, configured once for the whole app: one structured JSON Logger whose lines carry the
invocation's correlation ids, EMF Metrics, and X-Ray tracing where a stage turns it on.

Entry points (the API dispatcher, each scheduled job) call `invocation(...)` around their work."""

from __future__ import annotations

import copy
import gc
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from functools import cache
from typing import TYPE_CHECKING, Any

import msgspec
from aws_lambda_powertools import Logger, Metrics

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

SERVICE = "pwiic"


def _json_line(log: dict[str, Any]) -> str:
    """A log line's JSON by msgspec (Powertools' json.dumps costs a fifth of an access line); a value it
    cannot encode becomes its str, as Powertools' default does."""
    return msgspec.json.encode(log, enc_hook=str).decode()


def _message(text: Any) -> Any:
    """A message (str) that is a JSON object or array is logged as structure, as Powertools does; any
    other text is left as it is, without raising and catching a decode error on every line."""
    return json.loads(text) if text[:1] in ("{", "[") else text


logger = Logger(service=SERVICE, json_serializer=_json_line, json_deserializer=_message)


def access(**fields: Any) -> None:
    """The request's access line: what `logger.info("request", extra=fields)` writes, through the same
    formatter and handler, from a record copied instead of built by the logging module (its record and
    caller lookup cost a tenth of a read's CPU). The location is the caller's, as logger.info's."""
    if not logging.getLogger(logger.name).isEnabledFor(logging.INFO):
        return
    record = copy.copy(_access_record())
    caller = sys._getframe(1)
    record.funcName, record.lineno = caller.f_code.co_name, caller.f_lineno
    record.created = time.time()
    record.msecs = int((record.created - int(record.created)) * 1000) + 0.0
    record.__dict__.update(fields)
    logger.registered_handler.handle(record)


@cache
def _access_record() -> logging.LogRecord:
    return logging.LogRecord(logger.name, logging.INFO, __file__, 0, "request", (), None)


metrics = Metrics(namespace="Pwiic", service=SERVICE)

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
    logger.set_correlation_id(correlation_id or function_request_id)
    logger.append_keys(function_request_id=function_request_id, cold_start=first)
    _cold_start[0] = False
    traced = tracer()
    try:
        with traced.provider.in_subsegment(name) if traced is not None else nullcontext():
            yield
    finally:
        if first:
            gc.freeze()
