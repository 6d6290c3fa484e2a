"""Typed application errors: one class per meaning, raised by the domain, the services and the adapters.

They carry no HTTP status and no text: the API edge (`chalicelib.api.problems`) maps each class to a
problem+json response in one place, its detail rendered from the catalogue (`chalicelib.i18n`) in the
request's language. `code` names the stable problem type a client may branch on; `message` the
catalogue's message id; `extra` adds the facts a client can act on (the current `state` of a conflict,
the credits `available`), which the message may show too, as may `params` (shown, not sent as facts)."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec
from msgspec import Struct

from chalicelib import i18n

PROBLEM_BASE = "https://pwiic.coop/problems/"


class FieldError(Struct, frozen=True):
    """One field's problem: a catalogue message id and what it shows."""

    field: str
    message: str
    params: dict[str, str | int] = msgspec.field(default_factory=dict)

    def text(self, language: i18n.Language = i18n.DEFAULT) -> str:
        return i18n.text(self.message, language, self.params)


class AppError(Exception):
    """An expected failure the client can act on."""

    code = "bad-request"

    def __init__(
        self, message: str, *, code: str | None = None, params: Mapping[str, object] | None = None, **extra: object
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.extra = extra
        self.params = {**extra, **(params or {})}

    def detail(self, language: i18n.Language = i18n.DEFAULT) -> str:
        return i18n.text(self.message, language, self.params)

    def __str__(self) -> str:
        return f"{self.code}: {self.detail()}"


class Malformed(AppError):
    """The request cannot be read: bad JSON, a body where none is expected, a bad header."""

    code = "malformed-request"


class InvalidCursor(Malformed):
    code = "invalid-cursor"

    def __init__(self) -> None:
        super().__init__("request.invalid-cursor")


class InvalidSignature(Malformed):
    code = "invalid-signature"


class LivemodeMismatch(Malformed):
    code = "livemode-mismatch"


class UnsupportedMediaType(AppError):
    code = "unsupported-media-type"


class TooLarge(AppError):
    """The request body is over the size the operation reads."""

    code = "payload-too-large"


class Unauthenticated(AppError):
    code = "unauthorized"


class Forbidden(AppError):
    code = "forbidden"


class NotFound(AppError):
    code = "not-found"


class UnknownAccount(NotFound):
    code = "unknown-account"

    def __init__(self, account_id: str) -> None:
        super().__init__("ledger.unknown-account", params={"account_id": account_id})


class UnknownPack(NotFound):
    code = "unknown-pack"

    def __init__(self, pack_id: str) -> None:
        super().__init__("purchases.unknown-pack", params={"pack_id": pack_id})


class Conflict(AppError):
    """The request is valid but the current state refuses it (`state` says which, where it applies)."""

    code = "conflict"


class IllegalTransition(Conflict):
    code = "illegal-transition"


class InsufficientCredits(Conflict):
    code = "insufficient-funds"

    def __init__(self, needed: int, available: int) -> None:
        shown = max(available, 0)
        super().__init__(
            "ledger.insufficient-credits",
            available=shown,
            needed=needed,
            credit_packs="/credit-packs",
        )


class WalletFrozen(Conflict):
    code = "wallet-frozen"

    def __init__(self) -> None:
        super().__init__("ledger.wallet-frozen")


class IdReused(Conflict):
    """A caller-chosen id (transfer, hold) was used before with other details."""

    code = "transfer-id-reused"


class HoldSettled(Conflict):
    code = "hold-settled"

    def __init__(self, status: str) -> None:
        super().__init__("ledger.hold-settled", state=status)


class HoldExpired(Conflict):
    code = "hold-expired"

    def __init__(self) -> None:
        super().__init__("ledger.hold-expired", state="expired")


class Invalid(AppError):
    """Fields of the request break their rules; one `FieldError` per problem."""

    code = "validation-failed"

    def __init__(self, errors: list[FieldError], message: str = "request.invalid") -> None:
        super().__init__(message)
        self.errors = errors


class Unprocessable(AppError):
    """Well-formed, but a rule spanning the request refuses it (`code` says which)."""


class RateLimited(AppError):
    """The member's window for this action is full; `retry_after` seconds until it ends."""

    code = "rate-limited"

    def __init__(self, *, retry_after: int, action: str, limit: int, window_seconds: int) -> None:
        super().__init__(
            "limits.rate-limited", retry_after=retry_after, action=action, limit=limit, window_seconds=window_seconds
        )
        self.retry_after = retry_after


class UpstreamFailed(AppError):
    code = "payment-provider-error"


class IdentityProviderUnavailable(AppError):
    """The identity provider's discovery document or key set cannot be fetched: no token can be checked."""

    code = "identity-provider-unavailable"


class Busy(AppError):
    """Contention outlasted the retries: nothing changed, or the change is found by retrying with the same id."""

    code = "ledger-busy"
