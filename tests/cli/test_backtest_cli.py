"""`radar backtest` and `radar portfolio` end to end through the console entry point, on the real data files."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import REPO_ROOT, SHARED_DATA

BTC = SHARED_DATA / "BTC-USD_1h_bitfinex.csv"
SYMBOL = "BTC/USDT:USDT"
WINDOW = ("--from", "2018-01-01", "--to", "2018-07-01")  # 4,344 hourly candles: the runner stays quick
JSON_KEYS = {"trades", "net_return_pct", "sharpe", "profit_factor", "win_rate", "max_drawdown_pct", "final_capital",
             "engine", "strategy", "params", "funding_note"}


def radar(*args: str, env_dir: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "RADAR_CONFIG_DIR")}
    env["RADAR_DATA_DIR"] = str(env_dir)
    proc = subprocess.run([sys.executable, "-m", "radar", *args], capture_output=True, text=True, env=env, timeout=120,
                          cwd=REPO_ROOT)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def backtest_json(*args: str, env_dir: Path) -> dict:
    return json.loads(radar("backtest", "--strategy", "grid_atr", "--symbol", SYMBOL, *args, "--json",
                            env_dir=env_dir).stdout)


def config_with_funding(tmp_path: Path, rate: float) -> Path:
    """A copy of the shipped config whose default funding rate is `rate`."""
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    for f in (REPO_ROOT / "config").glob("*.yaml"):
        (cfg / f.name).write_text(f.read_text())
    risk = (cfg / "risk.yaml").read_text()
    assert "default_funding_rate: 0.0 " in risk
    (cfg / "risk.yaml").write_text(risk.replace("default_funding_rate: 0.0 ", f"default_funding_rate: {rate} "))
    return cfg


def test_json_backtest_from_a_csv_has_the_metric_keys_and_says_default_funding_was_charged(tmp_path):
    out = backtest_json("--csv", str(BTC), *WINDOW, "--param", "ma_period=20", "--leverage", "1", env_dir=tmp_path)
    assert JSON_KEYS <= set(out)
    assert (out["strategy"], out["engine"], out["params"]["ma_period"], out["params"]["leverage"]) == \
           ("grid_atr", "fast", 20, 1)
    assert out["candles"] == 181 * 24  # 2018-01-01 .. 2018-06-30, hourly, no gap in the file there
    assert out["trades"] > 10 and 0 <= out["win_rate"] <= 1
    # Capital accounting: final = initial + counted trade PnL - funding (no end-of-data close here, or add it).
    assert out["end_of_data_trades"] == 0 or out["stop_reason"] == ""
    if out["end_of_data_trades"] == 0:
        assert out["final_capital"] == pytest.approx(
            out["initial_capital"] * (1 + out["net_return_pct"] / 100) - out["funding"], rel=1e-9)
    assert "no funding rates stored" in out["funding_note"] and "default rate 0 " in out["funding_note"]


def test_fast_and_runner_engines_give_the_same_numbers_with_funding_charged(tmp_path):
    cfg = config_with_funding(tmp_path, 0.0001)
    args = ("--config", str(cfg), "backtest", "--strategy", "grid_atr", "--symbol", SYMBOL, "--csv", str(BTC),
            "--leverage", "1", "--json")
    fast = json.loads(radar(*args, "--engine", "fast", env_dir=tmp_path).stdout)
    runner = json.loads(radar(*args, "--engine", "runner", env_dir=tmp_path).stdout)
    assert (fast["engine"], runner["engine"]) == ("fast", "runner")
    assert fast["trades"] == runner["trades"] > 100
    assert fast["funding"] > 0 and "default rate 0.0001" in fast["funding_note"]
    for key, value in runner.items():
        if isinstance(value, float):
            assert fast[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
    assert fast["stop_reason"] == runner["stop_reason"]


def test_backtest_from_the_store_equals_the_backtest_from_the_csv_and_writes_a_report(tmp_path):
    radar("data", "import", str(BTC), "--symbol", SYMBOL, env_dir=tmp_path)
    report = tmp_path / "bt.html"
    stored = backtest_json(*WINDOW, "--leverage", "2", "--report", str(report), env_dir=tmp_path)
    direct = backtest_json("--csv", str(BTC), *WINDOW, "--leverage", "2", env_dir=tmp_path)
    assert stored["report"] == str(report)
    del stored["report"]
    assert stored == direct
    html = report.read_text()
    assert html.count("<svg") == 2 and f'data-name="net_return_pct">{stored["net_return_pct"]:.4f}<' in html


def test_table_output_names_the_engine_and_the_funding(tmp_path):
    out = radar("backtest", "--strategy", "grid_atr", "--symbol", SYMBOL, "--csv", str(BTC), *WINDOW,
                env_dir=tmp_path).stdout
    assert "Backtest grid_atr" in out and "net return" in out and "fast" in out and "no funding rates stored" in out


def test_stored_funding_rates_are_charged_the_same_by_both_engines_and_named_in_the_notes(tmp_path):
    xrp = "XRP/USDT:USDT"
    radar("data", "import", str(SHARED_DATA / "XRP-USDT_1h_futures.csv"), "--symbol", xrp, env_dir=tmp_path)
    radar("data", "import", str(SHARED_DATA / "XRP-USDT_8h_funding_rate.csv"), "--symbol", xrp, "--funding",
          env_dir=tmp_path)
    args = ("backtest", "--strategy", "grid_atr", "--symbol", xrp, "--param", "sides=long,short",
            "--param", "atr_multiplier_start=1", "--json")
    fast = json.loads(radar(*args, env_dir=tmp_path).stdout)
    runner = json.loads(radar(*args, "--engine", "runner", env_dir=tmp_path).stdout)
    # The first stored rate is stamped 2021-11-18 00:00:00.017 and applies from the 00:00 candle on; the
    # file's 100 candles start 2021-11-17 01:00, so 23 of them (01:00 .. 23:00) have no rate yet.
    assert fast["funding_note"].startswith("91 stored funding rates, in force at 77 of 100 candles")
    assert fast["trades"] == runner["trades"] > 0 and fast["funding"] != 0
    for key in ("funding", "net_return_pct", "final_capital", "max_drawdown_pct", "sharpe"):
        assert fast[key] == pytest.approx(runner[key], rel=1e-9, abs=1e-12), key
    pf = json.loads(radar("portfolio", "--strategies", "grid_atr", "--symbols", xrp, "--json", env_dir=tmp_path).stdout)
    assert pf["funding_note"].startswith(f"stored funding rates for {xrp}")


@pytest.mark.parametrize("args, message", [
    (["--strategy", "nope", "--csv", str(BTC)], "unknown strategy 'nope'"),
    (["--strategy", "grid_atr", "--csv", str(BTC), "--param", "bogus=1"], "bogus"),
    (["--strategy", "grid_atr", "--csv", str(BTC), "--param", "num_levels=0"], "num_levels"),
    (["--strategy", "grid_atr", "--csv", str(BTC), "--param", "ma_period"], "NAME=VALUE"),
    (["--strategy", "grid_atr", "--csv", str(BTC), "--from", "2018-03-01", "--to", "2018-02-01"], "empty date range"),
    (["--strategy", "grid_atr", "--csv", str(BTC), "--from", "2024-01-01"], "no 1h candles"),
    (["--strategy", "grid_atr"], "no 1h candles for BTC/USDT:USDT"),  # empty store
    (["--strategy", "grid_atr", "--csv", "missing_1h.csv"], "missing_1h.csv"),
    (["--strategy", "funding", "--csv", str(BTC)], "live-only"),
    (["--strategy", "grid_atr", "--csv", str(BTC), "--report", "no_such_dir/r.html"], "does not exist"),
    (["--strategy", "grid_atr", "--csv", str(BTC), "--leverage", "0"], "leverage"),
])
def test_bad_backtest_input_is_one_line_on_stderr_and_exit_2(tmp_path, args, message):
    proc = radar("backtest", "--symbol", SYMBOL, *args, env_dir=tmp_path, check=False)
    assert proc.returncode == 2, proc.stdout
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert message in proc.stderr


def test_portfolio_of_two_strategies_on_two_resampled_5m_pairs_is_printed_saved_and_reported(tmp_path):
    report = tmp_path / "pf.html"
    out = json.loads(radar("portfolio", "--strategies", "grid_atr,grid_multi_tf", "--symbols", "ETH/BTC,LTC/BTC",
                           "--capital", "10000", "--csv-dir", str(SHARED_DATA), "--timeframe", "1h", "--json",
                           "--report", str(report), env_dir=tmp_path).stdout)
    assert out["runners"] == ["grid_atr:ETH/BTC", "grid_atr:LTC/BTC", "grid_multi_tf:ETH/BTC", "grid_multi_tf:LTC/BTC"]
    assert out["initial_capital"] == 10000 and out["benchmark_symbol"] is None  # no BTC-based asset traded
    assert {"return_pct", "max_drawdown_pct", "alpha_pct", "freezes", "liquidations"} <= set(out)
    assert out["final_equity"] == pytest.approx(sum(out["runner_final_capital"].values()), rel=1e-12)
    assert out["return_pct"] == pytest.approx((out["final_equity"] / 10000 - 1) * 100, rel=1e-9)
    db = create_engine(f"sqlite:///{tmp_path / 'radar.db'}")
    with db.connect() as conn:
        rows = conn.execute(text("SELECT id, final_equity, initial_capital FROM portfolio_backtests")).all()
    assert [(r[0], r[1], r[2]) for r in rows] == [(out["id"], pytest.approx(out["final_equity"]), 10000)]
    assert report.read_text().count("<svg") == 2


def test_portfolio_with_a_symbol_without_candles_is_a_data_error(tmp_path):
    proc = radar("portfolio", "--strategies", "grid_atr", "--symbols", "ETH/BTC,DOGE/BTC", "--csv-dir",
                 str(SHARED_DATA), env_dir=tmp_path, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
    assert "DOGE/BTC" in proc.stderr


@pytest.mark.parametrize("cmd", [["backtest"], ["portfolio"]])
def test_backtest_commands_have_help(tmp_path, cmd):
    assert radar(*cmd, "--help", env_dir=tmp_path).stdout.startswith("usage: radar")
