"""One strategy on one symbol: the backtest behind `radar backtest`.

Two engines give the same numbers (tests/backtest/test_backtest_engines.py checks every fast strategy to
1e-9): the numba kernels (`radar.backtest.fast.dispatch`) and the production runner, which also serves
strategies without a kernel. `engine="fast"` means "fast when there is one", so asking for it on another
strategy falls back to the runner; the result says which engine ran.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from radar.backtest.metrics import Metrics, compute_metrics
from radar.errors import DataError, StrategyError
from radar.events import TradeResult
from radar.models import CandleArrays
from radar.positions.costs import CostModel
from radar.runners import RunnerConfig, make_runner
from radar.strategies.params import parse_params
from radar.strategies.registry import create_strategy, strategy_class

Engine = Literal["fast", "runner"]


_MINUTE_MS = 60_000


def settlement_minute(timestamps: np.ndarray) -> np.ndarray:
    """Funding timestamps floored to the minute (see FundingSource.per_candle)."""
    ts = np.asarray(timestamps, dtype=np.int64)
    return ts - ts % _MINUTE_MS


@dataclass(frozen=True, eq=False)
class FundingSource:
    """Stored funding rates of a symbol (any span; each rate holds until the next) and the rate charged
    where none is stored yet (risk.yaml backtest.default_funding_rate)."""

    timestamps: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    rates: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.float64))
    default_rate: float = 0.0

    def per_candle(self, candle_ts: np.ndarray) -> np.ndarray:
        """The rate in force at each candle; NaN before the first stored rate (engines charge the default there).

        Exchanges stamp a settlement a few ms late (XRP: 00:00:00.017), so the stored times are floored to
        the minute: otherwise the 00:00 funding candle would see the previous settlement's rate."""
        from radar.backtest.fast import funding_per_candle

        return funding_per_candle(candle_ts, settlement_minute(self.timestamps), self.rates, default=math.nan)

    def note(self, candle_ts: np.ndarray) -> str:
        """What the backtest charged, in one sentence for the user."""
        if len(self.timestamps) == 0:
            return (f"no funding rates stored: charged the default rate {self.default_rate:g} per 8h "
                    f"(risk.yaml backtest.default_funding_rate)")
        covered = int(np.count_nonzero(~np.isnan(self.per_candle(candle_ts))))
        note = f"{len(self.timestamps)} stored funding rates, in force at {covered} of {len(candle_ts)} candles"
        if covered < len(candle_ts):
            note += f"; the default rate {self.default_rate:g} per 8h before the first stored rate"
        return note


@dataclass(frozen=True, slots=True)
class BacktestLimits:
    """Safety limits of a single backtest (risk.yaml: max_margin_ratio, kill_switch, backtest)."""

    max_margin_ratio: float = 0.70
    kill_switch_loss_pct: float = 25.0
    hard_drawdown_pct: float | None = 80.0


@dataclass(frozen=True, eq=False)
class BacktestResult:
    strategy: str
    symbol: str
    timeframe: str
    engine: Engine  # the engine that actually ran
    params: Mapping[str, Any]  # validated, every parameter (defaults included)
    trades: tuple[TradeResult, ...]  # the end-of-data close (if any) last, flagged
    metrics: Metrics
    equity_ts: np.ndarray  # int64 ms, one per candle
    equity: np.ndarray  # capital + margin + unrealised PnL at each close; the last value after the end close
    initial_capital: float
    final_capital: float
    stop_reason: str  # "" | "kill_switch" | "hard_drawdown"
    funding_note: str

    @property
    def first_ts(self) -> int:
        return int(self.equity_ts[0])

    @property
    def last_ts(self) -> int:
        return int(self.equity_ts[-1])

    def summary(self) -> dict[str, Any]:
        """Metrics and run facts as plain JSON-able values (`trades` is the number of trades that count)."""
        m = self.metrics.to_dict()
        out: dict[str, Any] = {
            "strategy": self.strategy, "symbol": self.symbol, "timeframe": self.timeframe, "engine": self.engine,
            "from": self.first_ts, "to": self.last_ts, "candles": int(len(self.equity_ts)),
            "trades": int(m.pop("n_trades")), **m,
            "initial_capital": self.initial_capital, "stop_reason": self.stop_reason,
            "end_of_data_trades": sum(t.end_of_data for t in self.trades),
            "params": _plain(dict(self.params)), "funding_note": self.funding_note,
        }
        return out


def _plain(x: Any) -> Any:
    if isinstance(x, Mapping):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


def resolve_params(strategy_name: str, params: Mapping[str, Any], leverage: int | None = None) -> dict[str, Any]:
    """Validated parameters (all of them) with an optional leverage override; StrategyError if invalid."""
    values = dict(params)
    if leverage is not None:
        values["leverage"] = leverage
    return parse_params(strategy_name, values).model_dump()


def run_backtest(strategy_name: str, candles: CandleArrays, params: Mapping[str, Any], *,
                 engine: Engine = "fast", capital: float = 10_000.0, leverage: int | None = None,
                 costs: CostModel = CostModel(), funding: FundingSource | None = None,
                 limits: BacktestLimits = BacktestLimits(), symbol: str = "") -> BacktestResult:
    """Backtest `strategy_name` over `candles` (already in the strategy's timeframe, oldest first).

    `params` are validated (unknown name / out of range -> StrategyError); `leverage` overrides theirs.
    Live-only strategies (they read open interest no backtest has) are refused.
    """
    cls = strategy_class(strategy_name)
    if cls.live_only:
        raise StrategyError(f"strategy {strategy_name!r} is live-only (it needs live open interest / order flow) "
                            f"and cannot be backtested")
    if engine not in ("fast", "runner"):
        raise StrategyError(f"backtest engine must be 'fast' or 'runner', got {engine!r}")
    if len(candles) == 0:
        raise DataError(f"backtest {strategy_name} {symbol}: no candles in the window")
    if not capital > 0:
        raise StrategyError(f"backtest capital must be > 0, got {capital}")
    resolved = resolve_params(strategy_name, params, leverage)
    funding = funding or FundingSource()
    rates = funding.per_candle(candles.timestamp)
    from radar.backtest.fast.dispatch import supports

    if engine == "fast" and supports(strategy_name):
        trades, equity, final, stop, metrics = _run_fast(strategy_name, candles, resolved, capital, costs, funding,
                                                         rates, limits, symbol)
        used: Engine = "fast"
    else:
        trades, equity, final, stop, metrics = _run_runner(strategy_name, candles, resolved, capital, costs, funding,
                                                           rates, limits, symbol)
        used = "runner"
    strategy_tf = str(resolved.get("timeframe", "1h"))
    return BacktestResult(
        strategy=strategy_name, symbol=symbol, timeframe=strategy_tf, engine=used, params=resolved,
        trades=tuple(trades), metrics=metrics, equity_ts=np.asarray(candles.timestamp, dtype=np.int64).copy(),
        equity=equity, initial_capital=float(capital), final_capital=float(final), stop_reason=stop,
        funding_note=funding.note(candles.timestamp),
    )


def _run_fast(strategy_name: str, candles: CandleArrays, params: dict[str, Any], capital: float, costs: CostModel,
              funding: FundingSource, rates: np.ndarray, limits: BacktestLimits, symbol: str):
    from radar.backtest.fast.dispatch import EngineSettings, prepare, run_trades

    settings = EngineSettings(costs, capital, funding.default_rate, limits.max_margin_ratio,
                              limits.kill_switch_loss_pct, limits.hard_drawdown_pct)
    cache = prepare(strategy_name, candles, [params])
    run = run_trades(strategy_name, cache, params, settings, funding_rates=rates, symbol=symbol)
    return run.trades, np.asarray(run.equity, dtype=np.float64).copy(), run.capital, run.stop_reason, run.metrics


def _run_runner(strategy_name: str, candles: CandleArrays, params: dict[str, Any], capital: float, costs: CostModel,
                funding: FundingSource, rates: np.ndarray, limits: BacktestLimits, symbol: str):
    strategy = create_strategy(strategy_name, params)
    config = RunnerConfig(f"{strategy_name}:{symbol}", symbol, initial_capital=capital, costs=costs,
                          max_margin_ratio=limits.max_margin_ratio, kill_switch_loss_pct=limits.kill_switch_loss_pct,
                          hard_drawdown_pct=limits.hard_drawdown_pct, default_funding_rate=funding.default_rate)
    runner = make_runner(strategy, config)
    rows = candles.candles(symbol, strategy.timeframe)
    n = len(rows)
    equity = np.empty(n)
    # Same loop as RunnerBase.run, with the equity marked at every close (the fast kernel's curve):
    # flat at the capital after a stop, the last processed value replaced by the capital after the end close.
    last_i = -1
    for i, c in enumerate(rows):
        if runner.stopped:
            break
        rate = rates[i]
        runner.on_candle(c, None if math.isnan(rate) else float(rate))
        equity[i] = runner.equity(c.close)
        last_i = i
    if last_i < n - 1:
        equity[last_i + 1:] = runner.capital
    if last_i >= 0:
        runner.close_at_end(rows[last_i])
        equity[last_i] = runner.capital + runner.used_margin
    metrics = compute_metrics(runner.trades, capital, int(candles.timestamp[0]), int(candles.timestamp[-1]),
                              runner.capital)
    return runner.trades, equity, runner.capital, runner.stop_reason, metrics


__all__ = ["BacktestLimits", "BacktestResult", "Engine", "FundingSource", "resolve_params", "run_backtest",
           "settlement_minute"]
