"""Fast single-position engine == SingleStrategyRunner on real candles, trade for trade.

The runner (event-driven, IndicatorBank of incremental indicators) is the reference; the numba kernel fed
with vectorised signals is a second implementation. Tolerances: timestamps, sides and reasons exact;
prices and quantities to 1e-12 relative; PnL, capital and metrics to 1e-9 relative. That no signal
tolerance is needed rests on the first tests: every indicator the strategies read (15m ADX included) is
equal bit for bit to what the runner's bank publishes, candle by candle.
"""
from __future__ import annotations

import math
from dataclasses import replace
from functools import lru_cache
from typing import Any

import numpy as np
import pytest

from radar.backtest.fast.engine import funding_per_candle
from radar.backtest.fast.single_engine import (
    BATCH_COLUMNS, param_columns, params_array, run_single_batch, run_single_trades, series_cache,
)
from radar.backtest.fast.single_signals import SeriesCache
from radar.data.csv_io import read_candle_csv, read_funding_csv
from radar.data.resample import resample
from radar.models import CandleArrays
from radar.positions.costs import CostModel
from radar.runners import RunnerConfig, make_runner
from radar.runners.indicator_bank import IndicatorBank
from radar.strategies.params import SupertrendParams
from radar.strategies.registry import create_strategy
from radar.strategies.supertrend import SupertrendStrategy
from tests.backtest.parity import (
    NO_STOPS, assert_batch_row_matches, assert_same_metrics, assert_same_trades, run_reference,
)
from tests.conftest import SHARED_DATA

SYMBOL = "PAIR"


@lru_cache(maxsize=None)
def data(name: str) -> CandleArrays:
    if name == "BTC_1d":
        hourly, _ = read_candle_csv(SHARED_DATA / "BTC-USD_1h_bitfinex.csv", "1h")
        return resample(hourly, "1h", "1d")
    arr, _ = read_candle_csv(SHARED_DATA / name, None)
    return arr


FILES = {"1h": ("BTC-USD_1h_bitfinex.csv",), "5m": ("ETH-BTC_5m.csv", "XRP-USDT_5m_futures.csv"), "1d": ("BTC_1d",)}
TIMEFRAME = {"bollinger_mr": "1h", "donchian_breakout": "1h", "supertrend": "1h", "boltrend": "1h",
             "vwap_rsi": "5m", "momentum": "5m", "trend_follow_daily": "1d"}

# Default params with leverage lowered so runs go on, plus variants touching sides and each signal knob.
VARIANTS: dict[str, list[dict[str, Any]]] = {
    "bollinger_mr": [{"leverage": 1}, {"leverage": 2, "bol_period": 30, "bol_std": 2.5, "sl_percent": 3.0},
                     {"leverage": 1, "sides": ["short"], "bol_period": 14, "bol_std": 1.5}],
    "donchian_breakout": [{"leverage": 1}, {"leverage": 2, "donchian_period": 55, "atr_period": 20,
                                            "tp_atr_mult": 4.0, "sl_atr_mult": 2.0},
                          {"leverage": 1, "sides": ["long"], "donchian_period": 10}],
    "supertrend": [{"leverage": 1}, {"leverage": 2, "atr_period": 14, "atr_multiplier": 2.0, "tp_percent": 6.0,
                                     "sl_percent": 3.0},
                   {"leverage": 1, "sides": ["short"], "atr_multiplier": 4.0}],
    "boltrend": [{"leverage": 1}, {"leverage": 2, "bol_period": 50, "bol_std": 1.5, "long_ma_period": 100,
                                   "min_bol_spread_pct": 3.0, "sl_percent": 8.0},
                 {"leverage": 1, "sides": ["long"], "bol_period": 20, "long_ma_period": 50}],
    "vwap_rsi": [{"leverage": 1}, {"leverage": 3, "rsi_long": 35.0, "rsi_short": 65.0, "vwap_dev_pct": 0.2,
                                   "vol_spike_mult": 1.2, "adx_15m_max": 35.0},
                 {"leverage": 2, "sides": ["long"], "rsi_period": 7, "vwap_period": 24, "adx_period": 10,
                  "adx_15m_max": 40.0}],
    "momentum": [{"leverage": 1}, {"leverage": 3, "breakout_period": 12, "vol_mult": 1.5, "adx_15m_min": 20.0,
                                   "tp_percent": 1.5, "sl_percent": 0.8},
                 {"leverage": 2, "sides": ["short"], "breakout_period": 20, "adx_period": 10, "adx_15m_min": 15.0}],
    "trend_follow_daily": [{"leverage": 1}, {"leverage": 2, "ema_fast": 10, "ema_slow": 30, "adx_threshold": 15.0,
                                             "trail_atr_mult": 2.0, "sl_percent": 6.0},
                           {"leverage": 1, "sides": ["long"], "ema_fast": 5, "ema_slow": 20, "adx_threshold": 10.0,
                            "atr_period": 7, "trail_atr_mult": 1.5}],
}
CASES = [(s, f, k) for s, vs in VARIANTS.items() for f in FILES[TIMEFRAME[s]] for k in range(len(vs))]


def case_id(case: tuple[str, str, int]) -> str:
    s, f, k = case
    return f"{s}-{f.split('_')[0]}-v{k}"


def run_runner(strategy: Any, arr: CandleArrays, timeframe: str, cfg: RunnerConfig,
               funding_rates: np.ndarray | None = None):
    return run_reference(strategy, cfg, arr.candles(SYMBOL, timeframe), funding_rates)


@lru_cache(maxsize=None)
def parity_run(strategy: str, file: str, k: int):
    params = VARIANTS[strategy][k]
    tf = TIMEFRAME[strategy]
    arr = data(file)
    runner = run_runner(create_strategy(strategy, params), arr, tf, RunnerConfig(f"{strategy}:{file}", SYMBOL, **NO_STOPS))
    fast = run_single_trades(strategy, arr, params, timeframe=tf, symbol=SYMBOL, **NO_STOPS)
    return runner, fast, arr


# -- indicators: batch series == the runner's IndicatorBank, bit for bit ---------------------------------

def bank_values(strategy: Any, arr: CandleArrays, timeframe: str) -> dict[str, np.ndarray]:
    bank = IndicatorBank(strategy.indicator_specs(), timeframe)
    snaps = [bank.update(c) for c in arr.candles(SYMBOL, timeframe)]
    return {key: np.array([s[key] for s in snaps]) for key in snaps[0]}


def assert_series_equal_bank(strategy_name: str, params: dict, arr: CandleArrays, timeframe: str) -> int:
    strategy = create_strategy(strategy_name, params)
    ref = bank_values(strategy, arr, timeframe)
    cache = SeriesCache.build(arr, timeframe)
    checked = 0
    for name, spec in strategy.indicator_specs().items():
        series = cache.series(spec)
        for out, key in zip(spec.outputs, spec.keys(name)):
            assert np.array_equal(series[out], ref[key], equal_nan=True), f"{strategy_name}: {key}"
            assert not np.isnan(series[out][-1]), f"{strategy_name}: {key} never warmed up"
            checked += 1
    return checked


@pytest.mark.parametrize("strategy", list(VARIANTS))
def test_every_indicator_a_strategy_reads_equals_the_runners_bank_bit_for_bit(strategy):
    tf = TIMEFRAME[strategy]
    for file in FILES[tf]:
        for params in VARIANTS[strategy][:2]:
            assert assert_series_equal_bank(strategy, params, data(file), tf) >= 1


def test_15m_adx_of_5m_candles_is_aligned_like_the_bank_through_gaps_and_a_mid_bucket_start():
    # Drop candles so buckets lose their first, middle or last 5m candle (the last one closes the bucket in
    # the bank only when the next bucket starts). The file starts at 04:55, inside a 15m bucket (dropped).
    full = data("ETH-BTC_5m.csv")
    keep = np.ones(len(full), dtype=bool)
    rng = np.random.default_rng(7)
    keep[rng.choice(np.arange(10, len(full)), size=len(full) // 12, replace=False)] = False
    arr = CandleArrays(*(a[keep] for a in (full.timestamp, full.open, full.high, full.low, full.close, full.volume)))
    assert arr.timestamp[0] % 900_000 != 0  # starts inside a 15m bucket
    bucket_end_missing = ((full.timestamp[~keep] + 300_000) % 900_000 == 0).sum()
    assert bucket_end_missing > 50
    for strategy in ("vwap_rsi", "momentum"):
        assert assert_series_equal_bank(strategy, {"adx_period": 10}, arr, "5m") >= 4
    # no look-ahead: the 15m value visible at a 5m candle never comes from a bucket ending after its close
    cache = SeriesCache.build(arr, "5m")
    big = cache.htf_candles("15m")
    assert np.all(big.timestamp + 900_000 <= arr.timestamp[-1] + 300_000)


# -- trades -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_fast_trades_equal_the_runners(case):
    runner, fast, arr = parity_run(*case)
    assert len(runner.closed_trades()) >= 5
    assert_same_trades(runner, fast)
    assert_same_metrics(runner, fast, arr)


def test_the_parity_cases_cover_every_exit_path():
    runs = [parity_run(*c)[0] for c in CASES]
    reasons = {t.reason for r in runs for t in r.trades}
    assert {"tp", "sl", "sma_cross", "ema_cross", "regime_change", "end_of_data"} <= reasons
    assert {1, -1} <= {t.side for r in runs for t in r.trades}
    assert sum(len(r.closed_trades()) for r in runs) > 3000


def test_trend_follow_daily_trailing_stop_moves_and_is_hit_identically():
    runner, fast, _ = parity_run("trend_follow_daily", "BTC_1d", 2)
    trailed = [t for t in runner.trades if t.reason == "sl"]
    # a stop that trailed into profit closes a long above its entry, which the initial stop never does
    assert any(t.exit_price > t.entry_price for t in trailed if t.side > 0)
    assert_same_trades(runner, fast)


@pytest.mark.parametrize("strategy", list(VARIANTS))
def test_default_leverage_and_safety_limits_match_including_the_stop(strategy):
    tf = TIMEFRAME[strategy]
    file = FILES[tf][0]
    arr = data(file)
    params = {"leverage": 10}
    runner = run_runner(create_strategy(strategy, params), arr, tf, RunnerConfig("r", SYMBOL))
    fast = run_single_trades(strategy, arr, params, timeframe=tf)
    assert_same_trades(runner, fast)
    assert_same_metrics(runner, fast, arr)


def test_some_default_runs_really_hit_the_kill_switch():
    stops = []
    for strategy in VARIANTS:
        tf = TIMEFRAME[strategy]
        fast = run_single_trades(strategy, data(FILES[tf][0]), {"leverage": 10}, timeframe=tf)
        stops.append(fast.stop_reason)
    assert "kill_switch" in stops or "hard_drawdown" in stops


@pytest.mark.parametrize("side", [1, -1])
def test_funding_from_a_per_candle_rate_array_matches(side):
    arr = data("BTC-USD_1h_bitfinex.csv")
    n = len(arr)
    rng = np.random.default_rng(11)
    rates = rng.normal(0.0001, 0.0004, n)
    rates[rng.random(n) < 0.2] = np.nan  # no stored rate -> the default rate, in both implementations
    params = {"leverage": 2, "sides": ["long" if side > 0 else "short"]}
    runner = run_runner(create_strategy("supertrend", params), arr, "1h",
                        RunnerConfig("r", SYMBOL, default_funding_rate=0.0002, **NO_STOPS), rates)
    fast = run_single_trades("supertrend", arr, params, funding_rates=rates, default_funding_rate=0.0002, **NO_STOPS)
    assert sum(abs(t.funding) > 0 for t in runner.trades) > 20
    assert_same_trades(runner, fast)
    assert_same_metrics(runner, fast, arr)


def test_real_xrp_funding_rates_match_on_5m_candles():
    arr = data("XRP-USDT_5m_futures.csv")
    fts, frates, _ = read_funding_csv(SHARED_DATA / "XRP-USDT_8h_funding_rate.csv")
    # Binance stamps funding a few ms after the hour: the rate in force at a candle is the last one before it.
    rates = funding_per_candle(arr.timestamp, fts, frates, default=math.nan)
    params = {"leverage": 5, "breakout_period": 12, "vol_mult": 1.2, "adx_15m_min": 15.0, "tp_percent": 3.0,
              "sl_percent": 2.0}
    runner = run_runner(create_strategy("momentum", params), arr, "5m", RunnerConfig("r", SYMBOL, **NO_STOPS), rates)
    fast = run_single_trades("momentum", arr, params, timeframe="5m", funding_rates=rates, **NO_STOPS)
    assert any(t.funding != 0 for t in runner.trades)
    assert_same_trades(runner, fast)


def test_fixed_sizing_and_custom_costs_match():
    arr = data("BTC-USD_1h_bitfinex.csv")
    costs = CostModel(taker_fee=0.0004, maker_fee=0.0001, slippage=0.001)
    params = {"leverage": 3}
    cfg = replace(RunnerConfig("r", SYMBOL, costs=costs, **NO_STOPS), initial_capital=5_000.0, sizing="fixed",
                  fixed_allocation=1_250.0)
    runner = run_runner(create_strategy("donchian_breakout", params), arr, "1h", cfg)
    fast = run_single_trades("donchian_breakout", arr, params, costs, 5_000.0, sizing="fixed",
                             fixed_allocation=1_250.0, **NO_STOPS)
    assert len(runner.closed_trades()) > 100
    assert all(t.quantity * t.entry_price == pytest.approx(1_250.0 * 3) for t in runner.trades)
    assert_same_trades(runner, fast)


def test_cooldown_candles_of_a_params_model_are_honoured_like_the_runner():
    # No single strategy's model has cooldown_candles today; the runner reads it with getattr, so does the engine.
    class CooledSupertrend(SupertrendParams):
        cooldown_candles: int = 6

    params = CooledSupertrend(leverage=1)
    arr = data("BTC-USD_1h_bitfinex.csv")
    runner = run_runner(SupertrendStrategy(params), arr, "1h", RunnerConfig("r", SYMBOL, **NO_STOPS))
    fast = run_single_trades("supertrend", arr, params, **NO_STOPS)
    plain = run_single_trades("supertrend", arr, {"leverage": 1}, **NO_STOPS)
    assert len(fast.trades) < len(plain.trades)  # the cooldown really skipped signals
    assert_same_trades(runner, fast)


def test_equity_curve_is_capital_plus_margin_plus_unrealised_pnl():
    runner, fast, arr = parity_run("supertrend", "BTC-USD_1h_bitfinex.csv", 0)
    assert fast.equity.shape == (len(arr),)
    assert fast.equity[0] == 10_000.0
    assert fast.equity[-1] == pytest.approx(runner.capital, rel=1e-12)
    t = fast.trades[3]
    i = int(np.searchsorted(arr.timestamp, t.entry_ts))
    # flat before the entry; at the entry close the margin is still the trader's and the fees are booked at
    # the exit, so equity moves by the unrealised PnL only
    unreal = (arr.close[i] - t.entry_price) * t.quantity * t.side
    assert fast.equity[i] == pytest.approx(fast.equity[i - 1] + unreal, rel=1e-12)
    assert fast.equity[i - 1] == pytest.approx(runner.trades[2].net + fast.equity[
        int(np.searchsorted(arr.timestamp, runner.trades[2].entry_ts)) - 1], rel=1e-12)


# -- batch --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("strategy", list(VARIANTS))
def test_batch_rows_equal_the_runner_metrics(strategy):
    tf = TIMEFRAME[strategy]
    file = FILES[tf][0]
    combos = VARIANTS[strategy] + [{**VARIANTS[strategy][0], "leverage": 10}]
    params = params_array(strategy, combos)
    assert params.shape == (len(combos), len(param_columns(strategy)))
    cache = series_cache(strategy, data(file), tf)
    rows = run_single_batch(strategy, cache, params)
    for k, combo in enumerate(combos):
        runner = run_runner(create_strategy(strategy, combo), data(file), tf, RunnerConfig("r", SYMBOL))
        assert_batch_row_matches(rows[k], runner, cache, k)


def test_batch_accepts_param_dicts_and_shares_signals_between_leverage_variants():
    arr = data("BTC-USD_1h_bitfinex.csv")
    combos = [{"leverage": lev, "sides": sides} for lev in (1, 2, 3) for sides in (["long"], ["short"], ["long", "short"])]
    from_dicts = run_single_batch("supertrend", arr, combos, **NO_STOPS)
    from_array = run_single_batch("supertrend", arr, params_array("supertrend", combos), **NO_STOPS)
    assert np.array_equal(from_dicts, from_array, equal_nan=True)
    for k, combo in enumerate(combos):
        single = run_single_trades("supertrend", arr, combo, **NO_STOPS)
        assert np.array_equal(from_dicts[k, :-1], single.metrics.as_row(), equal_nan=True), k
    n_long, n_short, n_both = from_dicts[:3, BATCH_COLUMNS.index("n_trades")]
    assert n_long > 0 and n_short > 0 and n_both > max(n_long, n_short)


def test_bad_params_array_rows_name_the_row_and_the_column():
    from radar.errors import StrategyError

    arr = data("BTC-USD_1h_bitfinex.csv")
    good = params_array("supertrend", [{}, {}])
    bad = good.copy()
    bad[1, param_columns("supertrend").index("atr_period")] = 2.5
    with pytest.raises(StrategyError, match="row 1: atr_period must be an integer"):
        run_single_batch("supertrend", arr, bad)
    bad = good.copy()
    bad[0, param_columns("supertrend").index("sides")] = 3
    with pytest.raises(StrategyError, match="row 0: sides must be one of"):
        run_single_batch("supertrend", arr, bad)
    with pytest.raises(StrategyError, match="unsupported strategy 'grid_atr'"):
        run_single_batch("grid_atr", arr, good)


# -- kernel edge cases with round numbers (scripted signals, same arrays for both implementations) ----------

class _Scripted(SupertrendStrategy):
    """Signals, rule exits and not-ready candles keyed by candle index (supertrend params: leverage, sides)."""

    def __init__(self, signals: dict, exits: dict, not_ready: set, leverage: int = 2) -> None:
        super().__init__(SupertrendParams(leverage=leverage))
        self.signals, self.exits, self.not_ready = signals, exits, not_ready

    def indicator_specs(self):
        return {}

    def is_ready(self, ctx):
        return ctx.index not in self.not_ready

    def evaluate(self, ctx):
        from radar.strategies.base import Signal

        s = self.signals.get(ctx.index)
        return None if s is None else Signal(*s)

    def exit_signal(self, ctx, side, entry_price, memory):
        return "signal" if ctx.index in self.exits.get(side, ()) else None


def test_kernel_edge_cases_match_the_runner_on_scripted_candles():
    from radar.backtest.fast import kernel_common as kc
    from radar.backtest.fast import single_kernel as sk
    from radar.backtest.fast.cache import funding_candles
    from radar.backtest.fast.single_engine import _FIXED_REASONS
    from radar.backtest.fast.trade_buffer import buffer_trades
    from radar.models import Candle

    H = 3_600_000
    t0 = 1_600_000_000_000 // H * H + 3 * H
    bars = [
        (100, 101, 99, 100),     # 0 long signal: TP 104, SL 96
        (100, 105, 95, 100),     # 1 both hit on a doji -> the stop wins, gap-filled at 95.5
        (100, 100, 100, 100),    # 2 short signal: TP 97, SL 103
        (100, 104, 96, 99),      # 3 both hit, red candle -> short takes TP at 97
        (99, 99, 99, 99),        # 4 long: TP 120, SL 80
        (99, 130, 70, 99),       # 5 not ready: the whole candle is skipped, TP and SL included
        (99, 100, 98, 99.5),     # 6 rule exit of the long at the close; the short signal here is ignored
        (99.5, 100, 99, 99.5),   # 7 long without TP, SL 90
        (99.5, 99.6, 80, 85),    # 8 gap through the stop: fill 90 - 0.5*(90-80) = 85
        (85, 86, 84, 85),        # 9 short without TP/SL, never closed
        (85, 86, 84, 85.5),      # 10 end-of-data close
    ]
    signals = {0: (1, 104.0, 96.0), 2: (-1, 97.0, 103.0), 4: (1, 120.0, 80.0), 6: (-1, 90.0, 110.0),
               7: (1, math.nan, 90.0), 9: (-1, math.nan, math.nan)}
    exits = {1: {6}}
    not_ready = {5}
    strategy = _Scripted(signals, exits, not_ready)
    cfg = RunnerConfig("r", SYMBOL, **NO_STOPS)
    r = make_runner(strategy, cfg)
    r.run([Candle(t0 + i * H, *map(float, b), 1.0, SYMBOL, "1h") for i, b in enumerate(bars)])

    n = len(bars)
    o, h, l, c = (np.array([b[k] for b in bars], dtype=np.float64) for k in range(4))
    ts = np.array([t0 + i * H for i in range(n)], dtype=np.int64)
    side = np.array([signals.get(i, (0,))[0] for i in range(n)], dtype=np.int8)
    tp = np.array([signals.get(i, (0, math.nan))[1] for i in range(n)])
    sl = np.array([signals.get(i, (0, math.nan, math.nan))[2] for i in range(n)])
    ready = np.array([i not in not_ready for i in range(n)])
    exit_long = np.array([i in exits[1] for i in range(n)])
    none = np.zeros(n, dtype=np.bool_)
    buf = np.empty((kc.N_TRADE_FIELDS, kc.max_trades(n)))
    n_tr, capital, stop = sk.simulate_single(
        o, h, l, c, ts, ready, side, tp, sl, exit_long, none, none, np.empty(0), np.zeros(n), funding_candles(ts),
        np.array([2.0, 1.0, 1.0, 0.0, 0.0]), 0.0006, 0.0002, 0.0005, 10_000.0, 0.0, 0.0, -1.0, buf, np.empty(0),
        False)
    fast = list(buffer_trades(buf, n_tr, {**_FIXED_REASONS, sk.REASON_SIGNAL: "signal"}, "r", "supertrend", SYMBOL))
    got = [(t.entry_ts - t0) // H for t in fast], [(t.exit_ts - t0) // H for t in fast], [t.reason for t in fast]
    assert got == ([0, 2, 4, 7, 9], [1, 3, 6, 8, 10], ["sl", "tp", "signal", "sl", "end_of_data"])
    assert [t.exit_price for t in fast] == [95.5, 97.0, 99.5, 85.0, 85.5]
    assert_same_trades(r, type("F", (), {"trades": fast, "capital": capital, "stop_reason": ""})())
    assert stop == 0
