"""Python API of the fast grid_range_atr engine (range_kernel.py): a batch of combos in one numba call, or one
combo with its trades.

Combos are grid_range_atr params (mappings validated by `radar.strategies.params`, missing names take the
defaults, or GridRangeAtrParams). The batch returns one row per combo laid out as engine.BATCH_COLUMNS: the
metrics of `radar.backtest.metrics` (the same function, jitted) and a stop code (0 none, 1 kill switch, 2 hard
drawdown stop). Sizing is the backtest's "single" mode (allocation = capital at the start of the entry step).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from radar.backtest.fast import kernel_common as kc
from radar.backtest.fast import range_kernel as rk
from radar.backtest.fast.cache import IndicatorCache, funding_inputs
from radar.backtest.fast.engine import BATCH_COLUMNS, SIDE_CODES, FastRun
from radar.backtest.fast.trade_buffer import buffer_metrics, buffer_trades
from radar.models import CandleArrays
from radar.positions.costs import CostModel
from radar.strategies.params import GridRangeAtrParams, parse_params

STRATEGY = "grid_range_atr"
RangeCombo = GridRangeAtrParams | Mapping[str, Any]


def range_params(combo: RangeCombo) -> GridRangeAtrParams:
    """Validated grid_range_atr params (a mapping is validated; missing names take the defaults)."""
    p = combo if isinstance(combo, GridRangeAtrParams) else parse_params(STRATEGY, combo)
    assert isinstance(p, GridRangeAtrParams)
    return p


def range_cache(candles: CandleArrays, combos: Iterable[RangeCombo], timeframe: str = "1h") -> IndicatorCache:
    """An indicator cache holding exactly the SMA / ATR periods these combos read."""
    ps = [range_params(c) for c in combos]
    if not ps:
        raise ValueError("range_cache: no grid_range_atr combos given")
    return IndicatorCache.build(candles, [p.ma_period for p in ps], [p.atr_period for p in ps], timeframe=timeframe)


def combo_row(cache: IndicatorCache, p: GridRangeAtrParams) -> np.ndarray:
    """The kernel's C_* row of one combo (KeyError naming the period if the cache lacks its SMA / ATR)."""
    row = np.zeros(rk.N_COMBO)
    row[rk.C_SMA] = cache.sma_row(p.ma_period)
    row[rk.C_ATR] = cache.atr_row(p.atr_period)
    row[rk.C_SPACING] = float(p.atr_spacing)
    row[rk.C_LEVELS] = float(p.num_levels)
    row[rk.C_SL] = float(p.sl_percent)
    row[rk.C_FIXED] = 1.0 if p.tp_mode == "fixed_center" else 0.0
    row[rk.C_SIDES] = float(SIDE_CODES[tuple(p.sides)])
    row[rk.C_LEVERAGE] = float(p.leverage)
    return row


def run_range_batch(cache_or_candles: IndicatorCache | CandleArrays, combos: Iterable[RangeCombo],
                    costs: CostModel = CostModel(), initial_capital: float = 10_000.0, *,
                    funding_rates: np.ndarray | None = None, default_funding_rate: float = 0.0,
                    max_margin_ratio: float = 0.70, kill_switch_loss_pct: float = 25.0,
                    hard_drawdown_pct: float | None = 80.0) -> np.ndarray:
    """Backtest every combo on the window in one numba call (one core). Returns [n_combos, len(BATCH_COLUMNS)].

    `funding_rates`: the rate in force per candle (NaN -> `default_funding_rate`); the runner charges it at
    00/08/16 UTC candles only. `hard_drawdown_pct=None` disables the hard drawdown stop (as in RunnerConfig).
    """
    _check_capital(initial_capital)
    params = [range_params(c) for c in combos]
    if not params:
        return np.zeros((0, len(BATCH_COLUMNS)))
    cache = _as_cache(cache_or_candles, params)
    rows = np.vstack([combo_row(cache, p) for p in params])
    fund = _funding(cache, funding_rates, default_funding_rate)
    mmr, kill_frac, hard = _limits(max_margin_ratio, kill_switch_loss_pct, hard_drawdown_pct)
    out = np.zeros((rows.shape[0], len(BATCH_COLUMNS)))
    n = len(cache)
    rk.run_range_batch_kernel(cache.open, cache.high, cache.low, cache.close, cache.timestamp,
                              _table(cache.sma, n), _table(cache.atr, n), rows, fund, cache.funding_flag,
                              float(costs.taker_fee), float(costs.slippage), float(initial_capital), mmr, kill_frac,
                              hard, out)
    return out


def run_range_trades(cache_or_candles: IndicatorCache | CandleArrays, combo: RangeCombo,
                     costs: CostModel = CostModel(), initial_capital: float = 10_000.0, *,
                     funding_rates: np.ndarray | None = None, default_funding_rate: float = 0.0,
                     max_margin_ratio: float = 0.70, kill_switch_loss_pct: float = 25.0,
                     hard_drawdown_pct: float | None = 80.0, runner_id: str = "fast:grid_range_atr",
                     symbol: str = "") -> FastRun:
    """One combo with its trade list (the end-of-data close last, flagged) and per-candle equity curve."""
    _check_capital(initial_capital)
    p = range_params(combo)
    cache = _as_cache(cache_or_candles, [p])
    row = combo_row(cache, p)
    n = len(cache)
    coef, col_side = rk.columns(int(p.num_levels), int(row[rk.C_SIDES]))
    fund = _funding(cache, funding_rates, default_funding_rate)
    mmr, kill_frac, hard = _limits(max_margin_ratio, kill_switch_loss_pct, hard_drawdown_pct)
    buf = np.empty((kc.N_TRADE_FIELDS, rk.initial_trade_slots(n)))
    equity = np.empty(n)
    n_tr, capital, stop, buf = rk.run_combo(
        cache.open, cache.high, cache.low, cache.close, cache.timestamp, cache.sma[int(row[rk.C_SMA])],
        cache.atr[int(row[rk.C_ATR])], coef, col_side, float(p.atr_spacing), float(p.sl_percent),
        p.tp_mode == "fixed_center", float(col_side.shape[0]), float(p.leverage), fund, cache.funding_flag,
        float(costs.taker_fee), float(costs.slippage), float(initial_capital), mmr, kill_frac, hard, buf, equity, True)
    trades = buffer_trades(buf, n_tr, rk.REASONS, runner_id, STRATEGY, symbol)
    metrics = buffer_metrics(buf, n_tr, initial_capital, cache.first_ts, cache.last_ts, float(capital))
    return FastRun(trades, equity, float(capital), kc.STOP_REASONS[int(stop)], metrics)


def _as_cache(cache_or_candles: IndicatorCache | CandleArrays, params: list[GridRangeAtrParams]) -> IndicatorCache:
    if isinstance(cache_or_candles, IndicatorCache):
        return cache_or_candles
    return range_cache(cache_or_candles, params, params[0].timeframe)


def _check_capital(initial_capital: float) -> None:
    if not initial_capital > 0:
        raise ValueError(f"initial_capital must be > 0, got {initial_capital}")


def _funding(cache: IndicatorCache, funding_rates: np.ndarray | None, default: float) -> np.ndarray:
    # the range strategy never reads the rate: only the charged one
    return funding_inputs(len(cache), funding_rates, default)[1]


def _limits(max_margin_ratio: float, kill_switch_loss_pct: float, hard_drawdown_pct: float | None) -> tuple[float, float, float]:
    # Same expressions as RunnerBase._after_exit so the thresholds round identically.
    kill_frac = 1 - kill_switch_loss_pct / 100
    hard = -1.0 if hard_drawdown_pct is None else hard_drawdown_pct / 100
    return float(max_margin_ratio), float(kill_frac), float(hard)


def _table(tab: np.ndarray, n: int) -> np.ndarray:
    return np.ascontiguousarray(tab, dtype=np.float64).reshape(-1, n)


__all__ = ["range_cache", "range_params", "run_range_batch", "run_range_trades"]
