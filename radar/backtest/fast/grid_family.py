"""Fast engine for the global-exit grids: grid_atr, envelope_dca, envelope_dca_short, grid_multi_tf, grid_trend,
grid_boltrend, grid_momentum and grid_funding.

Combos are param mappings (or validated pydantic params) of one strategy, e.g. `StrategyGrid.combos()`.
All of them run through the one numba hot loop of grid_kernel; only their level rules differ (levels.py:
level formula, the per-candle strategy series of grid_series.py, trailing stop, close-all rule). grid_atr also
keeps its array API in engine.py (`run_grid_atr_batch`), which is the same path. grid_funding reads the
funding rates passed at run time (`funding_rates`, NaN = none known, as a runner's `ctx.funding_rate` None).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel

from radar.backtest.fast.cache import IndicatorCache
from radar.backtest.fast.engine import FastRun, run_level_batch, run_level_trades
from radar.backtest.fast.levels import GRID_FAMILY, ComboPlan, cache_needs, group_plans, plan, validated
from radar.errors import StrategyError
from radar.models import CandleArrays
from radar.positions.costs import CostModel

Combo = BaseModel | Mapping[str, Any]


def combo_plans(strategy: str, combos: Iterable[Combo]) -> list[ComboPlan]:
    """Validate every combo of `strategy` and turn it into the kernel's view (raises StrategyError naming the
    combo index and the reason on a bad one)."""
    return [plan(strategy, p) for p in _validated(strategy, combos)]


def cache_for(strategy: str, candles: CandleArrays, combos: Iterable[Combo]) -> IndicatorCache:
    """An IndicatorCache holding exactly what these combos need (SMA / ATR periods, higher-tf Supertrends,
    strategy series)."""
    models = _validated(strategy, combos)
    tfs = _timeframes(models)
    if len(tfs) > 1:
        raise StrategyError(f"{strategy}: combos mix timeframes {sorted(tfs)}; build one cache per timeframe")
    mas, atrs, sts, series = cache_needs([plan(strategy, m).level for m in models])
    return IndicatorCache.build(candles, mas, atrs, sts, timeframe=tfs.pop() if tfs else "1h", series=series)


def run_grid_batch(strategy: str, cache: IndicatorCache, combos: Iterable[Combo], costs: CostModel = CostModel(),
                   initial_capital: float = 10_000.0, *, funding_rates: np.ndarray | None = None,
                   default_funding_rate: float = 0.0, max_margin_ratio: float = 0.70,
                   kill_switch_loss_pct: float = 25.0, hard_drawdown_pct: float | None = 80.0,
                   parallel: bool = False) -> np.ndarray:
    """Backtest every combo on the cache's window in one numba call: [n_combos, len(BATCH_COLUMNS)]
    (metrics + stop code, engine.BATCH_COLUMNS). Combos with the same levels share one level matrix."""
    models = _validated(strategy, combos)
    _check_timeframe(strategy, cache, models)
    level_rules, group_of, rules = group_plans([plan(strategy, m) for m in models])
    return run_level_batch(cache, level_rules, group_of, rules, costs, initial_capital, funding_rates=funding_rates,
                           default_funding_rate=default_funding_rate, max_margin_ratio=max_margin_ratio,
                           kill_switch_loss_pct=kill_switch_loss_pct, hard_drawdown_pct=hard_drawdown_pct,
                           parallel=parallel)


def run_grid_trades(strategy: str, cache: IndicatorCache, params: Combo, costs: CostModel = CostModel(),
                    initial_capital: float = 10_000.0, *, funding_rates: np.ndarray | None = None,
                    default_funding_rate: float = 0.0, max_margin_ratio: float = 0.70,
                    kill_switch_loss_pct: float = 25.0, hard_drawdown_pct: float | None = 80.0,
                    runner_id: str = "", symbol: str = "") -> FastRun:
    """One combo with its trades and equity curve. Close-all reasons are the strategies': "flip" (grid_multi_tf,
    grid_trend), "bol_mid" (grid_boltrend), "funding_positive" / "sma_cross" (grid_funding)."""
    models = _validated(strategy, [params])
    _check_timeframe(strategy, cache, models)
    return run_level_trades(cache, plan(strategy, models[0]), costs, initial_capital, funding_rates=funding_rates,
                            default_funding_rate=default_funding_rate, max_margin_ratio=max_margin_ratio,
                            kill_switch_loss_pct=kill_switch_loss_pct, hard_drawdown_pct=hard_drawdown_pct,
                            strategy=strategy, runner_id=runner_id or f"fast:{strategy}", symbol=symbol)


def _validated(strategy: str, combos: Iterable[Combo]) -> list[BaseModel]:
    out = []
    for k, combo in enumerate(combos):
        try:
            out.append(validated(strategy, combo))
        except StrategyError as exc:
            if strategy not in GRID_FAMILY:
                raise
            raise StrategyError(f"{strategy} combo {k}: {exc}") from None
    return out


def _timeframes(models: Sequence[BaseModel]) -> set[str]:
    return {str(getattr(m, "timeframe", "1h")) for m in models}


def _check_timeframe(strategy: str, cache: IndicatorCache, models: Sequence[BaseModel]) -> None:
    bad = _timeframes(models) - {cache.timeframe}
    if bad:
        raise StrategyError(f"{strategy}: combos with timeframe {sorted(bad)} cannot run on a cache of "
                            f"{cache.timeframe} candles")


__all__ = ["GRID_FAMILY", "cache_for", "combo_plans", "run_grid_batch", "run_grid_trades"]
