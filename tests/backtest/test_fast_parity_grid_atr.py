"""Fast engine == GridStrategyRunner on the real BTC hourly file (17,583 candles), trade for trade.

The runner (event-driven, incremental indicators) is the reference; the numba kernel is a second
implementation of SPEC §5. Tolerances: timestamps, sides, reasons and leg counts exact; prices and
quantities to 1e-12 relative; PnL, capital and metrics to 1e-9 relative. No level-touch tolerance is
needed because the batch SMA/ATR the engine reads equal the incremental ones bit-for-bit (first test).
"""
from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import numpy as np
import pytest

from radar.backtest.fast import IndicatorCache, params_array, run_grid_atr_batch, run_grid_atr_trades
from radar.indicators import incremental as inc
from radar.runners import RunnerConfig, make_runner
from radar.strategies.registry import create_strategy
from tests.backtest.parity import (
    BTC_SYMBOL as SYMBOL, NO_STOPS, assert_batch_row_matches, assert_same_metrics, assert_same_trades, btc,
    btc_candles, run_reference, sample_grid,
)


def _vary(k: int, params: dict) -> dict:
    params["sides"] = ["long"] if k % 2 == 0 else ["short"]
    params["leverage"] = (1, 2, 6)[k % 3]
    params["cooldown_candles"] = k % 5
    return params


@lru_cache(maxsize=1)
def sampled_combos() -> tuple[tuple[str, dict, dict], ...]:
    """~30 combos of the default grid, varied: side, leverage, cooldown, safety limits."""
    return sample_grid("grid_atr", 30, 20240611, _vary)


def run_both(params: dict, limits: dict | None = None, funding_rates: np.ndarray | None = None,
             default_funding_rate: float = 0.0):
    limits = limits or {}
    cfg = RunnerConfig("grid_atr:BTC", SYMBOL, default_funding_rate=default_funding_rate, **limits)
    runner = run_reference(create_strategy("grid_atr", params), cfg, btc_candles(), funding_rates)
    cache = IndicatorCache.build(btc(), [params.get("ma_period", 14)], [params.get("atr_period", 14)])
    fast = run_grid_atr_trades(cache, params, funding_rates=funding_rates, default_funding_rate=default_funding_rate,
                               **limits)
    return runner, fast, cache


@lru_cache(maxsize=None)
def sampled_run(k: int):
    """Runner + fast run of sample combo k, shared by the tests that read the sample (the runner is slow)."""
    _, params, limits = sampled_combos()[k]
    return run_both(params, limits)


def test_batch_sma_atr_equal_the_runners_incremental_indicators_bit_for_bit():
    arr = btc()
    cache = IndicatorCache.build(arr, [7, 10, 14, 20], [10, 14])
    for period in (7, 10, 14, 20):
        sma = inc.SMA(period)
        ref = np.array([sma.update(x) for x in arr.close.tolist()])
        assert np.array_equal(cache.sma[cache.sma_row(period)], ref, equal_nan=True), f"SMA({period})"
    for period in (10, 14):
        atr = inc.ATR(period)
        ref = np.array([atr.update(h, l, c) for h, l, c in zip(arr.high.tolist(), arr.low.tolist(), arr.close.tolist())])
        assert np.array_equal(cache.atr[cache.atr_row(period)], ref, equal_nan=True), f"ATR({period})"


def test_default_params_match_the_runner_up_to_the_kill_switch():
    runner, fast, cache = run_both({})
    assert runner.stop_reason == "kill_switch"  # the reference really stops early with the defaults
    assert_same_trades(runner, fast)
    assert_same_metrics(runner, fast, cache)


def test_long_low_leverage_run_without_stops_matches_over_the_whole_file():
    runner, fast, cache = run_both({"leverage": 1, "ma_period": 20, "atr_multiplier_start": 1.5,
                                    "min_profit_pct": 0.3, "cooldown_candles": 0}, NO_STOPS)
    assert len(runner.closed_trades()) > 300
    assert runner.trades[-1].exit_ts >= btc_candles()[-50].timestamp  # it really traded to the end
    assert_same_trades(runner, fast)
    assert_same_metrics(runner, fast, cache)


def test_long_and_short_levels_together_match():
    runner, fast, cache = run_both({"sides": ["long", "short"], "leverage": 1, "min_grid_spacing_pct": 0.8}, NO_STOPS)
    sides = {t.side for t in runner.trades}
    assert sides == {1, -1}
    assert_same_trades(runner, fast)


@pytest.mark.parametrize("k", range(len(sampled_combos())), ids=[name for name, _, _ in sampled_combos()])
def test_sampled_default_grid_combo_matches_the_runner(k):
    runner, fast, cache = sampled_run(k)
    assert_same_trades(runner, fast)
    assert_same_metrics(runner, fast, cache)


def test_sample_covers_stops_long_runs_and_filters():
    # Guards the parametrized sample above against becoming trivial.
    runs = [sampled_run(k)[0] for k in range(len(sampled_combos()))]
    assert sum(len(r.closed_trades()) for r in runs) > 2000
    assert any(r.stop_reason == "kill_switch" for r in runs)
    assert any(not r.stopped and r.trades and r.trades[-1].end_of_data for r in runs)
    sample = [p for _, p, _ in sampled_combos()]
    assert any(p["min_profit_pct"] > 0 for p in sample) and any(p["min_atr_pct"] > 0 for p in sample)
    assert any(p["min_grid_spacing_pct"] > 0 for p in sample)


@pytest.mark.parametrize("side", ["long", "short"])
def test_funding_from_a_per_candle_rate_array_matches(side):
    n = len(btc())
    rng = np.random.default_rng(5)
    rates = rng.normal(0.0001, 0.0003, n)
    rates[rng.random(n) < 0.2] = np.nan  # no stored rate -> the default rate, in both implementations
    params = {"sides": [side], "leverage": 2, "ma_period": 10}
    runner, fast, cache = run_both(params, NO_STOPS, funding_rates=rates, default_funding_rate=0.0002)
    assert any(abs(t.funding) > 0 for t in runner.trades)
    assert_same_trades(runner, fast)
    assert_same_metrics(runner, fast, cache)


def test_constant_funding_rate_reduces_capital_equally():
    rates = np.full(len(btc()), 0.0003)
    runner, fast, _ = run_both({"leverage": 1}, NO_STOPS, funding_rates=rates)
    paid = sum(t.funding for t in runner.trades)
    assert paid > 0
    assert fast.metrics.funding == pytest.approx(sum(t.funding for t in runner.closed_trades()), rel=1e-9)
    assert_same_trades(runner, fast)


def test_batch_rows_equal_the_runner_metrics_for_the_sample():
    sample = sampled_combos()[:8]
    params = params_array(p for _, p, _ in sample)
    cache = IndicatorCache.for_params(btc(), params)
    rows = {}
    for limits_key in ("stops", "no_stops"):
        limits = {} if limits_key == "stops" else NO_STOPS
        rows[limits_key] = run_grid_atr_batch(cache, params, **limits)
    for k, (_, p, lim) in enumerate(sample):
        runner, _, _ = sampled_run(k)
        assert_batch_row_matches(rows["stops" if not lim else "no_stops"][k], runner, cache, k)


def test_runner_config_costs_and_capital_are_honoured():
    cfg_costs = {"taker_fee": 0.0004, "maker_fee": 0.0001, "slippage": 0.001}
    from radar.positions.costs import CostModel

    costs = CostModel(**cfg_costs)
    params = {"leverage": 2, "ma_period": 20}
    runner = make_runner(create_strategy("grid_atr", params),
                         replace(RunnerConfig("grid_atr:BTC", SYMBOL), initial_capital=2_500.0, costs=costs,
                                 max_margin_ratio=0.5, kill_switch_loss_pct=100.0, hard_drawdown_pct=None))
    runner.run(btc_candles())
    cache = IndicatorCache.build(btc(), [20], [14])
    fast = run_grid_atr_trades(cache, params, costs, 2_500.0, max_margin_ratio=0.5, **NO_STOPS)
    assert len(runner.closed_trades()) > 50
    assert_same_trades(runner, fast)
