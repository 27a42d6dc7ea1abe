"""`radar wfo` through the console entry point: a small sweep, job status, apply (comments kept, backup),
and the clear errors a user gets before anything runs."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from radar.config import load_config
from tests.conftest import REPO_ROOT, SHARED_DATA

BTC = SHARED_DATA / "BTC-USD_1h_bitfinex.csv"


@pytest.fixture()
def small_config(tmp_path) -> Path:
    """A copy of the shipped config whose grid_atr grid has 8 combos."""
    cfg = tmp_path / "config"
    shutil.copytree(REPO_ROOT / "config", cfg)
    grids = yaml.safe_load((cfg / "param_grids.yaml").read_text())
    grids["grid_atr"]["default"] = {"ma_period": [10, 20], "num_levels": [2, 3], "sl_percent": [15, 20],
                                    "leverage": [2]}
    grids["grid_atr"].pop("per_symbol", None)
    (cfg / "param_grids.yaml").write_text(yaml.safe_dump(grids, sort_keys=False))
    return cfg


def radar(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "RADAR_CONFIG_DIR")}
    env["RADAR_DATA_DIR"] = str(cwd / "data")
    proc = subprocess.run([sys.executable, "-m", "radar", *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_sweep_status_and_apply(tmp_path, small_config):
    out = json.loads(radar("--config", str(small_config), "wfo", "--strategy", "grid_atr", "--symbols",
                           "BTC/USDT:USDT", "--csv", str(BTC), "--executor", "serial", "--job-id", "j1", "--json",
                           "--report", str(tmp_path / "wfo.html"), "--report-json", str(tmp_path / "wfo.json"),
                           "--heatmap", "ma_period,num_levels", cwd=tmp_path).stdout)
    rep = json.loads((tmp_path / "wfo.json").read_text())["symbols"][0]
    assert rep["heatmap"]["x_values"] == [10, 20] and rep["heatmap"]["y_values"] == [2, 3]
    assert len(rep["windows"]) == 9 and len(rep["stitched_equity"]) == 9
    page = (tmp_path / "wfo.html").read_text()
    assert page.count('class="cell"') == 4 and 'class="equity"' in page and "Grade breakdown" in page
    assert (out["combos"], out["windows"], out["evaluations"]) == (8, 9, 8 * 9 * 2)
    res = out["results"][0]
    assert res["symbol"] == "BTC/USDT:USDT" and res["grade"] in "ABCDF"
    status = json.loads(radar("wfo", "status", "j1", cwd=tmp_path).stdout)
    assert status["status"] == "done" and status["progress"] == status["total"] == 8 * 9 * 2

    # a second run with the same job id resumes everything from the store
    again = json.loads(radar("--config", str(small_config), "wfo", "--strategy", "grid_atr", "--symbols",
                             "BTC/USDT:USDT", "--csv", str(BTC), "--executor", "serial", "--job-id", "j1", "--json",
                             cwd=tmp_path).stdout)
    assert again["evaluations"] == 0 and again["resumed_windows"] == 18 and again["results"] == out["results"]

    before = (small_config / "strategies.yaml").read_text()
    radar("--config", str(small_config), "wfo", "apply", "j1", "--grades", "A,B,C,D,F", cwd=tmp_path)
    after = (small_config / "strategies.yaml").read_text()
    assert "# Strategies (SPEC §6)" in after  # comments survive
    backups = list(small_config.glob("strategies.yaml.bak-*"))
    assert len(backups) == 1 and backups[0].read_text() == before
    applied = load_config(small_config).strategy_params("grid_atr", "BTC/USDT:USDT")
    for k, v in res["best_params"].items():
        assert getattr(applied, k) == (tuple(v) if isinstance(v, list) else v), k


@pytest.mark.parametrize("args,message", [
    (["--strategy", "nope"], "unknown strategy"),
    (["--strategy", "grid_atr", "--from", "2019-01-01"], "windows longer than the data"),
    (["--strategy", "funding"], "live-only"),
])
def test_bad_sweeps_fail_with_one_line_before_any_task(tmp_path, small_config, args, message):
    proc = radar("--config", str(small_config), "wfo", *args, "--symbols", "BTC/USDT:USDT", "--csv", str(BTC),
                 "--executor", "serial", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1
