"""The one place where typed errors become RFC 9457 problem+json responses, their title and detail in
the request's language (the catalogue's `title.*` and the error's message)."""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec

from chalicelib import errors, i18n
from chalicelib.i18n import Language

# The most specific class listed for an error decides its status and title (a message id).
_PROBLEMS: dict[type[errors.AppError], tuple[int, str]] = {
    errors.AppError: (400, "title.bad-request"),
    errors.Malformed: (400, "title.malformed-request"),
    errors.InvalidCursor: (400, "title.invalid-cursor"),
    errors.InvalidSignature: (400, "title.invalid-signature"),
    errors.LivemodeMismatch: (400, "title.livemode-mismatch"),
    errors.Unauthenticated: (401, "title.authentication-required"),
    errors.Forbidden: (403, "title.forbidden"),
    errors.NotFound: (404, "title.not-found"),
    errors.UnknownAccount: (404, "title.unknown-account"),
    errors.UnknownPack: (404, "title.unknown-pack"),
    errors.Conflict: (409, "title.conflict"),
    errors.TooLarge: (413, "title.payload-too-large"),
    errors.UnsupportedMediaType: (415, "title.unsupported-media-type"),
    errors.Invalid: (422, "title.validation-failed"),
    errors.Unprocessable: (422, "title.unprocessable-request"),
    errors.RateLimited: (429, "title.too-many-requests"),
    errors.UpstreamFailed: (502, "title.payment-provider-error"),
    errors.IdentityProviderUnavailable: (503, "title.identity-provider-unavailable"),
    errors.Busy: (503, "title.service-busy"),
}
INTERNAL = (500, "title.internal-error")


def status_and_title(error: errors.AppError) -> tuple[int, str]:
    for cls in type(error).__mro__:
        found = _PROBLEMS.get(cls)
        if found is not None:
            return found
    raise AssertionError(f"{type(error).__name__} is not an AppError")


def status_of(error: errors.AppError) -> int:
    return status_and_title(error)[0]


def problem(error: errors.AppError, language: Language = i18n.DEFAULT) -> tuple[int, bytes]:
    status, title = status_and_title(error)
    return status, _document(error.code, title, status, error.message, error, language)


def headers(error: errors.AppError) -> dict[str, str]:
    """Response headers a problem carries besides its media type."""
    if isinstance(error, errors.RateLimited):
        return {"Retry-After": str(error.retry_after)}
    return {}


@cache
def internal(language: Language = i18n.DEFAULT) -> tuple[int, bytes]:
    status, title = INTERNAL
    return status, _document("internal", title, status, "request.internal", None, language)


def _document(
    code: str, title: str, status: int, message: str, error: errors.AppError | None, language: Language
) -> bytes:
    document: dict[str, Any] = {
        "type": errors.PROBLEM_BASE + code,
        "title": i18n.text(title, language),
        "status": status,
        "detail": i18n.text(message, language, error.params if error is not None else None),
    }
    if isinstance(error, errors.Invalid):
        document["errors"] = [{"field": item.field, "message": item.text(language)} for item in error.errors]
    if error is not None:
        document.update(error.extra)
    return msgspec.json.encode(document)
