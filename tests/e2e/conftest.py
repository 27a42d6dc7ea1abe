"""Browser tests of the dashboard against a running system, driven through Playwright with Debian's Chromium.

The system runs in a subprocess, the way a person starts it:

* `demo` (default): `radar demo --api-port 0`, what `make demo` runs: local Ray, the Bitget emulator
  replaying synthetic candles at 3,600x, the paper actors, the API + dashboard on a free port.
* `fake`: `radar api --fake` over the in-memory fake system and a demo database of real candles (no Ray;
  seconds to start: for working on the dashboard itself).

Choose with `--e2e-system fake` (when the path of these tests is on the command line) or the environment
variable RADAR_E2E_SYSTEM=fake. Each run gets its own data directory and database, and writes its
screenshots and the system's log under tests/e2e/artifacts/.
"""
from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.support import ARTIFACTS, PageErrors, RunningSystem

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
DASHBOARD_INDEX = REPO_ROOT / "api" / "dashboard" / "dist" / "index.html"
SYSTEMS = ("demo", "fake")
BOOT_TIMEOUT_S = 240.0  # a cold local Ray plus the actors on a busy 2-core machine
DASHBOARD_LINE = re.compile(r"dashboard: (http://[\w.:\[\]-]+)/")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--e2e-system", choices=SYSTEMS, default=None,
                     help="system the browser tests run against: demo (radar demo, default) or fake (radar api --fake)")


def _system_kind(config: pytest.Config) -> str:
    kind = config.getoption("--e2e-system", default=None) or os.environ.get("RADAR_E2E_SYSTEM") or "demo"
    if kind not in SYSTEMS:
        raise pytest.UsageError(f"RADAR_E2E_SYSTEM={kind!r}: expected one of {', '.join(SYSTEMS)}")
    return kind


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_for_url(proc: subprocess.Popen[bytes], log: Path, fixed: str | None) -> str:
    """The dashboard URL: `fixed`, or the line the demo prints once it serves (its port is picked by the OS)."""
    deadline = time.monotonic() + BOOT_TIMEOUT_S
    url = fixed
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the system exited with code {proc.returncode} before serving the dashboard; "
                        f"log {log}:\n{_tail(log)}")
        if url is None:
            m = DASHBOARD_LINE.search(log.read_text(errors="replace"))
            url = m.group(1) if m else None
        if url is not None:
            try:
                if httpx.get(f"{url}/health", timeout=2.0).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
        time.sleep(0.5)
    pytest.fail(f"no dashboard within {BOOT_TIMEOUT_S:.0f} s; log {log}:\n{_tail(log)}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Ctrl-C first (the system shuts its actors down in order), then the whole process group it started."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
    # Ray's own helpers (raylet, GCS, workers) are in the session we started: none may outlive the test.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@pytest.fixture(scope="module")
def system(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    if not DASHBOARD_INDEX.is_file():
        pytest.fail(f"the dashboard is not built ({DASHBOARD_INDEX} missing): run `make dashboard`")
    kind = _system_kind(request.config)
    ARTIFACTS.mkdir(exist_ok=True)
    work = tmp_path_factory.mktemp(f"e2e-{kind}")
    log = ARTIFACTS / f"system-{kind}.log"
    key = secrets.token_urlsafe(18)
    env = {**os.environ, "RADAR_API_KEY": key, "RADAR_DATA_DIR": str(work / "data"),
           "DATABASE_URL": f"sqlite:///{work / 'radar.db'}", "PYTHONUNBUFFERED": "1"}
    fixed_url = None
    if kind == "demo":
        # --duration: the demo ends by itself even if this test run is killed before its teardown.
        cmd = [sys.executable, "-m", "radar", "demo", "--api-port", "0", "--duration", "1200"]
    else:
        port = _free_port()
        fixed_url = f"http://127.0.0.1:{port}"
        data = REPO_ROOT.parent / "shared" / "data" / "BTC-USD_1h_bitfinex.csv"
        env["RADAR_API_WS_INTERVAL_S"] = "1"  # the fake simulates one step per interval: trades come sooner
        cmd = [sys.executable, str(Path(__file__).with_name("serve_fake.py")), "--fake", "--port", str(port),
               "--demo-db", str(work / "demo.db"), "--data", str(data)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        url = _wait_for_url(proc, log, fixed_url)
        yield RunningSystem(kind=kind, url=url, api_key=key, log=log)
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extras: pip install -e '.[dev]'")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def desktop(browser: Any, system: RunningSystem) -> Iterator[tuple[Any, PageErrors]]:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, base_url=system.url)
    page = context.new_page()
    errors = PageErrors(page)
    try:
        yield page, errors
    finally:
        context.close()
