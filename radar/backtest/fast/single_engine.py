"""Python API of the fast engine for single-position strategies: a batch of combos, or one combo with its trades.

Supported: bollinger_mr, donchian_breakout, supertrend, boltrend, vwap_rsi, momentum, trend_follow_daily
(`SINGLE_STRATEGIES`). A params array has one row per combo and the columns `param_columns(strategy)`: the
strategy's parameter names (pydantic model in radar.strategies.params, `timeframe` excluded — it is the
series cache's) with `sides` as a code (1 long, -1 short, 2 long+short, -2 short+long). The batch returns one
row per combo laid out as BATCH_COLUMNS: the metrics of `radar.backtest.metrics` (the same function, jitted)
and a stop code (0 none, 1 kill switch, 2 hard drawdown stop).

Signals are computed per distinct signal-params set (combos differing only in leverage / sides / trailing
multiplier share them) and the kernel runs every combo of a set in one numba call on one core.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel

from radar.backtest.fast import kernel_common as kc
from radar.backtest.fast import single_kernel as sk
from radar.backtest.fast.cache import funding_candles, funding_inputs
from radar.backtest.fast.engine import FastRun
from radar.backtest.fast.single_signals import SIGNAL_FUNCTIONS, SeriesCache, SingleSignals, signal_key, signals_for
from radar.backtest.fast.trade_buffer import buffer_metrics, buffer_trades
from radar.backtest.metrics import METRIC_NAMES
from radar.errors import StrategyError
from radar.positions.costs import CostModel
from radar.strategies.params import param_model, parse_params

SINGLE_STRATEGIES: tuple[str, ...] = tuple(SIGNAL_FUNCTIONS)
BATCH_COLUMNS: tuple[str, ...] = METRIC_NAMES + ("stop_code",)
SIDE_CODES: dict[tuple[str, ...], int] = {("long",): 1, ("short",): -1, ("long", "short"): 2, ("short", "long"): -2}
_CODE_SIDES = {v: k for k, v in SIDE_CODES.items()}
STOP_REASONS = kc.STOP_REASONS
_FIXED_REASONS = {kc.REASON_TP: "tp", kc.REASON_SL: "sl", kc.REASON_END: "end_of_data",
                  sk.REASON_REGIME: "regime_change"}


def _check_strategy(strategy: str) -> None:
    if strategy not in SIGNAL_FUNCTIONS:
        raise StrategyError(f"fast single engine: unsupported strategy {strategy!r} "
                            f"(supported: {', '.join(SINGLE_STRATEGIES)})")


def param_columns(strategy: str) -> tuple[str, ...]:
    """The params-array columns of `strategy` (model field order, `timeframe` excluded)."""
    _check_strategy(strategy)
    return tuple(name for name in param_model(strategy).model_fields if name != "timeframe")


def _validated(strategy: str, params: BaseModel | Mapping[str, Any], timeframe: str | None) -> BaseModel:
    if isinstance(params, BaseModel):
        if timeframe is not None and getattr(params, "timeframe", timeframe) != timeframe:
            params = parse_params(strategy, {**params.model_dump(), "timeframe": timeframe})
        return params
    values = dict(params)
    if timeframe is not None:
        values["timeframe"] = timeframe
    return parse_params(strategy, values)


def params_row(strategy: str, params: BaseModel | Mapping[str, Any]) -> np.ndarray:
    """One `param_columns(strategy)` row from params (a mapping is validated; missing names take defaults)."""
    p = _validated(strategy, params, None)
    row = []
    for name in param_columns(strategy):
        v = getattr(p, name)
        row.append(float(SIDE_CODES[tuple(v)]) if name == "sides" else float(v))
    return np.array(row, dtype=np.float64)


def params_array(strategy: str, combos: Iterable[BaseModel | Mapping[str, Any]]) -> np.ndarray:
    """A [n_combos, len(param_columns(strategy))] array from param dicts (e.g. `StrategyGrid.combos()`)."""
    rows = [params_row(strategy, c) for c in combos]
    if not rows:
        return np.empty((0, len(param_columns(strategy))))
    return np.vstack(rows)


def _row_params(strategy: str, row: np.ndarray, timeframe: str, k: int) -> BaseModel:
    cols = param_columns(strategy)
    if row.shape[0] != len(cols):
        raise StrategyError(f"{strategy} params array: expected {len(cols)} columns ({', '.join(cols)}), "
                            f"got {row.shape[0]}")
    fields = param_model(strategy).model_fields
    values: dict[str, Any] = {"timeframe": timeframe}
    for name, v in zip(cols, row.tolist()):
        if name == "sides":
            if v not in _CODE_SIDES:
                raise StrategyError(f"{strategy} params array row {k}: sides must be one of 1, -1, 2, -2, got {v}")
            values[name] = list(_CODE_SIDES[int(v)])
        elif fields[name].annotation is int:
            if not float(v).is_integer():
                raise StrategyError(f"{strategy} params array row {k}: {name} must be an integer, got {v}")
            values[name] = int(v)
        else:
            values[name] = v
    try:
        return parse_params(strategy, values)
    except StrategyError as exc:
        raise StrategyError(f"params array row {k}: {exc}") from None


def _combos(strategy: str, params: Any, timeframe: str) -> list[BaseModel]:
    if isinstance(params, np.ndarray):
        arr = np.asarray(params, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr.reshape(1, -1)
        if arr.ndim != 2:
            raise StrategyError(f"{strategy} params array: expected 2 dimensions, got shape {arr.shape}")
        return [_row_params(strategy, arr[k], timeframe, k) for k in range(arr.shape[0])]
    if isinstance(params, (BaseModel, Mapping)):
        params = [params]
    return [_validated(strategy, p, timeframe) for p in params]


def _kernel_params(p: BaseModel) -> np.ndarray:
    sides = tuple(getattr(p, "sides", ("long", "short")))
    return np.array([float(p.leverage), 1.0 if "long" in sides else 0.0, 1.0 if "short" in sides else 0.0,
                     float(getattr(p, "cooldown_candles", 0)), float(getattr(p, "trail_atr_mult", 0.0))])


def series_cache(strategy: str, cache_or_candles: Any, timeframe: str | None = None) -> SeriesCache:
    """A SeriesCache from a SeriesCache (returned as is), CandleArrays or an IndicatorCache. The timeframe
    is `timeframe`, else the object's own `timeframe` attribute, else the strategy's default timeframe."""
    _check_strategy(strategy)
    if isinstance(cache_or_candles, SeriesCache):
        if timeframe is not None and timeframe != cache_or_candles.timeframe:
            raise StrategyError(f"series cache holds {cache_or_candles.timeframe} candles, not {timeframe}")
        return cache_or_candles
    tf = timeframe or getattr(cache_or_candles, "timeframe", None) or param_model(strategy)().timeframe
    return SeriesCache.build(cache_or_candles, tf)


def _funding(n: int, funding_rates: np.ndarray | None, default: float) -> np.ndarray:
    # single-position signals never read the rate: only the charged one
    return funding_inputs(n, funding_rates, default)[1]


def _limits(kill_switch_loss_pct: float, hard_drawdown_pct: float | None, initial_capital: float,
            sizing: str, fixed_allocation: float) -> tuple[float, float, float]:
    if initial_capital <= 0:
        raise ValueError(f"initial_capital must be > 0, got {initial_capital}")
    if sizing not in ("single", "fixed"):
        raise ValueError(f"sizing must be 'single' or 'fixed', got {sizing!r}")
    if sizing == "fixed" and fixed_allocation <= 0:
        raise ValueError(f"sizing 'fixed' needs fixed_allocation > 0, got {fixed_allocation}")
    # Same expressions as RunnerBase._after_exit so the thresholds round identically.
    kill_frac = 1 - kill_switch_loss_pct / 100
    hard = -1.0 if hard_drawdown_pct is None else hard_drawdown_pct / 100
    fixed = float(fixed_allocation) if sizing == "fixed" else 0.0
    return float(kill_frac), float(hard), fixed


def _signal_args(s: SingleSignals) -> tuple[np.ndarray, ...]:
    return (s.ready, s.side, s.tp, s.sl, s.exit_long, s.exit_short, s.regime_exit, s.trail_atr)


def run_single_batch(strategy: str, cache_or_candles: Any, params: np.ndarray | Sequence[BaseModel | Mapping[str, Any]],
                     costs: CostModel = CostModel(), initial_capital: float = 10_000.0, *,
                     timeframe: str | None = None, funding_rates: np.ndarray | None = None,
                     default_funding_rate: float = 0.0, kill_switch_loss_pct: float = 25.0,
                     hard_drawdown_pct: float | None = 80.0, sizing: Literal["single", "fixed"] = "single",
                     fixed_allocation: float = 0.0) -> np.ndarray:
    """Backtest every combo of `strategy` on one window. Returns [n_combos, len(BATCH_COLUMNS)].

    `params`: a params array (`param_columns(strategy)`) or a sequence of param mappings/models.
    `funding_rates`: the rate in force per candle (NaN -> `default_funding_rate`).
    """
    cache = series_cache(strategy, cache_or_candles, timeframe)
    combos = _combos(strategy, params, cache.timeframe)
    kill_frac, hard, fixed = _limits(kill_switch_loss_pct, hard_drawdown_pct, initial_capital, sizing,
                                     fixed_allocation)
    n = len(cache)
    fund = _funding(n, funding_rates, default_funding_rate)
    flag = funding_candles(cache.timestamp)
    out = np.zeros((len(combos), len(BATCH_COLUMNS)))
    groups: dict[tuple[tuple[str, Any], ...], list[int]] = {}
    for k, p in enumerate(combos):
        groups.setdefault(signal_key(p), []).append(k)
    for idx in groups.values():
        sig = signals_for(strategy, cache, combos[idx[0]])
        kparams = np.vstack([_kernel_params(combos[k]) for k in idx])
        sk.run_group(cache.open, cache.high, cache.low, cache.close, cache.timestamp, *_signal_args(sig), fund, flag,
                     kparams, np.array(idx, dtype=np.int64), float(costs.taker_fee), float(costs.maker_fee),
                     float(costs.slippage), float(initial_capital), fixed, kill_frac, hard, out)
    return out


def run_single_trades(strategy: str, cache_or_candles: Any, params: BaseModel | Mapping[str, Any] | np.ndarray,
                      costs: CostModel = CostModel(), initial_capital: float = 10_000.0, *,
                      timeframe: str | None = None, funding_rates: np.ndarray | None = None,
                      default_funding_rate: float = 0.0, kill_switch_loss_pct: float = 25.0,
                      hard_drawdown_pct: float | None = 80.0, sizing: Literal["single", "fixed"] = "single",
                      fixed_allocation: float = 0.0, runner_id: str = "", symbol: str = "") -> FastRun:
    """One combo with its trade list and per-candle equity (parity tests, reports)."""
    cache = series_cache(strategy, cache_or_candles, timeframe)
    combos = _combos(strategy, params, cache.timeframe)
    if len(combos) != 1:
        raise StrategyError(f"run_single_trades: expected one combo, got {len(combos)}")
    p = combos[0]
    kill_frac, hard, fixed = _limits(kill_switch_loss_pct, hard_drawdown_pct, initial_capital, sizing,
                                     fixed_allocation)
    n = len(cache)
    sig = signals_for(strategy, cache, p)
    buf = np.empty((kc.N_TRADE_FIELDS, kc.max_trades(n)))
    equity = np.empty(n)
    n_tr, capital, stop = sk.simulate_single(
        cache.open, cache.high, cache.low, cache.close, cache.timestamp, *_signal_args(sig),
        _funding(n, funding_rates, default_funding_rate), funding_candles(cache.timestamp), _kernel_params(p),
        float(costs.taker_fee), float(costs.maker_fee), float(costs.slippage), float(initial_capital), fixed,
        kill_frac, hard, buf, equity, True)
    rid = runner_id or f"fast:{strategy}"
    reasons = {**_FIXED_REASONS, sk.REASON_SIGNAL: sig.exit_reason}
    trades = buffer_trades(buf, n_tr, reasons, rid, strategy, symbol)
    metrics = buffer_metrics(buf, n_tr, initial_capital, cache.first_ts, cache.last_ts, capital)
    return FastRun(trades, equity, float(capital), STOP_REASONS[int(stop)], metrics)


__all__ = [
    "BATCH_COLUMNS", "SIDE_CODES", "SINGLE_STRATEGIES", "param_columns", "params_array", "params_row",
    "run_single_batch", "run_single_trades", "series_cache",
]
