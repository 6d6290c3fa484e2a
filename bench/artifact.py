"""Cold start of the shipped artifact: `import app` from the real `scripts/package` output, laid out as
Lambda lays it out, against the bare library imports from the same artifact.

The function zip is unpacked as /var/task, the layer as /opt, and the SDK the Lambda runtime ships
(boto3 and its dependencies, copied from the packaging interpreter's environment) as the runtime's
site-packages, all made read-only. Every sample is a fresh `python -S -B` of the template's runtime
version, in /var/task, with Lambda's search path (PYTHONPATH) and the function's environment from
sam.json: nothing else on the path, no bytecode written, no PYTHONPYCACHEPREFIX. The variants (the
baseline and the app, with the shipped bytecode and without it) are interleaved and the figures are
medians, as in bench.cold_start. Prints one JSON object on stdout.

Usage: python -m bench.artifact [--artifact DIR | --stage STAGE] [--runs N] [--quick] [--python PATH]
Without --artifact it builds one with scripts/package (PyPI for the wheels, about a minute)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import stat
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from bench.cold_start import BASELINE_IMPORTS, GOAL, REPO_ROOT, add_runs_options, interleave, run_child, runs_from
from tools import package

SIZE_GOAL_BYTES = 25 * 10**6  # 25 MB counted in SI units, the stricter reading (25 MiB is 26,214,400)
TOP_ENTRIES = 12
API_FUNCTION = "APIHandler"  # the function whose environment the children get (the scheduled ones share the zip)
# What the Lambda Python runtime ships in /var/lang/lib/python3.X/site-packages: the SDK and its
# dependencies. The layer comes first on the path, so its copies of these win where it has them.
RUNTIME_LIBRARIES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3")

# After `import app`, the lazily loaded code paths: payments, token checks, tracing, SSM secrets, and a
# client of each AWS service the layer keeps. Reports what was compiled from source (shipped bytecode
# missing or ignored) and every module file loaded.
_CHECK = """
import importlib.machinery as _machinery, json as _json, sys as _sys
_compiled = {{"app": [], "code_paths": []}}
_phase = _compiled["app"]
_source_to_code = _machinery.SourceFileLoader.source_to_code
def _spy(self, data, path, *args, **kwargs):
    _phase.append(path)
    return _source_to_code(self, data, path, *args, **kwargs)
_machinery.SourceFileLoader.source_to_code = _spy
import app
_phase = _compiled["code_paths"]
import stripe, jwt.algorithms, aws_xray_sdk.core, botocore.session
from aws_lambda_powertools import Tracer
from aws_lambda_powertools.utilities import parameters
assert jwt.algorithms.has_crypto, "PyJWT without cryptography cannot check RS256 tokens"
_session = botocore.session.get_session()
for _service in {services!r}:
    _session.create_client(_service, region_name="eu-central-2", aws_access_key_id="x", aws_secret_access_key="x")
_files = [getattr(_m, "__file__", None) for _m in list(_sys.modules.values())]
print(_json.dumps({{"compiled": _compiled, "files": sorted({{_f for _f in _files if _f}})}}))
"""


@dataclass(frozen=True)
class Layout:
    """Lambda's directories, unpacked below `root`."""

    root: Path
    runtime: tuple[int, int]

    @property
    def task(self) -> Path:
        return self.root / "var" / "task"

    @property
    def opt(self) -> Path:
        return self.root / "opt"

    @property
    def site_packages(self) -> Path:
        return self.opt / "python" / "lib" / f"python{self.runtime[0]}.{self.runtime[1]}" / "site-packages"

    @property
    def runtime_libraries(self) -> Path:
        return self.root / "var" / "lang" / "site-packages"

    def search_path(self) -> list[Path]:
        """Lambda's order: the function, the layer's two directories, then the runtime's libraries."""
        return [self.task, self.site_packages, self.opt / "python", self.runtime_libraries]


@dataclass(frozen=True)
class Artifact:
    directory: Path
    runtime: tuple[int, int]
    function_zip: Path
    layer_zip: Path
    environment: dict[str, str]


def read_artifact(directory: Path) -> Artifact:
    template = json.loads((directory / package.TEMPLATE).read_text(encoding="utf-8"))
    roots = package.code_zips(template)
    functions = [name for name, root in roots.items() if root == "/var/task"]
    layers = [name for name, root in roots.items() if root == "/opt"]
    if len(functions) != 1 or len(layers) != 1:
        raise SystemExit(f"expected one function zip and one layer zip in {directory}, found {sorted(roots)}")
    variables = template["Resources"][API_FUNCTION]["Properties"].get("Environment", {}).get("Variables", {})
    return Artifact(
        directory,
        package.lambda_runtime(template),
        directory / functions[0],
        directory / layers[0],
        {name: value for name, value in variables.items() if isinstance(value, str)},
    )


def build(stage: str, out: Path) -> dict[str, Any]:
    """scripts/package: its progress on our stderr, its JSON summary returned."""
    result = subprocess.run(
        [str(REPO_ROOT / "scripts" / "package"), stage, str(out)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"scripts/package {stage} failed (exit {result.returncode})")
    summary: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return summary


def _python_version(python: str) -> tuple[int, int] | None:
    try:
        result = subprocess.run(
            [python, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    if result.returncode != 0:
        return None
    major, minor = result.stdout.split()
    return int(major), int(minor)


def find_python(requested: str | None, runtime: tuple[int, int]) -> str:
    """The interpreter of the runtime's version: --python, the packaging venv's, or pythonX.Y on PATH."""
    candidates = [requested] if requested else [str(REPO_ROOT / ".venv-deploy" / "bin" / "python")]
    if not requested:
        candidates.append(f"python{runtime[0]}.{runtime[1]}")
    for candidate in candidates:
        if _python_version(candidate) == runtime:
            return candidate
    raise SystemExit(f"no Python {runtime[0]}.{runtime[1]} among {candidates}: pass --python")


def _unzip(archive: Path, target: Path, *, bytecode: bool) -> int:
    with zipfile.ZipFile(archive) as source:
        members = [name for name in source.namelist() if bytecode or not name.endswith(".pyc")]
        source.extractall(target, members)
    return len(members)


def lay_out(artifact: Artifact, root: Path, runtime_site: Path, *, bytecode: bool) -> Layout:
    layout = Layout(root, artifact.runtime)
    _unzip(artifact.function_zip, layout.task, bytecode=bytecode)
    _unzip(artifact.layer_zip, layout.opt, bytecode=bytecode)
    layout.runtime_libraries.mkdir(parents=True)
    for name in RUNTIME_LIBRARIES:
        source = runtime_site / name
        if source.is_dir():
            shutil.copytree(source, layout.runtime_libraries / name)  # copy2: the .pyc stay valid
        elif source.exists():
            shutil.copy2(source, layout.runtime_libraries / name)
        elif name == "boto3":
            raise SystemExit(f"boto3 is not installed in {runtime_site} (scripts/package installs it)")
    return layout


def _files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*"))


@contextlib.contextmanager
def read_only(root: Path) -> Iterator[None]:
    """chmod -R a-w, as Lambda mounts /var/task and /opt (a root user still could write: hence -B too)."""
    paths = [root, *_files(root)]
    for path in paths:
        path.chmod(stat.S_IMODE(path.lstat().st_mode) & ~0o222)
    try:
        yield
    finally:
        for path in paths:
            path.chmod(stat.S_IMODE(path.lstat().st_mode) | stat.S_IWUSR)


def child_env(layout: Layout, artifact: Artifact) -> dict[str, str]:
    """What Lambda sets before it imports the handler, plus the function's own variables; nothing else
    from the caller's environment (no PYTHONPYCACHEPREFIX, no PYTHONHOME)."""
    runtime = f"python{artifact.runtime[0]}.{artifact.runtime[1]}"
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PYTHONPATH": os.pathsep.join(str(path) for path in layout.search_path()),
        "PYTHONDONTWRITEBYTECODE": "1",
        "LAMBDA_TASK_ROOT": str(layout.task),
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": "pwiic-bench-artifact",
        "AWS_REGION": package.DEFAULT_REGION,
        "AWS_DEFAULT_REGION": package.DEFAULT_REGION,
        **artifact.environment,
    }


def _command(python: str) -> list[str]:
    return [python, "-S", "-B"]  # -S: no site-packages of the interpreter, only Lambda's search path


def check(python: str, layout: Layout, artifact: Artifact, stdlib: list[Path]) -> dict[str, Any]:
    """One untimed run of `import app` and of the lazy code paths, in `layout`."""
    code = _CHECK.format(services=sorted(package.BOTOCORE_SERVICES))
    result = subprocess.run(
        [*_command(python), "-c", code],
        cwd=layout.task,
        env=child_env(layout, artifact),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"a code path failed to load from the artifact:\n{result.stderr[-4000:]}")
    found: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    roots = [path.resolve() for path in layout.search_path()] + stdlib
    files = [Path(name).resolve() for name in found["files"]]
    return {
        "import_app_compiled_from_source": len(found["compiled"]["app"]),
        "code_paths_compiled_from_source": len(found["compiled"]["code_paths"]),
        "module_files_loaded": len(files),
        "module_files_outside_lambda_path": sorted(
            str(file) for file in files if not any(file.is_relative_to(root) for root in roots)
        ),
    }


def _interpreter_paths(python: str) -> tuple[list[Path], Path]:
    """The interpreter's standard library directories and its site-packages."""
    result = subprocess.run(
        [python, "-c", "import json, sysconfig; print(json.dumps(sysconfig.get_paths()))"],
        capture_output=True,
        text=True,
        check=True,
    )
    paths = json.loads(result.stdout)
    return [Path(paths[key]).resolve() for key in ("stdlib", "platstdlib")], Path(paths["purelib"])


def sizes(artifact: Artifact) -> dict[str, Any]:
    function, layer = artifact.function_zip.stat().st_size, artifact.layer_zip.stat().st_size
    return {
        "zipped_bytes": {"function": function, "layer": layer, "total": function + layer},
        "size_goal_bytes": SIZE_GOAL_BYTES,
        "size_within_goal": function + layer <= SIZE_GOAL_BYTES,
        "layer_largest_zipped_bytes": dict(
            package.zipped_bytes_by_top_entry(artifact.layer_zip).most_common(TOP_ENTRIES)
        ),
    }


def run(artifact: Artifact, python: str, runs: int) -> dict[str, Any]:
    stdlib, runtime_site = _interpreter_paths(python)
    with tempfile.TemporaryDirectory(prefix="pwiic-bench-artifact-") as scratch:
        shipped = lay_out(artifact, Path(scratch, "shipped"), runtime_site, bytecode=True)
        source = lay_out(artifact, Path(scratch, "source"), runtime_site, bytecode=False)
        before = _files(Path(scratch))
        with read_only(Path(scratch)):
            checks = {
                "shipped": check(python, shipped, artifact, stdlib),
                "source": check(python, source, artifact, stdlib),
            }

            def measure(layout: Layout, imports: str) -> dict[str, Any]:
                return run_child(_command(python), imports, cwd=layout.task, env=child_env(layout, artifact))

            samples = interleave(
                {
                    "baseline": partial(measure, shipped, BASELINE_IMPORTS),
                    "app": partial(measure, shipped, "import app"),
                    "baseline_without_bytecode": partial(measure, source, BASELINE_IMPORTS),
                    "app_without_bytecode": partial(measure, source, "import app"),
                },
                runs,
            )
        unchanged = _files(Path(scratch)) == before

    app, baseline = samples.median("app"), samples.median("baseline")
    app_source, baseline_source = samples.median("app_without_bytecode"), samples.median("baseline_without_bytecode")
    ratio, cpu_ratio = app / baseline, samples.cpu_median("app") / samples.cpu_median("baseline")
    return {
        "runs": runs,
        "import_app_ms_median": round(app, 2),
        "baseline_ms_median": round(baseline, 2),
        "ratio": round(ratio, 3),
        "goal": GOAL,
        "within_goal": ratio <= GOAL,
        "cpu_ratio": round(cpu_ratio, 3),
        "cpu_within_goal": cpu_ratio <= GOAL,
        **sizes(artifact),
        "import_app_without_bytecode_ms_median": round(app_source, 2),
        "baseline_without_bytecode_ms_median": round(baseline_source, 2),
        "ratio_without_shipped_bytecode": round(app_source / baseline_source, 3),
        "bytecode_speedup": round(app_source / app, 2),
        "checks": {**checks, "nothing_written_to_the_artifact": unchanged},
        "stripe_imported": samples.modules["app"].get("stripe", False),
        "modules_after_import_app": samples.modules["app"],
        "baseline_imports": BASELINE_IMPORTS,
        "runtime": f"python{artifact.runtime[0]}.{artifact.runtime[1]}",
        "python": python,
        "samples_ms": samples.ms,
        "samples_cpu_ms": samples.cpu_ms,
        "note": (
            "ratio = median(import app) / median(bare library imports), both from the artifact with its shipped "
            "bytecode, fresh read-only processes; cpu_ratio the same in the children's CPU time, which a loaded "
            "machine's wait for a core does not inflate. The *_without_bytecode figures unpack the same zips "
            "without their .pyc (what chalice package ships). Sizes are the zips as deployed; the goal counts "
            "25*10^6 bytes."
        ),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.artifact", description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifact", type=Path, help="a scripts/package output to measure (default: build one)")
    parser.add_argument("--stage", default="prod", help="the stage to build when no --artifact (default prod)")
    parser.add_argument("--python", help="the interpreter of the runtime's version (default: .venv-deploy's)")
    add_runs_options(parser)
    args = parser.parse_args(argv)
    runs = runs_from(parser, args)
    with tempfile.TemporaryDirectory(prefix="pwiic-artifact-") as scratch:
        built = None if args.artifact else build(args.stage, Path(scratch))
        artifact = read_artifact(args.artifact or Path(scratch))
        figures = run(artifact, find_python(args.python, artifact.runtime), runs)
    print(json.dumps({**figures, "package": built} if built else figures))


if __name__ == "__main__":
    main()
