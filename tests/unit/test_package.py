"""tools.package on a tiny fake `chalice package` output: bytecode for the runtime that Python loads
from a read-only directory, what is never loaded left out, the same bytes every time, and a refusal
when the template's runtime is not the interpreter's version. (Building the real artifact needs PyPI
and a minute: bench.artifact does it.)"""

from __future__ import annotations

import json
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tools import package

REPO_ROOT = Path(__file__).resolve().parents[2]
HERE = sys.version_info[:2]
SITE = f"python/lib/python{HERE[0]}.{HERE[1]}/site-packages/"
TAG = sys.implementation.cache_tag

FUNCTION = {
    "app.py": "import lib, pkg.mod\nVALUE = lib.VALUE + pkg.mod.VALUE\n",
    "pkg/__init__.py": "",
    "pkg/mod.py": "VALUE = 1\n",
}
LAYER = {
    SITE + "lib.py": "VALUE = 40\n",
    SITE + "lib-1.0.dist-info/METADATA": "Name: lib\nVersion: 1.0\n",
    SITE + "lib-1.0.dist-info/RECORD": "lib.py,,\n",
    SITE + "botocore/__init__.py": "",
    SITE + "botocore/data/endpoints.json": "{}",
    SITE + "botocore/data/dynamodb/2012-08-10/service-2.json.gz": "model",
    SITE + "botocore/data/ec2/2016-11-15/service-2.json.gz": "model",
    SITE + "certifi/tests/test_certify.py": "assert True\n",
    SITE + "msgspec/__init__.pyi": "VALUE: int\n",
}
LEFT_OUT = {
    SITE + "lib-1.0.dist-info/RECORD",
    SITE + "botocore/data/ec2/2016-11-15/service-2.json.gz",
    SITE + "certifi/tests/test_certify.py",
    SITE + "msgspec/__init__.pyi",
}


def _zip(path: Path, files: dict[str, str]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)


def chalice_output(directory: Path, runtime: tuple[int, int] = HERE) -> Path:
    """The shape of `chalice package --pkg-format cloudformation` with a managed layer."""
    directory.mkdir()
    name = f"python{runtime[0]}.{runtime[1]}"
    function = {"Runtime": name, "Handler": "app.app", "CodeUri": "./deployment.zip", "Layers": [{"Ref": "Layer"}]}
    template = {
        "Resources": {
            "APIHandler": {"Type": "AWS::Serverless::Function", "Properties": function},
            "Job": {"Type": "AWS::Serverless::Function", "Properties": {**function, "Handler": "app.job"}},
            "Layer": {
                "Type": "AWS::Serverless::LayerVersion",
                "Properties": {"CompatibleRuntimes": [name], "ContentUri": "./layer-deployment.zip"},
            },
        }
    }
    (directory / "sam.json").write_text(json.dumps(template))
    _zip(directory / "deployment.zip", FUNCTION)
    _zip(directory / "layer-deployment.zip", LAYER)
    return directory


def _names(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as archive:
        return set(archive.namelist())


def _pyc(source: str) -> str:
    folder, _, file = source.rpartition("/")
    return f"{folder}/__pycache__/{file[:-3]}.{TAG}.pyc".lstrip("/")


def test_bytecode_is_added_for_every_module_and_what_is_never_loaded_is_left_out(tmp_path: Path):
    out = chalice_output(tmp_path / "out")
    template = (out / "sam.json").read_text()

    summary = package.postprocess(out)

    assert summary["runtime"] == f"python{HERE[0]}.{HERE[1]}"
    function, layer = _names(out / "deployment.zip"), _names(out / "layer-deployment.zip")
    assert function == set(FUNCTION) | {_pyc(name) for name in FUNCTION}
    layer_sources = {name for name in LAYER if name.endswith(".py") and name not in LEFT_OUT}
    assert layer == (set(LAYER) - LEFT_OUT) | {_pyc(name) for name in layer_sources}
    assert summary["zips"]["layer-deployment.zip"]["entries_left_out"] == len(LEFT_OUT)
    assert summary["zips"]["deployment.zip"]["bytecode_files"] == len(FUNCTION)
    with zipfile.ZipFile(out / "deployment.zip") as archive:
        header = archive.read(_pyc("app.py"))[4:8]
    assert int.from_bytes(header, "little") == 0b01, "hash-based and unchecked: the source is never read"
    assert (out / "sam.json").read_text() == template, "the template keeps pointing at the rewritten zips"


def test_the_same_output_gives_the_same_bytes_and_a_second_run_changes_nothing(tmp_path: Path):
    first, second = chalice_output(tmp_path / "first"), chalice_output(tmp_path / "second")
    package.postprocess(first)
    package.postprocess(second)
    rewritten = {name: (first / name).read_bytes() for name in ("deployment.zip", "layer-deployment.zip")}
    assert rewritten == {name: (second / name).read_bytes() for name in rewritten}

    package.postprocess(first)
    assert rewritten == {name: (first / name).read_bytes() for name in rewritten}


_SPY = """
import importlib.machinery as machinery, json
compiled = []
original = machinery.SourceFileLoader.source_to_code
def spy(self, data, path, *args, **kwargs):
    compiled.append(path)
    return original(self, data, path, *args, **kwargs)
machinery.SourceFileLoader.source_to_code = spy
import app
print(json.dumps({"value": app.VALUE, "compiled": compiled}))
"""


def _import_read_only(out: Path, root: Path) -> dict[str, object]:
    """Unpack as Lambda does (/var/task, /opt), read-only, and import the app without writing bytecode."""
    task, opt = root / "task", root / "opt"
    with zipfile.ZipFile(out / "deployment.zip") as archive:
        archive.extractall(task)
    with zipfile.ZipFile(out / "layer-deployment.zip") as archive:
        archive.extractall(opt)
    paths = [root, *root.rglob("*")]
    for path in paths:
        path.chmod(stat.S_IMODE(path.stat().st_mode) & ~0o222)
    try:
        result = subprocess.run(
            [sys.executable, "-S", "-B", "-c", _SPY],
            cwd=task,
            env={"PYTHONPATH": f"{task}:{opt / SITE}:{opt / 'python'}"},
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        for path in paths:
            path.chmod(stat.S_IMODE(path.stat().st_mode) | stat.S_IWUSR)
    loaded: dict[str, object] = json.loads(result.stdout)
    return loaded


def test_a_read_only_unpacked_artifact_imports_from_the_shipped_bytecode(tmp_path: Path):
    out = chalice_output(tmp_path / "out")
    raw = tmp_path / "raw"
    shutil.copytree(out, raw)
    package.postprocess(out)

    assert _import_read_only(out, tmp_path / "shipped") == {"value": 41, "compiled": []}
    unprocessed = _import_read_only(raw, tmp_path / "chalice")
    assert unprocessed["value"] == 41
    assert len(unprocessed["compiled"]) == 4, "without shipped bytecode every module is compiled at import"  # type: ignore[arg-type]


def test_bytecode_for_another_python_than_the_runtime_is_refused(tmp_path: Path):
    out = chalice_output(tmp_path / "out", runtime=(HERE[0], HERE[1] + 1))
    before = (out / "deployment.zip").read_bytes()

    with pytest.raises(package.PackagingError, match=f"run python{HERE[0]}.{HERE[1] + 1} but this is Python"):
        package.postprocess(out)
    assert (out / "deployment.zip").read_bytes() == before


def test_a_template_must_name_one_python_runtime():
    def function(runtime: str) -> dict[str, object]:
        return {"Type": "AWS::Serverless::Function", "Properties": {"Runtime": runtime, "CodeUri": "./d.zip"}}

    with pytest.raises(package.PackagingError, match="expected one Python runtime"):
        package.lambda_runtime({"Resources": {"A": function("python3.12"), "B": function("python3.13")}})
    with pytest.raises(package.PackagingError, match="expected one Python runtime"):
        package.lambda_runtime({"Resources": {"A": function("nodejs22.x")}})
    assert package.lambda_runtime({"Resources": {"A": function("python3.13")}}) == (3, 13)


@pytest.mark.parametrize(
    ("name", "left_out"),
    [
        ("python/lib/python3.13/site-packages/botocore/data/ec2/2016-11-15/service-2.json.gz", True),
        ("python/lib/python3.13/site-packages/botocore/data/ssm/2014-11-06/service-2.json.gz", False),
        ("python/lib/python3.13/site-packages/botocore/data/dynamodb/2012-08-10/paginators-1.json", False),
        ("python/lib/python3.13/site-packages/botocore/data/partitions.json", False),
        ("python/lib/python3.13/site-packages/botocore/client.py", False),
        ("python/lib/python3.13/site-packages/stripe-16.1.0.dist-info/RECORD", True),
        ("python/lib/python3.13/site-packages/stripe-16.1.0.dist-info/METADATA", False),
        ("python/lib/python3.13/site-packages/wrapt-2.5.2.dist-info/entry_points.txt", False),
        ("python/lib/python3.13/site-packages/certifi/tests/__init__.py", True),
        ("python/lib/python3.13/site-packages/msgspec/json.pyi", True),
        ("chalicelib/api/listings.py", False),
    ],
)
def test_never_loaded(name: str, left_out: bool):
    assert package.never_loaded(name) is left_out


# How the code names AWS services: boto3/botocore clients, and Powertools' parameter getters.
_CLIENT = re.compile(r"""\b(?:client|create_client|resource)\(\s*["']([a-z0-9-]+)["']""")
_POWERTOOLS_GETTERS = {
    "get_parameter": "ssm",
    "get_parameters": "ssm",
    "get_parameters_by_name": "ssm",
    "get_secret": "secretsmanager",
    "get_secrets_by_name": "secretsmanager",
    "get_app_config": "appconfigdata",
}
_GETTER = re.compile(r"\bparameters\.(" + "|".join(_POWERTOOLS_GETTERS) + r")\(")


def test_the_layer_keeps_the_model_of_every_aws_service_the_code_calls():
    sources = [REPO_ROOT / "app.py", *sorted((REPO_ROOT / "chalicelib").rglob("*.py"))]
    named: set[str] = {"dynamodb"}  # PynamoDB's models
    for source in sources:
        text = source.read_text(encoding="utf-8")
        named.update(_CLIENT.findall(text))
        named.update(_POWERTOOLS_GETTERS[getter] for getter in _GETTER.findall(text))
    assert "ssm" in named, "the secrets are read from SSM through Powertools parameters"
    assert named <= package.BOTOCORE_SERVICES, (
        f"add to tools.package.BOTOCORE_SERVICES: {named - package.BOTOCORE_SERVICES}"
    )


def chalice_rest_template() -> dict[str, Any]:
    """The REST API part of `chalice package`'s SAM template for the real app, in Chalice's shapes."""
    from chalice.deploy.swagger import CFNSwaggerGenerator

    from app import app

    permission_arn = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${RestAPIId}/*"
    return {
        "Resources": {
            "RestAPI": {
                "Type": "AWS::Serverless::Api",
                "Properties": {
                    "EndpointConfiguration": "EDGE",
                    "StageName": "api",
                    "DefinitionBody": CFNSwaggerGenerator().generate_swagger(app),
                    "MinimumCompressionSize": 1024,
                },
            },
            "APIHandler": {"Type": "AWS::Serverless::Function", "Properties": {"Handler": "app.app"}},
            "APIHandlerInvokePermission": {
                "Type": "AWS::Lambda::Permission",
                "Properties": {
                    "FunctionName": {"Ref": "APIHandler"},
                    "Action": "lambda:InvokeFunction",
                    "Principal": "apigateway.amazonaws.com",
                    "SourceArn": {"Fn::Sub": [permission_arn, {"RestAPIId": {"Ref": "RestAPI"}}]},
                },
            },
        },
        "Outputs": {
            "RestAPIId": {"Value": {"Ref": "RestAPI"}},
            "APIHandlerArn": {"Value": {"Fn::GetAtt": ["APIHandler", "Arn"]}},
            "EndpointURL": {
                "Value": {"Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api/"}
            },
        },
    }


def test_the_http_api_front_door_routes_every_route_of_the_app_to_the_same_handler() -> None:
    from app import app

    template = chalice_rest_template()
    rewritten = package.http_api(template)

    resources = rewritten["Resources"]
    assert "RestAPI" not in json.dumps(rewritten) and resources["APIHandler"] == template["Resources"]["APIHandler"]
    definition = resources["HttpAPI"]["Properties"]["DefinitionBody"]
    assert resources["HttpAPI"]["Type"] == "AWS::Serverless::HttpApi"
    assert resources["HttpAPI"]["Properties"]["StageName"] == "api"
    served = {(method.upper(), path) for path, operations in definition["paths"].items() for method in operations}
    routes = {(method, path) for path, entry in app.routes.items() for method in entry}
    assert served == routes, "every route and only them: preflights are API Gateway's own"
    functions = "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions"
    uri = {"Fn::Sub": f"{functions}/${{APIHandler.Arn}}/invocations"}
    for operations in definition["paths"].values():
        for operation in operations.values():
            integration = operation["x-amazon-apigateway-integration"]
            assert integration == {"type": "aws_proxy", "httpMethod": "POST", "uri": uri, "payloadFormatVersion": "1.0"}
    cors = definition["x-amazon-apigateway-cors"]
    assert cors["allowOrigins"] == ["*"] and cors["maxAge"] == 600
    assert {"Authorization", "Content-Type", "Idempotency-Key"} <= set(cors["allowHeaders"])
    assert {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} <= set(cors["allowMethods"])
    assert cors["exposeHeaders"] == ["Retry-After"], "a browser may read a 429's Retry-After"
    source = resources["APIHandlerInvokePermission"]["Properties"]["SourceArn"]["Fn::Sub"]
    assert source[1] == {"HttpAPIId": {"Ref": "HttpAPI"}} and source[0].endswith(":${HttpAPIId}/*")
    outputs = rewritten["Outputs"]
    assert outputs["HttpAPIId"] == {"Value": {"Ref": "HttpAPI"}} and "RestAPIId" not in outputs
    assert outputs["EndpointURL"]["Value"]["Fn::Sub"].startswith("https://${HttpAPI}.execute-api.")
    assert outputs["APIHandlerArn"] == template["Outputs"]["APIHandlerArn"]


def test_routes_that_answer_their_preflights_differently_are_refused() -> None:
    template = chalice_rest_template()
    paths = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    preflight = paths["/me/wallet"]["options"]["x-amazon-apigateway-integration"]["responses"]["default"]
    preflight["responseParameters"]["method.response.header.Access-Control-Allow-Origin"] = "'https://pwiic.ch'"
    with pytest.raises(package.PackagingError, match="Allow-Origin"):
        package.http_api(template)


@pytest.mark.parametrize(("front_door", "api"), [("http_api", "HttpAPI"), ("rest_api", "RestAPI")])
def test_the_stage_is_throttled_per_route_by_the_template_parameters(front_door: str, api: str) -> None:
    template = chalice_rest_template()
    if front_door == "http_api":
        template = package.http_api(template)

    throttled = package.throttled(template)

    limits = {"ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"}}
    limits["ThrottlingBurstLimit"] = {"Ref": "ApiThrottlingBurstLimit"}
    properties = throttled["Resources"][api]["Properties"]
    if front_door == "http_api":
        assert properties["DefaultRouteSettings"] == limits
    else:
        assert properties["MethodSettings"] == [{"HttpMethod": "*", "ResourcePath": "/*", **limits}]
    parameters = throttled["Parameters"]
    assert (parameters["ApiThrottlingRateLimit"]["Default"], parameters["ApiThrottlingBurstLimit"]["Default"]) == (
        100,
        200,
    )
    assert all(parameter["Type"] == "Number" and parameter["MinValue"] == 1 for parameter in parameters.values())
    assert package.throttled(throttled) == throttled, "packaging twice changes nothing"
    assert {name: value for name, value in properties.items() if "Settings" not in name} == (
        template["Resources"][api]["Properties"]
    )
