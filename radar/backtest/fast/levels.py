"""Where the grid family's orders rest, as data the one numba hot loop reads (`grid_kernel.simulate_grid`).

A strategy's validated params become a `ComboPlan`: a `LevelRule` (which indicators and strategy series,
which formula, the per-column coefficient and side, the close-all rule — combos with equal rules share one
level matrix in a batch) and a rules row (the R_* exit/entry knobs of grid_kernel). Coefficients are computed
here in Python with the strategies' own expressions (`start + k * step`, `1 + offset` from `envelope_offsets`,
`pull_start + k * pull_step`, GridFunding.thresholds) so the jitted level formulas round exactly like the
runner's.
"""
from __future__ import annotations

import functools

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel

from radar.backtest.fast import grid_kernel as gk
from radar.backtest.fast.cache import IndicatorCache, SupertrendKey
from radar.backtest.fast.grid_series import SeriesKey
from radar.errors import StrategyError
from radar.strategies.envelope_dca import envelope_offsets
from radar.strategies.grid_atr import side_signs
from radar.strategies.grid_funding import GridFunding
from radar.strategies.params import parse_params

GRID_FAMILY: tuple[str, ...] = ("grid_atr", "envelope_dca", "envelope_dca_short", "grid_multi_tf", "grid_trend",
                                "grid_boltrend", "grid_momentum", "grid_funding")
_ENVELOPE_SIDE = {"envelope_dca": 1, "envelope_dca_short": -1}
_TP_MODES = {"funding_positive": gk.TP_FUNDING_POSITIVE, "sma_cross": gk.TP_SMA_CROSS,
             "both": gk.TP_FUNDING_POSITIVE | gk.TP_SMA_CROSS}


@dataclass(frozen=True, slots=True)
class LevelRule:
    """The level formula of one combo (grid_kernel.build_levels) and the per-candle series its hot loop reads:
    kind, indicators, per-column data and the close-all rule (grid_kernel module docstring)."""

    kind: int  # gk.KIND_*
    ma_period: int | None  # SMA: level center (unless `center`), the TP when `tp_at_sma`, grid_funding's SMA
    atr_period: int | None
    supertrend: SupertrendKey | None  # direction series of grid_multi_tf (also its flip close)
    spacing: float  # min_grid_spacing_pct (ATR kinds); the anchor ATR multiplier (KIND_ANCHORED)
    coef: tuple[float, ...]
    col_side: tuple[int, ...]
    center: SeriesKey | None = None  # a level center other than the SMA (grid_trend's fast EMA)
    direction: SeriesKey | None = None  # side / readiness series read at i-1 (else the Supertrend's)
    tp_at_sma: bool = True
    close_kind: int = gk.CLOSE_NONE
    close: SeriesKey | None = None  # CLOSE_AGAINST series (else the Supertrend's)
    close_reason: int = 0
    signal: SeriesKey | None = None  # KIND_ANCHORED breakout side at candle i
    fail: SeriesKey | None = None  # KIND_ANCHORED failed-anchor sign, read at i-1

    def series_keys(self) -> tuple[SeriesKey, ...]:
        """The strategy series (grid_series.py) this rule reads."""
        return tuple(k for k in (self.center, self.direction, self.close, self.signal, self.fail) if k is not None)


@dataclass(frozen=True, slots=True)
class ComboPlan:
    """One combo as the kernel sees it: its level rule and its R_* rules row."""

    level: LevelRule
    rules: tuple[float, ...]


def validated(strategy: str, params: BaseModel | Mapping[str, Any]) -> BaseModel:
    """The strategy's pydantic params (a mapping is validated; missing names take the defaults)."""
    if strategy not in GRID_FAMILY:
        raise StrategyError(f"fast engine: strategy {strategy!r} is not supported (supported: {', '.join(GRID_FAMILY)})")
    if isinstance(params, BaseModel):
        return params
    return parse_params(strategy, params)


def plan(strategy: str, params: BaseModel | Mapping[str, Any]) -> ComboPlan:
    """The kernel's view of one combo (memoised for validated models: a sweep asks for the same combo's
    plan on every window and batch)."""
    if isinstance(params, BaseModel):
        return _plan_cached(strategy, params)
    return _plan(strategy, params)


@functools.lru_cache(maxsize=65536)
def _plan_cached(strategy: str, params: BaseModel) -> ComboPlan:
    return _plan(strategy, params)


def _plan(strategy: str, params: BaseModel | Mapping[str, Any]) -> ComboPlan:
    """The kernel's view of one combo of a grid-family strategy."""
    p: Any = validated(strategy, params)
    nl = int(p.num_levels)
    if strategy in _ENVELOPE_SIDE:
        side = _ENVELOPE_SIDE[strategy]
        coef = tuple(1 + off for off in envelope_offsets(p.envelope_start, p.envelope_step, nl, side))
        level = LevelRule(gk.KIND_ENVELOPE, int(p.ma_period), None, None, 0.0, coef, (side,) * nl)
        rules = _rules(nl, p.sl_percent, 0.0, 0.0, getattr(p, "cooldown_candles", 0), p.leverage)
        return ComboPlan(level, rules)
    if strategy in _PLANNERS:
        return _PLANNERS[strategy](p, nl)
    signs = side_signs(p.sides)
    coef = tuple(p.atr_multiplier_start + k * p.atr_multiplier_step for _ in signs for k in range(nl))
    col_side = tuple(s for s in signs for _ in range(nl))
    directed = strategy == "grid_multi_tf"
    if directed:
        st = (int(p.st_atr_period), float(p.st_atr_multiplier), str(p.st_timeframe))
        level = LevelRule(gk.KIND_ATR_DIRECTED, int(p.ma_period), int(p.atr_period), st,
                          float(p.min_grid_spacing_pct), coef, col_side, close_kind=gk.CLOSE_AGAINST,
                          close_reason=gk.REASON_FLIP)
    else:
        level = LevelRule(gk.KIND_ATR, int(p.ma_period), int(p.atr_period), None, float(p.min_grid_spacing_pct),
                          coef, col_side)
    rules = _rules(nl, p.sl_percent, p.min_profit_pct, p.min_atr_pct, p.cooldown_candles, p.leverage)
    return ComboPlan(level, rules)


def _plan_trend(p: Any, nl: int) -> ComboPlan:
    # GridTrend.compute_grid: ema_fast - side * atr * (pull_start + k*pull_step) on the side of the direction
    signs = side_signs(p.sides)
    fast, slow = int(p.ema_fast), int(p.ema_slow)
    level = LevelRule(
        gk.KIND_ATR_DIRECTED, None, int(p.atr_period), None, 0.0,
        tuple(p.pull_start + k * p.pull_step for _ in signs for k in range(nl)),
        tuple(s for s in signs for _ in range(nl)), center=("ema", fast),
        direction=("trend_dir", fast, slow, int(p.adx_period), float(p.adx_threshold)), tp_at_sma=False,
        close_kind=gk.CLOSE_AGAINST, close=("ema_sign", fast, slow), close_reason=gk.REASON_FLIP)
    return ComboPlan(level, _rules(nl, p.sl_percent, 0.0, 0.0, 0, p.leverage, trail=p.trail_atr_mult))


def _plan_boltrend(p: Any, nl: int) -> ComboPlan:
    # GridBoltrend.compute_grid: anchor - side * k * (anchor_atr * atr_multiplier)
    signs = side_signs(p.sides)
    bol = (int(p.bol_period), float(p.bol_std))
    level = LevelRule(
        gk.KIND_ANCHORED, None, int(p.atr_period), None, float(p.atr_multiplier),
        tuple(float(k) for _ in signs for k in range(nl)), tuple(s for s in signs for _ in range(nl)),
        direction=("boltrend_gate", *bol, int(p.long_ma_period), int(p.atr_period)), tp_at_sma=False,
        close_kind=gk.CLOSE_AGAINST, close=("bol_sign", *bol), close_reason=gk.REASON_BOL_MID,
        signal=("boltrend_signal", *bol, int(p.long_ma_period), int(p.atr_period), float(p.min_bol_spread_pct),
                signs),
        fail=("bol_sign", *bol))
    return ComboPlan(level, _rules(nl, p.sl_percent, 0.0, 0.0, 0, p.leverage))


def _plan_momentum(p: Any, nl: int) -> ComboPlan:
    # GridMomentum.compute_grid: anchor - side * anchor_atr * (pullback_atr_start + k*pullback_atr_step)
    signs = side_signs(p.sides)
    dc, vs, atr = int(p.donchian_period), int(p.vol_sma_period), int(p.atr_period)
    level = LevelRule(
        gk.KIND_ANCHORED, None, atr, None, 1.0,
        tuple(p.pullback_atr_start + k * p.pullback_atr_step for _ in signs for k in range(nl)),
        tuple(s for s in signs for _ in range(nl)), direction=("momentum_gate", dc, vs, atr), tp_at_sma=False,
        signal=("momentum_signal", dc, vs, float(p.vol_mult), atr, signs), fail=("dc_sign", dc))
    return ComboPlan(level, _rules(nl, p.sl_percent, 0.0, 0.0, p.cooldown_candles, p.leverage,
                                   trail=p.trail_atr_mult))


def _plan_funding(p: Any, nl: int) -> ComboPlan:
    # GridFunding: LONG level k rests at the previous close while funding <= its threshold
    level = LevelRule(gk.KIND_FUNDING, int(p.ma_period), None, None, 0.0, tuple(GridFunding(p).thresholds()),
                      (1,) * nl, tp_at_sma=False, close_kind=gk.CLOSE_FUNDING)
    return ComboPlan(level, _rules(nl, p.sl_percent, 0.0, 0.0, 0, p.leverage, min_hold=p.min_hold_candles,
                                   tp_mode=_TP_MODES[p.tp_mode]))


_PLANNERS = {"grid_trend": _plan_trend, "grid_boltrend": _plan_boltrend, "grid_momentum": _plan_momentum,
             "grid_funding": _plan_funding}


def _rules(slots: int, sl: float, min_profit: float, min_atr: float, cooldown: int, leverage: float, *,
           trail: float = 0.0, min_hold: int = 0, tp_mode: int = 0) -> tuple[float, ...]:
    row = [0.0] * gk.N_RULES
    row[gk.R_SLOTS] = float(slots)
    row[gk.R_SL] = float(sl)
    row[gk.R_MIN_PROFIT] = float(min_profit)
    row[gk.R_MIN_ATR] = float(min_atr)
    row[gk.R_COOLDOWN] = float(cooldown)
    row[gk.R_LEVERAGE] = float(leverage)
    row[gk.R_TRAIL] = float(trail)
    row[gk.R_MIN_HOLD] = float(min_hold)
    row[gk.R_TP_MODE] = float(tp_mode)
    return tuple(row)


def cache_needs(levels: Sequence[LevelRule]) -> tuple[set[int], set[int], set[SupertrendKey], list[SeriesKey]]:
    """(SMA periods, ATR periods, Supertrends, strategy series) an IndicatorCache must hold for these rules."""
    mas = {r.ma_period for r in levels if r.ma_period is not None}
    atrs = {r.atr_period for r in levels if r.atr_period is not None}
    sts = {r.supertrend for r in levels if r.supertrend is not None}
    series = list(dict.fromkeys(k for r in levels for k in r.series_keys()))
    return mas, atrs, sts, series


def series_table(cache: IndicatorCache) -> np.ndarray:
    """Every per-candle row of the cache in one C-contiguous table [rows, n] (the kernel's `tab`): SMA rows,
    then ATR, Supertrend directions and strategy series, in the cache's order (see `_rows`)."""
    n = len(cache)
    parts = [np.asarray(t, dtype=np.float64).reshape(-1, n) for t in (cache.sma, cache.atr, cache.st_dir, cache.series)]
    return np.ascontiguousarray(np.vstack(parts))


@dataclass(frozen=True, slots=True)
class _Rows:
    """Table rows (series_table) a level rule reads, -1 = none."""

    center: int
    atr: int
    direction: int
    tp: int
    close: int
    signal: int
    fail: int


def _rows(cache: IndicatorCache, r: LevelRule) -> _Rows:
    n_sma, n_atr, n_st = len(cache.ma_periods), len(cache.atr_periods), len(cache.st_keys)

    def series(key: SeriesKey | None) -> int:
        return -1 if key is None else n_sma + n_atr + n_st + cache.series_row(key)

    sma = -1 if r.ma_period is None else cache.sma_row(r.ma_period)
    st = -1 if r.supertrend is None else n_sma + n_atr + cache.st_row(r.supertrend)
    return _Rows(
        center=series(r.center) if r.center is not None else sma,
        atr=-1 if r.atr_period is None else n_sma + cache.atr_row(r.atr_period),
        direction=series(r.direction) if r.direction is not None else st,
        tp=sma if r.tp_at_sma else -1,
        close=series(r.close) if r.close is not None else (st if r.close_kind == gk.CLOSE_AGAINST else -1),
        signal=series(r.signal),
        fail=series(r.fail),
    )


@dataclass(frozen=True, slots=True)
class LevelGroups:
    """Distinct level rules as the batch kernel's arrays, and the combos of each (grid_kernel G_* layout)."""

    groups: np.ndarray  # int64 [G, N_GROUP_INTS]
    spacing: np.ndarray  # [G]
    coef: np.ndarray  # [G, max columns]
    side: np.ndarray  # int64 [G, max columns]
    start: np.ndarray  # int64 [G + 1]: combos of group g are order[start[g]:start[g+1]]
    order: np.ndarray  # int64 [n_combos]


def level_groups(cache: IndicatorCache, rules: Sequence[LevelRule], group_of: np.ndarray) -> LevelGroups:
    """Kernel arrays for distinct level `rules`; `group_of[j]` is the index in `rules` of combo j."""
    g_n = len(rules)
    width = max((len(r.coef) for r in rules), default=1)
    groups = np.full((g_n, gk.N_GROUP_INTS), -1, dtype=np.int64)
    spacing = np.zeros(g_n)
    coef = np.full((g_n, width), np.nan)
    side = np.zeros((g_n, width), dtype=np.int64)
    for g, r in enumerate(rules):
        rows = _rows(cache, r)
        groups[g, gk.G_KIND] = r.kind
        groups[g, gk.G_CENTER] = rows.center
        groups[g, gk.G_ATR] = rows.atr
        groups[g, gk.G_DIR] = rows.direction
        groups[g, gk.G_TP] = rows.tp
        groups[g, gk.G_CLOSE] = rows.close
        groups[g, gk.G_SIGNAL] = rows.signal
        groups[g, gk.G_FAIL] = rows.fail
        groups[g, gk.G_COLS] = len(r.coef)
        groups[g, gk.G_CLOSE_KIND] = r.close_kind
        groups[g, gk.G_CLOSE_REASON] = r.close_reason
        spacing[g] = r.spacing
        coef[g, :len(r.coef)] = r.coef
        side[g, :len(r.col_side)] = r.col_side
    group_of = np.asarray(group_of, dtype=np.int64)
    order = np.argsort(group_of, kind="stable").astype(np.int64)
    start = np.zeros(g_n + 1, dtype=np.int64)
    start[1:] = np.cumsum(np.bincount(group_of, minlength=g_n))
    return LevelGroups(groups, spacing, coef, side, start, order)


def group_plans(plans: Sequence[ComboPlan]) -> tuple[list[LevelRule], np.ndarray, np.ndarray]:
    """(distinct level rules, group index per combo, rules array [n_combos, N_RULES]) of a list of plans."""
    index: dict[LevelRule, int] = {}
    group_of = np.empty(len(plans), dtype=np.int64)
    for j, pl in enumerate(plans):
        group_of[j] = index.setdefault(pl.level, len(index))
    rules = np.array([pl.rules for pl in plans], dtype=np.float64).reshape(len(plans), gk.N_RULES)
    return list(index), group_of, rules


@dataclass(frozen=True, slots=True)
class RuleSeries:
    """The per-candle rows one level rule reads (all-NaN where it reads none), as simulate_grid takes them."""

    center: np.ndarray
    atr: np.ndarray
    direction: np.ndarray
    tp: np.ndarray
    close: np.ndarray
    signal: np.ndarray
    fail: np.ndarray


def rule_series(cache: IndicatorCache, rule: LevelRule) -> RuleSeries:
    tab = series_table(cache)
    missing = np.full(len(cache), np.nan)
    rows = _rows(cache, rule)
    pick = [missing if r < 0 else tab[r] for r in (rows.center, rows.atr, rows.direction, rows.tp, rows.close,
                                                   rows.signal, rows.fail)]
    return RuleSeries(*pick)


@dataclass(frozen=True, slots=True)
class LevelMatrix:
    """One combo's resting orders per candle: `levels[i, col]`, `ready[i]`, `col_side[col]` (build_levels)."""

    levels: np.ndarray
    ready: np.ndarray
    col_side: np.ndarray


def level_matrix(cache: IndicatorCache, rule: LevelRule, fund_view: np.ndarray | None = None) -> LevelMatrix:
    """Build one combo's level matrix from the cache (the batch builds the same per group, in the kernel).
    `fund_view`: the funding rate in force per candle as the strategy sees it (NaN: none; grid_funding)."""
    n = len(cache)
    coef = np.array(rule.coef, dtype=np.float64)
    col_side = np.array(rule.col_side, dtype=np.int64)
    levels = np.full((n, coef.shape[0]), np.nan)
    ready = np.zeros(n, dtype=np.bool_)
    rs = rule_series(cache, rule)
    view = np.full(n, np.nan) if fund_view is None else np.ascontiguousarray(fund_view, dtype=np.float64)
    gk.build_levels(rule.kind, rs.center, rs.atr, cache.close, rs.direction, view, float(rule.spacing), coef,
                    col_side, levels, ready, 0, n)
    return LevelMatrix(levels, ready, col_side)


__all__ = [
    "GRID_FAMILY", "ComboPlan", "LevelGroups", "LevelMatrix", "LevelRule", "RuleSeries", "cache_needs", "group_plans",
    "level_groups", "level_matrix", "plan", "rule_series", "series_table", "validated",
]
