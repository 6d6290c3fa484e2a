"""The deployment artifact of a stage: `chalice package` output whose zips carry bytecode for the Lambda
runtime and leave out what no code path loads.

Lambda unpacks the function into /var/task and the layer into /opt, both read-only: without shipped
bytecode every cold start compiles the app and its libraries from source. Chalice gives the functions
the runtime of the interpreter that runs it (`Config.lambda_python_version`), so this module runs
`chalice package` with its own interpreter, compiles with that same interpreter, and refuses when the
template's runtime is another version (the bytecode would be ignored).

The API's routes go behind an HTTP API rather than Chalice's REST API (`--front-door rest_api` keeps
the REST API): the same handler, at a third of the price per request (docs/cost.md). Either front door's
stage is throttled per route, by two parameters of the template (`THROTTLING`).

Usage: python -m tools.package [--stage dev] [--front-door http_api|rest_api] OUT  (scripts/package runs it in
the packaging venv). Prints one JSON object: the zips, their sizes before and after, what was left out
and compiled, and the front door."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from tools import infra

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = "sam.json"
OLDEST_RUNTIME = (3, 12)  # Lambda no longer creates python3.11 functions (docs/operations.md)
DEFAULT_REGION = "eu-central-2"

# Where Lambda unpacks the zip each resource type names.
LAMBDA_ROOTS = {
    "AWS::Serverless::Function": ("CodeUri", "/var/task"),
    "AWS::Serverless::LayerVersion": ("ContentUri", "/opt"),
}

# botocore's models of the services a code path calls. The other ~440 service directories under
# botocore/data (15.6 of the layer's 26 MB zipped) are left out: creating a client for one of them
# would raise UnknownServiceError. tests/unit/test_package.py checks the code names no other service.
BOTOCORE_SERVICES = frozenset(
    {
        "dynamodb",  # PynamoDB
        "ssm",  # secrets read through Powertools parameters (chalicelib/config.py)
        "cognito-idp",  # AdminDeleteUser when a member erases their account (adapters/identity_provider.py)
        "xray",  # the X-Ray SDK's sampling-rules client, on stages that trace
    }
)

# Fixed metadata, so that the same input gives the same bytes (Chalice also dates entries 1980-01-01).
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
ZIP_FILE_MODE = 0o100644 << 16
UNIX = 3
_LAYER_PREFIX = re.compile(r"^python/lib/python3\.\d+/site-packages/")
FRONT_DOORS = ("http_api", "rest_api")
DEFAULT_FRONT_DOOR = "http_api"
# The 1.0 payload is the REST API's event shape (Chalice routes by `requestContext.resourcePath`, the
# route's path in both); 2.0 is another shape Chalice does not read.
HTTP_API_PAYLOAD_FORMAT = "1.0"
_CORS_HEADER = "method.response.header.Access-Control-"
# The stage's throttling, a token bucket per route that API Gateway answers 429 beyond: parameters of the
# template, so a deployment sets them (`--parameter-overrides ApiThrottlingRateLimit=...`) without a new
# package. The defaults are some 20 times the busiest route's average at 100,000 active members.
THROTTLING = {
    "ApiThrottlingRateLimit": (
        "ThrottlingRateLimit",
        100,
        "Requests per second each route of the API passes, steadily",
    ),
    "ApiThrottlingBurstLimit": ("ThrottlingBurstLimit", 200, "Requests each route of the API passes at once"),
}


class PackagingError(Exception):
    pass


def never_loaded(name: str) -> bool:
    """Entries of a zip that no code path reads at run time."""
    parts = PurePosixPath(name).parts
    if name.endswith(".dist-info/RECORD"):
        # pip's list of installed files (wrong once files are left out); importlib.metadata reads
        # METADATA and entry_points.txt at run time, RECORD only for files(), which nothing calls.
        return True
    if name.endswith(".pyi") or "tests" in parts[:-1]:
        return True  # type stubs; packages' own test suites
    for index in range(len(parts) - 3):  # botocore/data/<service>/<file...>; top-level data files stay
        if parts[index : index + 2] == ("botocore", "data"):
            return parts[index + 2] not in BOTOCORE_SERVICES
    return False


def lambda_runtime(template: Mapping[str, Any]) -> tuple[int, int]:
    """The one Python version every function and layer of the template runs on."""
    runtimes: set[str] = set()
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            runtimes.add(properties["Runtime"])
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            runtimes.update(properties.get("CompatibleRuntimes", ()))
    versions = {re.fullmatch(r"python(\d+)\.(\d+)", runtime) for runtime in runtimes}
    if len(versions) != 1 or None in versions:
        raise PackagingError(f"expected one Python runtime in {TEMPLATE}, found {sorted(runtimes)}")
    (match,) = versions
    assert match is not None
    return int(match[1]), int(match[2])


def check_packaging_python() -> None:
    """scripts/package asks before it makes a venv of this interpreter."""
    if sys.version_info[:2] < OLDEST_RUNTIME:
        raise PackagingError(
            f"Python {sys.version_info[0]}.{sys.version_info[1]} would give the functions a runtime "
            f"Lambda no longer creates: package with python{OLDEST_RUNTIME[0]}.{OLDEST_RUNTIME[1]} or newer"
        )


def check_interpreter(runtime: tuple[int, int]) -> None:
    """Bytecode is named and checked per interpreter version (`x.cpython-313.pyc`): compiled by another
    version, Lambda would ignore it and compile from source again."""
    here = sys.version_info[:2]
    if here != runtime:
        raise PackagingError(
            f"the template's functions run python{runtime[0]}.{runtime[1]} but this is Python "
            f"{here[0]}.{here[1]}: package and compile with python{runtime[0]}.{runtime[1]}"
        )


def code_zips(template: Mapping[str, Any]) -> dict[str, str]:
    """Each zip the template deploys (a path relative to it) and where Lambda unpacks it."""
    zips: dict[str, str] = {}
    for name, resource in template["Resources"].items():
        if resource["Type"] not in LAMBDA_ROOTS:
            continue
        key, root = LAMBDA_ROOTS[resource["Type"]]
        uri = resource["Properties"][key]
        if not isinstance(uri, str) or not uri.endswith(".zip"):
            raise PackagingError(f"{name}.{key} is not a local zip: {uri!r}")
        path = str(PurePosixPath(uri))
        if zips.setdefault(path, root) != root:
            raise PackagingError(f"{path} is used both as a function and as a layer")
    return zips


def _compile(tree: Path, root: str) -> None:
    """`__pycache__/<module>.cpython-3XY.pyc` next to each source, the only layout Python loads when the
    source is present (a legacy `<module>.pyc` beside it is ignored). Unchecked-hash pycs are trusted
    without looking at the source: timestamp pycs would be checked against the mtime Lambda gives the
    unpacked file, and checked-hash ones would read and hash every source at each cold start. The
    artifact is immutable, so nothing can go stale. PYTHONHASHSEED fixes the order of frozenset
    constants, and `-d` the paths recorded in the code objects: the same sources give the same bytes."""
    command = [sys.executable, "-m", "compileall", "-q", "-j", "0", "-d", root, str(tree)]
    result = subprocess.run(
        [*command, "--invalidation-mode", "unchecked-hash"],
        env={**os.environ, "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise PackagingError(f"compiling for {root} failed:\n{result.stdout[-4000:]}{result.stderr[-4000:]}")


def _write_zip(path: Path, entries: Mapping[str, tuple[bytes, int]]) -> None:
    with zipfile.ZipFile(path, "w") as target:
        for name in sorted(entries):
            data, mode = entries[name]
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.create_system = UNIX
            info.external_attr = mode
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, data, compresslevel=9)


def rewrite_zip(path: Path, root: str) -> dict[str, Any]:
    """Leave out what is never loaded, add bytecode for every module, and write the zip again in place."""
    before = path.stat().st_size
    with tempfile.TemporaryDirectory(prefix="pwiic-package-") as scratch:
        tree = Path(scratch)
        with zipfile.ZipFile(path) as source:
            infos = [info for info in source.infolist() if not info.is_dir()]
            # Bytecode already in the zip (a second run) is compiled again, never kept twice.
            infos = [info for info in infos if "__pycache__" not in PurePosixPath(info.filename).parts]
            removed = [info for info in infos if never_loaded(info.filename)]
            entries = {
                info.filename: (source.read(info), info.external_attr or ZIP_FILE_MODE)
                for info in infos
                if not never_loaded(info.filename)
            }
        for name, (data, _) in entries.items():
            if name.endswith(".py"):
                target = tree / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        _compile(tree, root)
        compiled = {pyc.relative_to(tree).as_posix(): pyc.read_bytes() for pyc in tree.rglob("*.pyc")}
    entries.update({name: (data, ZIP_FILE_MODE) for name, data in compiled.items()})
    partial = path.with_name(path.name + ".partial")
    _write_zip(partial, entries)
    os.replace(partial, path)
    return {
        "unpacked_at": root,
        "zipped_bytes_before": before,
        "zipped_bytes": path.stat().st_size,
        "entries_left_out": len(removed),
        "zipped_bytes_left_out": sum(info.compress_size for info in removed),
        "bytecode_files": len(compiled),
    }


def postprocess(out: Path, front_door: str = DEFAULT_FRONT_DOOR) -> dict[str, Any]:
    """Rewrite, in place, every zip the template in `out` deploys (the template keeps pointing at them),
    and the template for the front door."""
    template = json.loads((out / TEMPLATE).read_text(encoding="utf-8"))
    runtime = lambda_runtime(template)
    check_interpreter(runtime)
    zips = {name: rewrite_zip(out / name, root) for name, root in sorted(code_zips(template).items())}
    front = http_api(template) if front_door == "http_api" and "RestAPI" in template["Resources"] else template
    rewritten = throttled(front)
    if rewritten != template:
        (out / TEMPLATE).write_text(json.dumps(rewritten, indent=2) + "\n", encoding="utf-8")
    return {
        "front_door": front_door,
        "runtime": f"python{runtime[0]}.{runtime[1]}",
        "zips": zips,
        "zipped_bytes_total": sum(figures["zipped_bytes"] for figures in zips.values()),
    }


def http_api(template: dict[str, Any]) -> dict[str, Any]:
    """`template` with Chalice's REST API replaced by an HTTP API over the same routes and handler. The
    preflights Chalice answers with mock integrations become the HTTP API's CORS configuration; there is
    no compression (an HTTP API does not offer it)."""
    resources = dict(template["Resources"])
    rest = resources.pop("RestAPI")
    swagger = rest["Properties"]["DefinitionBody"]
    paths: dict[str, dict[str, Any]] = {}
    preflights: list[Mapping[str, str]] = []
    for path, operations in swagger["paths"].items():
        for method, operation in operations.items():
            integration = operation["x-amazon-apigateway-integration"]
            if method == "options":
                preflights.append(integration["responses"]["default"]["responseParameters"])
                continue
            if integration["type"] != "aws_proxy":
                raise PackagingError(f"{method.upper()} {path}: a {integration['type']} integration")
            paths.setdefault(path, {})[method] = {
                "x-amazon-apigateway-integration": {
                    "type": "aws_proxy",
                    "httpMethod": "POST",
                    "uri": integration["uri"],
                    "payloadFormatVersion": HTTP_API_PAYLOAD_FORMAT,
                }
            }
    definition: dict[str, Any] = {"openapi": "3.0.1", "info": swagger["info"], "paths": paths}
    if preflights:
        definition["x-amazon-apigateway-cors"] = _cors(preflights)
    stage = rest["Properties"]["StageName"]
    resources["HttpAPI"] = {
        "Type": "AWS::Serverless::HttpApi",
        "Properties": {"StageName": stage, "DefinitionBody": definition},
    }
    permission = resources["APIHandlerInvokePermission"]
    resources["APIHandlerInvokePermission"] = {
        **permission,
        "Properties": {
            **permission["Properties"],
            "SourceArn": {
                "Fn::Sub": [
                    "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpAPIId}/*",
                    {"HttpAPIId": {"Ref": "HttpAPI"}},
                ]
            },
        },
    }
    outputs = {name: value for name, value in template.get("Outputs", {}).items() if name != "RestAPIId"}
    outputs["HttpAPIId"] = {"Value": {"Ref": "HttpAPI"}}
    outputs["EndpointURL"] = {
        "Value": {"Fn::Sub": f"https://${{HttpAPI}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{stage}/"}
    }
    rewritten = {**template, "Resources": resources, "Outputs": outputs}
    if "RestAPI" in json.dumps(rewritten):
        raise PackagingError(f"{TEMPLATE} still refers to the REST API somewhere")
    return rewritten


def throttled(template: dict[str, Any]) -> dict[str, Any]:
    """`template` with its API's stage throttled (either front door), the limits as template parameters."""
    resources = dict(template["Resources"])
    settings = {setting: {"Ref": parameter} for parameter, (setting, _, _) in THROTTLING.items()}
    if "HttpAPI" in resources:
        api = resources["HttpAPI"]
        resources["HttpAPI"] = {**api, "Properties": {**api["Properties"], "DefaultRouteSettings": settings}}
    elif "RestAPI" in resources:
        api = resources["RestAPI"]
        every_method = {"HttpMethod": "*", "ResourcePath": "/*", **settings}
        resources["RestAPI"] = {**api, "Properties": {**api["Properties"], "MethodSettings": [every_method]}}
    else:
        return template
    parameters = {
        name: {"Type": "Number", "Default": default, "MinValue": 1, "Description": description}
        for name, (_, default, description) in THROTTLING.items()
    }
    return {**template, "Parameters": {**template.get("Parameters", {}), **parameters}, "Resources": resources}


def _cors(preflights: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    """One CORS configuration for the whole API, from the headers each route's preflight answered."""

    def header(name: str) -> set[str]:
        return {preflight[_CORS_HEADER + name].strip("'") for preflight in preflights}

    def same_everywhere(name: str) -> str:
        (value, *others) = sorted(header(name))
        if others:
            raise PackagingError(f"routes answer their preflights with different {name} headers")
        return value

    cors: dict[str, Any] = {
        "allowOrigins": [same_everywhere("Allow-Origin")],
        "allowHeaders": same_everywhere("Allow-Headers").split(","),
        "allowMethods": sorted({method for listed in header("Allow-Methods") for method in listed.split(",")}),
        "maxAge": int(same_everywhere("Max-Age")),
    }
    # An HTTP API with a CORS configuration drops the handler's own CORS headers: the headers a browser may
    # read (Retry-After) must be named here too.
    if any(_CORS_HEADER + "Expose-Headers" in preflight for preflight in preflights):
        cors["exposeHeaders"] = same_everywhere("Expose-Headers").split(",")
    return cors


def zipped_bytes_by_top_entry(path: Path) -> Counter[str]:
    """Compressed bytes per top-level package or module (a layer's site-packages, or the function's
    root), each distribution's .dist-info counted with the package of the same name."""
    sizes: Counter[str] = Counter()
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            top = _LAYER_PREFIX.sub("", info.filename).split("/", 1)[0]
            if top.endswith(".dist-info"):
                top = top.split("-", 1)[0].lower()
            sizes[top.removesuffix(".py")] += info.compress_size
    return sizes


def chalice_package(stage: str, out: Path) -> None:
    """`chalice package` with this interpreter (so with its Python version as the functions' runtime)."""
    chalice = Path(sys.executable).with_name("chalice")
    if not chalice.exists():
        raise PackagingError(f"chalice is not installed next to {sys.executable} (scripts/package installs it)")
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", DEFAULT_REGION)}
    command = [str(chalice), "package", "--stage", stage, "--pkg-format", "cloudformation", str(out)]
    # Chalice's progress lines go to stderr: stdout carries this command's JSON only.
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, stdout=sys.stderr, check=False)
    if result.returncode != 0:
        raise PackagingError(f"chalice package failed (exit {result.returncode})")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.package", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", default="dev", help="the Chalice stage (default dev)")
    parser.add_argument(
        "--front-door", choices=FRONT_DOORS, default=DEFAULT_FRONT_DOOR, help="the API's front door (default http_api)"
    )
    parser.add_argument("out", type=Path, help="directory for sam.json and the zips")
    args = parser.parse_args(argv)
    try:
        check_packaging_python()
        chalice_package(args.stage, args.out)
        template = args.out / TEMPLATE
        template.write_text(json.dumps(infra.named(json.loads(template.read_text()), args.stage), indent=2) + "\n")
        summary = postprocess(args.out, args.front_door)
    except PackagingError as error:
        sys.exit(f"tools.package: {error}")
    print(json.dumps({"stage": args.stage, "out": str(args.out), **summary}))


if __name__ == "__main__":
    main()
