"""Per-candle state machines: the one implementation of trading rules for backtest, paper and live."""
from __future__ import annotations

from radar.runners.config import RunnerConfig
from radar.strategies.base import GridStrategy, SingleStrategy, Strategy


def make_runner(strategy: Strategy, config: RunnerConfig, **kw):  # -> GridStrategyRunner | SingleStrategyRunner
    from radar.runners.grid_runner import GridStrategyRunner
    from radar.runners.single_runner import SingleStrategyRunner

    if isinstance(strategy, GridStrategy):
        return GridStrategyRunner(strategy, config, **kw)
    if isinstance(strategy, SingleStrategy):
        return SingleStrategyRunner(strategy, config)
    raise TypeError(f"{strategy!r} is neither a grid nor a single-position strategy")


__all__ = ["RunnerConfig", "make_runner"]
