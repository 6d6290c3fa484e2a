"""The access line written from a copied record is the line `logger.info` writes."""

from __future__ import annotations

import io
import json
import re
import sys

import pytest

from chalicelib import observability

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}[+-]\d{4}$")


@pytest.mark.parametrize("trace", [None, "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"])
def test_the_access_line_is_the_line_logger_info_writes(monkeypatch, trace):
    if trace is None:
        monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    else:
        monkeypatch.setenv("_X_AMZN_TRACE_ID", trace)  # in Lambda, the line ends with the trace id
    stream = io.StringIO()
    monkeypatch.setattr(observability.logger.registered_handler, "stream", stream)
    observability.logger.append_keys(correlation_id="c1", cold_start=False)
    fields = {"request_id": "r1", "route": "GET /me", "status": 200, "latency_ms": 1.25, "member_id": "é-1"}

    info_line = sys._getframe().f_lineno + 1
    observability.logger.info("request", extra=fields)
    access_line = sys._getframe().f_lineno + 1
    observability.access(**fields)

    written, copied = (json.loads(line) for line in stream.getvalue().splitlines())
    assert TIMESTAMP.match(written.pop("timestamp")) and TIMESTAMP.match(copied.pop("timestamp"))
    function = sys._getframe().f_code.co_name
    assert written.pop("location") == f"{function}:{info_line}"
    assert copied.pop("location") == f"{function}:{access_line}"
    assert list(copied.items()) == list(written.items()), "the same keys, in the same order, with the same values"
    assert copied["correlation_id"] == "c1" and copied["message"] == "request" and copied["level"] == "INFO"
    assert copied.get("xray_trace_id") == (trace and "1-5759e988-bd862e3fe1be46a994272793")


def test_no_access_line_when_info_is_off(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(observability.logger.registered_handler, "stream", stream)
    level = observability.logger.log_level
    observability.logger.setLevel("WARNING")
    try:
        observability.access(route="GET /me", status=200)
    finally:
        observability.logger.setLevel(level)
    assert stream.getvalue() == ""
