"""Runtime configuration, read lazily from the environment (never at import time)."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from functools import cache
from typing import Literal, get_args
from urllib.parse import urlparse

import msgspec
from msgspec import Struct

from chalicelib.domain.limits import DEFAULT_RATE_LIMITS, Action, RateLimit
from chalicelib.domain.purchases import CreditPack, Currency

# Where a token names the client it was issued for (docs/identity.md#audience): `cognito` reads `aud` in
# ID tokens and `client_id` in access tokens, as their `token_use` says.
AudienceClaim = Literal["cognito", "aud", "azp", "client_id"]
AUDIENCE_CLAIMS: tuple[AudienceClaim, ...] = get_args(AudienceClaim)


class Settings(Struct, frozen=True):
    stage: str
    region: str
    table_name: str
    dynamodb_endpoint: str | None
    oidc_issuer: str
    oidc_audience: str
    oidc_audience_claim: AudienceClaim
    oidc_jwks_url: str | None
    oidc_groups_claim: str
    operator_group: str
    page_size_max: int
    idempotency_ttl_seconds: int
    platform_shards: int
    max_transfer_amount: int
    retry_budget_seconds: float
    dynamodb_read_timeout_seconds: float
    stripe_api_base: str | None
    stripe_publishable_key: str
    stripe_livemode: bool
    credit_packs: tuple[CreditPack, ...]
    max_pending_purchases: int
    daily_purchase_limit_cents: int
    exchange_complete_delay: timedelta
    loan_grace: timedelta
    review_window: timedelta
    reputation_prior_mean: float
    reputation_prior_weight: float
    colleges_min: int
    colleges_max: int
    college_weight_min: int
    college_weight_max: int
    proxy_cap: int
    proposal_supports: int
    proposal_days: int
    secret_ballot_min_voters: int
    ballot_close_grace_seconds: int
    free_listings_per_month: int
    fee_publish_listing: int
    fee_publish_professional: int
    fee_notice_seconds: int
    auto_rewards: dict[str, int]
    auto_reward_daily_cap: int
    auto_reward_monthly_cap: int
    newcomer_days: int
    value_share_percent: int
    contribution_weights: dict[str, int]
    reconciliation_settle_seconds: int
    stats_min_people: int
    audit_budget_seconds: float
    audit_recheck_seconds: float
    rate_limits: dict[Action, RateLimit]
    export_part_bytes: int


DEFAULT_WEIGHTS = '{"mission_approved": 5, "review_written": 1, "moderation_decision": 2}'


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"environment variable {name} is not set")
    return value


def _issuer() -> str:
    issuer = _required("PWIIC_OIDC_ISSUER")
    if urlparse(issuer).scheme not in ("https", "http"):
        raise RuntimeError("PWIIC_OIDC_ISSUER must be the provider's issuer URL (https://...)")
    return issuer


def _audience_claim() -> AudienceClaim:
    value = os.environ.get("PWIIC_OIDC_AUDIENCE_CLAIM", "cognito")
    if value not in AUDIENCE_CLAIMS:
        raise RuntimeError(f"PWIIC_OIDC_AUDIENCE_CLAIM must be one of {', '.join(AUDIENCE_CLAIMS)}")
    return value


DEFAULT_CREDIT_PACKS = (
    CreditPack("starter-eur", 50, 500, Currency.EUR),
    CreditPack("neighbour-eur", 120, 1000, Currency.EUR),
    CreditPack("community-eur", 300, 2250, Currency.EUR),
    CreditPack("starter-chf", 50, 500, Currency.CHF),
    CreditPack("neighbour-chf", 120, 1000, Currency.CHF),
    CreditPack("community-chf", 300, 2250, Currency.CHF),
)


def _credit_packs(configured: str | None) -> tuple[CreditPack, ...]:
    """`PWIIC_CREDIT_PACKS`: a JSON list of {pack_id, credits, price_cents, currency, active}."""
    if not configured:
        return DEFAULT_CREDIT_PACKS
    return tuple(
        CreditPack(
            p["pack_id"], int(p["credits"]), int(p["price_cents"]), Currency(p["currency"]), p.get("active", True)
        )
        for p in json.loads(configured)
    )


def _rate_limits(configured: str | None) -> dict[Action, RateLimit]:
    """`PWIIC_RATE_LIMITS`: JSON {action: {limit, window_seconds}}; the actions it leaves out keep their default."""
    if not configured:
        return DEFAULT_RATE_LIMITS
    try:
        given = msgspec.json.decode(configured, type=dict[Action, RateLimit])
    except msgspec.DecodeError as error:
        raise RuntimeError(f"PWIIC_RATE_LIMITS is not valid: {error}") from None
    return {**DEFAULT_RATE_LIMITS, **given}


def stage() -> str:
    """The stage's name: read on its own by what needs it at import (metrics' dimension), before a
    complete configuration may be there."""
    return os.environ.get("PWIIC_STAGE", "local")


@cache
def settings() -> Settings:
    return Settings(
        stage=stage(),
        region=os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION", "eu-central-2"),
        table_name=_required("PWIIC_TABLE_NAME"),
        dynamodb_endpoint=os.environ.get("PWIIC_DYNAMODB_ENDPOINT") or None,
        oidc_issuer=_issuer(),
        oidc_audience=_required("PWIIC_OIDC_AUDIENCE"),
        oidc_audience_claim=_audience_claim(),
        oidc_jwks_url=os.environ.get("PWIIC_OIDC_JWKS_URL") or None,
        oidc_groups_claim=os.environ.get("PWIIC_OIDC_GROUPS_CLAIM") or "cognito:groups",
        operator_group=os.environ.get("PWIIC_OPERATOR_GROUP", "operators"),
        page_size_max=int(os.environ.get("PWIIC_PAGE_SIZE_MAX", "100")),
        idempotency_ttl_seconds=int(os.environ.get("PWIIC_IDEMPOTENCY_TTL_SECONDS", "86400")),
        platform_shards=int(os.environ.get("PWIIC_PLATFORM_SHARDS", "8")),
        max_transfer_amount=int(os.environ.get("PWIIC_MAX_TRANSFER_AMOUNT", "100000")),
        retry_budget_seconds=float(os.environ.get("PWIIC_RETRY_BUDGET_SECONDS", "8")),
        dynamodb_read_timeout_seconds=float(os.environ.get("PWIIC_DYNAMODB_READ_TIMEOUT_SECONDS", "3")),
        stripe_api_base=os.environ.get("PWIIC_STRIPE_API_BASE") or None,
        stripe_publishable_key=os.environ.get("PWIIC_STRIPE_PUBLISHABLE_KEY", "pk_test_local"),
        stripe_livemode=os.environ.get("PWIIC_STRIPE_LIVEMODE", "false").lower() == "true",
        credit_packs=_credit_packs(os.environ.get("PWIIC_CREDIT_PACKS")),
        max_pending_purchases=int(os.environ.get("PWIIC_MAX_PENDING_PURCHASES", "3")),
        daily_purchase_limit_cents=int(os.environ.get("PWIIC_DAILY_PURCHASE_LIMIT_CENTS", "20000")),
        exchange_complete_delay=timedelta(hours=float(os.environ.get("PWIIC_AUTO_COMPLETE_HOURS", "72"))),
        loan_grace=timedelta(days=float(os.environ.get("PWIIC_LOAN_GRACE_DAYS", "14"))),
        review_window=timedelta(days=float(os.environ.get("PWIIC_REVIEW_WINDOW_DAYS", "14"))),
        reputation_prior_mean=float(os.environ.get("PWIIC_REPUTATION_PRIOR_MEAN", "4.0")),
        reputation_prior_weight=float(os.environ.get("PWIIC_REPUTATION_PRIOR_WEIGHT", "5")),
        colleges_min=int(os.environ.get("PWIIC_COLLEGES_MIN", "3")),
        colleges_max=int(os.environ.get("PWIIC_COLLEGES_MAX", "10")),
        college_weight_min=int(os.environ.get("PWIIC_COLLEGE_WEIGHT_MIN", "10")),
        college_weight_max=int(os.environ.get("PWIIC_COLLEGE_WEIGHT_MAX", "50")),
        proxy_cap=int(os.environ.get("PWIIC_PROXY_CAP", "2")),
        proposal_supports=int(os.environ.get("PWIIC_PROPOSAL_SUPPORTS", "10")),
        proposal_days=int(os.environ.get("PWIIC_PROPOSAL_DAYS", "30")),
        secret_ballot_min_voters=int(os.environ.get("PWIIC_SECRET_BALLOT_MIN_VOTERS", "5")),
        ballot_close_grace_seconds=int(os.environ.get("PWIIC_BALLOT_CLOSE_GRACE_SECONDS", "30")),
        free_listings_per_month=int(os.environ.get("PWIIC_FREE_LISTINGS_PER_MONTH", "10")),
        fee_publish_listing=int(os.environ.get("PWIIC_FEE_PUBLISH_LISTING", "0")),
        fee_publish_professional=int(os.environ.get("PWIIC_FEE_PUBLISH_PROFESSIONAL", "0")),
        fee_notice_seconds=int(os.environ.get("PWIIC_FEE_NOTICE_SECONDS", "120")),
        auto_rewards={k: int(v) for k, v in json.loads(os.environ.get("PWIIC_AUTO_REWARDS") or "{}").items()},
        auto_reward_daily_cap=int(os.environ.get("PWIIC_AUTO_REWARD_DAILY_CAP", "10")),
        auto_reward_monthly_cap=int(os.environ.get("PWIIC_AUTO_REWARD_MONTHLY_CAP", "40")),
        newcomer_days=int(os.environ.get("PWIIC_NEWCOMER_DAYS", "30")),
        value_share_percent=int(os.environ.get("PWIIC_VALUE_SHARE_PERCENT", "20")),
        contribution_weights={
            k: int(v) for k, v in json.loads(os.environ.get("PWIIC_CONTRIBUTION_WEIGHTS") or DEFAULT_WEIGHTS).items()
        },
        reconciliation_settle_seconds=int(os.environ.get("PWIIC_RECONCILIATION_SETTLE_SECONDS", "900")),
        stats_min_people=int(os.environ.get("PWIIC_STATS_MIN_PEOPLE", "5")),
        audit_budget_seconds=float(os.environ.get("PWIIC_AUDIT_BUDGET_SECONDS", "12")),
        audit_recheck_seconds=float(os.environ.get("PWIIC_AUDIT_RECHECK_SECONDS", "5")),
        rate_limits=_rate_limits(os.environ.get("PWIIC_RATE_LIMITS")),
        export_part_bytes=int(os.environ.get("PWIIC_EXPORT_PART_BYTES", "1500000")),
    )


TABLE_STREAM_ARN_VARIABLE = "PWIIC_TABLE_STREAM_ARN"
# What `chalice package` wires when the variable is not set (tests, local runs, a review of the template):
# shaped like a stream ARN, naming no table, so a deployment made with it fails instead of listening to
# another table's stream.
TABLE_STREAM_ARN_PLACEHOLDER = (
    "arn:aws:dynamodb:eu-central-2:000000000000:table/SET-PWIIC_TABLE_STREAM_ARN/stream/unset"
)


def table_stream_arn() -> str:
    """The table's stream, which `app.py` hands Chalice when it is imported to deploy or package: the
    stack output `TableStreamArn`, exported as `PWIIC_TABLE_STREAM_ARN` in the deploying shell."""
    return os.environ.get(TABLE_STREAM_ARN_VARIABLE) or TABLE_STREAM_ARN_PLACEHOLDER


@cache
def secret(name: str) -> str:
    """A secret value: `PWIIC_<NAME>` locally, or the SSM SecureString named by `PWIIC_<NAME>_PARAM` in AWS."""
    env_name = f"PWIIC_{name.upper()}"
    value = os.environ.get(env_name)
    if value:
        return value
    parameter = os.environ.get(f"{env_name}_PARAM")
    if not parameter:
        raise RuntimeError(f"neither {env_name} nor {env_name}_PARAM is set")
    from aws_lambda_powertools.utilities import parameters  # boto3 only when a secret lives in SSM

    return str(parameters.get_parameter(parameter, decrypt=True, max_age=300))


def reset() -> None:
    """Forget cached configuration (tests change the environment between cases)."""
    settings.cache_clear()
    secret.cache_clear()
