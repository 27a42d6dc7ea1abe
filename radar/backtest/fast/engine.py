"""Python API of the fast grid engine: a batch of combos in one numba call, or one combo with its trades.

Params arrays have one row per combo and the columns PARAM_COLUMNS (the grid_atr parameter names of
SPEC §6; `side` is a code: 1 long, -1 short, 2 long+short, -2 short+long, in `sides` order). The batch
returns one row per combo laid out as BATCH_COLUMNS: the metrics of `radar.backtest.metrics` (same function,
jitted) and a stop code (0 none, 1 kill switch, 2 hard drawdown stop).

grid_atr has the array API below (run_grid_atr_batch / run_grid_atr_trades); every grid-family strategy
(grid_family.py) goes through run_level_batch / run_level_trades, the same kernel.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from radar.backtest.fast import grid_kernel as gk
from radar.backtest.fast import kernel_common as kc
from radar.backtest.fast.cache import IndicatorCache, funding_inputs
from radar.backtest.fast.levels import ComboPlan, LevelRule, level_groups, level_matrix, rule_series, series_table
from radar.backtest.fast.trade_buffer import buffer_metrics, buffer_trades
from radar.backtest.metrics import METRIC_NAMES, Metrics
from radar.errors import StrategyError
from radar.events import TradeResult
from radar.positions.costs import CostModel
from radar.strategies.params import GridAtrParams, parse_params

PARAM_COLUMNS: tuple[str, ...] = (
    "ma_period", "atr_period", "atr_multiplier_start", "atr_multiplier_step", "num_levels", "sl_percent",
    "min_grid_spacing_pct", "min_profit_pct", "min_atr_pct", "cooldown_candles", "side", "leverage",
)
BATCH_COLUMNS: tuple[str, ...] = METRIC_NAMES + ("stop_code",)
SIDE_CODES: dict[tuple[str, ...], int] = {("long",): 1, ("short",): -1, ("long", "short"): 2, ("short", "long"): -2}
STOP_REASONS = kc.STOP_REASONS
REASONS = {kc.REASON_TP: "tp", kc.REASON_SL: "sl", kc.REASON_END: "end_of_data", gk.REASON_FLIP: "flip",
           gk.REASON_BOL_MID: "bol_mid", gk.REASON_FUNDING_POSITIVE: "funding_positive",
           gk.REASON_SMA_CROSS: "sma_cross"}
assert len(PARAM_COLUMNS) == gk.N_PARAMS


@dataclass(frozen=True, slots=True)
class FastRun:
    """One combo's backtest: every trade (the end-of-data close last, flagged), per-candle equity
    (capital + margin + unrealised PnL at the close; flat after a stop; the last value is the capital after the
    end-of-data close), final capital, why it stopped ("" if it ran to the end) and its metrics."""

    trades: tuple[TradeResult, ...]
    equity: np.ndarray
    capital: float
    stop_reason: str
    metrics: Metrics

    def closed_trades(self) -> list[TradeResult]:
        return [t for t in self.trades if not t.end_of_data]


def params_row(params: GridAtrParams | Mapping[str, Any]) -> np.ndarray:
    """One PARAM_COLUMNS row from validated grid_atr params (a mapping is validated; missing names take defaults)."""
    p = params if isinstance(params, GridAtrParams) else parse_params("grid_atr", params)
    assert isinstance(p, GridAtrParams)
    values = [float(getattr(p, name)) for name in PARAM_COLUMNS if name != "side"]
    values.insert(PARAM_COLUMNS.index("side"), float(SIDE_CODES[tuple(p.sides)]))
    return np.array(values, dtype=np.float64)


def params_array(combos: Iterable[GridAtrParams | Mapping[str, Any]]) -> np.ndarray:
    """A [n_combos, len(PARAM_COLUMNS)] array from param dicts (e.g. `StrategyGrid.combos()`)."""
    rows = [params_row(c) for c in combos]
    if not rows:
        return np.empty((0, len(PARAM_COLUMNS)))
    return np.vstack(rows)


def funding_per_candle(candle_ts: np.ndarray, rate_ts: np.ndarray | None = None, rates: np.ndarray | None = None,
                       default: float = 0.0) -> np.ndarray:
    """The funding rate in force at each candle: the last stored rate at or before it, else `default`."""
    candle_ts = np.asarray(candle_ts, dtype=np.int64)
    out = np.full(candle_ts.shape[0], float(default))
    if rate_ts is None or rates is None or len(rate_ts) == 0:
        return out
    rate_ts = np.asarray(rate_ts, dtype=np.int64)
    rates = np.asarray(rates, dtype=np.float64)
    if rate_ts.shape != rates.shape:
        raise ValueError("funding_per_candle: rate_ts and rates have different lengths")
    order = np.argsort(rate_ts, kind="stable")
    rate_ts, rates = rate_ts[order], rates[order]
    idx = np.searchsorted(rate_ts, candle_ts, side="right") - 1
    has = idx >= 0
    out[has] = rates[idx[has]]
    return out


def _check_params(params: np.ndarray) -> np.ndarray:
    arr = np.ascontiguousarray(params, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2 or arr.shape[1] != len(PARAM_COLUMNS):
        raise StrategyError(f"grid_atr params array: expected shape (n_combos, {len(PARAM_COLUMNS)}) "
                            f"with columns {', '.join(PARAM_COLUMNS)}, got {arr.shape}")
    col = {name: arr[:, k] for k, name in enumerate(PARAM_COLUMNS)}
    checks = [
        ("all", ~np.isfinite(arr).all(axis=1), "must be finite"),
        ("num_levels", (col["num_levels"] < 1) | (col["num_levels"] > 100) | (col["num_levels"] % 1 != 0),
         "must be an integer in 1..100"),
        ("cooldown_candles", (col["cooldown_candles"] < 0) | (col["cooldown_candles"] % 1 != 0), "must be an integer >= 0"),
        ("side", ~np.isin(col["side"], list(SIDE_CODES.values())), "must be one of 1, -1, 2, -2"),
        ("leverage", col["leverage"] <= 0, "must be > 0"),
        ("sl_percent", (col["sl_percent"] <= 0) | (col["sl_percent"] >= 100), "must be in (0, 100)"),
        ("atr_multiplier_start", col["atr_multiplier_start"] <= 0, "must be > 0"),
    ]
    for name, bad, why in checks:
        if bad.any():
            row = int(np.argmax(bad))
            value = arr[row].tolist() if name == "all" else arr[row, PARAM_COLUMNS.index(name)]
            raise StrategyError(f"grid_atr params array row {row}: {name} {why}, got {value}")
    return arr


def _funding(cache: IndicatorCache, funding_rates: np.ndarray | None, default: float) -> tuple[np.ndarray, np.ndarray]:
    return funding_inputs(len(cache), funding_rates, default)


def _limits(max_margin_ratio: float, kill_switch_loss_pct: float, hard_drawdown_pct: float | None) -> tuple[float, float, float]:
    # Same expressions as RunnerBase._after_exit so the thresholds round identically.
    kill_frac = 1 - kill_switch_loss_pct / 100
    hard = -1.0 if hard_drawdown_pct is None else hard_drawdown_pct / 100
    return float(max_margin_ratio), float(kill_frac), float(hard)


def _atr_array_plans(arr: np.ndarray) -> tuple[list[LevelRule], np.ndarray, np.ndarray]:
    """Level rules / group index / rules rows of a checked grid_atr params array (no pydantic per row)."""
    key_cols = [gk.P_MA, gk.P_ATR, gk.P_START, gk.P_STEP, gk.P_LEVELS, gk.P_SPACING, gk.P_SIDE]
    index: dict[tuple[float, ...], int] = {}
    group_of = np.array([index.setdefault(tuple(key), len(index)) for key in arr[:, key_cols].tolist()],
                        dtype=np.int64)
    sides_of = {code: tuple(1 if s == "long" else -1 for s in sides) for sides, code in SIDE_CODES.items()}
    rules_list = []
    for ma, atr_p, start, step, nl, spacing, code in index:
        signs = sides_of[int(code)]
        nl = int(nl)
        rules_list.append(LevelRule(
            gk.KIND_ATR, int(ma), int(atr_p), None, float(spacing),
            tuple(start + k * step for _ in signs for k in range(nl)), tuple(s for s in signs for _ in range(nl))))
    rules = np.zeros((arr.shape[0], gk.N_RULES))
    rules[:, gk.R_SLOTS] = arr[:, gk.P_LEVELS]
    rules[:, gk.R_SL] = arr[:, gk.P_SL]
    rules[:, gk.R_MIN_PROFIT] = arr[:, gk.P_MIN_PROFIT]
    rules[:, gk.R_MIN_ATR] = arr[:, gk.P_MIN_ATR]
    rules[:, gk.R_COOLDOWN] = arr[:, gk.P_COOLDOWN]
    rules[:, gk.R_LEVERAGE] = arr[:, gk.P_LEVERAGE]
    return rules_list, group_of, rules


def run_level_batch(cache: IndicatorCache, level_rules: Sequence[LevelRule], group_of: np.ndarray,
                    rules: np.ndarray, costs: CostModel = CostModel(), initial_capital: float = 10_000.0, *,
                    funding_rates: np.ndarray | None = None, default_funding_rate: float = 0.0,
                    max_margin_ratio: float = 0.70, kill_switch_loss_pct: float = 25.0,
                    hard_drawdown_pct: float | None = 80.0, parallel: bool = False) -> np.ndarray:
    """The grid-family batch: combo j uses level rule `level_rules[group_of[j]]` and the R_* row `rules[j]`;
    each distinct level matrix is built once. Returns [n_combos, len(BATCH_COLUMNS)]."""
    if initial_capital <= 0:
        raise ValueError(f"initial_capital must be > 0, got {initial_capital}")
    rules = np.ascontiguousarray(rules, dtype=np.float64).reshape(-1, gk.N_RULES)
    out = np.zeros((rules.shape[0], len(BATCH_COLUMNS)))
    if rules.shape[0] == 0:
        return out
    lg = level_groups(cache, level_rules, group_of)
    view, fund = _funding(cache, funding_rates, default_funding_rate)
    mmr, kill_frac, hard = _limits(max_margin_ratio, kill_switch_loss_pct, hard_drawdown_pct)
    kernel = gk.run_batch_parallel if parallel else gk.run_batch_serial
    kernel(cache.open, cache.high, cache.low, cache.close, cache.timestamp, series_table(cache), lg.groups, lg.spacing,
           lg.coef, lg.side, lg.start, lg.order, rules, view, fund, cache.funding_flag, float(costs.taker_fee),
           float(costs.slippage), float(initial_capital), mmr, kill_frac, hard, out)
    return out


def run_level_trades(cache: IndicatorCache, combo: ComboPlan, costs: CostModel = CostModel(),
                     initial_capital: float = 10_000.0, *, funding_rates: np.ndarray | None = None,
                     default_funding_rate: float = 0.0, max_margin_ratio: float = 0.70,
                     kill_switch_loss_pct: float = 25.0, hard_drawdown_pct: float | None = 80.0,
                     strategy: str = "grid_atr", runner_id: str = "", symbol: str = "") -> FastRun:
    """One grid-family combo with its trade list and equity curve (parity tests, reports)."""
    if initial_capital <= 0:
        raise ValueError(f"initial_capital must be > 0, got {initial_capital}")
    n = len(cache)
    rule = combo.level
    view, fund = _funding(cache, funding_rates, default_funding_rate)
    lm = level_matrix(cache, rule, view)
    rs = rule_series(cache, rule)
    mmr, kill_frac, hard = _limits(max_margin_ratio, kill_switch_loss_pct, hard_drawdown_pct)
    buf = np.empty((kc.N_TRADE_FIELDS, kc.max_trades(n)))
    equity = np.empty(n)
    n_tr, capital, stop = gk.simulate_grid(
        cache.open, cache.high, cache.low, cache.close, cache.timestamp, rule.kind, rs.center, rs.atr, rs.direction,
        rs.tp, rs.close, rs.signal if rule.kind == gk.KIND_ANCHORED else None, rs.fail, rule.close_kind, rule.close_reason, float(rule.spacing),
        np.array(rule.coef, dtype=np.float64), lm.col_side, lm.levels, lm.ready, np.array([n], dtype=np.int64),
        np.array(combo.rules, dtype=np.float64), view, fund, cache.funding_flag, float(costs.taker_fee),
        float(costs.slippage), float(initial_capital), mmr, kill_frac, hard, buf, equity, True)
    rid = runner_id or f"fast:{strategy}"
    trades = buffer_trades(buf, n_tr, REASONS, rid, strategy, symbol)
    metrics = buffer_metrics(buf, n_tr, initial_capital, cache.first_ts, cache.last_ts, capital)
    return FastRun(trades, equity, float(capital), STOP_REASONS[int(stop)], metrics)


def run_grid_atr_batch(cache: IndicatorCache, params: np.ndarray, costs: CostModel = CostModel(),
                       initial_capital: float = 10_000.0, *, funding_rates: np.ndarray | None = None,
                       default_funding_rate: float = 0.0, max_margin_ratio: float = 0.70,
                       kill_switch_loss_pct: float = 25.0, hard_drawdown_pct: float | None = 80.0,
                       parallel: bool = False) -> np.ndarray:
    """Backtest every combo (row of `params`, PARAM_COLUMNS) on the cache's window in one numba call.

    Returns [n_combos, len(BATCH_COLUMNS)]. `funding_rates`: the rate in force per candle (NaN -> default);
    `parallel` spreads level groups (combos sharing SMA/ATR/levels) over numba threads (prange), else one core.
    """
    arr = _check_params(params)
    if arr.shape[0] == 0:
        if initial_capital <= 0:
            raise ValueError(f"initial_capital must be > 0, got {initial_capital}")
        return np.zeros((0, len(BATCH_COLUMNS)))
    level_rules, group_of, rules = _atr_array_plans(arr)
    return run_level_batch(cache, level_rules, group_of, rules, costs, initial_capital, funding_rates=funding_rates,
                           default_funding_rate=default_funding_rate, max_margin_ratio=max_margin_ratio,
                           kill_switch_loss_pct=kill_switch_loss_pct, hard_drawdown_pct=hard_drawdown_pct,
                           parallel=parallel)


def run_grid_atr_trades(cache: IndicatorCache, params: GridAtrParams | Mapping[str, Any] | np.ndarray,
                        costs: CostModel = CostModel(), initial_capital: float = 10_000.0, *,
                        funding_rates: np.ndarray | None = None, default_funding_rate: float = 0.0,
                        max_margin_ratio: float = 0.70, kill_switch_loss_pct: float = 25.0,
                        hard_drawdown_pct: float | None = 80.0, runner_id: str = "fast:grid_atr",
                        symbol: str = "") -> FastRun:
    """One combo with its trade list and equity curve (parity tests, reports)."""
    row = _check_params(params if isinstance(params, np.ndarray) else params_row(params))[:1]
    level_rules, _, rules = _atr_array_plans(row)
    return run_level_trades(cache, ComboPlan(level_rules[0], tuple(rules[0].tolist())), costs, initial_capital,
                            funding_rates=funding_rates, default_funding_rate=default_funding_rate,
                            max_margin_ratio=max_margin_ratio, kill_switch_loss_pct=kill_switch_loss_pct,
                            hard_drawdown_pct=hard_drawdown_pct, strategy="grid_atr", runner_id=runner_id,
                            symbol=symbol)


def batch_metrics(rows: np.ndarray) -> list[Metrics]:
    """Metrics objects from a batch result."""
    return [Metrics.from_row(r) for r in np.asarray(rows)]


__all__ = [
    "BATCH_COLUMNS", "PARAM_COLUMNS", "SIDE_CODES", "FastRun", "batch_metrics", "funding_per_candle", "params_array",
    "params_row", "run_grid_atr_batch", "run_grid_atr_trades", "run_level_batch", "run_level_trades",
]
