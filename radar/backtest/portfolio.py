"""Portfolio backtester (SPEC §8): N production runners over the merged candles of several assets.

Shared capital rules the runners cannot see on their own are enforced here, through the runners'
`margin_guard` hook (asked before every fill, so no runner code changes for portfolio mode); the margin
rules are `radar.positions.portfolio_limits.MarginLimits`, which the live portfolio guard asks too:

- global margin guard: a fill is allowed only if total margin of all runners *after* the fill stays
  strictly below `max_margin_ratio * capital` (less 1e-9 * capital, so float summation order cannot
  break the strict bound) (capital = the portfolio's initial capital C0, the
  same base the fixed sizing uses); margin only grows through fills, so `total margin < 0.70 * C0`
  holds at every instant, not just at fills;
- per-asset cap: the margin of one symbol across its runners after the fill is <= `max_asset_fraction * C0`
  (plus 1e-9 * C0: a full fixed-size grid lands exactly on the cap when C0 / n_assets >= 0.25 * C0);
- portfolio kill switch: when equity has fallen >= `kill_drawdown_pct` % from its peak over the last
  `kill_window_hours` (snapshots with ts > now - window), every runner is frozen for `freeze_hours`:
  the guard refuses every entry; exits, funding and the runners' own stops keep working. The freeze
  lifts at the first candle at or after its end (an "unfreeze" event); if the drawdown over the window
  is still >= the threshold at that candle's close, a new freeze starts there;
- cross-margin liquidation: when equity < `maintenance_margin` * total open (entry) notional, every
  position is closed at its symbol's close through `runner.force_close` and the backtest ends.

Time order: the candles of all symbols are merged by timestamp; at one timestamp the runners are
stepped in runner-id order, then the portfolio is marked to the closes, checked and snapshotted.
A runner stopped by its own kill switch leaves the backtest like a direct `runner.run` does: its
open positions close at its last candle (an end-of-data close) and it receives no further candle.
"""
from __future__ import annotations

import json
import math
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from radar.backtest.metrics import compute_metrics
from radar.errors import ConfigError
from radar.events import TradeEvent, TradeResult
from radar.models import Candle, CandleArrays, timeframe_ms
from radar.positions.costs import DEFAULT_MAINTENANCE_MARGIN, CostModel
from radar.positions.portfolio_limits import MarginLimits
from radar.runners import RunnerConfig, make_runner
from radar.strategies.registry import create_strategy

_HOUR_MS = 3_600_000


# -- result types ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PortfolioSnapshot:
    timestamp: int
    equity: float  # sum of runner equities marked to each symbol's last close
    margin: float  # margin locked in open positions, all runners
    notional: float  # entry notional of open positions, all runners
    open_positions: int
    runner_equity: Mapping[str, float]
    runner_margin: Mapping[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {"timestamp": self.timestamp, "equity": self.equity, "margin": self.margin, "notional": self.notional,
                "open_positions": self.open_positions, "runner_equity": dict(self.runner_equity),
                "runner_margin": dict(self.runner_margin)}


@dataclass(frozen=True, slots=True)
class FreezeEvent:
    timestamp: int
    kind: str  # "freeze" | "unfreeze"
    equity: float
    peak: float  # peak equity of the window (freeze only; NaN on unfreeze)
    drawdown_pct: float
    until: int  # end of the freeze (freeze only; == timestamp on unfreeze)

    def to_dict(self) -> dict[str, Any]:
        return {"timestamp": self.timestamp, "kind": self.kind, "equity": self.equity, "peak": self.peak,
                "drawdown_pct": self.drawdown_pct, "until": self.until}


@dataclass(frozen=True, slots=True)
class LiquidationEvent:
    timestamp: int
    equity: float  # before the forced closes
    notional: float
    maintenance: float  # maintenance_margin * notional, the threshold equity fell below
    positions: int
    equity_after: float

    def to_dict(self) -> dict[str, Any]:
        return {"timestamp": self.timestamp, "equity": self.equity, "notional": self.notional,
                "maintenance": self.maintenance, "positions": self.positions, "equity_after": self.equity_after}


@dataclass(frozen=True)
class PortfolioResult:
    runner_ids: tuple[str, ...]
    symbols: tuple[str, ...]
    timeframe: str
    initial_capital: float
    final_equity: float
    start_ms: int
    end_ms: int
    trades: tuple[TradeResult, ...]  # all runners, by exit time then runner id
    events: tuple[TradeEvent, ...]  # every runner event (opens, closes, kill switches) in processing order
    snapshots: tuple[PortfolioSnapshot, ...]
    freezes: tuple[FreezeEvent, ...]
    liquidations: tuple[LiquidationEvent, ...]
    metrics: Mapping[str, float]
    benchmark_symbol: str | None
    benchmark_return_pct: float | None
    alpha_pct: float | None
    runner_final_capital: Mapping[str, float]
    guard_refusals: int  # fills refused by the global margin guard or the per-asset cap (not the freeze)
    params: Mapping[str, Any] = field(default_factory=dict)

    def closed_trades(self) -> list[TradeResult]:
        """Trades that count in metrics (end-of-data closes excluded, SPEC §5.5)."""
        return [t for t in self.trades if not t.end_of_data]

    @property
    def return_pct(self) -> float:
        return (self.final_equity / self.initial_capital - 1.0) * 100.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "runner_ids": list(self.runner_ids), "symbols": list(self.symbols), "timeframe": self.timeframe,
            "initial_capital": self.initial_capital, "final_equity": self.final_equity,
            "return_pct": self.return_pct, "start_ms": self.start_ms, "end_ms": self.end_ms,
            "trades": [t.to_dict() for t in self.trades], "events": [e.to_dict() for e in self.events],
            "snapshots": [s.to_dict() for s in self.snapshots],
            "freezes": [f.to_dict() for f in self.freezes], "liquidations": [x.to_dict() for x in self.liquidations],
            "metrics": dict(self.metrics), "benchmark_symbol": self.benchmark_symbol,
            "benchmark_return_pct": self.benchmark_return_pct, "alpha_pct": self.alpha_pct,
            "runner_final_capital": dict(self.runner_final_capital), "guard_refusals": self.guard_refusals,
            "params": dict(self.params),
        }

    def to_json(self) -> str:
        """Strict JSON: non-finite floats (an infinite profit factor, a NaN peak) become null."""
        return json.dumps(_finite(self.to_dict()), allow_nan=False)


def _finite(x: Any) -> Any:
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x


# -- spec parsing --------------------------------------------------------------------------------------
def parse_specs(specs: Sequence[tuple[str, str] | str]) -> list[tuple[str, str]]:
    """`"strategy:symbol"` strings or (strategy, symbol) pairs. Only the first ':' separates, so a symbol
    like "BTC/USDT:USDT" survives."""
    out: list[tuple[str, str]] = []
    for spec in specs:
        if isinstance(spec, str):
            strategy, sep, symbol = spec.partition(":")
            if not sep or not strategy or not symbol:
                raise ConfigError(f"portfolio spec {spec!r}: expected 'strategy:symbol'")
        else:
            strategy, symbol = spec
        out.append((strategy, symbol))
    if not out:
        raise ConfigError("portfolio: no runner given (expected at least one 'strategy:symbol')")
    ids = [f"{s}:{y}" for s, y in out]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ConfigError(f"portfolio: runner {dupes[0]!r} is listed twice")
    return out


# -- the backtest --------------------------------------------------------------------------------------
class _Portfolio:
    """Mutable bookkeeping of one run: which runners exist, what is frozen, what each symbol last closed at."""

    def __init__(self, runners: dict[str, Any], symbol_of: dict[str, str], capital: float,
                 max_margin_ratio: float, max_asset_fraction: float) -> None:
        self.runners = runners
        self.symbol_of = symbol_of
        self.limits = MarginLimits(capital, max_margin_ratio, max_asset_fraction)
        self.frozen_until: int | None = None
        self.refusals = 0

    def margin(self) -> float:
        return sum(r.used_margin for r in self.runners.values())

    def asset_margin(self, symbol: str) -> float:
        return sum(r.used_margin for rid, r in self.runners.items() if self.symbol_of[rid] == symbol)

    def guard(self, runner_id: str, margin: float) -> bool:
        if self.frozen_until is not None:
            return False
        if self.limits.refusal(self.margin(), self.asset_margin(self.symbol_of[runner_id]), margin) is not None:
            self.refusals += 1
            return False
        return True


def _notional(runner: Any) -> float:
    book = runner.book
    if hasattr(book, "positions"):
        return book.notional()
    return book.position.notional if book.position is not None else 0.0


def _open_count(runner: Any) -> int:
    book = runner.book
    if hasattr(book, "positions"):
        return len(book.positions)
    return int(book.position is not None)


def _runner_params(params: Mapping[str, Mapping[str, Any]] | None, runner_id: str, strategy: str) -> dict[str, Any]:
    # A runner id key ("grid_atr:ETH/BTC") wins over a strategy-wide key ("grid_atr").
    if not params:
        return {}
    return dict(params.get(runner_id, params.get(strategy, {})))


def _default_benchmark(symbols: Sequence[str]) -> str | None:
    for s in symbols:
        if s.upper().split("/")[0].split("-")[0] in ("BTC", "XBT"):
            return s
    return None


def run_portfolio(
    specs: Sequence[tuple[str, str] | str],
    candles: Mapping[str, CandleArrays],
    *,
    timeframe: str = "1h",
    capital: float = 10_000.0,
    costs: CostModel = CostModel(),
    params: Mapping[str, Mapping[str, Any]] | None = None,
    funding: Mapping[str, Callable[[int], float | None]] | None = None,
    max_margin_ratio: float = 0.70,
    max_asset_fraction: float = 0.25,
    kill_drawdown_pct: float = 45.0,
    kill_window_hours: float = 24,
    freeze_hours: float = 24,
    runner_kill_switch_pct: float = 25.0,
    maintenance_margin: float = DEFAULT_MAINTENANCE_MARGIN,
    benchmark_symbol: str | None = None,
    snapshot_every: int = 1,
) -> PortfolioResult:
    """Run every `strategy:symbol` runner over the time-merged candles of its symbol (SPEC §8).

    `params` maps a runner id or a strategy name to strategy parameters; `funding` maps a symbol to
    `ts -> rate in force or None`. The benchmark is buy-and-hold of `benchmark_symbol` (default: the
    first BTC symbol among the traded or given candles) from its first to its last close in the span.
    """
    timeframe_ms(timeframe)  # validates the name
    if capital <= 0:
        raise ConfigError(f"portfolio capital must be > 0, got {capital}")
    if snapshot_every < 1:
        raise ConfigError(f"portfolio snapshot_every must be >= 1, got {snapshot_every}")
    pairs = parse_specs(specs)
    symbols = tuple(dict.fromkeys(sym for _, sym in pairs))
    for sym in symbols:
        if sym not in candles or len(candles[sym]) == 0:
            raise ConfigError(f"portfolio: no {timeframe} candles for symbol {sym!r}")
    n_runners, n_assets = len(pairs), len(symbols)
    allocation = RunnerConfig.portfolio_allocation(capital, n_assets, max_asset_fraction)

    runners: dict[str, Any] = {}
    symbol_of: dict[str, str] = {}
    for strategy_name, sym in sorted(pairs, key=lambda p: f"{p[0]}:{p[1]}"):
        rid = f"{strategy_name}:{sym}"
        strategy = create_strategy(strategy_name, _runner_params(params, rid, strategy_name))
        if strategy.timeframe != timeframe:
            raise ConfigError(f"portfolio runner {rid!r}: strategy timeframe is {strategy.timeframe} "
                              f"but the candles are {timeframe}")
        config = RunnerConfig(rid, sym, initial_capital=capital / n_runners, costs=costs,
                              max_margin_ratio=max_margin_ratio, kill_switch_loss_pct=runner_kill_switch_pct,
                              hard_drawdown_pct=None, sizing="fixed", fixed_allocation=allocation)
        runners[rid] = make_runner(strategy, config)
        symbol_of[rid] = sym
    book = _Portfolio(runners, symbol_of, capital, max_margin_ratio, max_asset_fraction)
    for r in runners.values():
        r.margin_guard = book.guard  # both runner kinds consult it before a fill

    # Merge: timestamp -> {symbol: Candle}; runners step in id order within a timestamp.
    by_ts: dict[int, dict[str, Candle]] = {}
    for sym in symbols:
        for c in candles[sym].candles(sym, timeframe):
            by_ts.setdefault(c.timestamp, {})[sym] = c
    timestamps = sorted(by_ts)

    window_ms = int(kill_window_hours * _HOUR_MS)
    freeze_ms = int(freeze_hours * _HOUR_MS)
    peaks: deque[tuple[int, float]] = deque()  # (ts, equity), equity decreasing: max of the window at [0]
    last: dict[str, Candle] = {}
    active = dict(runners)
    snapshots: list[PortfolioSnapshot] = []
    freezes: list[FreezeEvent] = []
    liquidations: list[LiquidationEvent] = []
    events: list[TradeEvent] = []

    def equity_now() -> tuple[float, dict[str, float]]:
        per = {rid: r.equity(last[symbol_of[rid]].close if symbol_of[rid] in last else 0.0)
               for rid, r in runners.items()}
        return sum(per.values()), per

    def snapshot(ts: int, eq: float, per: dict[str, float]) -> None:
        snapshots.append(PortfolioSnapshot(
            ts, eq, book.margin(), sum(_notional(r) for r in runners.values()),
            sum(_open_count(r) for r in runners.values()), per,
            {rid: r.used_margin for rid, r in runners.items()}))

    for k, ts in enumerate(timestamps):
        if book.frozen_until is not None and ts >= book.frozen_until:
            book.frozen_until = None
            eq, _ = equity_now()
            freezes.append(FreezeEvent(ts, "unfreeze", eq, math.nan, 0.0, ts))
        row = by_ts[ts]
        for rid in list(active):
            sym = symbol_of[rid]
            c = row.get(sym)
            if c is None:
                continue
            r = active[rid]
            rate = funding[sym](ts) if funding and sym in funding else None
            events.extend(r.on_candle(c, rate))
            if r.stopped:  # its own kill switch: the runner's backtest ends here (as in RunnerBase.run)
                events.extend(r.close_at_end(c))
                del active[rid]
        last.update(row)

        eq, per = equity_now()
        notional = sum(_notional(r) for r in runners.values())
        if notional > 0 and eq < maintenance_margin * notional:
            n_pos = sum(_open_count(r) for r in runners.values())
            for rid, r in runners.items():
                if _open_count(r):
                    events.extend(r.force_close(last[symbol_of[rid]], "liquidation"))
                r.stopped, r.stop_reason = True, "liquidation"
            eq_after, per = equity_now()
            liquidations.append(LiquidationEvent(ts, eq, notional, maintenance_margin * notional, n_pos, eq_after))
            snapshot(ts, eq_after, per)
            active.clear()
            break

        while peaks and peaks[-1][1] <= eq:
            peaks.pop()
        peaks.append((ts, eq))
        while peaks[0][0] <= ts - window_ms:
            peaks.popleft()
        peak = peaks[0][1]
        dd = (peak - eq) / peak * 100.0 if peak > 0 else 0.0
        if book.frozen_until is None and dd >= kill_drawdown_pct:
            book.frozen_until = ts + freeze_ms
            freezes.append(FreezeEvent(ts, "freeze", eq, peak, dd, book.frozen_until))
        if k % snapshot_every == 0 or k == len(timestamps) - 1:
            snapshot(ts, eq, per)

    for rid, r in active.items():
        sym = symbol_of[rid]
        if sym in last:
            events.extend(r.close_at_end(last[sym]))

    start_ms, end_ms = timestamps[0], snapshots[-1].timestamp if snapshots else timestamps[-1]
    final_equity = sum(r.capital + r.used_margin for r in runners.values())
    order = {rid: i for i, rid in enumerate(runners)}
    trades = tuple(sorted((t for r in runners.values() for t in r.trades),
                          key=lambda t: (t.exit_ts, order[t.runner_id], t.seq)))

    bench = benchmark_symbol or _default_benchmark(list(symbols) + list(candles))
    bench_ret: float | None = None
    if bench is not None:
        if bench not in candles:
            raise ConfigError(f"portfolio benchmark symbol {bench!r} has no candles")
        bench_ret = _buy_and_hold_pct(candles[bench], start_ms, end_ms)
    ret_pct = (final_equity / capital - 1.0) * 100.0
    alpha = None if bench_ret is None else ret_pct - bench_ret

    metrics = compute_metrics(trades, capital, start_ms, end_ms, final_equity).to_dict()
    metrics.update(
        portfolio_return_pct=ret_pct,
        equity_max_drawdown_pct=_max_drawdown_pct([s.equity for s in snapshots], capital),
        peak_margin_ratio=max((s.margin for s in snapshots), default=0.0) / capital,
        freezes=float(sum(f.kind == "freeze" for f in freezes)),
        liquidations=float(len(liquidations)),
    )
    return PortfolioResult(
        runner_ids=tuple(runners), symbols=symbols, timeframe=timeframe, initial_capital=capital,
        final_equity=final_equity, start_ms=start_ms, end_ms=end_ms, trades=trades, events=tuple(events), snapshots=tuple(snapshots),
        freezes=tuple(freezes), liquidations=tuple(liquidations), metrics=metrics, benchmark_symbol=bench,
        benchmark_return_pct=bench_ret, alpha_pct=alpha,
        runner_final_capital={rid: r.capital + r.used_margin for rid, r in runners.items()},
        guard_refusals=book.refusals,
        params={"max_margin_ratio": max_margin_ratio, "max_asset_fraction": max_asset_fraction,
                "kill_drawdown_pct": kill_drawdown_pct, "kill_window_hours": kill_window_hours,
                "freeze_hours": freeze_hours, "maintenance_margin": maintenance_margin,
                "allocation": allocation, "costs": {"taker_fee": costs.taker_fee, "maker_fee": costs.maker_fee,
                                                     "slippage": costs.slippage},
                "strategy_params": {rid: _runner_params(params, rid, rid.split(":", 1)[0]) for rid in runners}},
    )


def _buy_and_hold_pct(arrays: CandleArrays, start_ms: int, end_ms: int) -> float | None:
    """Return % of holding from the first close at/after start to the last close at/before end (no costs)."""
    ts = arrays.timestamp
    idx = [i for i in range(len(arrays)) if start_ms <= int(ts[i]) <= end_ms]
    if not idx or float(arrays.close[idx[0]]) <= 0:
        return None
    return (float(arrays.close[idx[-1]]) / float(arrays.close[idx[0]]) - 1.0) * 100.0


def _max_drawdown_pct(equity: Sequence[float], initial: float) -> float:
    peak, worst = initial, 0.0
    for e in equity:
        peak = max(peak, e)
        if peak > 0:
            worst = max(worst, (peak - e) / peak * 100.0)
    return worst


# -- storage ---------------------------------------------------------------------------------------------
def save_portfolio_result(store_or_engine: Any, result: PortfolioResult, name: str = "",
                          created_at: int | None = None) -> int:
    """Insert one `portfolio_backtests` row (a CandleStore or an SQLAlchemy Engine); returns its id."""
    from sqlalchemy.orm import Session

    from radar.data.schema import PortfolioBacktestRow

    engine = getattr(store_or_engine, "engine", store_or_engine)
    strategies = sorted({rid.split(":", 1)[0] for rid in result.runner_ids})
    metrics = dict(result.metrics)
    metrics.update(benchmark_symbol=result.benchmark_symbol, benchmark_return_pct=result.benchmark_return_pct,
                   alpha_pct=result.alpha_pct, guard_refusals=result.guard_refusals,
                   freeze_events=[f.to_dict() for f in result.freezes],
                   liquidation_events=[x.to_dict() for x in result.liquidations])
    row = PortfolioBacktestRow(
        name=name or ",".join(result.runner_ids)[:128],
        created_at=int(time.time() * 1000) if created_at is None else created_at,
        strategies=strategies, symbols=list(result.symbols), start_ms=result.start_ms, end_ms=result.end_ms,
        initial_capital=result.initial_capital, final_equity=result.final_equity,
        metrics=_finite(metrics),
        equity_curve=_finite([[s.timestamp, s.equity, s.margin, s.open_positions] for s in result.snapshots]),
        params=_finite({**dict(result.params), "runner_ids": list(result.runner_ids), "timeframe": result.timeframe}),
    )
    with Session(engine) as session, session.begin():
        session.add(row)
        session.flush()
        return int(row.id)
