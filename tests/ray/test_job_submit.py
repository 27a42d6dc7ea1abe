"""`radar wfo` as a Ray job on a `ray start` cluster (issue 5): the project travels as the job's working dir,
the driver joins the job's cluster with `--address auto`, the sweep runs as Ray tasks and lands in the
database named by the job's DATABASE_URL, with the same result as a local serial run.

The cluster is this test's own (`ray start` with its own ports and temp dir), so it never meets the
session's local Ray runtime (tests/ray/conftest.py). It is torn down by killing its process group and any
process naming its temp dir, NOT by `ray stop --force`: that kills every Ray process on the machine,
including the session runtime and other users' clusters.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT, SHARED_DATA

BTC = (SHARED_DATA / "BTC-USD_1h_bitfinex.csv").resolve()
VENV_BIN = Path(sys.executable).parent
RAY = VENV_BIN / "ray"
SMALL_GRID = {"ma_period": [10, 20], "num_levels": [2, 3], "sl_percent": [15, 20], "leverage": [2]}  # 8 combos
WINDOWS = 9
JOB = "J"
SUBMISSION = "radar-wfo-j"
# `ray job status` prints prose; the SDK gives the status enum, and the state API what ran on the cluster.
# Run as a client process with the cluster's env, because this pytest process may have imported Ray (its
# auth config is read at import).
CLIENT_SCRIPT = """
import json, sys
from collections import Counter
from ray.job_submission import JobSubmissionClient
from ray.util.state import list_tasks

address, submission = sys.argv[1:]
status = JobSubmissionClient(address).get_job_status(submission).value
tasks = list_tasks(address=address, limit=10_000, raise_on_missing_output=False)
print(json.dumps({"status": status, "tasks": Counter(f"{t.name}:{t.state}" for t in tasks)}))
"""


@dataclass(frozen=True)
class Cluster:
    dashboard: str  # http://127.0.0.1:port, the job submission server
    gcs_port: int
    temp_dir: Path
    env: dict[str, str]  # what a client of this cluster runs with


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):  # held open together, so the ports are distinct
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _client_env() -> dict[str, str]:
    # The venv first on PATH (an activated venv): the cluster's `python` is the one with the project's deps.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("RAY_") and k not in ("DATABASE_URL", "RADAR_CONFIG_DIR", "RADAR_DATA_DIR")}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV_BIN.parent)
    # `ray start` (2.60) enables token auth and keeps the token in ~/.ray/auth_token; a client whose
    # RAY_AUTH_MODE is unset is refused ("Missing authentication token").
    env["RAY_AUTH_MODE"] = "token"
    return env


def _pids_naming(text: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:  # exited meanwhile, or not ours to read
            continue
        if text.encode() in cmdline:
            pids.append(int(entry.name))
    return pids


def _kill_cluster(pgid: int, temp_dir: Path) -> None:
    """SIGKILL this cluster's processes only: its process group, then stragglers naming its temp dir."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 10
    while (pids := _pids_naming(str(temp_dir))) and time.monotonic() < deadline:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.2)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """One cluster for this module's jobs (each has its own submission id, database and data dir)."""
    # A short temp dir: Ray's unix sockets live under it and socket paths are limited to 107 bytes.
    temp_dir = Path(tempfile.mkdtemp(prefix="rjs", dir="/tmp"))
    gcs, dash, client, agent_http, agent_grpc, metrics, env_agent = _free_ports(7)
    env = _client_env()
    cmd = [str(RAY), "start", "--head", f"--port={gcs}", "--num-cpus=2", "--include-dashboard=true",
           f"--dashboard-port={dash}", "--dashboard-host=127.0.0.1", "--disable-usage-stats",
           f"--temp-dir={temp_dir}", f"--ray-client-server-port={client}",
           f"--dashboard-agent-listen-port={agent_http}", f"--dashboard-agent-grpc-port={agent_grpc}",
           f"--metrics-export-port={metrics}", f"--runtime-env-agent-port={env_agent}"]
    # Its own session: the daemons `ray start` leaves behind keep this process group id.
    starter = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    try:
        out, _ = starter.communicate(timeout=90)
        assert starter.returncode == 0, f"ray start failed:\n{out[-3000:]}"
        yield Cluster(f"http://127.0.0.1:{dash}", gcs, temp_dir, env)
    finally:
        if starter.poll() is None:
            starter.kill()
        _kill_cluster(starter.pid, temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)


def _working_dir(root: Path) -> Path:
    """What a user ships: the two packages (no .venv, data, .git, caches) and a config with a small grid."""
    wd = root / "job"
    for package in ("radar", "actors", "api"):
        shutil.copytree(REPO_ROOT / package, wd / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules", "dashboard"))
    shutil.copytree(REPO_ROOT / "config", wd / "config", ignore=shutil.ignore_patterns("*.bak-*"))
    grids_path = wd / "config" / "param_grids.yaml"
    grids = yaml.safe_load(grids_path.read_text())
    grids["grid_atr"]["default"] = SMALL_GRID
    grids["grid_atr"].pop("per_symbol", None)
    grids_path.write_text(yaml.safe_dump(grids, sort_keys=False))
    return wd


def _wfo_args(config: str, executor: str, job_id: str) -> list[str]:
    return ["-m", "radar", "--config", config, "wfo", "--strategy", "grid_atr", "--symbols", "BTC/USDT:USDT",
            "--csv", str(BTC), "--executor", executor, *(["--address", "auto"] if executor == "ray" else []),
            "--job-id", job_id, "--json"]


def _ray_cli(cluster: Cluster, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([str(RAY), *args], env=cluster.env, capture_output=True, text=True, timeout=timeout)


def _summary_from(logs: str) -> dict:
    lines = [ln for ln in logs.splitlines() if ln.startswith('{"job_id"')]
    assert len(lines) == 1, f"expected one JSON summary in the job logs:\n{logs[-3000:]}"
    return json.loads(lines[0])


@pytest.mark.slow
@pytest.mark.ray
@pytest.mark.timeout(240)
def test_wfo_submitted_as_ray_job_runs_on_the_cluster_and_stores_its_result(tmp_path, cluster):
    # Arrange
    wd = _working_dir(tmp_path)
    db = tmp_path / "db" / "wfo.db"
    runtime_env = {"env_vars": {"DATABASE_URL": f"sqlite:///{db}"}}

    # Act: submit and wait (`ray job submit` tails the logs until the job ends)
    submit = _ray_cli(cluster, "job", "submit", "--address", cluster.dashboard, "--submission-id", SUBMISSION,
                      "--working-dir", str(wd), "--runtime-env-json", json.dumps(runtime_env), "--",
                      "python", *_wfo_args("config", "ray", JOB), timeout=180)
    state = subprocess.run([sys.executable, "-c", CLIENT_SCRIPT, cluster.dashboard, SUBMISSION], env=cluster.env,
                           capture_output=True, text=True, timeout=60)
    logs = _ray_cli(cluster, "job", "logs", "--address", cluster.dashboard, SUBMISSION)

    # Assert: the job succeeded on this cluster and printed a graded summary
    assert submit.returncode == 0, submit.stdout[-3000:] + submit.stderr[-3000:]
    assert state.returncode == 0, state.stderr[-3000:]
    seen = json.loads(state.stdout)
    assert seen["status"] == "SUCCEEDED"
    # every window (9 x IS/OOS) was prepared by a task and its combos evaluated by batch tasks, none failed
    assert seen["tasks"].get("prepare_window:FINISHED") == WINDOWS * 2, seen
    assert seen["tasks"].get("evaluate_batch_on_worker:FINISHED", 0) >= WINDOWS * 2, seen
    assert not [k for k in seen["tasks"] if not k.endswith(":FINISHED")], seen
    assert logs.returncode == 0, logs.stderr
    summary = _summary_from(logs.stdout)
    # `--address auto` inside the job resolved to this cluster (the job manager's RAY_ADDRESS), not to a
    # local runtime the pytest session may have up
    assert "Connecting to existing Ray cluster at address: " in logs.stdout
    assert f":{cluster.gcs_port}..." in logs.stdout, logs.stdout[:2000]
    assert (summary["job_id"], summary["combos"], summary["windows"]) == (JOB, 8, WINDOWS)
    assert summary["evaluations"] == 8 * WINDOWS * 2 and summary["resumed_windows"] == 0
    result = summary["results"][0]
    assert result["symbol"] == "BTC/USDT:USDT" and result["grade"] in ("A", "B", "C", "D", "F")

    # Assert: the job's database (its DATABASE_URL) holds the finished job, every window and the result
    con = sqlite3.connect(db)
    try:
        assert con.execute("SELECT status, progress, total FROM optimization_jobs WHERE id = ?",
                           (JOB,)).fetchall() == [("done", 144, 144)]
        assert con.execute("SELECT count(*) FROM wfo_window_metrics WHERE job_id = ?", (JOB,)).fetchone() == (
            WINDOWS * 2,)
        stored = con.execute("SELECT symbol, grade, score, params FROM optimization_results WHERE job_id = ?",
                             (JOB,)).fetchall()
    finally:
        con.close()
    assert len(stored) == 1
    symbol, grade, score, params = stored[0]
    assert (symbol, grade, round(score, 2)) == ("BTC/USDT:USDT", result["grade"], result["score"])
    assert json.loads(params) == result["best_params"]

    # Assert: the cluster's answer is the serial reference on the same config
    local = subprocess.run([sys.executable, *_wfo_args(str(wd / "config"), "serial", "ref")], capture_output=True,
                           text=True, timeout=120, cwd=tmp_path,
                           env={**cluster.env, "RADAR_DATA_DIR": str(tmp_path / "ref")})
    assert local.returncode == 0, local.stderr
    assert json.loads(local.stdout)["results"] == summary["results"]


def _radar(cluster: Cluster, env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "radar", *args], env={**cluster.env, **env}, capture_output=True,
                          text=True, timeout=timeout, cwd=REPO_ROOT)


@pytest.mark.slow
@pytest.mark.ray
@pytest.mark.timeout(300)
def test_radar_up_as_a_ray_job_is_found_by_status_from_another_process_and_stops_cleanly(tmp_path, cluster):
    # Arrange: the paper system on the emulator, as a job with detached, named actors (SPEC §9 deployment)
    wd = _working_dir(tmp_path)
    strategies = yaml.safe_load((wd / "config" / "strategies.yaml").read_text())
    for name, entry in strategies.items():
        entry["enabled"] = name == "grid_atr"
    strategies["grid_atr"]["symbols"] = ["BTC/USDT:USDT"]
    (wd / "config" / "strategies.yaml").write_text(yaml.safe_dump(strategies, sort_keys=False))
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db' / 'radar.db'}", "RADAR_DATA_DIR": str(tmp_path / "data")}
    (tmp_path / "db").mkdir()
    up = ["python", "-m", "radar", "--config", "config", "up", "--exchange", "emulator", "--data", str(BTC),
          "--symbols", "BTC/USDT:USDT", "--speed", "36000", "--detached", "--address", "auto", "--duration", "150",
          "--json", "--api-port", "0"]
    # Act: submit without waiting, then look the system up from this (other) process by actor name
    submit = _ray_cli(cluster, "job", "submit", "--no-wait", "--address", cluster.dashboard, "--submission-id",
                      "radar-up", "--working-dir", str(wd), "--runtime-env-json", json.dumps({"env_vars": env}),
                      "--", *up, timeout=120)
    assert submit.returncode == 0, submit.stdout[-3000:] + submit.stderr[-3000:]
    seen, deadline = None, time.monotonic() + 150
    while time.monotonic() < deadline:
        st = _radar(cluster, env, "status", "--address", f"127.0.0.1:{cluster.gcs_port}", "--json")
        if st.returncode == 0:
            seen = json.loads(st.stdout.strip().splitlines()[-1])
            if seen["runners"] and seen["runners"][0]["candles"] >= 20:
                break
        time.sleep(2)
    # the job's driver also serves the API over the same actors (its URL is in the job's log)
    running_logs = _ray_cli(cluster, "job", "logs", "--address", cluster.dashboard, "radar-up").stdout
    api_url = next(ln.split()[1] for ln in running_logs.splitlines() if ln.startswith("dashboard: "))
    with urllib.request.urlopen(f"{api_url}api/simulator/status", timeout=10) as resp:
        api_status = json.loads(resp.read())
    stop = _radar(cluster, env, "stop")
    status_after = None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        state = subprocess.run([sys.executable, "-c", CLIENT_SCRIPT, cluster.dashboard, "radar-up"], env=cluster.env,
                               capture_output=True, text=True, timeout=60)
        status_after = json.loads(state.stdout)["status"] if state.returncode == 0 else None
        if status_after in ("SUCCEEDED", "FAILED", "STOPPED"):
            break
        time.sleep(2)
    logs = _ray_cli(cluster, "job", "logs", "--address", cluster.dashboard, "radar-up").stdout
    gone = _radar(cluster, env, "status", "--address", f"127.0.0.1:{cluster.gcs_port}", "--json")

    # Assert: another process saw the running system through the named, detached actors
    assert seen is not None and seen["runners"], logs[-3000:]
    assert [r["name"] for r in seen["runners"]] == ["grid_atr"]
    assert seen["runners"][0]["candles"] >= 20 and seen["feed"]["connected"]
    assert seen["guard"] is not None and seen["guard"]["entries_blocked"] is False
    assert api_status["runners"] == 1 and api_status["strategies"][0]["name"] == "grid_atr", api_status
    # Assert: `radar stop` ended the job cleanly (state saved, candles flushed), and the actors with it
    assert stop.returncode == 0 and status_after == "SUCCEEDED", logs[-3000:]
    assert (tmp_path / "data" / "simulator_state.json").is_file()
    con = sqlite3.connect(tmp_path / "db" / "radar.db")
    try:
        stored = con.execute("SELECT count(*) FROM candles").fetchone()[0]
    finally:
        con.close()
    assert stored >= seen["runners"][0]["candles"]
    assert gone.returncode != 0 and "no running system" in gone.stderr


def test_status_with_an_address_where_no_cluster_listens_fails_fast_with_the_address(tmp_path):
    port = _free_ports(1)[0]
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "radar", "status", "--address", f"127.0.0.1:{port}"],
                         capture_output=True, text=True, timeout=60, cwd=REPO_ROOT,
                         env={**_client_env(), "RADAR_DATA_DIR": str(tmp_path)})
    assert out.returncode != 0
    assert f"127.0.0.1:{port}" in out.stderr and "no Ray cluster" in out.stderr
    assert time.monotonic() - t0 < 20
