"""grid_atr end to end on the real BTC hourly file (17,583 candles)."""
from __future__ import annotations

import math

import pytest

from radar.data.csv_io import read_candle_csv
from radar.runners import RunnerConfig, make_runner
from radar.strategies.registry import create_strategy
from tests.conftest import SHARED_DATA


def _btc():
    arr, _ = read_candle_csv(SHARED_DATA / "BTC-USD_1h_bitfinex.csv", "1h")
    return arr.candles("BTC/USDT:USDT", "1h")


def test_grid_atr_defaults_stop_at_the_kill_switch_on_btc_2017():
    # 6x leverage with the TP at a 14-candle SMA loses fast in the 2017-2018 swings: the runner
    # must stop at the first exit that leaves capital under 75% of the initial 10,000.
    candles = _btc()
    runner = make_runner(create_strategy("grid_atr", {}), RunnerConfig("grid_atr:BTC", "BTC/USDT:USDT"))
    runner.run(candles)
    assert runner.stopped and runner.stop_reason == "kill_switch"
    assert runner.capital < 7_500
    before_last = 10_000 + sum(t.net for t in runner.trades[:-1])
    assert before_last >= 7_500  # it did not miss an earlier breach
    assert runner.trades[-1].exit_ts < candles[-1].timestamp  # the backtest ended there


def test_grid_atr_trades_the_btc_file_with_consistent_accounting():
    candles = _btc()
    strat = create_strategy("grid_atr", {"leverage": 2, "ma_period": 20, "atr_multiplier_start": 2.5})
    runner = make_runner(strat, RunnerConfig("grid_atr:BTC", "BTC/USDT:USDT"))
    runner.run(candles)
    trades = runner.trades
    assert len(runner.closed_trades()) > 50
    for t in trades:
        assert math.isfinite(t.net)
        assert t.entry_ts <= t.exit_ts
        assert t.reason in ("tp", "sl", "end_of_data")
    # every unit of capital is accounted for by trade PnL (no funding stored -> default rate 0)
    assert runner.capital == pytest.approx(10_000 + sum(t.net for t in trades), rel=1e-12)
    # the TP of a long grid is the SMA: exits at TP never sit above the candle's high
    highs = {c.timestamp: c.high for c in candles}
    assert all(t.exit_price <= highs[t.exit_ts] + 1e-9 for t in trades if t.reason == "tp")
