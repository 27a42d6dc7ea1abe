"""Typed, frozen configuration of a runner: costs, capital, sizing mode and safety limits."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from radar.positions.costs import CostModel


@dataclass(frozen=True, slots=True)
class RunnerConfig:
    runner_id: str
    symbol: str
    initial_capital: float = 10_000.0
    costs: CostModel = field(default_factory=CostModel)
    max_margin_ratio: float = 0.70
    kill_switch_loss_pct: float = 25.0  # per-runner kill switch: capital < (1 - x/100) * initial
    hard_drawdown_pct: float | None = 80.0  # backtests only (None in paper/live)
    # "single": allocation = capital at the start of the entry step (fast engine, backtest, WFO).
    # "fixed": allocation = `fixed_allocation` (portfolio and live: min(C0/n_assets, 0.25*C0)).
    sizing: Literal["single", "fixed"] = "single"
    fixed_allocation: float = 0.0
    default_funding_rate: float = 0.0
    exchange: str = ""

    @staticmethod
    def portfolio_allocation(portfolio_capital: float, n_assets: int, max_asset_fraction: float = 0.25) -> float:
        return min(portfolio_capital / n_assets, max_asset_fraction * portfolio_capital)
