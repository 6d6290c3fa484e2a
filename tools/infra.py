"""What infra/template.json (the data and monitoring stack, deployed once per stage) holds for each Lambda
function of app.py: its log group, its Errors and Throttles alarms, and for a stream handler its
IteratorAge alarm; for the API handler, the access-log metrics of the API's 5xx rate.

The functions and their names come from Chalice's own application graph, as `chalice deploy` names them
(`pwiic-<stage>` for the API handler, `pwiic-<stage>-<handler>` for the others); `tools.package` gives the
packaged functions the same names. These resources carry `Metadata.GeneratedBy` and are written by
`python -m tools.infra` (after adding or removing a handler in app.py): every other resource of the
template is written by hand. tests/unit/test_infra_template.py fails when the file is not up to date.

Usage: python -m tools.infra [--check]"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = REPO_ROOT / "infra" / "template.json"
GENERATOR = "tools.infra"
# Chalice names a function from its stage's name: given CloudFormation's reference to the stack's
# parameter as the stage, the name it builds is the template's `Fn::Sub` string.
STAGE_REFERENCE = "${Stage}"
ALARM_TOPIC = {"Ref": "AlarmTopic"}
NAMESPACE = "Pwiic"  # the app's metrics (observability.metrics)
# The API's metrics counted from its log group, one namespace per stage (a metric filter's dimensions can
# only be fields of the log line, and the access line does not name the stage).
ACCESS_NAMESPACE = {"Fn::Sub": f"{NAMESPACE}/{STAGE_REFERENCE}"}
# The access line observability.access writes for every answer the API handler gives.
ACCESS_LINE = '$.message = "request"'
ITERATOR_AGE_MS = 600_000  # 10 minutes: the reconciliation waits 15 (its settle window) for what is late


@dataclass(frozen=True)
class Function:
    handler: str  # the Lambda handler, e.g. app.void_expired_holds
    name: str  # the function's name, e.g. pwiic-prod-void_expired_holds
    logical_id: str  # the resource names' suffix in infra/template.json, e.g. VoidExpiredHolds
    serves_api: bool
    reads_stream: bool


def functions(stage: str) -> list[Function]:
    """Every Lambda function Chalice makes of app.py for `stage`, in the order of its graph."""
    from chalice.cli.factory import CLIFactory
    from chalice.deploy import models
    from chalice.deploy.appgraph import ApplicationGraphBuilder, DependencyBuilder
    from chalice.utils import to_cfn_resource_name

    config = CLIFactory(project_dir=str(REPO_ROOT)).create_config_obj(chalice_stage_name=stage)
    graph = DependencyBuilder().build_dependencies(ApplicationGraphBuilder().build(config, stage))
    api = {id(r.lambda_function) for r in graph if isinstance(r, models.RestAPI)}
    streams = {id(r.lambda_function) for r in graph if isinstance(r, models.DynamoDBEventSource)}
    return [
        Function(
            handler=r.handler,
            name=r.function_name,
            logical_id=to_cfn_resource_name(r.resource_name),
            serves_api=id(r) in api,
            reads_stream=id(r) in streams,
        )
        for r in graph
        if isinstance(r, models.LambdaFunction)
    ]


def _alarm(description: str, metric: dict[str, Any], threshold: float, **more: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Metadata": {"GeneratedBy": GENERATOR},
        "Properties": {
            "AlarmDescription": description,
            **metric,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanThreshold",
            "EvaluationPeriods": 1,
            "TreatMissingData": "notBreaching",
            "AlarmActions": [ALARM_TOPIC],
            "OKActions": [ALARM_TOPIC],
            **more,
        },
    }


def _lambda_metric(function: Function, metric: str, statistic: str) -> dict[str, Any]:
    return {
        "Namespace": "AWS/Lambda",
        "MetricName": metric,
        "Dimensions": [{"Name": "FunctionName", "Value": {"Fn::Sub": function.name}}],
        "Statistic": statistic,
        "Period": 300,
    }


def _access_metric(function: Function, metric: str, pattern: str) -> dict[str, Any]:
    return {
        "Type": "AWS::Logs::MetricFilter",
        "Metadata": {"GeneratedBy": GENERATOR},
        "Properties": {
            "LogGroupName": {"Ref": f"LogGroup{function.logical_id}"},
            "FilterPattern": f"{{ {pattern} }}",
            "MetricTransformations": [
                {"MetricNamespace": ACCESS_NAMESPACE, "MetricName": metric, "MetricValue": "1", "DefaultValue": 0}
            ],
        },
    }


def _api_resources(function: Function) -> dict[str, dict[str, Any]]:
    """The API's 5xx rate from the handler's access lines: the same for both front doors (HTTP API
    packaged, REST API deployed by Chalice), whose own metrics name an API id this stack does not know.
    What API Gateway answers without the handler (a crash, a timeout, a throttle) is in the function's
    Errors and Throttles alarms."""
    per_answer = {"Period": 300, "Stat": "Sum"}
    return {
        "ApiAnswersMetric": _access_metric(function, "ApiAnswers", ACCESS_LINE),
        "Api5xxAnswersMetric": _access_metric(function, "Api5xxAnswers", f"{ACCESS_LINE} && $.status >= 500"),
        "Api5xxRateAlarm": _alarm(
            "More than 5% of the API's answers were 5xx over 5 minutes (at least 20 answers): 500s are "
            "unhandled errors (their stack trace is logged), 503s a busy ledger or identity provider.",
            {
                "Metrics": [
                    {
                        "Id": "answers",
                        "MetricStat": {"Metric": _named("ApiAnswers"), **per_answer},
                        "ReturnData": False,
                    },
                    {
                        "Id": "failed",
                        "MetricStat": {"Metric": _named("Api5xxAnswers"), **per_answer},
                        "ReturnData": False,
                    },
                    {"Id": "rate", "Expression": "IF(answers >= 20, 100 * failed / answers, 0)", "ReturnData": True},
                ]
            },
            5,
            AlarmName={"Fn::Sub": f"{function.name}-api-5xx-rate"},
        ),
    }


def _named(metric: str) -> dict[str, Any]:
    return {"Namespace": ACCESS_NAMESPACE, "MetricName": metric}


def resources(functions: Sequence[Function]) -> dict[str, dict[str, Any]]:
    """The generated resources of infra/template.json, by logical id."""
    generated: dict[str, dict[str, Any]] = {}
    for function in functions:
        suffix = function.logical_id
        generated[f"LogGroup{suffix}"] = {
            "Type": "AWS::Logs::LogGroup",
            "Metadata": {"GeneratedBy": GENERATOR},
            "Properties": {
                "LogGroupName": {"Fn::Sub": f"/aws/lambda/{function.name}"},
                "RetentionInDays": {"Ref": "LogRetentionDays"},
            },
        }
        generated[f"ErrorsAlarm{suffix}"] = _alarm(
            f"{function.handler} raised or timed out (an invocation failed) in the last 5 minutes.",
            _lambda_metric(function, "Errors", "Sum"),
            0,
            AlarmName={"Fn::Sub": f"{function.name}-errors"},
        )
        generated[f"ThrottlesAlarm{suffix}"] = _alarm(
            f"Lambda refused to run {function.handler} (throttled: concurrency) in the last 5 minutes.",
            _lambda_metric(function, "Throttles", "Sum"),
            0,
            AlarmName={"Fn::Sub": f"{function.name}-throttles"},
        )
        if function.reads_stream:
            generated[f"IteratorAgeAlarm{suffix}"] = _alarm(
                f"{function.handler} is more than 10 minutes behind the table's stream for 15 minutes: "
                "the reconciliation reports transactions in flight, and records expire after 24 hours.",
                _lambda_metric(function, "IteratorAge", "Maximum"),
                ITERATOR_AGE_MS,
                AlarmName={"Fn::Sub": f"{function.name}-iterator-age"},
                EvaluationPeriods=3,
            )
        if function.serves_api:
            generated.update(_api_resources(function))
    return generated


def updated(template: dict[str, Any], functions: Sequence[Function]) -> dict[str, Any]:
    """`template` with its generated resources replaced by those of `functions`."""
    kept = {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource.get("Metadata", {}).get("GeneratedBy") != GENERATOR
    }
    return {**template, "Resources": {**kept, **resources(functions)}}


def named(template: dict[str, Any], stage: str) -> dict[str, Any]:
    """`chalice package`'s template with every function named as `chalice deploy` names it (without a
    name, CloudFormation would make one up, and the log groups and alarms of this stack would watch
    nothing). A function is found by its handler."""
    names = {function.handler: function.name for function in functions(stage)}
    resources = dict(template["Resources"])
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::Serverless::Function":
            properties = resource["Properties"]
            resources[logical_id] = {
                **resource,
                "Properties": {**properties, "FunctionName": names[properties["Handler"]]},
            }
    return {**template, "Resources": resources}


def render(template: dict[str, Any]) -> str:
    return json.dumps(template, indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.infra", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only say whether the template is up to date")
    args = parser.parse_args(argv)
    current = TEMPLATE.read_text(encoding="utf-8")
    wanted = render(updated(json.loads(current), functions(STAGE_REFERENCE)))
    if args.check:
        sys.exit(0 if wanted == current else f"{TEMPLATE} is not up to date: run python -m tools.infra")
    TEMPLATE.write_text(wanted, encoding="utf-8")


if __name__ == "__main__":
    main()
