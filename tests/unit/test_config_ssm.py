"""Secrets load from the SSM SecureString parameters each stage names (`PWIIC_<NAME>_PARAM`), decrypted, with
moto's SSM standing in for AWS: as operators create them (docs/operations.md, Deploying to AWS, step 2)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib import config

REPO_ROOT = Path(__file__).resolve().parents[2]
CHALICE = json.loads((REPO_ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
SECRETS = ("cursor_secret", "stripe_secret_key", "stripe_webhook_secret")  # every name chalicelib reads
REGION = "eu-central-2"


def stage_parameters(stage: str) -> dict[str, str]:
    """The secret's name -> the SSM parameter the stage's configuration names for it."""
    variables = CHALICE["stages"][stage]["environment_variables"]
    return {name: variables[f"PWIIC_{name.upper()}_PARAM"] for name in SECRETS}


@pytest.fixture
def ssm(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    import boto3
    from aws_lambda_powertools.utilities import parameters
    from moto import mock_aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for name in SECRETS:
        monkeypatch.delenv(f"PWIIC_{name.upper()}", raising=False)
    with mock_aws():
        parameters.clear_caches()
        # Powertools keeps its SSM provider (and client) between calls: one made under this mock.
        monkeypatch.setattr(parameters.ssm, "DEFAULT_PROVIDERS", {})
        config.reset()
        yield boto3.client("ssm", region_name=REGION)
        config.reset()
        parameters.clear_caches()


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_secret_of_a_stage_is_read_decrypted_from_its_securestring(stage, ssm, monkeypatch):
    for name, parameter in stage_parameters(stage).items():
        assert parameter.startswith(f"/pwiic/{stage}/")
        ssm.put_parameter(Name=parameter, Type="SecureString", Value=f"value of {name} in {stage}")
        monkeypatch.setenv(f"PWIIC_{name.upper()}_PARAM", parameter)
    assert {name: config.secret(name) for name in SECRETS} == {name: f"value of {name} in {stage}" for name in SECRETS}
    # What SSM answers without decryption is not the value: the code asked for it decrypted.
    stored = ssm.get_parameter(Name=stage_parameters(stage)["cursor_secret"], WithDecryption=False)
    assert stored["Parameter"]["Value"] != f"value of cursor_secret in {stage}"


def test_a_secret_in_the_environment_wins_over_its_parameter(ssm, monkeypatch):
    ssm.put_parameter(Name="/pwiic/dev/cursor-secret", Type="SecureString", Value="from ssm")
    monkeypatch.setenv("PWIIC_CURSOR_SECRET_PARAM", "/pwiic/dev/cursor-secret")
    monkeypatch.setenv("PWIIC_CURSOR_SECRET", "from the environment")
    assert config.secret("cursor_secret") == "from the environment"


def test_a_missing_parameter_is_an_error_not_an_empty_secret(ssm, monkeypatch):
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    monkeypatch.setenv("PWIIC_CURSOR_SECRET_PARAM", "/pwiic/dev/not-created")
    with pytest.raises(GetParameterError):
        config.secret("cursor_secret")
    monkeypatch.delenv("PWIIC_CURSOR_SECRET_PARAM")
    with pytest.raises(RuntimeError, match="PWIIC_CURSOR_SECRET_PARAM"):
        config.secret("cursor_secret")
