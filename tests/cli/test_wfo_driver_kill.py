"""A WFO driver killed with SIGKILL mid-sweep: the SQLite store stays intact, and the same command resumes from
the windows already stored and ends with exactly the result of an uninterrupted run (issue 5)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT, SHARED_DATA

BTC = SHARED_DATA / "BTC-USD_1h_bitfinex.csv"
JOB = "K"
# The shipped 4,608-combo grid x 3 cooldowns: ~0.1-0.4 s per window serially, so the polling below sees
# windows land one by one and the kill falls well before the 18th (9 windows x IS/OOS).
COOLDOWNS = [3, 6, 10]
COMBOS = 4608 * len(COOLDOWNS)
STORED_WINDOWS = 9 * 2
POLL_S = 0.02


@pytest.fixture(scope="module")
def big_config(tmp_path_factory) -> Path:
    cfg = tmp_path_factory.mktemp("kill") / "config"
    shutil.copytree(REPO_ROOT / "config", cfg)
    grids = yaml.safe_load((cfg / "param_grids.yaml").read_text())
    grids["grid_atr"]["default"]["cooldown_candles"] = COOLDOWNS
    grids["grid_atr"].pop("per_symbol", None)
    (cfg / "param_grids.yaml").write_text(yaml.safe_dump(grids, sort_keys=False))
    return cfg


def _command(config: Path, job_id: str) -> list[str]:
    return [sys.executable, "-m", "radar", "--config", str(config), "wfo", "--strategy", "grid_atr", "--symbols",
            "BTC/USDT:USDT", "--csv", str(BTC), "--executor", "serial", "--job-id", job_id, "--json"]


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "RADAR_CONFIG_DIR")}
    env["RADAR_DATA_DIR"] = str(data_dir)
    return env


def _run(config: Path, job_id: str, data_dir: Path) -> dict:
    proc = subprocess.run(_command(config, job_id), capture_output=True, text=True, env=_env(data_dir),
                          cwd=data_dir.parent, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _query(db: Path, sql: str, *params: object) -> list[tuple]:
    # A short read-only connection per poll: never holds a lock the driver could wait on.
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def _stored_windows(db: Path, job_id: str) -> int:
    try:
        return _query(db, "SELECT count(*) FROM wfo_window_metrics WHERE job_id = ?", job_id)[0][0]
    except sqlite3.OperationalError:  # the file or the table does not exist yet
        return 0


@pytest.fixture(scope="module")
def fresh_run(big_config, tmp_path_factory) -> dict:
    """The uninterrupted reference, in its own database under another job id."""
    data = tmp_path_factory.mktemp("fresh") / "data"
    return _run(big_config, "fresh", data)


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [3, 11], ids=["early", "past-half"])
def test_sigkilled_driver_resumes_to_the_uninterrupted_result(tmp_path, big_config, fresh_run, kill_after):
    # Arrange: a sweep running in its own process, killed once `kill_after` windows are stored
    data = tmp_path / "data"
    db = data / "radar.db"
    proc = subprocess.Popen(_command(big_config, JOB), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=_env(data), cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while _stored_windows(db, JOB) < kill_after:
            assert proc.poll() is None, f"driver exited before the kill: {proc.communicate()[1].decode()}"
            assert time.monotonic() < deadline, "no progress within 60 s"
            time.sleep(POLL_S)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()

    # Assert: killed mid-sweep, store intact and resumable, job not marked done
    assert proc.returncode == -signal.SIGKILL
    assert _query(db, "PRAGMA integrity_check") == [("ok",)]
    stored = _stored_windows(db, JOB)
    assert kill_after <= stored < STORED_WINDOWS
    assert _query(db, "SELECT status FROM optimization_jobs WHERE id = ?", JOB) == [("running",)]
    assert _query(db, "SELECT count(*) FROM optimization_results WHERE job_id = ?", JOB) == [(0,)]
    sizes = _query(db, "SELECT DISTINCT n_combos, length(data) FROM wfo_window_metrics WHERE job_id = ?", JOB)
    assert len(sizes) == 1 and sizes[0][0] == COMBOS and sizes[0][1] % (COMBOS * 8) == 0  # no torn window

    # Act: the same command again
    resumed = _run(big_config, JOB, data)

    # Assert: only the missing windows were computed, and the result is the uninterrupted one
    assert resumed["resumed_windows"] == stored
    assert resumed["evaluations"] == (STORED_WINDOWS - stored) * COMBOS < fresh_run["evaluations"]
    assert fresh_run["evaluations"] == STORED_WINDOWS * COMBOS and fresh_run["resumed_windows"] == 0
    assert resumed["combos"] == COMBOS and resumed["windows"] == 9
    mine, ref = resumed["results"][0], fresh_run["results"][0]
    assert (mine["grade"], mine["score"], mine["best_params"]) == (ref["grade"], ref["score"], ref["best_params"])
    assert resumed["results"] == fresh_run["results"]
    assert _query(db, "SELECT status FROM optimization_jobs WHERE id = ?", JOB) == [("done",)]
    assert _query(db, "SELECT count(*) FROM optimization_results WHERE job_id = ?", JOB) == [(1,)]
    assert _stored_windows(db, JOB) == STORED_WINDOWS
