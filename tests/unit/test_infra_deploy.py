"""infra/template.json deployed through moto's CloudFormation (`mock_aws`): the table the models need (keys,
indexes, stream), a log group per function with its retention, the operators' topic, and the outputs
operators copy into the API's configuration.

moto 5.2's CloudFormation creates the table, log groups and topic; it skips (with a warning) alarms,
metric filters, Cognito, and the topic's policy (the email subscription is left out without
an address), and it ignores the table's TTL
and point-in-time recovery: those are asserted from the template itself (and cfn-lint checks their
schema, tests/unit/test_infra_lint.py)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.adapters.dynamodb.models import TableItem
from tools import infra

BUDGET: dict[str, Any] = json.loads((infra.REPO_ROOT / "infra" / "budget.json").read_text(encoding="utf-8"))

REGION = "eu-central-2"
TEMPLATE: dict[str, Any] = json.loads(infra.TEMPLATE.read_text(encoding="utf-8"))
TABLE: dict[str, Any] = TEMPLATE["Resources"]["Table"]["Properties"]
NOT_DEPLOYED_BY_MOTO = {
    "AWS::CloudWatch::Alarm",
    "AWS::Cognito::UserPool",
    "AWS::Cognito::UserPoolClient",
    "AWS::Cognito::UserPoolGroup",
    "AWS::Logs::MetricFilter",
    "AWS::SNS::TopicPolicy",
}


class Deployed:
    def __init__(self, stack: dict[str, Any], skipped: set[str]) -> None:
        import boto3

        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        self.status = stack["StackStatus"]
        self.skipped = skipped
        self.table = boto3.client("dynamodb", region_name=REGION).describe_table(TableName="pwiic-prod")["Table"]
        groups = boto3.client("logs", region_name=REGION).describe_log_groups(logGroupNamePrefix="/aws/lambda/")
        self.log_groups = {g["logGroupName"]: g.get("retentionInDays") for g in groups["logGroups"]}
        self.topics = [t["TopicArn"] for t in boto3.client("sns", region_name=REGION).list_topics()["Topics"]]


@pytest.fixture(scope="module")
def deployed() -> Iterator[Deployed]:
    import boto3
    from moto import mock_aws

    with mock_aws(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        cloudformation.create_stack(
            StackName="pwiic-data-prod",
            TemplateBody=json.dumps(TEMPLATE),
            Parameters=[{"ParameterKey": "Stage", "ParameterValue": "prod"}],
        )
        (stack,) = cloudformation.describe_stacks(StackName="pwiic-data-prod")["Stacks"]
        prefix = "Tried to parse "
        skipped = {str(w.message)[len(prefix) :].split()[0] for w in caught if str(w.message).startswith(prefix)}
        yield Deployed(stack, skipped)


def test_moto_deploys_the_stack_and_skips_only_the_types_asserted_from_the_template(deployed):
    assert deployed.status == "CREATE_COMPLETE"
    assert deployed.skipped == NOT_DEPLOYED_BY_MOTO


def keys(schema: list[dict[str, str]]) -> dict[str, str]:
    return {key["KeyType"]: key["AttributeName"] for key in schema}


def test_the_table_has_the_keys_and_indexes_the_models_declare(deployed):
    table, schema = deployed.table, TableItem._get_schema()
    assert keys(table["KeySchema"]) == keys(schema["key_schema"]) == {"HASH": "PK", "RANGE": "SK"}
    assert {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]} == {
        a["AttributeName"]: a["AttributeType"] for a in schema["attribute_definitions"]
    }
    deployed_indexes = {
        i["IndexName"]: (keys(i["KeySchema"]), i["Projection"]) for i in table["GlobalSecondaryIndexes"]
    }
    declared = {i["index_name"]: (keys(i["key_schema"]), i["projection"]) for i in schema["global_secondary_indexes"]}
    assert deployed_indexes == declared
    assert set(declared) == {"GSI1", "GSI2", "GSI3"}
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert deployed.outputs["TableName"] == "pwiic-prod"
    assert deployed.outputs["TableStreamArn"] == table["LatestStreamArn"]


def test_ttl_point_in_time_recovery_and_retention_of_the_table_as_the_template_declares():
    """moto's CloudFormation ignores these two properties: the template is their evidence."""
    ttl_attribute = TABLE["TimeToLiveSpecification"]
    assert ttl_attribute == {"AttributeName": "expires_at", "Enabled": True}
    assert TableItem.expires_at.attr_name == ttl_attribute["AttributeName"]  # the attribute the code writes
    assert TABLE["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    table = TEMPLATE["Resources"]["Table"]
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"


def test_every_function_has_a_log_group_kept_30_days(deployed):
    wanted = {f"/aws/lambda/{function.name}" for function in infra.functions("prod")}
    assert deployed.log_groups == dict.fromkeys(wanted, 30)


def test_the_operators_topic_is_deployed_and_an_output(deployed):
    assert deployed.topics == [deployed.outputs["AlarmTopicArn"]]
    assert deployed.outputs["AlarmTopicArn"].endswith(":pwiic-prod-alarms")


def test_the_user_pool_is_on_the_lite_tier_and_has_the_operators_group():
    resources = TEMPLATE["Resources"]
    assert resources["UserPool"]["Properties"]["UserPoolTier"] == "LITE"
    assert resources["UserPool"]["DeletionPolicy"] == "Retain"
    assert resources["OperatorsGroup"]["Properties"]["GroupName"] == "operators"


def test_the_budget_is_yearly_in_usd_from_its_parameter_and_warns_before_it_is_spent():
    """infra/budget.json (us-east-1: CloudFormation has no AWS::Budgets::Budget in eu-central-2, and moto's
    CloudFormation none at all)."""
    (budget,) = BUDGET["Resources"].values()
    properties = budget["Properties"]
    assert budget["Type"] == "AWS::Budgets::Budget"
    assert properties["Budget"]["TimeUnit"] == "ANNUALLY"
    assert properties["Budget"]["BudgetType"] == "COST"
    assert properties["Budget"]["BudgetLimit"] == {"Amount": {"Ref": "YearlyBudgetUsd"}, "Unit": "USD"}
    assert BUDGET["Parameters"]["YearlyBudgetUsd"]["Default"] == 1875  # 1,500 CHF at 1.25 USD per CHF
    notifications = {
        (n["Notification"]["NotificationType"], n["Notification"]["Threshold"]): n["Subscribers"]
        for n in properties["NotificationsWithSubscribers"]
    }
    assert set(notifications) == {("ACTUAL", 80), ("FORECASTED", 100)}
    for subscribers in notifications.values():
        addresses = {s["Fn::If"][1]["SubscriptionType"]: s["Fn::If"][1]["Address"] for s in subscribers}
        assert addresses == {"SNS": {"Ref": "AlarmTopicArn"}, "EMAIL": {"Ref": "NotifyEmail"}}
