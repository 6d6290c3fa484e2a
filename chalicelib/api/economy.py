"""Routes of the cooperative economy: the fee schedule, quotes, and operators' changes."""

from __future__ import annotations

from msgspec.structs import asdict

from chalicelib import clock
from chalicelib.api.http import Call, Router
from chalicelib.api.schemas import (
    ContributionOut,
    FeeChangeIn,
    FeeScheduleOut,
    FeeVersionOut,
    MonthQuery,
    QuoteOut,
    QuoteQuery,
    RewardRulesOut,
    ShareOut,
    ValueShareOut,
)
from chalicelib.domain.economy import FeeVersion, Operation, in_force
from chalicelib.services import auto_rewards, fees, value_sharing

router = Router("economy")


def schedule_out(versions: list[FeeVersion]) -> FeeScheduleOut:
    now = clock.now_iso()
    current = in_force(versions, now)
    upcoming = [version for version in versions if version.effective_at > now]
    return FeeScheduleOut(version_out(current), [version_out(version) for version in upcoming])


def version_out(version: FeeVersion) -> FeeVersionOut:
    prices = {operation.value: price for operation, price in version.prices.items()}
    return FeeVersionOut(
        version.number, version.feature_days, version.effective_at, prices, version.free_listings_per_month
    )


@router.route(
    "GET",
    "/fees",
    summary="The fee schedule: what some operations cost in credits, now and from when changes apply",
    description="Exchanges between members never carry a fee.",
    tag="economy",
    access="public",
    response=FeeScheduleOut,
)
def get_fees(call: Call[None, None]) -> FeeScheduleOut:
    return schedule_out(fees.schedule())


@router.route(
    "GET",
    "/fees/quote",
    summary="What an operation would cost you now (publications: your free quota left this month)",
    tag="economy",
    query=QuoteQuery,
    response=QuoteOut,
    problems=(400,),
)
def get_quote(call: Call[None, QuoteQuery]) -> QuoteOut:
    operation = Operation(call.query.operation)
    if operation is Operation.FEATURE_LISTING:
        quote = fees.quote_feature()
    else:
        quote = fees.quote_publication(call.member.member_id, operation is Operation.PUBLISH_PROFESSIONAL)
    return QuoteOut(quote.operation.value, quote.price, quote.free, quote.free_left, quote.schedule)


@router.route(
    "POST",
    "/operator/fees",
    summary="Schedule a new version of the fees (operators, audited)",
    description="It applies at `effective_at`, at least `PWIIC_FEE_NOTICE_SECONDS` (120) ahead and after the "
    "last version scheduled (else a 422 naming `effective_at`); prices absent are free.",
    tag="economy",
    access="operator",
    body=FeeChangeIn,
    response=FeeScheduleOut,
    status=201,
    problems=(409, 422),
)
def change_fees(call: Call[FeeChangeIn, None]) -> FeeScheduleOut:
    body = call.body
    prices = {Operation(name): price for name, price in asdict(body.prices).items()}
    versions = fees.change(
        call.member.member_id, prices, body.free_listings_per_month, body.feature_days, body.effective_at, body.reason
    )
    return schedule_out(versions)


@router.route(
    "GET",
    "/operator/economy/reward-rules",
    summary="The automatic rewards' rules (credits per micro-action) and each member's daily and monthly caps",
    description="Configuration: `PWIIC_AUTO_REWARDS`, `PWIIC_AUTO_REWARD_DAILY_CAP`, `PWIIC_AUTO_REWARD_MONTHLY_CAP`, "
    "`PWIIC_NEWCOMER_DAYS`.",
    tag="economy",
    access="operator",
    response=RewardRulesOut,
)
def get_reward_rules(call: Call[None, None]) -> RewardRulesOut:
    found = auto_rewards.rules()
    amounts = {rule.value: amount for rule, amount in found.amounts.items() if amount}
    return RewardRulesOut(amounts, found.daily_cap, found.monthly_cap, found.newcomer_days)


@router.route(
    "GET",
    "/economy/value-sharing/{month}",
    summary="A month's value sharing: the revenue, the share distributed and each contributor's credits",
    description="Published once the month is shared (the day after it ends); before: 404. `month` is YYYY-MM.",
    tag="economy",
    response=ValueShareOut,
    problems=(404,),
)
def get_value_share(call: Call[None, None]) -> ValueShareOut:
    found = value_sharing.statement(call.params["month"])
    shares = [ShareOut(share.member_id, share.points, share.credits) for share in found.shares]
    weights = {kind.value: weight for kind, weight in found.weights.items()}
    return ValueShareOut(found.month, found.revenue, found.percent, found.distributed, shares, weights)


@router.route(
    "GET",
    "/me/contributions",
    summary="Your contributions of a month (default: this month), their points and your share once paid",
    tag="economy",
    query=MonthQuery,
    response=ContributionOut,
    problems=(400,),
)
def get_my_contributions(call: Call[None, MonthQuery]) -> ContributionOut:
    month = call.query.month or clock.now_iso()[:7]
    found, points, statement = value_sharing.contribution(call.member.member_id, month)
    mine = None
    if statement is not None:
        mine = next((share.credits for share in statement.shares if share.member_id == found.member_id), 0)
    return ContributionOut(
        month, found.missions_approved, found.reviews_written, found.moderation_decisions, points, mine
    )
