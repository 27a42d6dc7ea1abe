"""Fast engine == GridStrategyRunner for grid_funding, trade for trade.

grid_funding's levels come from the funding rate the strategy sees (`ctx.funding_rate`, None before the first
published rate), not from indicators: LONG level k rests at the previous close while the rate is at or below
-(funding_start + k*funding_step); its take-profit is a close-all rule once the grid has been held
min_hold_candles ("funding_positive" first, then "sma_cross"). Data: the real XRP perpetual 1h candles with
the real 8h funding file forward-filled the way the backtest command does it (funding_per_candle; all those
rates are positive, so nothing trades), the same rates shifted down so levels trigger, the 5m file resampled to
1h for a longer run, and the BTC hourly file with a synthetic 8h funding series (an AR(1) walk crossing zero).
Tolerances as in the other parity tests (prices/qty 1e-12, net 1e-9).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

from radar.backtest.fast.engine import BATCH_COLUMNS, funding_per_candle
from radar.backtest.fast.grid_family import cache_for, run_grid_batch
from radar.data.csv_io import read_candle_csv, read_funding_csv
from radar.data.resample import resample
from radar.models import CandleArrays
from tests.backtest.parity import (
    NO_STOPS, assert_batch_row_matches, assert_same_metrics, assert_same_trades, btc, run_grid_both,
)
from tests.conftest import SHARED_DATA

STRATEGY = "grid_funding"
H = 3_600_000
SLIPPAGE = 0.0005  # CostModel default


@lru_cache(maxsize=None)
def xrp(source: str) -> CandleArrays:
    if source == "1h":
        arr, _ = read_candle_csv(SHARED_DATA / "XRP-USDT_1h_futures.csv", "1h")
        return arr
    arr, _ = read_candle_csv(SHARED_DATA / "XRP-USDT_5m_futures.csv", "5m")
    return resample(arr, "5m", "1h")


@lru_cache(maxsize=None)
def xrp_rates(source: str, shift: float) -> np.ndarray:
    """The real 8h funding in force at each candle (NaN before the first published rate), minus `shift`."""
    fts, rates, _ = read_funding_csv(SHARED_DATA / "XRP-USDT_8h_funding_rate.csv")
    return funding_per_candle(xrp(source).timestamp, fts, rates, default=np.nan) - shift


@lru_cache(maxsize=1)
def btc_rates() -> np.ndarray:
    """A synthetic 8h funding series on the BTC candles: AR(1) around zero, published at 00/08/16 UTC, forward
    filled; nothing known for the first 100 hours."""
    ts = btc().timestamp
    first = (int(ts[0]) // (8 * H) + 1) * 8 * H
    rate_ts = np.arange(first + 96 * H, int(ts[-1]) + 1, 8 * H)
    rng = np.random.default_rng(2024)
    walk = np.empty(rate_ts.shape[0])
    r = 0.0
    for k in range(walk.shape[0]):
        r = 0.85 * r + rng.normal(0.0, 0.0004)
        walk[k] = r
    return funding_per_candle(ts, rate_ts, walk, default=np.nan)


def run_both(arr: CandleArrays, rates: np.ndarray | None, params: dict, limits: dict | None = None,
             default_funding_rate: float = 0.0, symbol: str = "XRP/USDT:USDT"):
    return run_grid_both(STRATEGY, params, limits, rates, default_funding_rate, arr=arr, symbol=symbol,
                         runner_id=f"{STRATEGY}:{symbol}")


# ---------------------------------------------------------------- real XRP candles and funding


def test_real_xrp_funding_is_positive_so_neither_engine_trades():
    rates = xrp_rates("1h", 0.0)
    known = rates[~np.isnan(rates)]
    assert known.size > 60 and known.min() == pytest.approx(0.0001)
    runner, fast, _ = run_both(xrp("1h"), rates, {"leverage": 2})
    assert runner.trades == [] and fast.trades == ()
    assert fast.capital == runner.capital == 10_000.0


@pytest.mark.parametrize("source", ["1h", "5m_resampled"])
@pytest.mark.parametrize("params,shift", [
    ({"leverage": 2}, 0.0007),  # defaults: level 0 at -0.0005, level 1 at -0.001 (never reached)
    ({"leverage": 2, "funding_start": 0.0001, "funding_step": 0.00005, "min_hold_candles": 4}, 0.0003),
    ({"leverage": 3, "funding_start": 0.00001, "funding_step": 0.0, "tp_mode": "funding_positive",
      "min_hold_candles": 2}, 0.00012),
    ({"leverage": 1, "funding_start": 0.00001, "ma_period": 7, "tp_mode": "sma_cross", "min_hold_candles": 0,
      "num_levels": 2}, 0.00012),
])
def test_shifted_real_funding_matches_the_runner_trade_for_trade(source, params, shift):
    runner, fast, cache = run_both(xrp(source), xrp_rates(source, shift), params, NO_STOPS)
    assert len(runner.closed_trades()) >= 1
    assert_same_trades(runner, fast)
    assert_same_metrics(runner, fast, cache)


def test_shifted_real_funding_exercises_both_take_profits_and_stacked_levels():
    runs = [run_both(xrp("5m_resampled"), xrp_rates("5m_resampled", 0.00012),
                     {"leverage": 3, "funding_start": 0.00001, "tp_mode": mode, "min_hold_candles": 2})[0]
            for mode in ("funding_positive", "sma_cross")]
    assert {t.reason for t in runs[0].closed_trades()} == {"funding_positive"}
    assert "sma_cross" in {t.reason for t in runs[1].closed_trades()}
    stacked = run_both(xrp("1h"), xrp_rates("1h", 0.0003),
                       {"leverage": 2, "funding_start": 0.0001, "funding_step": 0.00004})[0]
    assert max(t.positions for t in stacked.trades) == 3  # ~-0.0002 in force: thresholds -0.0001..-0.00018 at once


def test_no_level_before_the_first_published_rate_even_with_a_default_charge_rate():
    # The strategy sees None there (no levels) while the runner charges the default on open positions.
    rates = xrp_rates("1h", 0.0003)
    first_known = int(np.argmax(~np.isnan(rates)))
    assert first_known > 10
    runner, fast, cache = run_both(xrp("1h"), rates, {"leverage": 2, "funding_start": 0.0001, "ma_period": 5},
                                   NO_STOPS, default_funding_rate=-0.01)
    assert min(t.entry_ts for t in fast.trades) > int(cache.timestamp[first_known - 1])
    assert_same_trades(runner, fast)


# ---------------------------------------------------------------- BTC with a synthetic funding series


@lru_cache(maxsize=1)
def btc_combos() -> tuple[tuple[str, dict, dict], ...]:
    """8 combos of a grid around the defaults, leverage 1-3, every 4th with the SPEC stops."""
    rng = np.random.default_rng(99)
    out = []
    for k in range(8):
        params = {
            "funding_start": float(rng.choice([0.0002, 0.0005, 0.001])),
            "funding_step": float(rng.choice([0.0, 0.0002, 0.0005])),
            "num_levels": int(rng.choice([1, 2, 3])),
            "ma_period": int(rng.choice([7, 14, 30])),
            "tp_mode": ("funding_positive", "sma_cross", "both")[k % 3],
            "min_hold_candles": int(rng.choice([0, 4, 8, 24])),
            "sl_percent": float(rng.choice([5.0, 10.0, 15.0])),
            "leverage": (1, 2, 3)[k % 3],
        }
        limits = {} if k % 4 == 0 else NO_STOPS
        out.append((f"btc{k}-{params['tp_mode']}-hold{params['min_hold_candles']}-x{params['leverage']}", params,
                    limits))
    return tuple(out)


@lru_cache(maxsize=None)
def btc_run(k: int):
    _, params, limits = btc_combos()[k]
    return run_both(btc(), btc_rates(), params, limits, symbol="BTC/USDT:USDT")


def test_default_params_at_low_leverage_on_btc_match():
    runner, fast, cache = run_both(btc(), btc_rates(), {"leverage": 2}, NO_STOPS, symbol="BTC/USDT:USDT")
    assert len(runner.closed_trades()) > 100
    assert {"funding_positive", "sma_cross"} <= {t.reason for t in runner.closed_trades()}
    assert_same_trades(runner, fast)
    assert_same_metrics(runner, fast, cache)


@pytest.mark.parametrize("k", range(8), ids=[name for name, _, _ in btc_combos()])
def test_sampled_combo_on_btc_matches_the_runner(k):
    runner, fast, cache = btc_run(k)
    assert len(runner.trades) > 5
    assert_same_trades(runner, fast)
    assert_same_metrics(runner, fast, cache)


def test_take_profits_wait_for_min_hold_and_entries_fill_at_the_previous_close():
    index = {ts: i for i, ts in enumerate(btc().timestamp.tolist())}
    close = btc().close
    held_checked = filled_checked = 0
    for k, (_, params, _) in enumerate(btc_combos()):
        fast = btc_run(k)[1]
        for t in fast.closed_trades():
            if t.reason in ("funding_positive", "sma_cross"):
                assert index[t.exit_ts] - index[t.entry_ts] >= params["min_hold_candles"]
                held_checked += 1
            if t.positions == 1:
                assert t.entry_price == pytest.approx(close[index[t.entry_ts] - 1] * (1 + SLIPPAGE), rel=1e-12)
                filled_checked += 1
    assert held_checked > 100 and filled_checked > 100


def test_batch_rows_equal_the_runner_metrics_and_parallel_equals_serial():
    sample = btc_combos()
    combos = [p for _, p, _ in sample]
    cache = cache_for(STRATEGY, btc(), combos)
    rows = {key: run_grid_batch(STRATEGY, cache, combos, funding_rates=btc_rates(), **limits)
            for key, limits in (("stops", {}), ("no_stops", NO_STOPS))}
    assert np.array_equal(run_grid_batch(STRATEGY, cache, combos, funding_rates=btc_rates(), parallel=True,
                                         **NO_STOPS), rows["no_stops"], equal_nan=True)
    for k, (_, _, lim) in enumerate(sample):
        runner, _, _ = btc_run(k)
        assert_batch_row_matches(rows["stops" if not lim else "no_stops"][k], runner, cache, k)


def test_without_funding_rates_grid_funding_never_enters():
    # No rate passed: the runner's strategy sees None at every candle, the kernel NaN: no level anywhere.
    runner, fast, _ = run_both(btc(), None, {"leverage": 2}, symbol="BTC/USDT:USDT")
    assert runner.trades == [] and fast.trades == ()
    rows = run_grid_batch(STRATEGY, cache_for(STRATEGY, btc(), [{}]), [{}])
    assert rows[0, BATCH_COLUMNS.index("n_trades")] == 0
