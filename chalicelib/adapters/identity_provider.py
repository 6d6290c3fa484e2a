"""The identity provider's admin API, for one thing only: deleting an erased member's account. Only
Cognito is called (AdminDeleteUser, its pool taken from the issuer URL); another provider's account is
deleted there by an operator. boto3 is imported only when a deletion happens."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from chalicelib import errors

# https://cognito-idp.<region>.amazonaws.com/<pool id>, the pool id being "<region>_<id>"
COGNITO_ISSUER = re.compile(r"^https://cognito-idp\.([a-z0-9-]+)\.amazonaws\.com/([a-z0-9-]+_[0-9A-Za-z]+)/?$")


def cognito_pool(issuer: str) -> tuple[str, str] | None:
    """The region and user pool id of a Cognito issuer; None for another provider."""
    found = COGNITO_ISSUER.match(issuer)
    return (found[1], found[2]) if found else None


def delete_account(issuer: str, member_id: str) -> bool:
    """Deletes the member's Cognito user (the token's `sub` names it); an account already gone counts as
    deleted. False when the provider is not Cognito: nothing was called."""
    pool = cognito_pool(issuer)
    if pool is None:
        return False
    region, pool_id = pool
    client = _client(region)
    try:
        client.admin_delete_user(UserPoolId=pool_id, Username=member_id)
    except client.exceptions.UserNotFoundException:
        pass  # deleted by an earlier try
    except Exception as error:  # unreachable, throttled or refused: the erasure's retry calls again
        raise errors.IdentityProviderUnavailable("identity.identity-provider-could-delete") from error
    return True


@cache
def _client(region: str) -> Any:
    import boto3
    from botocore.config import Config

    timeouts = Config(connect_timeout=1, read_timeout=3, retries={"max_attempts": 2, "mode": "standard"})
    return boto3.client("cognito-idp", region_name=region, config=timeouts)


def reset() -> None:
    _client.cache_clear()
