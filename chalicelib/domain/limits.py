"""Per-member rate limits on the actions a member could abuse: how many calls each fixed window allows,
which window a moment falls in, and the refusal once it is full. The count itself is kept in the table
(`services/limits.py`)."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from msgspec import Meta, Struct

from chalicelib import errors

Action = Literal["messages", "reports", "proposals", "listings", "purchases", "transfers"]

DAY_SECONDS = 86_400


class RateLimit(Struct, frozen=True, forbid_unknown_fields=True):
    """At most `limit` calls in each fixed window of `window_seconds` (windows start at multiples of it)."""

    limit: Annotated[int, Meta(ge=1)]
    window_seconds: Annotated[int, Meta(ge=1, le=DAY_SECONDS)]


# Far above what a person does by hand in an hour, far below what a script does. The benchmarks stay under
# them too (bench.economy publishes 33 listings as one member, bench.exchanges makes 31 proposals).
DEFAULT_RATE_LIMITS: dict[Action, RateLimit] = {
    "messages": RateLimit(120, 3600),
    "reports": RateLimit(20, 3600),
    "proposals": RateLimit(60, 3600),
    "listings": RateLimit(60, 3600),
    "purchases": RateLimit(10, 3600),
    "transfers": RateLimit(60, 3600),
}


class Window(Struct, frozen=True):
    """A fixed window, in epoch seconds: [start, end)."""

    start: int
    end: int


def window_at(moment: float, rate: RateLimit) -> Window:
    start = int(moment) // rate.window_seconds * rate.window_seconds
    return Window(start, start + rate.window_seconds)


def refusal(action: Action, rate: RateLimit, window: Window, moment: float) -> errors.RateLimited:
    """The window is full: retry once it ends (at least a second from now)."""
    retry_after = max(1, math.ceil(window.end - moment))
    return errors.RateLimited(
        retry_after=retry_after,
        action=action,
        limit=rate.limit,
        window_seconds=rate.window_seconds,
    )
