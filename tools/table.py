"""The DynamoDB table for local runs and tests, created from the CloudFormation template (one source of truth)."""

from __future__ import annotations

import json
import time
from contextlib import suppress
from pathlib import Path
from typing import Any, TypeAlias

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = REPO_ROOT / "infra" / "template.json"

# boto3 ships no type information, so clients are typed as Any.
DynamoDBClient: TypeAlias = Any


def _table_properties(template: Path) -> dict[str, Any]:
    document = json.loads(template.read_text(encoding="utf-8"))
    properties: dict[str, Any] = document["Resources"]["Table"]["Properties"]
    return properties


def table_definition(template: Path = TEMPLATE) -> dict[str, Any]:
    """Keyword arguments for CreateTable, without TableName."""
    return _create_table_arguments(_table_properties(template))


def _create_table_arguments(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "GlobalSecondaryIndexes": properties["GlobalSecondaryIndexes"],
        "BillingMode": properties["BillingMode"],
        # CloudFormation implies StreamEnabled; the API wants it spelled out.
        "StreamSpecification": {"StreamEnabled": True, **properties["StreamSpecification"]},
    }


def dynamodb_client(endpoint: str, region: str = "eu-central-2") -> DynamoDBClient:
    import boto3

    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def _wait_active(client: DynamoDBClient, table_name: str, timeout: float = 300.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        table: dict[str, Any] = client.describe_table(TableName=table_name)["Table"]
        indexes = table.get("GlobalSecondaryIndexes", [])
        if table["TableStatus"] == "ACTIVE" and all(index["IndexStatus"] == "ACTIVE" for index in indexes):
            return table
        if time.monotonic() > deadline:
            raise TimeoutError(f"table {table_name} did not become ACTIVE within {timeout:.0f} s")
        time.sleep(0.2)


def ensure_table(client: DynamoDBClient, table_name: str) -> None:
    """Create the table, or add the indexes it lacks, and switch on TTL; a no-op when all is in place."""
    properties = _table_properties(TEMPLATE)
    definition = _create_table_arguments(properties)
    try:
        table = _wait_active(client, table_name)
    except client.exceptions.ResourceNotFoundException:
        with suppress(client.exceptions.ResourceInUseException):  # another process created it first
            client.create_table(TableName=table_name, **definition)
        table = _wait_active(client, table_name)

    existing = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
    for index in definition["GlobalSecondaryIndexes"]:
        if index["IndexName"] in existing:
            continue
        # DynamoDB allows only one index creation per UpdateTable call.
        client.update_table(
            TableName=table_name,
            AttributeDefinitions=definition["AttributeDefinitions"],
            GlobalSecondaryIndexUpdates=[{"Create": index}],
        )
        _wait_active(client, table_name)

    ttl = client.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
        client.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification=properties["TimeToLiveSpecification"],
        )
