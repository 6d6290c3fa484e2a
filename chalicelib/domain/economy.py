"""The cooperative economy's fee schedule: what some operations cost in credits. No I/O.

Exchanges between members never carry a fee. The schedule is versioned: each version says from when
it applies, and a change always takes effect in the future (at least `notice` ahead), so every copy of
the schedule a container caches already knows a change before it applies — a publication never pays a
price that was not in force when it committed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from msgspec import Struct, field

from chalicelib import clock, errors
from chalicelib.errors import FieldError


class Operation(StrEnum):
    PUBLISH_LISTING = "publish_listing"  # a listing published beyond the month's free quota
    PUBLISH_PROFESSIONAL = "publish_professional_listing"  # a professional-services listing (pro.*)
    FEATURE_LISTING = "feature_listing"  # a listing first in its community's browsing for `feature_days`


class FeeVersion(Struct, frozen=True, omit_defaults=True):
    number: int
    effective_at: str
    prices: dict[Operation, int] = field(default_factory=dict)  # credits; absent or 0: free
    free_listings_per_month: int = 0
    changed_by: str = ""  # an operator's id, or "ballot:<id>"
    feature_days: int = 7

    def price(self, operation: Operation) -> int:
        return self.prices.get(operation, 0)


def in_force(versions: Sequence[FeeVersion], now: str) -> FeeVersion:
    """The latest version whose effective time has come (versions are kept in order)."""
    current = versions[0]
    for version in versions:
        if version.effective_at <= now:
            current = version
    return current


class Quote(Struct, frozen=True):
    operation: Operation
    price: int
    free: bool  # paid by the month's free quota
    free_left: int  # free publications left this month
    schedule: int  # the fee version priced


def publication_quote(fees: FeeVersion, professional: bool, published_this_month: int) -> Quote:
    """A professional listing pays its own fee; any other uses the month's free quota, then pays."""
    free_left = max(fees.free_listings_per_month - published_this_month, 0)
    if professional:
        operation = Operation.PUBLISH_PROFESSIONAL
        return Quote(operation, fees.price(operation), False, free_left, fees.number)
    if free_left:
        return Quote(Operation.PUBLISH_LISTING, 0, True, free_left, fees.number)
    return Quote(Operation.PUBLISH_LISTING, fees.price(Operation.PUBLISH_LISTING), False, 0, fees.number)


def check_expected(quote: Quote, expected: int | None) -> None:
    """The fee the member was shown, if the client sends it, must still be the price."""
    if expected is not None and expected != quote.price:
        raise errors.Conflict(
            f"The fee is now {quote.price} credits.", code="fee-changed", price=quote.price, schedule=quote.schedule
        )


def changed(
    versions: Sequence[FeeVersion],
    prices: dict[Operation, int],
    free_listings_per_month: int,
    effective_at: datetime,
    now: datetime,
    notice: timedelta,
    changed_by: str,
    feature_days: int | None = None,
) -> list[FeeVersion]:
    """The schedule with a new version; it applies no sooner than `notice` from now, after every other."""
    problems: list[FieldError] = []
    if effective_at < now + notice:
        problems.append(FieldError("effective_at", f"A change applies at least {notice} ahead."))
    if versions and clock.iso(effective_at) <= versions[-1].effective_at:
        problems.append(FieldError("effective_at", "A change applies after the last one scheduled."))
    if problems:
        raise errors.Invalid(problems)
    version = FeeVersion(
        versions[-1].number + 1 if versions else 1,
        clock.iso(effective_at),
        {operation: price for operation, price in prices.items() if price},
        free_listings_per_month,
        changed_by,
        feature_days if feature_days is not None else (versions[-1].feature_days if versions else 7),
    )
    return [*versions, version]


def featured_until(fees: FeeVersion, current: str | None, now: datetime) -> str:
    """Featuring adds the schedule's days to what is left of a running period, or starts one now."""
    start = max(now, clock.parse(current)) if current else now
    return clock.iso(start + timedelta(days=fees.feature_days))


# Automatic rewards: micro-actions the platform sees itself


class RewardRule(StrEnum):
    WELCOME_NEWCOMER = "welcome_newcomer"  # a first completed exchange with a member who joined recently
    FIRST_LISTING = "first_listing"
    REVIEW_WRITTEN = "review_written"
    COMPLETE_PROFILE = "complete_profile"


class RewardRules(Struct, frozen=True):
    """Credits per rule (0: off), and the most a member earns from them in a day and in a month."""

    amounts: dict[RewardRule, int]
    daily_cap: int
    monthly_cap: int
    newcomer_days: int


def reward_id(rule: RewardRule, member_id: str, subject: str) -> str:
    """Once per rule, member and subject: the same micro-action never pays twice."""
    return f"auto:{rule.value}:{member_id}:{subject}"


def within_caps(earned: int, amount: int, cap: int) -> bool:
    return earned + amount <= cap
