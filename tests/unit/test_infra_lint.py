"""cfn-lint, in the region each template is deployed to, over infra/template.json, infra/budget.json and the
API template of the prod stage as `scripts/package` makes it (`chalice package`, then tools.package).

The API template is packaged from a copy of the project without requirements.txt: Chalice then builds no
layer and runs no pip (with it, `chalice package` downloads manylinux wheels from PyPI: about 20 s and the
network on a fresh checkout). The template differs only by the managed layer (the `ManagedLayer`
resource and each function's `Layers`), which tests/unit/test_package.py covers from a fake one. Its
runtime is the one `scripts/package` deploys with (this interpreter may be older)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools import infra, package

REPO_ROOT = infra.REPO_ROOT
DATA_REGION = "eu-central-2"  # docs/operations.md: the Zurich region
BUDGET_REGION = "us-east-1"
DEPLOY_RUNTIME = re.search(r"\$\{PYTHON:-(python3\.\d+)\}", (REPO_ROOT / "scripts" / "package").read_text())


def lint(path: Path, region: str) -> list[str]:
    from cfnlint.api import lint_file
    from cfnlint.config import ManualArgs

    return [f"{match} (line {match.linenumber})" for match in lint_file(path, config=ManualArgs(regions=[region]))]


def test_the_data_stack_template_lints_clean_in_its_region():
    assert lint(infra.TEMPLATE, DATA_REGION) == []


def test_the_budget_template_lints_clean_in_us_east_1():
    assert lint(REPO_ROOT / "infra" / "budget.json", BUDGET_REGION) == []


@pytest.fixture
def packaged_prod(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    shutil.copytree(REPO_ROOT / "chalicelib", project / "chalicelib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "app.py", project / "app.py")
    (project / ".chalice").mkdir()
    for path in (REPO_ROOT / ".chalice").glob("*.json"):
        shutil.copy(path, project / ".chalice" / path.name)
    out = tmp_path / "out"
    chalice = Path(sys.executable).with_name("chalice")
    command = [str(chalice), "package", "--stage", "prod", "--pkg-format", "cloudformation", str(out)]
    environment = {**os.environ, "AWS_DEFAULT_REGION": DATA_REGION}
    subprocess.run(command, cwd=project, env=environment, check=True, capture_output=True, timeout=120)
    template = out / package.TEMPLATE
    template.write_text(json.dumps(infra.named(json.loads(template.read_text()), "prod")))
    package.postprocess(out)  # the HTTP API front door, and bytecode in deployment.zip
    return template


def test_the_packaged_prod_template_lints_clean_and_names_every_function(packaged_prod):
    assert DEPLOY_RUNTIME is not None
    template = json.loads(packaged_prod.read_text())
    functions = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    assert {f["FunctionName"] for f in functions} == {f.name for f in infra.functions("prod")}
    assert "HttpAPI" in template["Resources"] and "RestAPI" not in template["Resources"]
    for function in functions:
        function["Runtime"] = DEPLOY_RUNTIME[1]
    packaged_prod.write_text(json.dumps(template, indent=1))
    assert lint(packaged_prod, DATA_REGION) == []
