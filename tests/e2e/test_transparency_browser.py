"""The transparency page in a real browser: `chalice local` serves it over HTTP from a table holding a year of
closed months; headless Chromium opens it, takes a screenshot and logs every request to a net log. The charts
must be drawn (their colours are on the screenshot) and every request the page made must go to the local
server. The browser's own background requests (Google's time, account and search services, made outside
any page) are told apart by their network isolation key, and cannot leave the machine: every host name but
the local server's resolves to nothing.

Needs Chromium (Debian's `chromium` package; `scripts/bootstrap.sh` installs it when it can): without it the
test is skipped and says how to install it. About 6 s."""

from __future__ import annotations

import json
import os
import shutil
import signal
import struct
import subprocess
import zlib
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from chalicelib.adapters.dynamodb import books_repository
from chalicelib.adapters.dynamodb.unit_of_work import UnitOfWork
from chalicelib.domain import charts
from chalicelib.domain.books import FIGURES, Period, sealed
from tools import devkeys, localstack

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
INSTALL = "install Chromium to run it: sudo apt-get install chromium (or run scripts/test as root once)"
QUIET = (  # no request of the browser's own (updates, metrics, safe browsing...): only the page's
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
    "--disable-features=NetworkTimeServiceQuerying",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # nothing reaches another machine
)


@pytest.fixture
def served(table_name: str, dynamodb_endpoint: str, local_secrets: devkeys.LocalSecrets) -> Iterator[str]:
    """`chalice local` on a table with the twelve months before this one closed (and one more before)."""
    today = datetime.now(UTC).date()
    this_month = today.year * 12 + today.month - 1
    months = [f"{number // 12:04d}-{number % 12 + 1:02d}" for number in range(this_month - 13, this_month)]
    uow, previous = UnitOfWork(), ""
    for index, month in enumerate(months):
        figures = dict.fromkeys(FIGURES, 0) | {
            "credits_in_wallets": 800 + 150 * index,
            "credits_revenue": 40 + 7 * (index % 5),
            "members_active": 20 + 3 * index,
            "exchanges_completed_trade": 9,
            "exchanges_completed_loan": 4,
            "exchanges_completed_share": 2,
            "exchanges_completed_booking": 1,
        }
        period = sealed(Period(month, figures, previous, True, f"{month}-28T01:00:00Z"))
        books_repository.add_period(uow, period)
        previous = period.digest
    uow.commit()
    env = devkeys.local_env(local_secrets, dynamodb_endpoint=dynamodb_endpoint, table_name=table_name)
    with localstack.chalice_local(localstack.free_port(), env) as url:
        yield url


@pytest.mark.skipif(CHROMIUM is None, reason=f"Chromium is not installed: {INSTALL}")
def test_the_page_renders_its_charts_and_asks_only_its_own_server(served: str, tmp_path: Path) -> None:
    screenshot, net_log = tmp_path / "page.png", tmp_path / "net.json"
    url = f"{served}/transparency?lang=fr"
    run_chromium(
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        f"--user-data-dir={tmp_path / 'profile'}",
        *QUIET,
        f"--screenshot={screenshot}",
        "--window-size=1200,2400",
        f"--log-net-log={net_log}",
        url,
    )

    width, height, rows = decode_png(screenshot.read_bytes())
    assert (width, height) == (1200, 2400)
    image = b"".join(rows)
    assert image.count(bytes.fromhex(charts.FILL[1:])) > 10_000, "the hatched bars and the markers are drawn"
    assert image.count(bytes.fromhex(charts.INK[1:])) > 500, "the axes, the line and the labels are drawn"
    colours = {row[x : x + 3] for row in rows[::20] for x in range(0, len(row), 3 * 7)}
    assert len(colours) > 50, "not a blank page: text, charts and tables"

    page_requests, browser_requests = requests_in(net_log.read_text(encoding="utf-8"))
    assert url in page_requests, (page_requests, browser_requests)
    origin = urlsplit(served).netloc
    elsewhere = {each for each in page_requests if urlsplit(each).netloc != origin}
    assert not elsewhere, f"the page asked other servers: {sorted(elsewhere)}"


def run_chromium(*args: str) -> None:
    """Chromium in its own process group, all of it stopped afterwards (it starts helpers of its own)."""
    assert CHROMIUM is not None
    process = subprocess.Popen(
        [CHROMIUM, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        output, _ = process.communicate(timeout=60)
    finally:
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert process.returncode == 0, output.decode(errors="replace")[-2000:]


def requests_in(log: str) -> tuple[set[str], set[str]]:
    """The URLs requested in Chromium's net log: those made for the page (its network isolation key names the
    local site as the top frame's, whatever the URL's host: any subresource, frame or fetch of the page) and
    the browser's own."""
    try:
        net = json.loads(log)
    except ValueError:  # a browser that exits early leaves the events' list open
        net = json.loads(log.rstrip().rstrip(",") + "]}")
    start = net["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    page, browser = set(), set()
    for event in net["events"]:
        params = event.get("params", {})
        if event["type"] == start and "url" in params:
            top_frame = params.get("network_isolation_key", "").split(" ")[0]
            mine = top_frame == "http://127.0.0.1" or params.get("request_type") == "main frame"
            (page if mine else browser).add(params["url"])
    return page, browser


def decode_png(png: bytes) -> tuple[int, int, list[bytes]]:
    """The rows of an 8-bit RGB or RGBA PNG, as RGB bytes (the standard library's zlib and PNG's filters)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "a PNG"
    position, chunks, header = 8, [], b""
    while position < len(png):
        length, kind = struct.unpack(">I4s", png[position : position + 8])
        data = png[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = data
        elif kind == b"IDAT":
            chunks.append(data)
        position += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    size = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(b"".join(chunks)), width * size
    low, high = int.from_bytes(b"\x7f" * stride, "big"), int.from_bytes(b"\x80" * stride, "big")
    rows, previous = [], bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], raw[start + 1 : start + 1 + stride]
        if kind == 2:  # up: each byte plus the one above, mod 256, for the whole row at once (no carries)
            a, b = int.from_bytes(line, "big"), int.from_bytes(previous, "big")
            line = (((a & low) + (b & low)) ^ ((a ^ b) & high)).to_bytes(stride, "big")
        elif kind in (1, 3, 4):  # sub, average, Paeth: byte by byte
            out = bytearray(line)
            for i in range(stride):
                left = out[i - size] if i >= size else 0
                up = previous[i]
                if kind == 1:
                    out[i] = (out[i] + left) & 255
                elif kind == 3:
                    out[i] = (out[i] + ((left + up) >> 1)) & 255
                else:
                    corner = previous[i - size] if i >= size else 0
                    guess = left + up - corner
                    by_left, by_up, by_corner = abs(guess - left), abs(guess - up), abs(guess - corner)
                    if by_left <= by_up and by_left <= by_corner:
                        out[i] = (out[i] + left) & 255
                    else:
                        out[i] = (out[i] + (up if by_up <= by_corner else corner)) & 255
            line = bytes(out)
        rows.append(line)
        previous = line
    if size == 4:
        rows = [b"".join(row[x : x + 3] for x in range(0, stride, 4)) for row in rows]
    return width, height, rows
