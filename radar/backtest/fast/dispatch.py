"""One entry point to the fast engines, by strategy name: what the backtest command, the WFO sweep and
the benchmarks call. Each strategy family has its own kernel (grid family, single position, range
grid); this module hides which one runs and gives them one settings object.

    cache = prepare(strategy, candles, combos)          # indicators once per data window (ray.put-able)
    rows = run_batch(strategy, cache, combos, settings)  # [n_combos, len(BATCH_COLUMNS)]
    run = run_trades(strategy, cache, combo, settings)   # FastRun: trades + equity for one combo
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel

from radar.backtest.fast.engine import BATCH_COLUMNS, FastRun
from radar.errors import StrategyError
from radar.models import CandleArrays
from radar.positions.costs import CostModel

Combo = BaseModel | Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Costs, capital and safety limits of a single-asset backtest (risk.yaml)."""

    costs: CostModel = field(default_factory=CostModel)
    initial_capital: float = 10_000.0
    default_funding_rate: float = 0.0
    max_margin_ratio: float = 0.70
    kill_switch_loss_pct: float = 25.0
    hard_drawdown_pct: float | None = 80.0


def _grid_family() -> frozenset[str]:
    from radar.backtest.fast.levels import GRID_FAMILY

    return frozenset(GRID_FAMILY)


def _single() -> frozenset[str]:
    from radar.backtest.fast.single_engine import SINGLE_STRATEGIES

    return frozenset(SINGLE_STRATEGIES)


def _range() -> frozenset[str]:
    try:
        from radar.backtest.fast import range_engine  # noqa: F401
    except ImportError:
        return frozenset()
    return frozenset({"grid_range_atr"})


def fast_strategies() -> frozenset[str]:
    """Strategies with a fast kernel (the others run on the event-driven runner)."""
    return _grid_family() | _single() | _range()


def supports(strategy: str) -> bool:
    return strategy in fast_strategies()


def _family(strategy: str) -> str:
    if strategy in _grid_family():
        return "grid"
    if strategy in _single():
        return "single"
    if strategy in _range():
        return "range"
    raise StrategyError(f"no fast engine for strategy {strategy!r} (fast: {', '.join(sorted(fast_strategies()))})")


def prepare(strategy: str, candles: CandleArrays, combos: Sequence[Combo], timeframe: str | None = None) -> Any:
    """The per-window indicator cache for these combos (computed once, shared by every batch)."""
    family = _family(strategy)
    if family == "grid":
        from radar.backtest.fast.grid_family import cache_for

        return cache_for(strategy, candles, combos)
    if family == "single":
        from radar.backtest.fast.single_engine import series_cache

        return series_cache(strategy, candles, timeframe or _timeframe(strategy, combos))
    from radar.backtest.fast.range_engine import range_cache

    return range_cache(candles, combos, timeframe or _timeframe(strategy, combos))


def run_batch(strategy: str, cache: Any, combos: Sequence[Combo], settings: EngineSettings = EngineSettings(),
              funding_rates: np.ndarray | None = None) -> np.ndarray:
    """Metrics rows (BATCH_COLUMNS) for every combo, in one call per kernel."""
    family = _family(strategy)
    s = settings
    if family == "grid":
        from radar.backtest.fast.grid_family import run_grid_batch

        return run_grid_batch(strategy, cache, combos, s.costs, s.initial_capital, funding_rates=funding_rates,
                              default_funding_rate=s.default_funding_rate, max_margin_ratio=s.max_margin_ratio,
                              kill_switch_loss_pct=s.kill_switch_loss_pct, hard_drawdown_pct=s.hard_drawdown_pct)
    if family == "single":
        from radar.backtest.fast.single_engine import run_single_batch

        return run_single_batch(strategy, cache, list(combos), s.costs, s.initial_capital,
                                funding_rates=funding_rates, default_funding_rate=s.default_funding_rate,
                                kill_switch_loss_pct=s.kill_switch_loss_pct, hard_drawdown_pct=s.hard_drawdown_pct)
    from radar.backtest.fast.range_engine import run_range_batch

    return run_range_batch(cache, list(combos), s.costs, s.initial_capital, funding_rates=funding_rates,
                           default_funding_rate=s.default_funding_rate, max_margin_ratio=s.max_margin_ratio,
                           kill_switch_loss_pct=s.kill_switch_loss_pct, hard_drawdown_pct=s.hard_drawdown_pct)


def run_trades(strategy: str, cache: Any, combo: Combo, settings: EngineSettings = EngineSettings(),
               funding_rates: np.ndarray | None = None, symbol: str = "") -> FastRun:
    """One combo with its trades and equity curve (reports, OOS equity stitching, robustness)."""
    family = _family(strategy)
    s = settings
    kw: dict[str, Any] = dict(funding_rates=funding_rates, default_funding_rate=s.default_funding_rate,
                              kill_switch_loss_pct=s.kill_switch_loss_pct, hard_drawdown_pct=s.hard_drawdown_pct)
    runner_id = f"{strategy}:{symbol}"
    if family == "grid":
        from radar.backtest.fast.grid_family import run_grid_trades

        return run_grid_trades(strategy, cache, combo, s.costs, s.initial_capital, max_margin_ratio=s.max_margin_ratio,
                               runner_id=runner_id, symbol=symbol, **kw)
    if family == "single":
        from radar.backtest.fast.single_engine import run_single_trades

        return run_single_trades(strategy, cache, combo, s.costs, s.initial_capital, runner_id=runner_id,
                                 symbol=symbol, **kw)
    from radar.backtest.fast.range_engine import run_range_trades

    return run_range_trades(cache, combo, s.costs, s.initial_capital, max_margin_ratio=s.max_margin_ratio,
                            runner_id=runner_id, symbol=symbol, **kw)


def _timeframe(strategy: str, combos: Sequence[Combo]) -> str:
    from radar.strategies.params import parse_params

    tfs = {(c.timeframe if isinstance(c, BaseModel) else parse_params(strategy, dict(c)).timeframe) for c in combos}
    if len(tfs) != 1:
        raise StrategyError(f"{strategy}: combos must share one timeframe, got {sorted(tfs)}")
    return tfs.pop()


__all__ = ["BATCH_COLUMNS", "EngineSettings", "fast_strategies", "prepare", "run_batch", "run_trades", "supports"]
