"""Each stage's IAM policy (.chalice/policy-<stage>.json) grants exactly the actions the code calls, on that
stage's resources.

The DynamoDB operations are read from the source (chalicelib/adapters/dynamodb, the only code that talks
to the table): every call of a PynamoDB model class, one of its indexes, a model instance, a transaction,
or the botocore client and connection the adapters share, mapped to the operation it sends, then to the
IAM action that authorises it (a transaction's items are authorised as PutItem, UpdateItem, DeleteItem
and ConditionCheckItem; TransactWriteItems is no IAM action). What the Lambda platform does with the
role is added by what the stage runs: the log streams, the table's stream for a stream handler, X-Ray
where the stage traces. A call through a handle this scanner does not know (a model class bound to another
name) goes unseen: `HANDLES` is where to add one."""

from __future__ import annotations

import ast
import json
from typing import Any

import pytest
from pynamodb.indexes import Index
from pynamodb.models import Model

from chalicelib.adapters.dynamodb import models
from tools import infra

REPO_ROOT = infra.REPO_ROOT
ADAPTERS = REPO_ROOT / "chalicelib" / "adapters" / "dynamodb"
CHALICE = json.loads((REPO_ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
STAGES = [name for name, stage in CHALICE["stages"].items() if "iam_policy_file" in stage]

# What each kind of handle's method sends to DynamoDB (PynamoDB 6: no DescribeTable unless asked).
MODEL_CLASS = {
    "get": "GetItem",
    "query": "Query",
    "scan": "Scan",
    "count": "Query",
    "batch_get": "BatchGetItem",
    "batch_write": "BatchWriteItem",
    "exists": "DescribeTable",
    "describe_table": "DescribeTable",
}
INDEX = {"query": "Query", "scan": "Scan", "count": "Query"}
INSTANCE = {"save": "PutItem", "update": "UpdateItem", "delete": "DeleteItem", "refresh": "GetItem"}
TRANSACTION = {
    "save": "PutItem",
    "update": "UpdateItem",
    "delete": "DeleteItem",
    "condition_check": "ConditionCheckItem",
}
BATCH = {"save": "BatchWriteItem", "delete": "BatchWriteItem"}
CONNECTION = {"get_item": "GetItem", "query": "Query", "scan": "Scan", "batch_get_item": "BatchGetItem"}
CLIENT = {
    **CONNECTION,
    "put_item": "PutItem",
    "update_item": "UpdateItem",
    "delete_item": "DeleteItem",
    "batch_write_item": "BatchWriteItem",
    "transact_write_items": "TransactWriteItems",
    "transact_get_items": "TransactGetItems",
}
# Handles the adapters name by a variable, and what they are.
HANDLES = {
    "_client()": CLIENT,  # reads.py: the botocore client every model shares
    "connection": CONNECTION,  # a PynamoDB TableConnection
    "index": INDEX,
    "self.item": INSTANCE,  # unit_of_work: an action's item, written alone
    "transaction": TRANSACTION,  # unit_of_work: pynamodb.transactions.TransactWrite
    "batch": BATCH,  # a model's batch_write()
}
# The IAM actions an operation needs; a transaction needs its items' (above), nothing of its own.
IAM_FOR = {"TransactWriteItems": set(), "TransactGetItems": {"GetItem"}}


def _methods(receiver: ast.expr) -> dict[str, str]:
    """What the methods of `receiver` send, or nothing when it is no DynamoDB handle."""
    text = ast.unparse(receiver)
    if text in HANDLES:
        return HANDLES[text]
    parts = text.split(".")
    value: Any = getattr(models, parts[0], None)
    if not (isinstance(value, type) and issubclass(value, Model)):
        return {}
    for part in parts[1:]:
        value = getattr(value, part, None)
    if isinstance(value, type) and issubclass(value, Model):
        return MODEL_CLASS
    return INDEX if isinstance(value, Index) else {}  # an attribute: conditions and update actions, no I/O


def operations_in(source: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name) and node.func.id in ("TransactWrite", "TransactGet"):
            found.add(node.func.id + "Items")
        elif isinstance(node.func, ast.Attribute):
            operation = _methods(node.func.value).get(node.func.attr)
            if operation == "Query" and node.func.attr == "count" and not node.args:
                operation = "DescribeTable"  # PynamoDB counts a whole table from DescribeTable's estimate
            if operation:
                found.add(operation)
    return found


def dynamodb_operations() -> set[str]:
    return set().union(*(operations_in(path.read_text(encoding="utf-8")) for path in ADAPTERS.glob("*.py")))


def dynamodb_actions(operations: set[str]) -> set[str]:
    return {f"dynamodb:{action}" for operation in operations for action in IAM_FOR.get(operation, {operation})}


def statements(stage: str) -> list[dict[str, Any]]:
    policy = json.loads((REPO_ROOT / ".chalice" / CHALICE["stages"][stage]["iam_policy_file"]).read_text())
    return [
        {**s, "Action": [s["Action"]] if isinstance(s["Action"], str) else s["Action"]} for s in policy["Statement"]
    ]


def granted(stage: str) -> set[str]:
    return {
        action for statement in statements(stage) if statement["Effect"] == "Allow" for action in statement["Action"]
    }


def reads_secrets_from_ssm() -> bool:
    """config.secret reads SSM parameters decrypted (GetParameter, and KMS through SSM)."""
    return "parameters.get_parameter(parameter, decrypt=True" in (REPO_ROOT / "chalicelib" / "config.py").read_text()


def deletes_cognito_users() -> bool:
    """An erased member's Cognito user is deleted (adapters.identity_provider)."""
    return ".admin_delete_user(" in (REPO_ROOT / "chalicelib" / "adapters" / "identity_provider.py").read_text()


def expected(stage: str) -> set[str]:
    actions = dynamodb_actions(dynamodb_operations())
    actions |= {"logs:CreateLogStream", "logs:PutLogEvents"}  # Lambda writes the function's output
    if any(function.reads_stream for function in infra.functions(stage)):  # Lambda polls the stream as the role
        actions |= {f"dynamodb:{a}" for a in ("DescribeStream", "GetRecords", "GetShardIterator", "ListStreams")}
    if reads_secrets_from_ssm():
        actions |= {"ssm:GetParameter", "kms:Decrypt"}
    if deletes_cognito_users():
        actions.add("cognito-idp:AdminDeleteUser")
    if CHALICE["stages"][stage].get("xray"):
        actions |= {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
    return actions


def test_the_scan_finds_what_the_adapters_send():
    operations = dynamodb_operations()
    assert {
        "GetItem",
        "Query",
        "BatchGetItem",
        "TransactWriteItems",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
    } <= operations
    assert {"ConditionCheckItem", "Scan"} <= operations  # a transaction's checks; the full audit's scan
    assert "DescribeTable" not in operations  # PynamoDB 6 knows the table from the models


@pytest.mark.parametrize(
    ("source", "operations"),
    [
        ("MemberItem.scan()", {"Scan"}),
        ("MemberItem.count()", {"DescribeTable"}),
        ("TransferItem.gsi1.count('pk')", {"Query"}),
        ("MemberItem.PK.exists()", set()),  # a condition, not a request
        ("values.get('x'); found.update({})", set()),
        (
            "with TransactWrite(connection=c) as transaction:\n    transaction.condition_check(M, 'a', 'b', c)",
            {
                "TransactWriteItems",
                "ConditionCheckItem",
            },
        ),
    ],
)
def test_the_scan_maps_calls_to_operations(source, operations):
    assert operations_in(source) == operations


@pytest.mark.parametrize("stage", STAGES)
def test_the_policy_grants_exactly_the_actions_the_code_calls(stage):
    assert granted(stage) == expected(stage)


def test_a_transaction_needs_its_items_actions_not_one_of_its_own():
    assert dynamodb_actions({"TransactWriteItems", "ConditionCheckItem"}) == {"dynamodb:ConditionCheckItem"}


@pytest.mark.parametrize("stage", STAGES)
def test_the_policy_names_only_its_stages_resources(stage):
    table = f"arn:aws:dynamodb:*:*:table/pwiic-{stage}"
    parameters = [v for k, v in CHALICE["stages"][stage]["environment_variables"].items() if k.endswith("_PARAM")]
    for statement in statements(stage):
        services = {action.split(":")[0] for action in statement["Action"]}
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if statement["Action"][0].startswith("dynamodb:") and "dynamodb:GetRecords" in statement["Action"]:
            assert resources == [f"{table}/stream/*"]
        elif services == {"dynamodb"}:
            assert resources == [table, f"{table}/index/*"]
        elif services == {"ssm"}:
            (resource,) = resources
            assert resource == f"arn:aws:ssm:*:*:parameter/pwiic/{stage}/*"
            assert parameters and all(p.startswith(f"/pwiic/{stage}/") for p in parameters)
        elif services == {"logs"}:
            assert resources == [f"arn:aws:logs:*:*:log-group:/aws/lambda/pwiic-{stage}*"]
        elif services == {"cognito-idp"}:
            assert resources == ["arn:aws:cognito-idp:*:*:userpool/*"]  # the pool is the issuer's, any stage's
        elif services == {"kms"}:
            assert statement["Condition"] == {"StringLike": {"kms:ViaService": "ssm.*.amazonaws.com"}}
        else:
            assert services == {"xray"} and resources == ["*"]
