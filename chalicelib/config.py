"""Runtime configuration, read lazily from the environment (never at import time)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    table_name: str
    dynamodb_endpoint: str | None
    jwt_issuer: str
    jwt_audience: str
    jwks_url: str
    operator_group: str
    page_size_max: int
    idempotency_ttl_seconds: int
    platform_shards: int
    max_transfer_amount: int


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"environment variable {name} is not set")
    return value


@cache
def settings() -> Settings:
    return Settings(
        stage=os.environ.get("PWIIC_STAGE", "local"),
        region=os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION", "eu-central-2"),
        table_name=_required("PWIIC_TABLE_NAME"),
        dynamodb_endpoint=os.environ.get("PWIIC_DYNAMODB_ENDPOINT") or None,
        jwt_issuer=_required("PWIIC_JWT_ISSUER"),
        jwt_audience=_required("PWIIC_JWT_AUDIENCE"),
        jwks_url=_required("PWIIC_JWKS_URL"),
        operator_group=os.environ.get("PWIIC_OPERATOR_GROUP", "operators"),
        page_size_max=int(os.environ.get("PWIIC_PAGE_SIZE_MAX", "100")),
        idempotency_ttl_seconds=int(os.environ.get("PWIIC_IDEMPOTENCY_TTL_SECONDS", "86400")),
        platform_shards=int(os.environ.get("PWIIC_PLATFORM_SHARDS", "8")),
        max_transfer_amount=int(os.environ.get("PWIIC_MAX_TRANSFER_AMOUNT", "100000")),
    )


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
