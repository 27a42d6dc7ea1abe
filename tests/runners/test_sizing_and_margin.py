"""Sizing modes, warm-up, candle filtering and liquidation arithmetic."""
from __future__ import annotations

import dataclasses

import pytest

from radar.events import EventKind
from radar.positions.costs import CostModel, cross_margin_liquidated, liquidation_price
from radar.runners.config import RunnerConfig
from radar.runners.grid_runner import GridStrategyRunner
from radar.strategies.registry import create_strategy
from tests.runners.scripted import ScriptedBank, candle


def _runner(sizing="single", fixed=0.0, capital=10_000.0):
    strat = create_strategy("grid_atr", {"num_levels": 2, "leverage": 4, "cooldown_candles": 0})
    cfg = RunnerConfig("r", "BTC/USDT:USDT", initial_capital=capital, costs=CostModel(), sizing=sizing,
                       fixed_allocation=fixed)
    r = GridStrategyRunner(strat, cfg)
    r.bank = ScriptedBank([{"sma": 100.0, "atr": 5.0}] * 10)
    return r


def test_portfolio_allocation_is_the_smaller_of_even_split_and_25_percent():
    assert RunnerConfig.portfolio_allocation(10_000, 2) == 2_500  # 25% cap binds
    assert RunnerConfig.portfolio_allocation(10_000, 8) == 1_250  # even split binds


def test_fixed_sizing_uses_the_allocation_not_the_capital():
    r = _runner(sizing="fixed", fixed=1_250.0)
    r.on_candle(candle(0, 100, 101, 99, 100))
    ev = r.on_candle(candle(1, 100, 100, 89, 95))  # level 0 (90) only
    assert ev[0].kind is EventKind.OPEN
    assert r.book.positions[0].margin == pytest.approx(625.0)  # 1,250 / 2 levels
    assert r.capital == pytest.approx(10_000 - 625.0)


def test_single_asset_sizing_compounds_with_capital():
    r = _runner(capital=5_000.0)
    r.on_candle(candle(0, 100, 101, 99, 100))
    r.on_candle(candle(1, 100, 100, 89, 95))
    assert r.book.positions[0].margin == pytest.approx(2_500.0)


def test_warm_up_advances_indicators_without_trading():
    r = _runner()
    n = r.warm_up([candle(0, 100, 101, 99, 100), candle(1, 100, 100, 80, 95)])
    assert n == 2 and r.index == 1 and not r.book.positions and r.trades == []
    ev = r.on_candle(candle(2, 95, 95, 89, 93))
    assert ev and ev[0].kind is EventKind.OPEN


def test_other_timeframes_and_symbols_are_ignored():
    r = _runner()
    c = candle(0, 100, 101, 99, 100)
    assert r.on_candle(dataclasses.replace(c, timeframe="4h")) == []
    assert r.on_candle(dataclasses.replace(c, symbol="ETH/USDT:USDT")) == []
    assert r.foreign == 2 and r.index == -1


def test_liquidation_price_with_tier1_maintenance_margin():
    # long at 100, 10x: equity = margin + PnL hits 0.4% of notional at 100 * (1 - 0.1 + 0.004) = 90.4
    assert liquidation_price(100.0, 1, 10) == pytest.approx(90.4)
    assert liquidation_price(100.0, -1, 10) == pytest.approx(109.6)


def test_cross_margin_liquidation_when_equity_below_maintenance():
    assert cross_margin_liquidated(equity=39.0, notional=10_000.0)
    assert not cross_margin_liquidated(equity=41.0, notional=10_000.0)
    assert not cross_margin_liquidated(equity=0.0, notional=0.0)
