"""Where the grid family's orders rest, as data the one numba hot loop reads (`grid_kernel.simulate_grid`).

A strategy's validated params become a `ComboPlan`: a `LevelRule` (which indicators, which formula, the
per-column coefficient and side — combos with equal rules share one level matrix in a batch) and a rules row
(the R_* exit/entry knobs of grid_kernel). Coefficients are computed here in Python with the strategies' own
expressions (`start + k * step`, `1 + offset` from `envelope_offsets`) so the jitted level formulas round
exactly like the runner's.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel

from radar.backtest.fast import grid_kernel as gk
from radar.backtest.fast.cache import IndicatorCache, SupertrendKey
from radar.errors import StrategyError
from radar.strategies.envelope_dca import envelope_offsets
from radar.strategies.grid_atr import side_signs
from radar.strategies.params import parse_params

GRID_FAMILY: tuple[str, ...] = ("grid_atr", "envelope_dca", "envelope_dca_short", "grid_multi_tf")
_ENVELOPE_SIDE = {"envelope_dca": 1, "envelope_dca_short": -1}


@dataclass(frozen=True, slots=True)
class LevelRule:
    """The level formula of one combo (grid_kernel.build_levels): kind, its indicators and per-column data."""

    kind: int  # gk.KIND_*
    ma_period: int
    atr_period: int | None
    supertrend: SupertrendKey | None  # direction series of KIND_ATR_DIRECTED (also its flip close)
    spacing: float  # min_grid_spacing_pct (ATR kinds)
    coef: tuple[float, ...]
    col_side: tuple[int, ...]


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
    """The kernel's view of one combo of a grid-family strategy."""
    p: Any = validated(strategy, params)
    nl = int(p.num_levels)
    if strategy in _ENVELOPE_SIDE:
        side = _ENVELOPE_SIDE[strategy]
        coef = tuple(1 + off for off in envelope_offsets(p.envelope_start, p.envelope_step, nl, side))
        level = LevelRule(gk.KIND_ENVELOPE, int(p.ma_period), None, None, 0.0, coef, (side,) * nl)
        rules = _rules(nl, p.sl_percent, 0.0, 0.0, getattr(p, "cooldown_candles", 0), p.leverage, False)
        return ComboPlan(level, rules)
    signs = side_signs(p.sides)
    coef = tuple(p.atr_multiplier_start + k * p.atr_multiplier_step for _ in signs for k in range(nl))
    col_side = tuple(s for s in signs for _ in range(nl))
    directed = strategy == "grid_multi_tf"
    st = (int(p.st_atr_period), float(p.st_atr_multiplier), str(p.st_timeframe)) if directed else None
    level = LevelRule(gk.KIND_ATR_DIRECTED if directed else gk.KIND_ATR, int(p.ma_period), int(p.atr_period), st,
                      float(p.min_grid_spacing_pct), coef, col_side)
    rules = _rules(nl, p.sl_percent, p.min_profit_pct, p.min_atr_pct, p.cooldown_candles, p.leverage, directed)
    return ComboPlan(level, rules)


def _rules(slots: int, sl: float, min_profit: float, min_atr: float, cooldown: int, leverage: float,
           flip: bool) -> tuple[float, ...]:
    row = [0.0] * gk.N_RULES
    row[gk.R_SLOTS] = float(slots)
    row[gk.R_SL] = float(sl)
    row[gk.R_MIN_PROFIT] = float(min_profit)
    row[gk.R_MIN_ATR] = float(min_atr)
    row[gk.R_COOLDOWN] = float(cooldown)
    row[gk.R_LEVERAGE] = float(leverage)
    row[gk.R_FLIP] = 1.0 if flip else 0.0
    return tuple(row)


def cache_needs(levels: Sequence[LevelRule]) -> tuple[set[int], set[int], set[SupertrendKey]]:
    """(SMA periods, ATR periods, Supertrends) an IndicatorCache must hold for these level rules."""
    mas = {r.ma_period for r in levels}
    atrs = {r.atr_period for r in levels if r.atr_period is not None}
    sts = {r.supertrend for r in levels if r.supertrend is not None}
    return mas, atrs, sts


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
        groups[g, gk.G_KIND] = r.kind
        groups[g, gk.G_SMA] = cache.sma_row(r.ma_period)
        if r.atr_period is not None:
            groups[g, gk.G_ATR] = cache.atr_row(r.atr_period)
        if r.supertrend is not None:
            groups[g, gk.G_DIR] = cache.st_row(r.supertrend)
        groups[g, gk.G_COLS] = len(r.coef)
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
class LevelMatrix:
    """One combo's resting orders per candle: `levels[i, col]`, `ready[i]`, `col_side[col]` (build_levels)."""

    levels: np.ndarray
    ready: np.ndarray
    col_side: np.ndarray


def level_matrix(cache: IndicatorCache, rule: LevelRule) -> LevelMatrix:
    """Build one combo's level matrix from the cache (the batch builds the same per group, in the kernel)."""
    n = len(cache)
    coef = np.array(rule.coef, dtype=np.float64)
    col_side = np.array(rule.col_side, dtype=np.int64)
    levels = np.full((n, coef.shape[0]), np.nan)
    ready = np.zeros(n, dtype=np.bool_)
    missing = np.full(n, np.nan)
    sma = cache.sma[cache.sma_row(rule.ma_period)]
    atr = missing if rule.atr_period is None else cache.atr[cache.atr_row(rule.atr_period)]
    direction = missing if rule.supertrend is None else cache.st_dir[cache.st_row(rule.supertrend)]
    gk.build_levels(rule.kind, sma, atr, cache.close, direction, float(rule.spacing), coef, col_side, levels, ready,
                    0, n)
    return LevelMatrix(levels, ready, col_side)


__all__ = [
    "GRID_FAMILY", "ComboPlan", "LevelGroups", "LevelMatrix", "LevelRule", "cache_needs", "group_plans",
    "level_groups", "level_matrix", "plan", "validated",
]
