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
        raise errors.Conflict("economy.fee-changed", code="fee-changed", price=quote.price, schedule=quote.schedule)


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
        problems.append(FieldError("effective_at", "economy.notice", {"notice": str(notice)}))
    if versions and clock.iso(effective_at) <= versions[-1].effective_at:
        problems.append(FieldError("effective_at", "economy.change-applies-after-last"))
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


# Value sharing: a share of the month's revenue, to contributors in proportion to their points


class ContributionKind(StrEnum):
    MISSION_APPROVED = "mission_approved"
    REVIEW_WRITTEN = "review_written"
    MODERATION_DECISION = "moderation_decision"  # ambassadors' and operators' decisions on reports


class Contribution(Struct, frozen=True):
    member_id: str
    missions_approved: int = 0
    reviews_written: int = 0
    moderation_decisions: int = 0

    def points(self, weights: dict[ContributionKind, int]) -> int:
        return (
            self.missions_approved * weights.get(ContributionKind.MISSION_APPROVED, 0)
            + self.reviews_written * weights.get(ContributionKind.REVIEW_WRITTEN, 0)
            + self.moderation_decisions * weights.get(ContributionKind.MODERATION_DECISION, 0)
        )


class Share(Struct, frozen=True):
    member_id: str
    points: int
    credits: int


class ValueShare(Struct, frozen=True):
    """A month's published distribution: the revenue, the share of it distributed, and each share."""

    month: str
    revenue: int
    percent: int
    distributed: int
    shares: tuple[Share, ...]
    weights: dict[ContributionKind, int]
    paid: bool = False  # every share transferred: later runs stop at the statement


def largest_remainder(total: int, points: dict[str, int]) -> dict[str, int]:
    """`total` split in proportion to `points`, in whole credits adding up to `total` exactly: each gets
    the floor of their quota, then the largest remainders (ties by member id) one credit more."""
    whole = sum(points.values())
    if whole <= 0 or total <= 0:
        return dict.fromkeys(points, 0)
    floors = {member: total * p // whole for member, p in points.items()}
    left = total - sum(floors.values())
    by_remainder = sorted(points, key=lambda member: (-(total * points[member] % whole), member))
    for member in by_remainder[:left]:
        floors[member] += 1
    return floors


def distribute(
    month: str, revenue: int, percent: int, contributions: list[Contribution], weights: dict[ContributionKind, int]
) -> ValueShare:
    distributed = revenue * percent // 100
    points = {c.member_id: c.points(weights) for c in contributions if c.points(weights) > 0}
    credits = largest_remainder(distributed, points) if points else {}
    shares = tuple(Share(m, points[m], credits[m]) for m in sorted(points) if credits[m] > 0)
    return ValueShare(month, revenue, percent, sum(s.credits for s in shares), shares, weights)
