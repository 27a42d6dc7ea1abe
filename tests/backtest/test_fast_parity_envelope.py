"""Fast engine == GridStrategyRunner for envelope_dca / envelope_dca_short on the real BTC hourly file.

Same tolerances as the grid_atr parity test: timestamps, sides, reasons and leg counts exact; prices and
quantities to 1e-12 relative; PnL, capital and metrics to 1e-9 relative. Envelope levels are SMA(i-1) *
(1 + offset) with the strategy's own offsets, so level touches need no tolerance either.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

from radar.backtest.fast import IndicatorCache, params_array, run_grid_atr_batch
from radar.backtest.fast.engine import BATCH_COLUMNS
from radar.backtest.fast.grid_family import cache_for, run_grid_batch, run_grid_trades
from radar.errors import StrategyError
from radar.models import CandleArrays
from tests.backtest.parity import (
    NO_STOPS, assert_batch_row_matches, assert_same_metrics, assert_same_trades, btc, default_grid_combos,
    run_grid_both, sample_grid,
)

STRATEGIES = ("envelope_dca", "envelope_dca_short")
H = 3_600_000
T0 = 1_600_000_000_000 - 1_600_000_000_000 % (24 * H) + H  # 01:00 UTC: not a funding hour


@lru_cache(maxsize=None)
def sampled_combos(strategy: str) -> tuple[tuple[str, dict, dict], ...]:
    """10 combos of the default grid: leverage 1-3 so most run the whole file, every 4th with the SPEC stops."""
    return sample_grid(strategy, 10, 7 if strategy == "envelope_dca" else 8,
                       lambda k, params: dict(params, leverage=(1, 2, 3)[k % 3]))


def run_both(strategy: str, params: dict, limits: dict | None = None, funding_rates: np.ndarray | None = None,
             default_funding_rate: float = 0.0):
    return run_grid_both(strategy, params, limits, funding_rates, default_funding_rate)


@lru_cache(maxsize=None)
def sampled_run(strategy: str, k: int):
    _, params, limits = sampled_combos(strategy)[k]
    return run_both(strategy, params, limits)


def hand_arrays(rows: list[tuple[float, float, float, float]]) -> CandleArrays:
    o, h, l, c = (np.array(col, dtype=np.float64) for col in zip(*rows))
    return CandleArrays(T0 + H * np.arange(len(rows), dtype=np.int64), o, h, l, c, np.ones(len(rows)))


def test_short_envelope_rests_at_the_rounded_upward_offset_and_exits_at_the_sma():
    # SMA(1) = close. Envelope 5% -> SHORT offset round(1/0.95 - 1, 3) = 0.053: level 100 * 1.053 = 105.3.
    candles = hand_arrays([
        (100, 100, 100, 100),   # 0: warm-up (no previous SMA)
        (100, 105.2, 99, 104),  # 1: level 105.3 not reached
        (104, 110, 103, 108),   # 2: level from candle 1: 104 * 1.053 = 109.512 -> filled; SMA 108
        (108, 108, 100, 101),   # 3: TP = SMA(3) = 101 >= low 100 -> exit at 101
    ])
    params = {"ma_period": 1, "num_levels": 1, "envelope_start": 0.05, "envelope_step": 0.0, "leverage": 1}
    cache = IndicatorCache.build(candles, [1], [], timeframe="1h")
    run = run_grid_trades("envelope_dca_short", cache, params)
    (trade,) = run.trades
    assert (trade.side, trade.reason, trade.entry_ts, trade.exit_ts) == (-1, "tp", T0 + 2 * H, T0 + 3 * H)
    assert trade.entry_price == pytest.approx(104 * 1.053 * (1 - 0.0005), rel=1e-12)  # default 0.05% slippage
    assert trade.exit_price == 101.0


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_default_params_match_the_runner(strategy):
    runner, fast, cache = run_both(strategy, {})
    assert len(runner.trades) > 20
    assert_same_trades(runner, fast)
    assert_same_metrics(runner, fast, cache)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_low_leverage_run_without_stops_matches_over_the_whole_file(strategy):
    runner, fast, cache = run_both(strategy, {"leverage": 1, "envelope_start": 0.03, "envelope_step": 0.02,
                                              "num_levels": 4, "sl_percent": 20}, NO_STOPS)
    assert len(runner.closed_trades()) > 100
    assert {t.reason for t in runner.closed_trades()} == {"tp", "sl"}
    assert_same_trades(runner, fast)
    assert_same_metrics(runner, fast, cache)
    assert np.isfinite(fast.equity).all() and fast.equity[-1] == pytest.approx(runner.capital, rel=1e-9)


@pytest.mark.parametrize(("strategy", "k"), [(s, k) for s in STRATEGIES for k in range(10)],
                         ids=[f"{s}-{sampled_combos(s)[k][0]}" for s in STRATEGIES for k in range(10)])
def test_sampled_default_grid_combo_matches_the_runner(strategy, k):
    runner, fast, cache = sampled_run(strategy, k)
    assert_same_trades(runner, fast)
    assert_same_metrics(runner, fast, cache)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_sample_is_not_trivial(strategy):
    runs = [sampled_run(strategy, k)[0] for k in range(10)]
    assert sum(len(r.closed_trades()) for r in runs) > 300
    assert all(t.side == (1 if strategy == "envelope_dca" else -1) for r in runs for t in r.trades)
    assert any(t.positions > 1 for r in runs for t in r.trades)  # deeper envelopes really fill (DCA)
    assert {t.reason for r in runs for t in r.trades} - {"tp"}  # stops or end-of-data closes, not only TPs


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_funding_from_a_per_candle_rate_array_matches(strategy):
    n = len(btc())
    rng = np.random.default_rng(11)
    rates = rng.normal(0.0001, 0.0003, n)
    rates[rng.random(n) < 0.2] = np.nan  # no stored rate -> the default rate, in both implementations
    runner, fast, cache = run_both(strategy, {"leverage": 2, "envelope_start": 0.03}, NO_STOPS,
                                   funding_rates=rates, default_funding_rate=0.0002)
    assert any(abs(t.funding) > 0 for t in runner.trades)
    assert_same_trades(runner, fast)
    assert_same_metrics(runner, fast, cache)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_batch_rows_equal_the_runner_metrics_and_parallel_equals_serial(strategy):
    sample = sampled_combos(strategy)
    cache = cache_for(strategy, btc(), [p for _, p, _ in sample])
    rows = {key: run_grid_batch(strategy, cache, [p for _, p, _ in sample], **limits)
            for key, limits in (("stops", {}), ("no_stops", NO_STOPS))}
    parallel = run_grid_batch(strategy, cache, [p for _, p, _ in sample], parallel=True, **NO_STOPS)
    assert np.array_equal(parallel, rows["no_stops"], equal_nan=True)
    for k, (_, _, lim) in enumerate(sample):
        runner, _, _ = sampled_run(strategy, k)
        assert_batch_row_matches(rows["stops" if not lim else "no_stops"][k], runner, cache, (strategy, k))


def test_bad_combo_is_rejected_naming_its_index():
    with pytest.raises(StrategyError, match=r"envelope_dca combo 1: .*envelope"):
        run_grid_batch("envelope_dca", cache_for("envelope_dca", btc(), [{}]),
                       [{}, {"envelope_start": 0.5, "envelope_step": 0.3, "num_levels": 3}])


def test_unsupported_strategy_is_rejected():
    with pytest.raises(StrategyError, match="bollinger_mr.*not supported"):
        cache_for("bollinger_mr", btc(), [{}])


def test_grid_atr_through_the_family_api_equals_its_array_api():
    # Two front doors, one kernel: validated dicts (level rules grouped by value) vs the PARAM_COLUMNS array.
    combos = [dict(c, leverage=2, sides=["short", "long"] if k % 3 == 0 else ["long"])
              for k, c in enumerate(default_grid_combos("grid_atr")[::150])]
    cache = cache_for("grid_atr", btc(), combos)
    family = run_grid_batch("grid_atr", cache, combos, **NO_STOPS)
    array = run_grid_atr_batch(cache, params_array(combos), **NO_STOPS)
    assert family.shape == (len(combos), len(BATCH_COLUMNS)) and len(combos) > 25
    assert (family[:, BATCH_COLUMNS.index("n_trades")] > 50).all()
    assert np.array_equal(family, array, equal_nan=True)
