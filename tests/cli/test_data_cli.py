"""`radar data ...` end to end through the console entry point, as a user runs it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA

BTC = SHARED_DATA / "BTC-USD_1h_bitfinex.csv"


def radar(*args: str, env_dir: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["RADAR_DATA_DIR"] = str(env_dir)
    proc = subprocess.run([sys.executable, "-m", "radar", *args], capture_output=True, text=True, env=env, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_import_twice_stores_17583_candles_once(tmp_path):
    first = json.loads(radar("data", "import", str(BTC), "--symbol", "BTC/USDT:USDT", "--exchange", "bitfinex",
                             "--json", env_dir=tmp_path).stdout)
    second = json.loads(radar("data", "import", str(BTC), "--symbol", "BTC/USDT:USDT", "--exchange", "bitfinex",
                              "--json", env_dir=tmp_path).stdout)
    assert (first["new_rows"], first["stored_total"]) == (17_583, 17_583)
    assert (second["new_rows"], second["stored_total"]) == (0, 17_583)
    status = json.loads(radar("data", "status", "--json", env_dir=tmp_path).stdout)
    assert status == [{"exchange": "bitfinex", "symbol": "BTC/USDT:USDT", "timeframe": "1h", "first": 1498906800000,
                       "last": 1562202000000, "rows": 17_583, "gaps": 0, "missing_candles": 0}]


def test_corrupt_rows_are_reported_by_line_and_valid_rows_kept(tmp_path):
    lines = BTC.read_text().splitlines()[:11]
    lines[3] = lines[3].replace(lines[3].split(",")[2], "abc", 1)  # text in a number column (line 4)
    ts, o, h, l, c, v = lines[5].split(",")
    lines[5] = ",".join([ts, o, l, h, c, v]) if float(h) != float(l) else lines[5]  # high < low (line 6)
    lines[7] = ",".join(lines[7].split(",")[:4] + ["nan", lines[7].split(",")[5]])  # NaN close (line 8)
    f = tmp_path / "bad_1h.csv"
    f.write_text("\n".join(lines) + "\n")
    out = json.loads(radar("data", "import", str(f), "--symbol", "BTC/USDT:USDT", "--json", env_dir=tmp_path).stdout)
    assert out["new_rows"] == 7 and out["stored_total"] == 7
    assert {row for row, _reason in out["rejected_rows"]} == {4, 6, 8}


def test_user_errors_are_one_line_without_traceback(tmp_path):
    proc = radar("data", "import", str(tmp_path / "missing_1h.csv"), "--symbol", "X/USDT:USDT", env_dir=tmp_path,
                 check=False)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "missing_1h.csv" in proc.stderr


@pytest.mark.parametrize("cmd", [[], ["data"], ["data", "import"], ["data", "fetch"], ["data", "status"],
                                 ["data", "resample"]])
def test_every_command_has_help(tmp_path, cmd):
    proc = radar(*cmd, "--help", env_dir=tmp_path)
    assert proc.stdout.startswith("usage: radar")


def test_config_check_reports_the_shipped_grid_and_fails_on_a_bad_file(tmp_path):
    out = json.loads(radar("config", "check", "--json", env_dir=tmp_path).stdout)
    assert out["grid_combos"] == {"grid_atr": 4608} and "grid_atr" in out["enabled_strategies"]
    bad = tmp_path / "cfg"
    bad.mkdir()
    for f in (Path(__file__).resolve().parents[2] / "config").glob("*.yaml"):
        (bad / f.name).write_text(f.read_text())
    risk = (bad / "risk.yaml").read_text()
    (bad / "risk.yaml").write_text(risk + "\nbogus_key: 1\n")
    proc = radar("--config", str(bad), "config", "check", env_dir=tmp_path, check=False)
    assert proc.returncode == 2 and "risk.yaml: bogus_key: unknown key" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_config_falls_back_to_the_shipped_defaults_outside_the_repo(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "RADAR_CONFIG_DIR")}
    env["RADAR_DATA_DIR"] = str(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "radar", "config", "check", "--json"], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert Path(json.loads(proc.stdout)["config_dir"]).resolve() == (Path(__file__).resolve().parents[2] / "config")
