"""Application errors, each mapped to one RFC 9457 problem type by the HTTP layer."""

from __future__ import annotations

from msgspec import Struct

PROBLEM_BASE = "https://pwiic.coop/problems/"


class FieldError(Struct, frozen=True):
    field: str
    message: str


class AppError(Exception):
    """An expected failure the client can act on. `code` is the stable problem type."""

    def __init__(
        self,
        detail: str,
        status: int = 400,
        code: str = "bad-request",
        title: str = "Bad request",
        errors: list[FieldError] | None = None,
        extra: dict[str, object] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.code = code
        self.title = title
        self.errors = errors or []
        self.extra = extra or {}

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


def validation_failed(errors: list[FieldError], detail: str = "The request is not valid.") -> AppError:
    return AppError(detail, 422, "validation-failed", "Validation failed", errors)


def malformed(detail: str) -> AppError:
    return AppError(detail, 400, "malformed-request", "Malformed request")


def unauthorized(detail: str) -> AppError:
    return AppError(detail, 401, "unauthorized", "Authentication required")


def forbidden(detail: str) -> AppError:
    return AppError(detail, 403, "forbidden", "Forbidden")


def not_found(what: str) -> AppError:
    return AppError(f"{what} was not found.", 404, "not-found", "Not found")


def conflict(detail: str, code: str = "conflict", **extra: object) -> AppError:
    return AppError(detail, 409, code, "Conflict", extra=dict(extra))


def unprocessable(detail: str, code: str) -> AppError:
    return AppError(detail, 422, code, "Unprocessable request")
