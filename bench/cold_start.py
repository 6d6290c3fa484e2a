"""Cold start: `import app` in a fresh interpreter against the bare imports of the libraries it is built on.

Every sample is a new `python -c` process started from the repository root; the child times its own
import with time.perf_counter and prints one JSON line. Variants are interleaved (baseline, baseline
plus msgspec, app, ...) so that drift on a shared machine hits all of them alike, and the figures are
medians. Prints one JSON object on stdout.

Bytecode: the children keep their .pyc files under a private PYTHONPYCACHEPREFIX (a temporary
directory, so nothing is written into the repository), filled by a discarded warm-up round. The
headline ratio compares app and libraries both loading cached bytecode. A second app variant runs
with the libraries' bytecode cached but the app's own modules compiled from source, as happens where
__pycache__ cannot be written and no .pyc was shipped (PYTHONDONTWRITEBYTECODE, a read-only
/var/task in Lambda). bench.artifact measures the same from the zips `scripts/package` ships, laid out
as Lambda lays them out, with their own bytecode.

Usage: python -m bench.cold_start [--runs N] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
GOAL = 1.3
MIN_RUNS = 5

# What the architecture guide names as the app's libraries (the budget's baseline).
BASELINE_IMPORTS = "import boto3, pynamodb.models, aws_lambda_powertools, chalice.app"
# The app also validates and encodes JSON with msgspec at import time; a second, stricter baseline.
BASELINE_WITH_MSGSPEC_IMPORTS = BASELINE_IMPORTS + ", msgspec"
APP_IMPORTS = "import app"

# Modules whose presence after `import app` says something about the cold path.
WATCHED_MODULES = (
    "stripe",
    "jwt",
    "cryptography",
    "boto3",
    "botocore",
    "pynamodb.models",
    "aws_lambda_powertools",
    "aws_lambda_powertools.logging",
    "aws_lambda_powertools.metrics",
    "aws_lambda_powertools.tracing",
    "chalice.app",
    "msgspec",
    "pydantic",
    "requests",
    "urllib3",
)

_CHILD = """
import time as _t
_start, _cpu = _t.perf_counter(), _t.process_time()
{imports}
_elapsed, _cpu_ms = (_t.perf_counter() - _start) * 1000.0, (_t.process_time() - _cpu) * 1000.0
import json as _j, sys as _s
print(_j.dumps({{"ms": _elapsed, "cpu_ms": _cpu_ms, "modules": {{m: m in _s.modules for m in {watched!r}}}}}))
"""


@dataclass(frozen=True)
class Variant:
    imports: str
    pycache: Path  # the PYTHONPYCACHEPREFIX the child uses
    write_bytecode: bool = True


def _child_env(variant: Variant) -> dict[str, str]:
    """The caller's environment without any PWIIC_* setting (importing the app must not need them),
    with the variant's bytecode cache."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PWIIC_")}
    env.pop("PYTHONPROFILEIMPORTTIME", None)  # `-X importtime` through the environment would skew the timing
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(variant.pycache)
    if not variant.write_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_child(command: Sequence[str], imports: str, *, cwd: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """One fresh interpreter (`command -c ...`): how long the imports took inside it, and which watched
    modules it loaded."""
    code = _CHILD.format(imports=imports, watched=WATCHED_MODULES)
    result = subprocess.run([*command, "-c", code], cwd=cwd, env=dict(env), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"`{imports}` failed in a fresh process:\n{result.stderr[-4000:]}")
    sample: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return sample


def measure_once(variant: Variant) -> dict[str, Any]:
    return run_child([sys.executable], variant.imports, cwd=REPO_ROOT, env=_child_env(variant))


@dataclass
class Samples:
    ms: dict[str, list[float]]  # per variant, one figure per round
    cpu_ms: dict[str, list[float]]  # the same in CPU time (the child's own, not its wait for a core)
    modules: dict[str, dict[str, bool]]  # per variant: watched module -> imported by any of its runs

    def median(self, name: str) -> float:
        return statistics.median(self.ms[name])

    def cpu_median(self, name: str) -> float:
        return statistics.median(self.cpu_ms[name])


def interleave(measures: Mapping[str, Callable[[], dict[str, Any]]], runs: int) -> Samples:
    """`runs` rounds, each running every variant once in turn, so that drift hits them all alike."""
    samples = Samples({name: [] for name in measures}, {name: [] for name in measures}, {name: {} for name in measures})
    for _ in range(runs):
        for name, measure in measures.items():
            sample = measure()
            samples.ms[name].append(round(float(sample["ms"]), 2))
            samples.cpu_ms[name].append(round(float(sample["cpu_ms"]), 2))
            seen = samples.modules[name]
            for module, present in sample["modules"].items():
                seen[module] = seen.get(module, False) or bool(present)
    return samples


def _variants(cached: Path, app_uncached: Path) -> dict[str, Variant]:
    return {
        "baseline": Variant(BASELINE_IMPORTS, cached),
        "baseline_with_msgspec": Variant(BASELINE_WITH_MSGSPEC_IMPORTS, cached),
        "app": Variant(APP_IMPORTS, cached),
        "app_source_uncached": Variant(APP_IMPORTS, app_uncached, write_bytecode=False),
    }


def _warm_up(variants: dict[str, Variant], app_uncached: Path) -> None:
    """Compile every module once into the caches, then drop the app's own .pyc from the second cache."""
    for variant in variants.values():
        measure_once(Variant(variant.imports, variant.pycache, write_bytecode=True))
    # PYTHONPYCACHEPREFIX mirrors absolute source paths below the prefix. The virtualenv may live inside
    # the repository: its libraries keep their bytecode.
    mirror = app_uncached / REPO_ROOT.relative_to(REPO_ROOT.anchor)
    environment = Path(sys.prefix).resolve()
    for entry in mirror.iterdir():
        source = REPO_ROOT / entry.name
        if source == environment or source in environment.parents:
            continue
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def run(runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="pwiic-bench-pycache-") as scratch:
        cached, app_uncached = Path(scratch, "cached"), Path(scratch, "app-uncached")
        variants = _variants(cached, app_uncached)
        _warm_up(variants, app_uncached)
        samples = interleave({name: partial(measure_once, variant) for name, variant in variants.items()}, runs)

    app_ms = samples.median("app")
    baseline_ms = samples.median("baseline")
    baseline_msgspec_ms = samples.median("baseline_with_msgspec")
    uncached_ms = samples.median("app_source_uncached")
    ratio = app_ms / baseline_ms
    paired = [a / b for a, b in zip(samples.ms["app"], samples.ms["baseline"], strict=True)]
    return {
        "runs": runs,
        "import_app_ms_median": round(app_ms, 2),
        "baseline_ms_median": round(baseline_ms, 2),
        "ratio": round(ratio, 3),
        "goal": GOAL,
        "within_goal": ratio <= GOAL,
        "stripe_imported": samples.modules["app"].get("stripe", False),
        "jwt_imported": samples.modules["app"].get("jwt", False),
        "baseline_imports": BASELINE_IMPORTS,
        "baseline_with_msgspec_ms_median": round(baseline_msgspec_ms, 2),
        "ratio_vs_baseline_with_msgspec": round(app_ms / baseline_msgspec_ms, 3),
        "within_goal_vs_baseline_with_msgspec": app_ms / baseline_msgspec_ms <= GOAL,
        "paired_ratio_median": round(statistics.median(paired), 3),
        "import_app_source_uncached_ms_median": round(uncached_ms, 2),
        "ratio_app_source_uncached": round(uncached_ms / baseline_ms, 3),
        "modules_after_import_app": samples.modules["app"],
        "samples_ms": samples.ms,
        "python": sys.version.split()[0],
        "note": (
            "ratio = median(import app) / median(bare library imports): fresh interpreters, interleaved, "
            "all bytecode cached. ratio_vs_baseline_with_msgspec adds msgspec (used by the API layer) to the "
            "baseline. ratio_app_source_uncached: the app's own modules compiled from source in every process "
            "(no .pyc for them), libraries cached."
        ),
    }


def add_runs_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runs", type=int, default=7, help=f"fresh processes per variant (default 7, minimum {MIN_RUNS})"
    )
    parser.add_argument("--quick", action="store_true", help=f"the minimum number of runs ({MIN_RUNS})")


def runs_from(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    runs: int = MIN_RUNS if args.quick else args.runs
    if runs < MIN_RUNS:
        parser.error(f"--runs must be at least {MIN_RUNS}")
    return runs


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_start", description=__doc__.split("\n\n")[0])
    add_runs_options(parser)
    args = parser.parse_args(argv)
    print(json.dumps(run(runs_from(parser, args))))


if __name__ == "__main__":
    main()
