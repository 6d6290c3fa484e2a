"""Automatic rewards: credits from the rewards pool for micro-actions the platform sees itself (a first
listing, a review written, a complete profile, welcoming a newcomer), once per rule, member and subject,
within each member's daily and monthly caps (in the write), so that no member farms credits by
repeating an action or by looping with a second account."""

from __future__ import annotations

from chalicelib import clock, errors
from chalicelib.adapters.dynamodb import governance_repository, ledger_repository
from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork, raises
from chalicelib.config import settings
from chalicelib.domain.economy import RewardRule, RewardRules, reward_id
from chalicelib.domain.ledger import PlatformAccount, Transfer, TransferKind, TransferRequest, wallet_account
from chalicelib.domain.members import Member
from chalicelib.observability import logger
from chalicelib.services import ledger, transaction


def rules() -> RewardRules:
    config = settings()
    amounts = {RewardRule(rule): amount for rule, amount in config.auto_rewards.items()}
    return RewardRules(amounts, config.auto_reward_daily_cap, config.auto_reward_monthly_cap, config.newcomer_days)


def grant(rule: RewardRule, member_id: str, subject: str) -> Transfer | None:
    """Called once the micro-action has committed; never fails it. Returns the transfer, or None when the
    rule is off, the reward was paid already, a cap is reached or the pool is empty."""
    config = rules()
    amount = config.amounts.get(rule, 0)
    if amount <= 0 or amount > min(config.daily_cap, config.monthly_cap):
        return None
    request = TransferRequest(
        transfer_id=reward_id(rule, member_id, subject),
        payer=PlatformAccount.REWARDS_POOL.value,
        payee=wallet_account(member_id),
        amount=amount,
        kind=TransferKind.REWARD,
        reason=rule.value,
        refs={"subject": subject},
    )
    if ledger_repository.get_transfer(request.transfer_id) is not None:
        return None  # paid once already: no failed write
    capped = raises(errors.Conflict("rewards.member-automatic-rewards-reached", code="reward-cap-reached"))
    today = clock.now_iso()

    def build(uow: UnitOfWork) -> Transfer:
        transfer = ledger.add_transfer(uow, request)
        governance_repository.add_reward_earned(uow, member_id, today[:10], amount, config.daily_cap, capped)
        governance_repository.add_reward_earned(uow, member_id, today[:7], amount, config.monthly_cap, capped)
        return transfer

    try:
        return transaction.run(build)
    except errors.AppError as refused:
        logger.info(
            "automatic reward not paid", extra={"rule": rule.value, "member_id": member_id, "code": refused.code}
        )
        return None


def welcome(completed_by: tuple[str, str], members: dict[str, Member]) -> None:
    """A completed exchange with a member who joined less than `newcomer_days` ago rewards the other
    member, once per newcomer."""
    since = clock.days_ago(rules().newcomer_days)
    first, second = completed_by
    for host, newcomer in ((first, second), (second, first)):
        joined = members.get(newcomer)
        if joined is not None and joined.created_at[:10] > since:
            grant(RewardRule.WELCOME_NEWCOMER, host, newcomer)


def profile_complete(member: Member) -> bool:
    return bool(member.bio and member.languages and member.skills and member.location and member.home_community_id)
