"""Fast engine == GridStrategyRunner for grid_trend, grid_boltrend and grid_momentum on the real BTC hourly file.

These grids add path-dependent rules to the shared hot loop: an ATR trailing stop folded into the SL from the
high/low-water mark (grid_trend, grid_momentum), breakout anchors armed one candle after the signal, dropped
when the breakout fails while flat, frozen while a grid is open and cleared by a full exit (grid_boltrend,
grid_momentum), direction-gated levels and close-all rules (EMA flip, close back over the Bollinger middle).
First the per-candle inputs: every batch indicator equals the runner's IndicatorBank bit for bit, and every
strategy series of the cache equals the strategy's own hook evaluated on the runner's contexts. Then trades:
defaults (leverage lowered so runs are long, and as shipped with the SPEC stops) and 8 sampled combos of each
default grid, trade for trade (entry/exit ts, reason, prices/qty to 1e-12, net to 1e-9), final capital and
metrics; batch rows equal the runner's metrics.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pytest

from radar.backtest.fast.grid_family import cache_for, run_grid_batch
from radar.backtest.fast.single_signals import SeriesCache
from radar.runners.indicator_bank import IndicatorBank
from radar.strategies.base import StrategyContext
from radar.strategies.grid_boltrend import GridBoltrend, bollinger_breakout
from radar.strategies.grid_momentum import donchian_volume_breakout
from radar.strategies.registry import create_strategy
from tests.backtest.parity import (
    NO_STOPS, SIDES, assert_batch_row_matches, assert_same_metrics, assert_same_trades, btc, btc_candles,
    run_grid_both, sample_grid,
)

STRATEGIES = ("grid_trend", "grid_boltrend", "grid_momentum")
SLIPPAGE = 0.0005  # CostModel default


@lru_cache(maxsize=None)
def bank_snapshots(strategy: str, key: tuple) -> tuple[dict, ...]:
    """`ctx.cur` of every candle exactly as a runner's IndicatorBank publishes it."""
    bank = IndicatorBank(create_strategy(strategy, dict(key)).indicator_specs(), "1h")
    return tuple(bank.update(c) for c in btc_candles())


def contexts(strategy: str, params: dict) -> list[StrategyContext]:
    snaps = bank_snapshots(strategy, tuple(sorted((k, tuple(v) if isinstance(v, list) else v)
                                                  for k, v in params.items())))
    candles = btc_candles()
    return [StrategyContext(candles[i], i, snaps[i - 1] if i else {}, snaps[i]) for i in range(len(candles))]


@lru_cache(maxsize=None)
def sampled_combos(strategy: str) -> tuple[tuple[str, dict, dict], ...]:
    """8 combos of the default grid, every sides variant, leverage 1-3, every 4th with the SPEC stops."""
    return sample_grid(strategy, 8, 7, lambda k, params: dict(params, leverage=(1, 2, 3)[k % 3],
                                                              sides=list(SIDES[k % 4])))


def run_both(strategy: str, params: dict, limits: dict | None = None, funding_rates: np.ndarray | None = None,
             default_funding_rate: float = 0.0):
    return run_grid_both(strategy, params, limits, funding_rates, default_funding_rate)


@lru_cache(maxsize=None)
def default_long_run(strategy: str):
    return run_both(strategy, {"leverage": 2}, NO_STOPS)


@lru_cache(maxsize=None)
def sampled_run(strategy: str, k: int):
    _, params, limits = sampled_combos(strategy)[k]
    return run_both(strategy, params, limits)


def cached_series(strategy: str, params: dict, key: tuple) -> np.ndarray:
    cache = cache_for(strategy, btc(), [params])
    return cache.series[cache.series_row(key)]


# ---------------------------------------------------------------- inputs equal the runner's, candle by candle


@pytest.mark.parametrize("strategy,params", [
    ("grid_trend", {}), ("grid_trend", {"ema_fast": 10, "ema_slow": 100, "adx_period": 20, "atr_period": 10}),
    ("grid_boltrend", {}), ("grid_boltrend", {"bol_period": 50, "bol_std": 2.5, "long_ma_period": 100}),
    ("grid_momentum", {}), ("grid_momentum", {"donchian_period": 50, "vol_sma_period": 10, "atr_period": 20}),
])
def test_batch_indicators_equal_the_runners_indicator_bank_bit_for_bit(strategy, params):
    specs = create_strategy(strategy, params).indicator_specs()
    sc = SeriesCache.build(btc(), "1h")
    snaps = bank_snapshots(strategy, tuple(sorted(params.items())))
    compared = 0
    for name, spec in specs.items():
        batch_values = sc.series(spec)
        for out, key in zip(spec.outputs, spec.keys(name)):
            ref = np.array([s[key] for s in snaps])
            assert np.array_equal(batch_values[out], ref, equal_nan=True), key
            assert np.isfinite(ref).sum() > len(ref) - 500  # warmed up for almost the whole file
            compared += 1
    assert compared == {"grid_trend": 6, "grid_boltrend": 5, "grid_momentum": 4}[strategy]


@pytest.mark.parametrize("params", [{}, {"ema_fast": 10, "ema_slow": 100, "adx_threshold": 25.0}])
def test_trend_direction_and_flip_series_equal_the_strategy_hooks(params):
    strat = create_strategy("grid_trend", params)
    p = strat.params
    ctxs = contexts("grid_trend", params)
    direction = cached_series("grid_trend", params, ("trend_dir", p.ema_fast, p.ema_slow, p.adx_period,
                                                     float(p.adx_threshold)))
    flip = cached_series("grid_trend", params, ("ema_sign", p.ema_fast, p.ema_slow))
    ready = np.array([strat.is_ready(ctx) for ctx in ctxs])
    # ctx.prev of candle i is ctx.cur of candle i-1: the kernel reads direction[i-1]
    for i, ctx in enumerate(ctxs[1:], start=1):
        assert ready[i] == (not math.isnan(direction[i - 1]) and ctx.prev["atr"] > 0), i
        if ready[i]:
            assert direction[i - 1] == strat.direction(ctx.prev), i
        fast, slow = ctx.cur["ema_fast"], ctx.cur["ema_slow"]
        for side in (1, -1):
            state_flip = math.isfinite(fast) and math.isfinite(slow) and (fast - slow) * side < 0
            assert (flip[i] * side < 0) == state_flip, (i, side)
    values = direction[~np.isnan(direction)]
    assert set(np.unique(values)) == {-1.0, 0.0, 1.0}


@pytest.mark.parametrize("params", [{}, {"bol_period": 50, "bol_std": 1.5, "long_ma_period": 100,
                                         "min_bol_spread_pct": 2.0, "sides": ["short"]}])
def test_boltrend_breakout_gate_and_mid_series_equal_the_strategy_hooks(params):
    strat = create_strategy("grid_boltrend", params)
    p = strat.params
    ctxs = contexts("grid_boltrend", params)
    bol = (p.bol_period, float(p.bol_std))
    signal = cached_series("grid_boltrend", params, ("boltrend_signal", *bol, p.long_ma_period, p.atr_period,
                                                     float(p.min_bol_spread_pct), tuple(strat_signs(p.sides))))
    gate = cached_series("grid_boltrend", params, ("boltrend_gate", *bol, p.long_ma_period, p.atr_period))
    mid_sign = cached_series("grid_boltrend", params, ("bol_sign", *bol))
    n_signals = 0
    for i, ctx in enumerate(ctxs[1:], start=1):
        ready = strat.is_ready(ctx)
        assert ready == (not math.isnan(gate[i - 1])), i
        if not ready:
            continue
        sig = bollinger_breakout(ctx, p.min_bol_spread_pct, strat_signs(p.sides))
        atr = ctx.cur["atr"]
        expected = sig if (sig != 0 and math.isfinite(atr) and atr > 0) else 0
        assert signal[i] == expected, i
        n_signals += expected != 0
        for side in (1, -1):
            assert (mid_sign[i] * side < 0) == GridBoltrend._back_over_mid(ctx.cur, side), (i, side)
            assert (mid_sign[i - 1] * side < 0) == GridBoltrend._back_over_mid(ctx.prev, side), (i, side)
    assert n_signals > 20


@pytest.mark.parametrize("params", [{}, {"donchian_period": 20, "vol_mult": 1.2, "sides": ["long"]}])
def test_momentum_breakout_gate_and_channel_series_equal_the_strategy_hooks(params):
    strat = create_strategy("grid_momentum", params)
    p = strat.params
    ctxs = contexts("grid_momentum", params)
    signal = cached_series("grid_momentum", params, ("momentum_signal", p.donchian_period, p.vol_sma_period,
                                                     float(p.vol_mult), p.atr_period, tuple(strat_signs(p.sides))))
    gate = cached_series("grid_momentum", params, ("momentum_gate", p.donchian_period, p.vol_sma_period,
                                                   p.atr_period))
    dc_sign = cached_series("grid_momentum", params, ("dc_sign", p.donchian_period))
    n_signals = 0
    for i, ctx in enumerate(ctxs[1:], start=1):
        ready = strat.is_ready(ctx)
        assert ready == (not math.isnan(gate[i - 1])), i
        if not ready:
            continue
        sig = donchian_volume_breakout(ctx, p.vol_mult, strat_signs(p.sides))
        atr = ctx.cur["atr"]
        assert signal[i] == (sig if (sig != 0 and math.isfinite(atr) and atr > 0) else 0), i
        n_signals += signal[i] != 0
        prev = ctx.prev
        mid = (prev["dc_upper"] + prev["dc_lower"]) / 2
        for side in (1, -1):
            assert (dc_sign[i - 1] * side < 0) == ((prev["close"] - mid) * side < 0), (i, side)
    assert n_signals > 20


def strat_signs(sides) -> tuple[int, ...]:
    return tuple(1 if s == "long" else -1 for s in sides)


# ---------------------------------------------------------------- trades equal the runner's


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_default_params_at_low_leverage_match_the_runner_trade_for_trade(strategy):
    runner, fast, cache = default_long_run(strategy)
    assert len(runner.closed_trades()) > 100
    assert {t.side for t in runner.trades} == {1, -1}
    assert_same_trades(runner, fast)
    assert_same_metrics(runner, fast, cache)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_default_params_as_shipped_match_the_runner_with_the_spec_stops(strategy):
    runner, fast, cache = run_both(strategy, {})
    assert len(runner.trades) > 5
    assert_same_trades(runner, fast)
    assert_same_metrics(runner, fast, cache)


def test_default_runs_exercise_every_exit_rule():
    reasons = {s: {t.reason for t in default_long_run(s)[0].closed_trades()} for s in STRATEGIES}
    assert reasons["grid_trend"] == {"sl", "flip"}
    assert "bol_mid" in reasons["grid_boltrend"]
    assert reasons["grid_momentum"] == {"sl"}
    # the trailing stop really trails: many momentum stops exit above the fixed stop of a long's first fill
    runner = default_long_run("grid_momentum")[0]
    longs = [t for t in runner.closed_trades() if t.side == 1 and t.positions == 1]
    assert sum(t.exit_price > t.entry_price * (1 - 15.0 / 100) for t in longs) > len(longs) // 2


def test_boltrend_level_zero_rests_at_an_earlier_breakout_close():
    # The anchor is armed one candle after the breakout: every single-position LONG's fill (minus slippage) is
    # the close of an earlier candle with a breakout signal, never the entry candle's own close.
    p = create_strategy("grid_boltrend", {}).params
    runner, fast, cache = default_long_run("grid_boltrend")
    signal = cache.series[cache.series_row(("boltrend_signal", p.bol_period, float(p.bol_std), p.long_ma_period,
                                            p.atr_period, float(p.min_bol_spread_pct), (1, -1)))]
    index = {ts: i for i, ts in enumerate(cache.timestamp.tolist())}
    singles = [t for t in fast.trades if t.positions == 1 and t.side == 1]
    assert len(singles) > 10
    for t in singles:
        anchor = t.entry_price / (1 + SLIPPAGE)
        i = index[t.entry_ts]
        hits = np.flatnonzero(np.isclose(cache.close[:i], anchor, rtol=1e-12, atol=0) & (signal[:i] == 1))
        assert hits.size > 0, t.entry_ts
        assert not math.isclose(cache.close[i], anchor, rel_tol=1e-12)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("k", range(8))
def test_sampled_default_grid_combo_matches_the_runner(strategy, k):
    runner, fast, cache = sampled_run(strategy, k)
    assert_same_trades(runner, fast)
    assert_same_metrics(runner, fast, cache)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_sample_is_not_trivial(strategy):
    runs = [sampled_run(strategy, k)[0] for k in range(8)]
    assert sum(len(r.closed_trades()) for r in runs) > 300
    single_side = [(r, p) for r, (_, p, _) in zip(runs, sampled_combos(strategy)) if len(p["sides"]) == 1]
    assert all({t.side for t in r.trades} <= {1 if p["sides"] == ["long"] else -1} for r, p in single_side)
    assert any(t.positions > 1 for r in runs for t in r.trades)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_batch_rows_equal_the_runner_metrics_and_parallel_equals_serial(strategy):
    sample = sampled_combos(strategy)
    combos = [p for _, p, _ in sample]
    cache = cache_for(strategy, btc(), combos)
    rows = {key: run_grid_batch(strategy, cache, combos, **limits)
            for key, limits in (("stops", {}), ("no_stops", NO_STOPS))}
    assert np.array_equal(run_grid_batch(strategy, cache, combos, parallel=True, **NO_STOPS), rows["no_stops"],
                          equal_nan=True)
    for k, (_, _, lim) in enumerate(sample):
        runner, _, _ = sampled_run(strategy, k)
        assert_batch_row_matches(rows["stops" if not lim else "no_stops"][k], runner, cache, k)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_funding_charges_match(strategy):
    n = len(btc())
    rng = np.random.default_rng(11)
    rates = rng.normal(0.0001, 0.0003, n)
    rates[rng.random(n) < 0.2] = np.nan
    runner, fast, cache = run_both(strategy, {"leverage": 2}, NO_STOPS, funding_rates=rates,
                                   default_funding_rate=0.0002)
    assert sum(abs(t.funding) > 0 for t in runner.trades) > 50
    assert_same_trades(runner, fast)
    assert_same_metrics(runner, fast, cache)
