"""Fast engine == GridStrategyRunner for grid_multi_tf on the real BTC hourly file, trade for trade.

The 4h Supertrend direction is the delicate input: the cache builds it in batch (closed 4h buckets, aligned
to the bucket end) and the runner's IndicatorBank incrementally; the first tests pin them equal bit for bit
(with and without missing candles) and show it never looks ahead. Trade tolerances as in the grid_atr test.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

from radar.backtest.fast.grid_family import cache_for, run_grid_batch
from radar.errors import DataError
from radar.models import CandleArrays
from radar.runners.indicator_bank import IndicatorBank
from radar.strategies.registry import create_strategy
from tests.backtest.parity import (
    BTC_SYMBOL as SYMBOL, NO_STOPS, SIDES, assert_batch_row_matches, assert_same_metrics, assert_same_trades, btc,
    run_grid_both, sample_grid,
)

STRATEGY = "grid_multi_tf"
H = 3_600_000


@lru_cache(maxsize=1)
def btc_with_gaps() -> CandleArrays:
    """The BTC file with candles missing: a whole 4h bucket, a bucket's last hour, a bucket's first hour, 7h."""
    arr = btc()
    drop = np.zeros(len(arr), dtype=bool)
    bucket = (arr.timestamp // (4 * H)) * (4 * H)
    first_full = int(np.flatnonzero(arr.timestamp == bucket)[50])
    for start, length in ((first_full, 4), (first_full + 4 * 40 + 3, 1), (first_full + 4 * 90, 1),
                          (first_full + 4 * 300 + 2, 7)):
        drop[start:start + length] = True
    keep = ~drop
    return CandleArrays(arr.timestamp[keep], arr.open[keep], arr.high[keep], arr.low[keep], arr.close[keep],
                        arr.volume[keep])


def bank_directions(arr: CandleArrays, params: dict) -> np.ndarray:
    """`ctx.cur["st_dir"]` per candle, exactly as a runner's IndicatorBank publishes it."""
    bank = IndicatorBank(create_strategy(STRATEGY, params).indicator_specs(), "1h")
    return np.array([bank.update(c)["st_dir"] for c in arr.candles(SYMBOL, "1h")])


@lru_cache(maxsize=1)
def sampled_combos() -> tuple[tuple[str, dict, dict], ...]:
    """10 combos of the default grid, every sides variant, leverage 1-3, every 4th with the SPEC stops."""
    return sample_grid(STRATEGY, 10, 4242, lambda k, params: dict(params, leverage=(1, 2, 3)[k % 3],
                                                                  sides=list(SIDES[k % 4]), cooldown_candles=k % 4))


def run_both(params: dict, limits: dict | None = None, funding_rates: np.ndarray | None = None,
             default_funding_rate: float = 0.0, arr: CandleArrays | None = None):
    return run_grid_both(STRATEGY, params, limits, funding_rates, default_funding_rate, arr=arr)


@lru_cache(maxsize=None)
def sampled_run(k: int):
    _, params, limits = sampled_combos()[k]
    return run_both(params, limits)


@pytest.mark.parametrize("st", [(10, 3.0), (14, 2.0), (7, 1.5)])
def test_4h_supertrend_direction_equals_the_runners_indicator_bank_bit_for_bit(st):
    params = {"st_atr_period": st[0], "st_atr_multiplier": st[1]}
    cache = cache_for(STRATEGY, btc(), [params])
    fast = cache.st_dir[cache.st_row((st[0], st[1], "4h"))]
    ref = bank_directions(btc(), params)
    assert np.array_equal(fast, ref, equal_nan=True)
    assert set(np.unique(fast[~np.isnan(fast)])) == {-1.0, 1.0}
    # warm-up: Supertrend(n) on 4h needs n+1 closed buckets, i.e. at least 4*(n+1) hourly candles
    assert int(np.argmax(~np.isnan(fast))) >= 4 * (st[0] + 1) - 1


def test_4h_direction_with_missing_candles_equals_the_indicator_bank():
    arr = btc_with_gaps()
    params = {"st_atr_period": 10, "st_atr_multiplier": 2.0}
    cache = cache_for(STRATEGY, arr, [params])
    fast = cache.st_dir[cache.st_row((10, 2.0, "4h"))]
    assert len(arr) == len(btc()) - 13
    assert np.array_equal(fast, bank_directions(arr, params), equal_nan=True)


def test_direction_changes_only_at_the_close_of_a_4h_bucket():
    # No look-ahead: a new 4h value appears at the hourly candle whose close ends the bucket (03:00, 07:00, ...).
    cache = cache_for(STRATEGY, btc(), [{}])
    d = cache.st_dir[0]
    ts = cache.timestamp
    changed = np.flatnonzero((d[1:] != d[:-1]) & ~np.isnan(d[1:]) & ~np.isnan(d[:-1])) + 1
    assert changed.size > 50
    assert np.all((ts[changed] + H) % (4 * H) == 0)


def test_default_params_match_the_runner_up_to_the_kill_switch():
    runner, fast, cache = run_both({})
    assert runner.stop_reason == "kill_switch"  # leverage 5 on both sides: the reference really stops early
    assert len(runner.trades) > 5
    assert_same_trades(runner, fast)
    assert_same_metrics(runner, fast, cache)


def test_both_sides_low_leverage_run_without_stops_matches_with_flips():
    runner, fast, cache = run_both({"leverage": 1}, NO_STOPS)
    reasons = {t.reason for t in runner.closed_trades()}
    assert {"tp", "flip"} <= reasons
    assert {t.side for t in runner.trades} == {1, -1}
    assert len(runner.closed_trades()) > 200
    assert_same_trades(runner, fast)
    assert_same_metrics(runner, fast, cache)
    flips = [t for t in fast.trades if t.reason == "flip"]
    closes = dict(zip(cache.timestamp.tolist(), cache.close.tolist()))
    assert all(t.exit_price == closes[t.exit_ts] for t in flips)  # a flip closes at the candle's close


def test_run_on_candles_with_gaps_matches():
    runner, fast, _ = run_both({"leverage": 2}, NO_STOPS, arr=btc_with_gaps())
    assert len(runner.closed_trades()) > 200
    assert_same_trades(runner, fast)


@pytest.mark.parametrize("k", range(10), ids=[name for name, _, _ in sampled_combos()])
def test_sampled_default_grid_combo_matches_the_runner(k):
    runner, fast, cache = sampled_run(k)
    assert_same_trades(runner, fast)
    assert_same_metrics(runner, fast, cache)


def test_sample_is_not_trivial():
    runs = [sampled_run(k)[0] for k in range(10)]
    assert sum(len(r.closed_trades()) for r in runs) > 1000
    assert any(t.reason == "flip" for r in runs for t in r.trades)
    assert any(t.reason == "sl" for r in runs for t in r.trades)
    single_side = [(r, p) for r, (_, p, _) in zip(runs, sampled_combos()) if len(p["sides"]) == 1]
    assert all({t.side for t in r.trades} <= {1 if p["sides"] == ["long"] else -1} for r, p in single_side)


@pytest.mark.parametrize("sides", [["long", "short"], ["short"]])
def test_funding_from_a_per_candle_rate_array_matches(sides):
    n = len(btc())
    rng = np.random.default_rng(3)
    rates = rng.normal(0.0001, 0.0003, n)
    rates[rng.random(n) < 0.2] = np.nan
    runner, fast, cache = run_both({"leverage": 2, "sides": sides}, NO_STOPS, funding_rates=rates,
                                   default_funding_rate=0.0002)
    assert any(abs(t.funding) > 0 for t in runner.trades)
    assert_same_trades(runner, fast)
    assert_same_metrics(runner, fast, cache)


def test_batch_rows_equal_the_runner_metrics_and_parallel_equals_serial():
    sample = sampled_combos()
    combos = [p for _, p, _ in sample]
    cache = cache_for(STRATEGY, btc(), combos)
    assert len(cache.st_keys) == len({(p["st_atr_period"], p["st_atr_multiplier"]) for p in combos})
    rows = {key: run_grid_batch(STRATEGY, cache, combos, **limits)
            for key, limits in (("stops", {}), ("no_stops", NO_STOPS))}
    assert np.array_equal(run_grid_batch(STRATEGY, cache, combos, parallel=True, **NO_STOPS), rows["no_stops"],
                          equal_nan=True)
    for k, (_, _, lim) in enumerate(sample):
        runner, _, _ = sampled_run(k)
        assert_batch_row_matches(rows["stops" if not lim else "no_stops"][k], runner, cache, k)


def test_cache_refuses_candles_shorter_than_the_timeframe_its_supertrend_is_aligned_with():
    arr = btc()
    quarter = CandleArrays(arr.timestamp[0] + (arr.timestamp - arr.timestamp[0]) // 4, arr.open, arr.high, arr.low,
                           arr.close, arr.volume)  # the same rows, 15 minutes apart
    with pytest.raises(DataError, match="900000 ms apart.*'1h'"):
        cache_for(STRATEGY, quarter, [{}])
