"""A portfolio backtest (SPEC §8) on the candles and funding rates of the store, saved as a
`portfolio_backtests` row: what `radar portfolio` and the API's portfolio launch both run."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from radar.backtest.portfolio import PortfolioResult, run_portfolio, save_portfolio_result
from radar.errors import DataError, StrategyError
from radar.data.fetch import iso
from radar.models import CandleArrays
from radar.positions.costs import CostModel

FundingFn = Callable[[int], float]


def costs_of(cfg: Any) -> CostModel:
    """The fee and slippage model of risk.yaml."""
    return CostModel(taker_fee=cfg.risk.fees.taker, maker_fee=cfg.risk.fees.maker, slippage=cfg.risk.slippage)


def funding_lookup(timestamps: np.ndarray, rates: np.ndarray, default: float) -> FundingFn:
    """ts -> the last stored rate at or before ts, else the default rate."""
    from radar.backtest.single import settlement_minute

    ts_sorted = settlement_minute(timestamps)
    values = np.asarray(rates, dtype=np.float64)

    def rate(ts: int) -> float:
        i = int(np.searchsorted(ts_sorted, ts, side="right")) - 1
        return float(values[i]) if i >= 0 else default

    return rate


def window_text(start: int | None, end: int | None) -> str:
    return f"from {iso(start) if start is not None else 'the start'} to {iso(end) if end is not None else 'the end'}"


def check_strategies(strategies: Sequence[str]) -> None:
    """Unknown or live-only strategies are refused before any candle is read."""
    from radar.strategies.registry import strategy_class

    for name in strategies:
        if strategy_class(name).live_only:
            raise StrategyError(f"strategy {name!r} is live-only and cannot be backtested")


@dataclass(frozen=True)
class StoredInputs:
    candles: dict[str, CandleArrays]
    funding: dict[str, FundingFn]
    stored_funding: list[str]  # symbols with stored funding rates (the others pay the default rate)


def load_inputs(store: Any, cfg: Any, symbols: Sequence[str], timeframe: str, exchange: str,
                start: int | None, end: int | None) -> StoredInputs:
    default_rate = cfg.risk.backtest.default_funding_rate
    candles: dict[str, CandleArrays] = {}
    funding: dict[str, FundingFn] = {}
    stored: list[str] = []
    for sym in symbols:
        arr = store.load_candles(exchange, sym, timeframe, start, end)
        if len(arr) == 0:
            raise DataError(f"portfolio: no {timeframe} candles for {sym} in the store ({exchange}) "
                            f"{window_text(start, end)}")
        candles[sym] = arr
        fts, rates = store.load_funding_rates(exchange, sym, None, end)
        if len(fts):
            stored.append(sym)
            funding[sym] = funding_lookup(fts, rates, default_rate)
        else:
            funding[sym] = lambda ts, r=default_rate: r
    return StoredInputs(candles, funding, stored)


def run_and_save(store: Any, cfg: Any, strategies: Sequence[str], symbols: Sequence[str],
                 candles: Mapping[str, CandleArrays], funding: Mapping[str, FundingFn], *, timeframe: str,
                 capital: float, name: str = "") -> tuple[int, PortfolioResult]:
    """Every strategy on every symbol on shared `capital`, with risk.yaml's limits; returns (row id, result)."""
    params = {f"{st}:{sym}": cfg.strategy_params(st, sym).model_dump() for st in strategies for sym in symbols}
    risk = cfg.risk
    result = run_portfolio(
        [(st, sym) for st in strategies for sym in symbols], candles, timeframe=timeframe, capital=capital,
        costs=costs_of(cfg), params=params, funding=funding, max_margin_ratio=risk.max_margin_ratio,
        max_asset_fraction=risk.max_asset_fraction, kill_drawdown_pct=risk.kill_switch.global_drawdown_percent,
        kill_window_hours=risk.kill_switch.global_window_hours, freeze_hours=risk.kill_switch.freeze_hours,
        runner_kill_switch_pct=risk.kill_switch.runner_max_loss_percent,
        maintenance_margin=risk.liquidation.maintenance_margin_rate)
    return save_portfolio_result(store.engine, result, name), result


def run_stored_portfolio(database_url: str, config_dir: str | None, strategies: Sequence[str],
                         symbols: Sequence[str], *, timeframe: str = "1h", exchange: str = "bitget",
                         start: int | None = None, end: int | None = None, capital: float | None = None,
                         name: str = "") -> int:
    """The whole run from a database URL and a config directory (a Ray task of the API); returns the row id."""
    from radar.config import load_config
    from radar.data.store import CandleStore

    check_strategies(strategies)
    cfg = load_config(config_dir or None)
    store = CandleStore(database_url)
    inputs = load_inputs(store, cfg, symbols, timeframe, exchange, start, end)
    row_id, _ = run_and_save(store, cfg, strategies, symbols, inputs.candles, inputs.funding, timeframe=timeframe,
                             capital=float(cfg.risk.initial_capital if capital is None else capital), name=name)
    return row_id
