"""`run_backtest` gives the same trades and metrics on the fast engine and on the runner, for every
strategy that has a fast kernel, through the one dispatch entry point the CLI and the WFO use."""
from __future__ import annotations

import dataclasses
import math

import pytest

from radar.backtest.fast.dispatch import fast_strategies
from radar.backtest.single import run_backtest
from radar.data.csv_io import read_candle_csv
from radar.data.resample import resample
from radar.strategies.params import param_model
from tests.conftest import SHARED_DATA


def _candles(timeframe: str):
    if timeframe == "5m":
        return read_candle_csv(SHARED_DATA / "ETH-BTC_5m.csv", "5m")[0]
    arr, _ = read_candle_csv(SHARED_DATA / "BTC-USD_1h_bitfinex.csv", "1h")
    return arr if timeframe == "1h" else resample(arr, "1h", timeframe)


def _close(a: float, b: float) -> bool:
    return a == b or (math.isfinite(a) and math.isfinite(b) and abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b)))


@pytest.mark.parametrize("strategy", sorted(fast_strategies()))
def test_fast_engine_equals_runner_through_run_backtest(strategy):
    tf = param_model(strategy)().timeframe
    candles = _candles(tf)
    fast = run_backtest(strategy, candles, {}, engine="fast", leverage=1, symbol="X")
    slow = run_backtest(strategy, candles, {}, engine="runner", leverage=1, symbol="X")
    assert (fast.engine, slow.engine) == ("fast", "runner")
    assert len(fast.trades) == len(slow.trades)
    for a, b in zip(fast.trades, slow.trades):
        assert (a.entry_ts, a.exit_ts, a.side, a.reason, a.end_of_data) == (b.entry_ts, b.exit_ts, b.side, b.reason,
                                                                           b.end_of_data)
        assert _close(a.net, b.net) and _close(a.exit_price, b.exit_price)
    assert _close(fast.final_capital, slow.final_capital)
    for f in dataclasses.fields(fast.metrics):
        assert _close(getattr(fast.metrics, f.name), getattr(slow.metrics, f.name)), f.name
