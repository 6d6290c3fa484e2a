"""Deleting an erased member's account at the identity provider: Cognito's AdminDeleteUser on the pool the
issuer names (moto's Cognito), for the user whose `sub` is the member id; nothing is called for another
provider; a failure is a 503 the erasure's retry gets past."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.adapters import identity_provider
from chalicelib.api.problems import status_of
from chalicelib.errors import AppError

REGION = "eu-central-2"


@pytest.fixture
def cognito(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    identity_provider.reset()
    with mock_aws():
        yield boto3.client("cognito-idp", region_name=REGION)
    identity_provider.reset()


def user(client: Any, pool_id: str, email: str) -> str:
    created = client.admin_create_user(UserPoolId=pool_id, Username=email)["User"]
    return next(a["Value"] for a in created["Attributes"] if a["Name"] == "sub")


def usernames(client: Any, pool_id: str) -> set[str]:
    return {u["Username"] for u in client.list_users(UserPoolId=pool_id)["Users"]}


def test_the_members_cognito_user_is_deleted_and_only_theirs(cognito):
    pool_id = cognito.create_user_pool(PoolName="pwiic-test", UsernameAttributes=["email"])["UserPool"]["Id"]
    issuer = f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}"
    ann, ben = user(cognito, pool_id, "ann@example.ch"), user(cognito, pool_id, "ben@example.ch")

    assert identity_provider.delete_account(issuer, ann) is True
    assert usernames(cognito, pool_id) == {ben}
    assert identity_provider.delete_account(issuer, ann) is True  # gone already: a retry is done too
    assert usernames(cognito, pool_id) == {ben}


def test_a_provider_that_refuses_is_a_503_to_retry(cognito):
    issuer = f"https://cognito-idp.{REGION}.amazonaws.com/{REGION}_missingpool"
    with pytest.raises(AppError) as refused:
        identity_provider.delete_account(issuer, "ann")
    assert (status_of(refused.value), refused.value.code) == (503, "identity-provider-unavailable")


@pytest.mark.parametrize(
    ("issuer", "pool"),
    [
        ("https://cognito-idp.eu-central-2.amazonaws.com/eu-central-2_AbC123", ("eu-central-2", "eu-central-2_AbC123")),
        ("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_x9/", ("eu-west-1", "eu-west-1_x9")),
        ("https://id.example.ch/realms/pwiic", None),
        ("https://evil.example/cognito-idp.eu-central-2.amazonaws.com/eu-central-2_AbC123", None),
        ("https://tenant.eu.auth0.com/", None),
    ],
)
def test_the_pool_comes_from_a_cognito_issuer_only(issuer, pool):
    assert identity_provider.cognito_pool(issuer) == pool


def test_another_provider_is_not_called():
    assert identity_provider.delete_account("https://id.example.ch/realms/pwiic", "ann") is False
