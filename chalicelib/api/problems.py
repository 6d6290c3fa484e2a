"""The one place where typed errors become RFC 9457 problem+json responses."""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec

from chalicelib import errors

# The most specific class listed for an error decides its status and title.
_PROBLEMS: dict[type[errors.AppError], tuple[int, str]] = {
    errors.AppError: (400, "Bad request"),
    errors.Malformed: (400, "Malformed request"),
    errors.InvalidCursor: (400, "Invalid cursor"),
    errors.InvalidSignature: (400, "Invalid signature"),
    errors.LivemodeMismatch: (400, "Livemode mismatch"),
    errors.Unauthenticated: (401, "Authentication required"),
    errors.Forbidden: (403, "Forbidden"),
    errors.NotFound: (404, "Not found"),
    errors.UnknownAccount: (404, "Unknown account"),
    errors.UnknownPack: (404, "Unknown pack"),
    errors.Conflict: (409, "Conflict"),
    errors.TooLarge: (413, "Payload too large"),
    errors.UnsupportedMediaType: (415, "Unsupported media type"),
    errors.Invalid: (422, "Validation failed"),
    errors.Unprocessable: (422, "Unprocessable request"),
    errors.RateLimited: (429, "Too many requests"),
    errors.UpstreamFailed: (502, "Payment provider error"),
    errors.IdentityProviderUnavailable: (503, "Identity provider unavailable"),
    errors.Busy: (503, "Service busy"),
}
INTERNAL = (500, "Internal error")


def status_and_title(error: errors.AppError) -> tuple[int, str]:
    for cls in type(error).__mro__:
        found = _PROBLEMS.get(cls)
        if found is not None:
            return found
    raise AssertionError(f"{type(error).__name__} is not an AppError")


def status_of(error: errors.AppError) -> int:
    return status_and_title(error)[0]


def problem(error: errors.AppError) -> tuple[int, bytes]:
    status, title = status_and_title(error)
    return status, _document(error.code, title, status, error.detail, error)


def headers(error: errors.AppError) -> dict[str, str]:
    """Response headers a problem carries besides its media type."""
    if isinstance(error, errors.RateLimited):
        return {"Retry-After": str(error.retry_after)}
    return {}


@cache
def internal() -> tuple[int, bytes]:
    status, title = INTERNAL
    return status, _document("internal", title, status, "An unexpected error occurred.", None)


def _document(code: str, title: str, status: int, detail: str, error: errors.AppError | None) -> bytes:
    document: dict[str, Any] = {"type": errors.PROBLEM_BASE + code, "title": title, "status": status, "detail": detail}
    if isinstance(error, errors.Invalid):
        document["errors"] = [{"field": item.field, "message": item.message} for item in error.errors]
    if error is not None:
        document.update(error.extra)
    return msgspec.json.encode(document)
