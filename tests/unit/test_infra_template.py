"""infra/template.json watches what the code runs and emits: a log group and alarms for every function of
app.py (by the name Chalice gives it, in both stages), alarms on the app's own metrics whose namespace and
dimensions are exactly those Powertools emits, and an access-log metric that matches the access line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.metrics import MetricUnit

from chalicelib import observability
from tools import infra

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE: dict[str, Any] = json.loads(infra.TEMPLATE.read_text(encoding="utf-8"))
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]
STAGES = ("dev", "prod")


def resolve(value: Any, stage: str) -> Any:
    """The template's value once CloudFormation substitutes the stage (the only parameter names use)."""
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        return value["Fn::Sub"].replace("${Stage}", stage)
    return value


def of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {logical_id: r["Properties"] for logical_id, r in RESOURCES.items() if r["Type"] == kind}


def lambda_alarms(metric: str, stage: str) -> set[str]:
    """The functions (by name) an alarm on AWS/Lambda `metric` watches."""
    return {
        resolve(p["Dimensions"][0]["Value"], stage)
        for p in of_type("AWS::CloudWatch::Alarm").values()
        if p.get("Namespace") == "AWS/Lambda" and p["MetricName"] == metric
    }


def test_the_template_is_up_to_date_with_the_functions_of_app_py():
    """Adding a handler to app.py without `python -m tools.infra` fails here."""
    assert infra.updated(TEMPLATE, infra.functions(infra.STAGE_REFERENCE)) == TEMPLATE


@pytest.mark.parametrize("stage", STAGES)
def test_every_function_has_its_log_group_and_alarms_by_the_name_chalice_gives_it(stage):
    functions = infra.functions(stage)
    names = {f.name for f in functions}
    assert f"pwiic-{stage}" in names  # the API handler
    assert {f"pwiic-{stage}-{job}" for job in ("void_expired_holds", "table_changes")} <= names
    log_groups = {resolve(p["LogGroupName"], stage): p for p in of_type("AWS::Logs::LogGroup").values()}
    assert set(log_groups) == {f"/aws/lambda/{name}" for name in names}
    assert all(p["RetentionInDays"] == {"Ref": "LogRetentionDays"} for p in log_groups.values())
    assert TEMPLATE["Parameters"]["LogRetentionDays"]["Default"] == 30
    assert lambda_alarms("Errors", stage) == names
    assert lambda_alarms("Throttles", stage) == names
    assert (
        lambda_alarms("IteratorAge", stage)
        == {f.name for f in functions if f.reads_stream}
        == {f"pwiic-{stage}-table_changes"}
    )


def test_a_new_handler_would_need_its_alarms():
    """The check above can fail: a function the template does not know changes the generated part."""
    extra = infra.Function("app.new_job", "pwiic-${Stage}-new_job", "NewJob", serves_api=False, reads_stream=False)
    functions = [*infra.functions(infra.STAGE_REFERENCE), extra]
    assert infra.updated(TEMPLATE, functions) != TEMPLATE
    assert {"LogGroupNewJob", "ErrorsAlarmNewJob", "ThrottlesAlarmNewJob"} <= set(infra.resources(functions))


def emitting_sources() -> list[str]:
    """The chalicelib modules that emit metrics (through `metrics.add_metric`)."""
    sources = [path.read_text(encoding="utf-8") for path in (REPO_ROOT / "chalicelib").rglob("*.py")]
    return [source for source in sources if "metrics.add_metric(" in source]


def app_metric_alarms() -> dict[str, dict[str, Any]]:
    return {
        p["MetricName"]: p for p in of_type("AWS::CloudWatch::Alarm").values() if p.get("Namespace") == infra.NAMESPACE
    }


def test_the_app_metrics_alarmed_on_are_emitted_with_exactly_the_alarm_namespace_and_dimensions(capsys):
    alarms = app_metric_alarms()
    wanted = {"LedgerMismatches", "StreamRecordsRejected", "StripeWebhookFailed", "StripeWebhookRejected"}
    assert wanted <= set(alarms)
    assert all(any(f'"{name}"' in source for source in emitting_sources()) for name in alarms)
    for name, alarm in alarms.items():
        observability.metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
        observability.metrics.flush_metrics()
        (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines() if "_aws" in text]
        (directive,) = line["_aws"]["CloudWatchMetrics"]
        assert alarm["Namespace"] == directive["Namespace"]
        assert [m["Name"] for m in directive["Metrics"]] == [name]
        # CloudWatch matches an alarm to a metric by all of its dimensions, exactly.
        (dimension_names,) = directive["Dimensions"]
        stage = line["stage"]  # the stage the process runs as: CloudFormation's `Stage` in AWS
        alarmed = {d["Name"]: d["Value"] if d["Value"] != {"Ref": "Stage"} else stage for d in alarm["Dimensions"]}
        assert alarmed == {key: line[key] for key in dimension_names}
        assert "stage" in dimension_names  # two stages in one account and region: each alarm watches its own


def test_the_ledger_mismatch_alarm_fires_on_any_mismatch():
    alarm = app_metric_alarms()["LedgerMismatches"]
    assert (alarm["Statistic"], alarm["ComparisonOperator"], alarm["Threshold"]) == (
        "Maximum",
        "GreaterThanThreshold",
        0,
    )


def test_the_api_5xx_metrics_match_the_access_line(monkeypatch, capsys):
    monkeypatch.setattr(observability.logger.registered_handler, "stream", sys.stdout)  # capsys's, now
    observability.access(request_id="r", route="GET /x", status=503, latency_ms=1.0, member_id=None)
    line = json.loads(capsys.readouterr().out)
    filters = {
        p["MetricTransformations"][0]["MetricName"]: p["FilterPattern"]
        for p in of_type("AWS::Logs::MetricFilter").values()
    }
    assert filters == {
        "ApiAnswers": '{ $.message = "request" }',
        "Api5xxAnswers": '{ $.message = "request" && $.status >= 500 }',
    }
    assert line["message"] == "request" and line["status"] == 503
    namespaces = {
        resolve(t["MetricNamespace"], "prod")
        for p in of_type("AWS::Logs::MetricFilter").values()
        for t in p["MetricTransformations"]
    }
    assert namespaces == {"Pwiic/prod"}  # a stage's own: dev and prod may share an account
    (api,) = [f for f in infra.functions("prod") if f.serves_api]
    groups = {p["LogGroupName"]["Ref"] for p in of_type("AWS::Logs::MetricFilter").values()}
    assert groups == {f"LogGroup{api.logical_id}"}


def test_every_alarm_tells_the_operators_topic():
    alarms = of_type("AWS::CloudWatch::Alarm")
    assert {"Api5xxRateAlarm", "DynamoDBThrottlesAlarm", "DynamoDBSystemErrorsAlarm", "LedgerMismatchAlarm"} <= set(
        alarms
    )
    assert all(p["AlarmActions"] == p["OKActions"] == [{"Ref": "AlarmTopic"}] for p in alarms.values())
    assert RESOURCES["AlarmEmailSubscription"]["Condition"] == "HasAlarmEmail"
    assert TEMPLATE["Parameters"]["AlarmEmail"]["Default"] == ""
    (statement,) = RESOURCES["AlarmTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert set(statement["Principal"]["Service"]) == {"cloudwatch.amazonaws.com", "budgets.amazonaws.com"}
