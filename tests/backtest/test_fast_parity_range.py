"""Fast grid_range_atr engine == GridStrategyRunner (per-position exits) on the real BTC hourly file.

Same tolerances as the other parity tests: timestamps, sides, reasons and leg counts exact; prices and
quantities to 1e-12 relative; PnL, capital and metrics to 1e-9 relative. Levels are SMA(i-1) -/+ (k+1) *
ATR(i-1) * atr_spacing from the bank-equal cached indicators, so level touches need no tolerance.
"""
from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import numpy as np
import pytest

from radar.backtest.fast import IndicatorCache
from radar.backtest.fast import kernel_common as kc
from radar.backtest.fast import range_kernel as rk
from radar.backtest.fast.range_engine import range_cache, run_range_batch, run_range_trades
from radar.backtest.metrics import Metrics
from radar.errors import StrategyError
from radar.models import CandleArrays
from radar.positions.costs import CostModel
from radar.runners import RunnerConfig, make_runner
from radar.strategies.registry import create_strategy
from tests.backtest.parity import (
    BTC_SYMBOL as SYMBOL, NO_STOPS, SIDES, assert_batch_row_matches, assert_same_metrics, assert_same_trades, btc,
    btc_candles, run_reference, sample_grid,
)


def window(n: int) -> CandleArrays:
    a = btc()
    return CandleArrays(a.timestamp[:n], a.open[:n], a.high[:n], a.low[:n], a.close[:n], a.volume[:n])


@lru_cache(maxsize=1)
def sampled_combos() -> tuple[tuple[str, dict, dict], ...]:
    """8 combos of the default grid: every side order, leverage 1-3, every 3rd with the SPEC stops."""
    return sample_grid("grid_range_atr", 8, 4,
                       lambda k, params: dict(params, leverage=(1, 2, 3)[k % 3], sides=list(SIDES[k % 4])),
                       stops_every=3)


def run_runner(params: dict, limits: dict | None = None, funding_rates: np.ndarray | None = None,
               default_funding_rate: float = 0.0, candles: tuple | None = None, **cfg_kw):
    cfg = replace(RunnerConfig("grid_range_atr:BTC", SYMBOL, default_funding_rate=default_funding_rate,
                               **(limits or {})), **cfg_kw)
    return run_reference(create_strategy("grid_range_atr", params), cfg,
                         btc_candles() if candles is None else candles, funding_rates)


def run_both(params: dict, limits: dict | None = None, funding_rates: np.ndarray | None = None,
             default_funding_rate: float = 0.0):
    runner = run_runner(params, limits, funding_rates, default_funding_rate)
    cache = range_cache(btc(), [params])
    fast = run_range_trades(cache, params, funding_rates=funding_rates, default_funding_rate=default_funding_rate,
                            **(limits or {}))
    return runner, fast, cache


@lru_cache(maxsize=None)
def sampled_run(k: int):
    _, params, limits = sampled_combos()[k]
    return run_both(params, limits)


def test_default_params_match_the_runner_up_to_the_kill_switch():
    runner, fast, cache = run_both({})
    assert runner.stop_reason == "kill_switch"  # the reference really stops early with the defaults
    assert_same_trades(runner, fast)
    assert_same_metrics(runner, fast, cache)


@pytest.mark.parametrize("tp_mode", ["dynamic_sma", "fixed_center"])
@pytest.mark.parametrize("sides", [["long", "short"], ["long"], ["short"]], ids=["both", "long", "short"])
def test_low_leverage_run_without_stops_matches_over_the_whole_file(tp_mode, sides):
    runner, fast, cache = run_both({"leverage": 1, "tp_mode": tp_mode, "sides": sides}, NO_STOPS)
    assert len(runner.closed_trades()) > 1000
    assert runner.trades[-1].exit_ts >= btc_candles()[-200].timestamp  # it really traded to (near) the end
    assert {t.side for t in runner.trades} == {1 if s == "long" else -1 for s in sides}
    assert_same_trades(runner, fast)
    assert_same_metrics(runner, fast, cache)


def test_defaults_at_leverage_one_match_up_to_the_kill_switch_with_both_tp_modes():
    for tp_mode in ("dynamic_sma", "fixed_center"):
        runner, fast, cache = run_both({"leverage": 1, "tp_mode": tp_mode})
        assert runner.stop_reason == "kill_switch"
        assert len(runner.closed_trades()) > 40
        assert_same_trades(runner, fast)
        assert_same_metrics(runner, fast, cache)


def test_fixed_center_takes_profit_at_the_sma_its_grid_was_built_around():
    # Arrange: an independent reading of the rule — TP = SMA(entry candle - 1), not the SMA of the exit candle.
    params = {"leverage": 1, "tp_mode": "fixed_center", "ma_period": 20}
    cache = range_cache(btc(), [params])
    sma = cache.sma[cache.sma_row(20)]
    index = {int(t): i for i, t in enumerate(cache.timestamp)}
    # Act
    fast = run_range_trades(cache, params, **NO_STOPS)
    # Assert
    tps = [t for t in fast.trades if t.reason == "tp"]
    assert len(tps) > 500
    for t in tps:
        assert t.exit_price == sma[index[t.entry_ts] - 1]
    assert sum(t.exit_price != sma[index[t.exit_ts]] for t in tps) > 0.9 * len(tps)


def test_positions_close_one_trade_each_with_several_exits_on_one_candle():
    runner, fast, _ = sampled_run(0)
    closed = fast.closed_trades()
    assert all(t.positions == 1 for t in closed)
    exit_ts = [t.exit_ts for t in closed]
    assert len(set(exit_ts)) < len(exit_ts)  # some candles close several positions separately
    assert_same_trades(runner, fast)


def test_end_of_data_close_over_legs_of_both_sides_matches():
    # Arrange: find a candle after which the runner holds a LONG and a SHORT position, and cut the data there.
    probe = make_runner(create_strategy("grid_range_atr", {"leverage": 1}),
                        RunnerConfig("probe", SYMBOL, **NO_STOPS))
    cut, held = None, 0
    for i, c in enumerate(btc_candles()):
        probe.on_candle(c)
        if len({p.side for p in probe.book.positions}) == 2:
            cut, held = i + 1, len(probe.book.positions)
            break
    assert cut is not None
    candles = btc_candles()[:cut]
    # Act
    runner = run_runner({"leverage": 1}, NO_STOPS, candles=candles)
    fast = run_range_trades(window(cut), {"leverage": 1}, **NO_STOPS)
    # Assert
    last = runner.trades[-1]
    assert last.end_of_data and last.positions == held >= 2
    assert {t.side for t in fast.trades[-1:]} == {1} and last.side == 1  # the first leg in the book is the LONG
    assert_same_trades(runner, fast)


@pytest.mark.parametrize("k", range(len(sampled_combos())), ids=[name for name, _, _ in sampled_combos()])
def test_sampled_default_grid_combo_matches_the_runner(k):
    runner, fast, cache = sampled_run(k)
    assert_same_trades(runner, fast)
    assert_same_metrics(runner, fast, cache)


def test_sample_is_not_trivial():
    runs = [sampled_run(k)[0] for k in range(len(sampled_combos()))]
    assert sum(len(r.closed_trades()) for r in runs) > 5000
    assert any(r.stop_reason == "kill_switch" for r in runs)
    assert any(not r.stopped and r.trades and r.trades[-1].end_of_data for r in runs)
    sample = [p for _, p, _ in sampled_combos()]
    assert {p["tp_mode"] for p in sample} == {"dynamic_sma", "fixed_center"}


def test_hard_drawdown_stop_with_margin_still_locked_matches():
    runner, fast, cache = run_both({"leverage": 3, "num_levels": 3}, {"kill_switch_loss_pct": 100.0,
                                                                       "hard_drawdown_pct": 15.0})
    assert runner.stop_reason == "hard_drawdown"
    assert_same_trades(runner, fast)
    assert_same_metrics(runner, fast, cache)


@pytest.mark.parametrize("sides", [["long", "short"], ["short"]], ids=["both", "short"])
def test_funding_from_a_per_candle_rate_array_matches(sides):
    n = len(btc())
    rng = np.random.default_rng(11)
    rates = rng.normal(0.0001, 0.0003, n)
    rates[rng.random(n) < 0.2] = np.nan  # no stored rate -> the default rate, in both implementations
    params = {"sides": sides, "leverage": 1, "atr_spacing": 1.0, "tp_mode": "fixed_center"}
    runner, fast, cache = run_both(params, NO_STOPS, funding_rates=rates, default_funding_rate=0.0002)
    assert sum(abs(t.funding) > 0 for t in runner.trades) > 100
    assert_same_trades(runner, fast)
    assert_same_metrics(runner, fast, cache)


def test_runner_config_costs_and_capital_are_honoured():
    costs = CostModel(taker_fee=0.0004, maker_fee=0.0001, slippage=0.001)
    params = {"leverage": 2, "ma_period": 30, "atr_spacing": 0.8}
    runner = run_runner(params, NO_STOPS, initial_capital=2_500.0, costs=costs, max_margin_ratio=0.5)
    fast = run_range_trades(btc(), params, costs, 2_500.0, max_margin_ratio=0.5, **NO_STOPS)
    assert len(runner.closed_trades()) > 500
    assert_same_trades(runner, fast)


def test_batch_rows_equal_the_runner_metrics_for_the_sample():
    sample = sampled_combos()
    cache = range_cache(btc(), [p for _, p, _ in sample])
    rows = {key: run_range_batch(cache, [p for _, p, _ in sample], **lim)
            for key, lim in (("stops", {}), ("no_stops", NO_STOPS))}
    for k, (_, _, lim) in enumerate(sample):
        runner, _, _ = sampled_run(k)
        assert_batch_row_matches(rows["stops" if not lim else "no_stops"][k], runner, cache, k)


def test_batch_with_funding_equals_single_runs_and_accepts_candles():
    combos = [{"leverage": 1, "sides": ["short", "long"]}, {"leverage": 2, "tp_mode": "fixed_center", "num_levels": 3}]
    rates = np.full(len(btc()), 0.0001)
    rows = run_range_batch(btc(), combos, funding_rates=rates, **NO_STOPS)
    for row, combo in zip(rows, combos):
        single = run_range_trades(btc(), combo, funding_rates=rates, **NO_STOPS)
        assert Metrics.from_row(row) == single.metrics
        assert single.metrics.funding != 0.0


def test_a_trade_buffer_too_small_is_regrown_and_the_run_repeated_identically():
    # Arrange: the engine's buffer vs a 2-trade buffer that must be regrown several times
    params = {"leverage": 1, "num_levels": 3}
    cache = range_cache(btc(), [params])
    ref = run_range_trades(cache, params, **NO_STOPS)
    coef, col_side = rk.columns(3, 2)
    n = len(cache)
    args = (cache.open, cache.high, cache.low, cache.close, cache.timestamp, cache.sma[0], cache.atr[0], coef,
            col_side, 0.3, 10.0, False, 6.0, 1.0, np.zeros(n), cache.funding_flag, 0.0006, 0.0005, 10_000.0, 0.7,
            0.0, -1.0)
    # Act
    small = rk.simulate_range(*args, np.empty((kc.N_TRADE_FIELDS, 2)), np.empty(0), False)
    n_tr, capital, stop, buf = rk.run_combo(*args, np.empty((kc.N_TRADE_FIELDS, 2)), np.empty(0), False)
    # Assert
    assert small[0] == -1
    assert n_tr == len(ref.trades) > 1000 and buf.shape[1] >= n_tr
    assert capital == ref.capital and stop == 0
    assert buf[kc.T_NET, :n_tr].tolist() == [t.net for t in ref.trades]


def test_bad_inputs_are_rejected_with_a_clear_message():
    with pytest.raises(StrategyError, match="grid_range_atr"):
        run_range_batch(btc(), [{"num_levels": 0}])
    with pytest.raises(StrategyError, match="atr_multiplier_start"):
        run_range_trades(btc(), {"atr_multiplier_start": 1.0})
    cache = IndicatorCache.build(btc(), [20], [14])
    with pytest.raises(KeyError, match="SMA"):
        run_range_batch(cache, [{"ma_period": 30}])
    with pytest.raises(ValueError, match="funding_rates"):
        run_range_trades(cache, {}, funding_rates=np.zeros(3))
    with pytest.raises(ValueError, match="initial_capital"):
        run_range_batch(cache, [{}], initial_capital=0.0)
