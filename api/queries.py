"""Read-only queries for the history the running system writes to the database.

Trades, position events and equity snapshots (TradeJournal), WFO jobs/results (SweepStore), portfolio
backtests, live orders and candle series are read here with SQLAlchemy Core instead of through the
actors: the dashboard's history reads never wait behind a runner, and they work while the system is down.
Nothing in this module writes a row. Routes call these functions from FastAPI's thread pool (sync `def`
routes), so a slow query never blocks the event loop that serves /ws/live.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, Table, asc, desc, func, select
from sqlalchemy.exc import SQLAlchemyError

from api.errors import NotFound, Unavailable
from api.models import (
    CandleSeries,
    ComboPage,
    ComboResult,
    DailyPnl,
    EquityPoint,
    EventPage,
    JobProgress,
    Ohlcv,
    Order,
    OrderPage,
    Performance,
    PortfolioCompare,
    PortfolioDetail,
    PortfolioPoint,
    PortfolioSummary,
    PositionEvent,
    RunnerPerformance,
    SeriesStatus,
    Snapshot,
    Trade,
    TradePage,
    WfoResult,
)
from radar.data.schema import (
    CandleRow,
    LiveOrderRow,
    OptimizationJobRow,
    OptimizationResultRow,
    PortfolioBacktestRow,
    PortfolioSnapshotRow,
    PositionEventRow,
    SimulationTradeRow,
    WfoComboResultRow,
)

_trades: Table = SimulationTradeRow.__table__  # type: ignore[assignment]
_events: Table = PositionEventRow.__table__  # type: ignore[assignment]
_snapshots: Table = PortfolioSnapshotRow.__table__  # type: ignore[assignment]
_jobs: Table = OptimizationJobRow.__table__  # type: ignore[assignment]
_results: Table = OptimizationResultRow.__table__  # type: ignore[assignment]
_combos: Table = WfoComboResultRow.__table__  # type: ignore[assignment]
_portfolios: Table = PortfolioBacktestRow.__table__  # type: ignore[assignment]
_orders: Table = LiveOrderRow.__table__  # type: ignore[assignment]
_candles: Table = CandleRow.__table__  # type: ignore[assignment]

_DAY_MS = 86_400_000
TRADE_SORTS = {"exit_ts": _trades.c.exit_ts, "net_pnl": _trades.c.net_pnl, "entry_ts": _trades.c.entry_ts}
COMBO_SORTS = {"oos_sharpe": _combos.c.oos_sharpe, "is_sharpe": _combos.c.is_sharpe,
               "consistency": _combos.c.consistency, "n_trades": _combos.c.n_trades, "combo_key": _combos.c.combo_key}


class Database:
    """The read side of the system's database (opened once, on first use)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._store: Any = None

    @property
    def store(self) -> Any:  # radar.data.store.CandleStore
        if self._store is None:
            from radar.data.store import CandleStore

            try:
                # The project's store: same pragmas (WAL, busy_timeout) and the same schema as the writers.
                self._store = CandleStore(self.url)
            except Exception as exc:
                raise Unavailable(f"database unavailable: {exc}") from None
        return self._store

    @property
    def engine(self) -> Engine:
        return self.store.engine

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def _rows(self, query: Any) -> list[dict[str, Any]]:
        try:
            with self.engine.connect() as conn:
                return [dict(r._mapping) for r in conn.execute(query)]
        except SQLAlchemyError as exc:
            raise Unavailable(f"database query failed: {getattr(exc, 'orig', None) or exc}") from None

    def _scalar(self, query: Any) -> Any:
        try:
            with self.engine.connect() as conn:
                return conn.execute(query).scalar()
        except SQLAlchemyError as exc:
            raise Unavailable(f"database query failed: {getattr(exc, 'orig', None) or exc}") from None

    # -- trades ------------------------------------------------------------------------------------------
    def trades(self, *, runner_id: str | None = None, strategy: str | None = None, symbol: str | None = None,
               side: str | None = None, reason: str | None = None, since_ms: int | None = None,
               until_ms: int | None = None, sort: str = "-exit_ts", limit: int = 50, offset: int = 0) -> TradePage:
        conds = _trade_filters(runner_id, strategy, symbol, side, reason, since_ms, until_ms)
        column = TRADE_SORTS[sort.lstrip("-")]
        order = desc(column) if sort.startswith("-") else asc(column)
        tie = desc(_trades.c.id) if sort.startswith("-") else asc(_trades.c.id)
        rows = self._rows(select(_trades).where(*conds).order_by(order, tie).limit(limit).offset(offset))
        total = int(self._scalar(select(func.count()).select_from(_trades).where(*conds)) or 0)
        return TradePage(total=total, limit=limit, offset=offset, items=[trade_from_row(r) for r in rows])

    def performance(self, *, runner_id: str | None = None, strategy: str | None = None,
                    since_ms: int | None = None, until_ms: int | None = None) -> Performance:
        conds = _trade_filters(runner_id, strategy, None, None, None, since_ms, until_ms)
        rows = self._rows(select(_trades.c.runner_id, _trades.c.net_pnl, _trades.c.fees, _trades.c.funding)
                          .where(*conds).order_by(_trades.c.exit_ts, _trades.c.id))
        by_runner: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            by_runner.setdefault(r["runner_id"], []).append(r)
        runners = [_performance(rid, rs) for rid, rs in sorted(by_runner.items())]
        return Performance(totals=_performance("all", rows), runners=runners)

    def daily_pnl(self, *, runner_id: str | None = None, strategy: str | None = None, since_ms: int | None = None,
                  until_ms: int | None = None, days: int = 90) -> list[DailyPnl]:
        """The last `days` UTC days that had trades, oldest first; `cumulative_pnl` counts from the first
        trade in the filter (so the curve continues across the days cut off)."""
        conds = _trade_filters(runner_id, strategy, None, None, None, since_ms, until_ms)
        # Grouping by day is done in Python: integer division differs between SQLite and PostgreSQL.
        rows = self._rows(select(_trades.c.exit_ts, _trades.c.net_pnl, _trades.c.fees).where(*conds)
                          .order_by(_trades.c.exit_ts))
        buckets: dict[int, list[float]] = {}
        for r in rows:
            b = buckets.setdefault(int(r["exit_ts"]) // _DAY_MS, [0, 0, 0.0, 0.0])
            b[0] += 1
            b[1] += 1 if r["net_pnl"] > 0 else 0
            b[2] += r["net_pnl"]
            b[3] += r["fees"]
        out, cum = [], 0.0
        for d in sorted(buckets):
            n, wins, net, fees = buckets[d]
            cum += net
            out.append(DailyPnl(day=datetime.fromtimestamp(d * 86_400, tz=timezone.utc).strftime("%Y-%m-%d"),
                                trades=int(n), wins=int(wins), net_pnl=net, fees=fees, cumulative_pnl=cum))
        return out[-days:]

    # -- journal ---------------------------------------------------------------------------------------
    def snapshots(self, *, scope: str = "paper", since_ms: int | None = None, until_ms: int | None = None,
                  limit: int = 1000) -> list[Snapshot]:
        """The most recent `limit` snapshots of `scope`, oldest first (an equity curve)."""
        conds = [_snapshots.c.scope == scope]
        if since_ms is not None:
            conds.append(_snapshots.c.timestamp >= since_ms)
        if until_ms is not None:
            conds.append(_snapshots.c.timestamp < until_ms)
        rows = self._rows(select(_snapshots).where(*conds).order_by(desc(_snapshots.c.timestamp)).limit(limit))
        return [Snapshot(timestamp=r["timestamp"], scope=r["scope"], equity=r["equity"], cash=r["cash"],
                         unrealized_pnl=r["unrealized_pnl"], margin_used=r["margin_used"]) for r in rows[::-1]]

    def equity_curve(self, scope: str, limit: int = 1000) -> list[EquityPoint]:
        return [EquityPoint(timestamp=s.timestamp, equity=s.equity, cash=s.cash, unrealized_pnl=s.unrealized_pnl,
                            margin_used=s.margin_used) for s in self.snapshots(scope=scope, limit=limit)]

    def events(self, *, runner_id: str | None = None, symbol: str | None = None, kind: str | None = None,
               since_ms: int | None = None, until_ms: int | None = None, limit: int = 100,
               offset: int = 0) -> EventPage:
        conds = []
        for column, value in ((_events.c.runner_id, runner_id), (_events.c.symbol, symbol), (_events.c.kind, kind)):
            if value is not None:
                conds.append(column == value)
        if since_ms is not None:
            conds.append(_events.c.timestamp >= since_ms)
        if until_ms is not None:
            conds.append(_events.c.timestamp < until_ms)
        rows = self._rows(select(_events).where(*conds).order_by(desc(_events.c.timestamp), desc(_events.c.id))
                          .limit(limit).offset(offset))
        total = int(self._scalar(select(func.count()).select_from(_events).where(*conds)) or 0)
        return EventPage(total=total, limit=limit, offset=offset, items=[_event(r) for r in rows])

    # -- executor ----------------------------------------------------------------------------------------
    def orders(self, *, status: str | None = None, symbol: str | None = None, limit: int = 50,
               offset: int = 0) -> OrderPage:
        conds = []
        if status is not None:
            conds.append(_orders.c.status == status)
        if symbol is not None:
            conds.append(_orders.c.symbol == symbol)
        rows = self._rows(select(_orders).where(*conds).order_by(desc(_orders.c.created_at), desc(_orders.c.id))
                          .limit(limit).offset(offset))
        total = int(self._scalar(select(func.count()).select_from(_orders).where(*conds)) or 0)
        return OrderPage(total=total, limit=limit, offset=offset,
                         items=[Order(**{k: v for k, v in r.items() if k not in ("id", "fills")}) for r in rows])

    # -- data ----------------------------------------------------------------------------------------------
    def series_status(self) -> list[SeriesStatus]:
        try:
            return [SeriesStatus(exchange=s.exchange, symbol=s.symbol, timeframe=s.timeframe, first_ms=s.first_ms,
                                 last_ms=s.last_ms, rows=s.rows, gaps=s.gaps, missing_candles=s.missing_candles)
                    for s in self.store.series_status()]
        except SQLAlchemyError as exc:
            raise Unavailable(f"database query failed: {getattr(exc, 'orig', None) or exc}") from None

    def latest_closes(self, exchange: str, timeframe: str, symbols: Iterable[str]) -> dict[str, float]:
        """The close of the newest stored candle per symbol (one index seek each)."""
        out: dict[str, float] = {}
        for sym in symbols:
            value = self._scalar(select(_candles.c.close).where(
                _candles.c.exchange == exchange, _candles.c.symbol == sym, _candles.c.timeframe == timeframe)
                .order_by(desc(_candles.c.timestamp)).limit(1))
            if value is not None:
                out[sym] = float(value)
        return out

    def candles(self, exchange: str, symbol: str, timeframe: str, *, limit: int = 500,
                end_ms: int | None = None) -> CandleSeries:
        """The newest `limit` stored candles opening at or before `end_ms` (None: the newest), oldest first."""
        conds = [_candles.c.exchange == exchange, _candles.c.symbol == symbol, _candles.c.timeframe == timeframe]
        if end_ms is not None:
            conds.append(_candles.c.timestamp <= end_ms)
        # Newest first so LIMIT keeps the most recent candles (a backward range scan of the primary key),
        # then reversed: charts want ascending time.
        rows = self._rows(select(_candles.c.timestamp, _candles.c.open, _candles.c.high, _candles.c.low,
                                 _candles.c.close, _candles.c.volume)
                          .where(*conds).order_by(desc(_candles.c.timestamp)).limit(limit))
        return CandleSeries(exchange=exchange, symbol=symbol, timeframe=timeframe,
                            candles=[Ohlcv(time_ms=int(r["timestamp"]), open=float(r["open"]), high=float(r["high"]),
                                           low=float(r["low"]), close=float(r["close"]), volume=float(r["volume"]))
                                     for r in reversed(rows)])

    # -- WFO -------------------------------------------------------------------------------------------
    def wfo_jobs(self, status: str | None = None, limit: int = 200) -> list[JobProgress]:
        conds = [_jobs.c.status == status] if status is not None else []
        rows = self._rows(select(_jobs).where(*conds).order_by(desc(_jobs.c.created_at)).limit(limit))
        return [_job(r) for r in rows]

    def wfo_job(self, job_id: str) -> JobProgress | None:
        rows = self._rows(select(_jobs).where(_jobs.c.id == job_id))
        return _job(rows[0]) if rows else None

    def wfo_results(self, job_id: str) -> list[WfoResult]:
        self._require_job(job_id)
        rows = self._rows(select(_results).where(_results.c.job_id == job_id).order_by(_results.c.symbol))
        return [WfoResult(symbol=r["symbol"], strategy=r["strategy"], timeframe=r["timeframe"], params=r["params"],
                          grade=r["grade"], score=_finite(r["score"]), metrics=r["metrics"]) for r in rows]

    def wfo_result_dicts(self, job_id: str) -> list[dict[str, Any]]:
        """Results in the shape `radar.optimize.apply.apply_results` takes."""
        return [r.model_dump() for r in self.wfo_results(job_id)]

    def wfo_combos(self, job_id: str, *, symbol: str | None = None, sort: str = "-oos_sharpe", limit: int = 500,
                   offset: int = 0) -> ComboPage:
        self._require_job(job_id)
        conds = [_combos.c.job_id == job_id]
        if symbol is not None:
            conds.append(_combos.c.symbol == symbol)
        column = COMBO_SORTS[sort.lstrip("-")]
        # NULL sharpe (no trades) sorts last either way
        order = [column.is_(None), desc(column) if sort.startswith("-") else asc(column), asc(_combos.c.id)]
        rows = self._rows(select(_combos).where(*conds).order_by(*order).limit(limit).offset(offset))
        total = int(self._scalar(select(func.count()).select_from(_combos).where(*conds)) or 0)
        items = [ComboResult(symbol=r["symbol"], combo_key=r["combo_key"], params=r["params"],
                             is_sharpe=_finite(r["is_sharpe"]), oos_sharpe=_finite(r["oos_sharpe"]),
                             consistency=_finite(r["consistency"]), n_windows=r["n_windows"], n_trades=r["n_trades"],
                             metrics=r["metrics"] or {}) for r in rows]
        return ComboPage(job_id=job_id, total=total, limit=limit, offset=offset, param_names=_varying(items),
                         items=items)

    def _require_job(self, job_id: str) -> None:
        if self._scalar(select(_jobs.c.id).where(_jobs.c.id == job_id)) is None:
            raise NotFound(f"no WFO job {job_id!r} in the database")

    # -- portfolio ---------------------------------------------------------------------------------------
    def portfolios(self, limit: int = 50, offset: int = 0) -> list[PortfolioSummary]:
        cols = [c for c in _portfolios.c if c.name not in ("equity_curve",)]
        rows = self._rows(select(*cols).order_by(desc(_portfolios.c.created_at), desc(_portfolios.c.id))
                          .limit(limit).offset(offset))
        return [_portfolio_summary(r) for r in rows]

    def portfolio(self, backtest_id: int) -> PortfolioDetail:
        rows = self._rows(select(_portfolios).where(_portfolios.c.id == backtest_id))
        if not rows:
            raise NotFound(f"no portfolio backtest with id {backtest_id}")
        r = rows[0]
        curve = [PortfolioPoint(timestamp=int(p[0]), equity=float(p[1]), margin=float(p[2]), open_positions=int(p[3]))
                 for p in (r["equity_curve"] or []) if p[1] is not None]
        return PortfolioDetail(summary=_portfolio_summary(r), metrics=r["metrics"] or {}, params=r["params"] or {},
                               equity_curve=curve)

    def compare_portfolios(self, ids: Sequence[int]) -> PortfolioCompare:
        cols = [c for c in _portfolios.c if c.name not in ("equity_curve",)]
        rows = {r["id"]: r for r in self._rows(select(*cols).where(_portfolios.c.id.in_(list(ids))))}
        missing = [i for i in ids if i not in rows]
        if missing:
            raise NotFound(f"no portfolio backtest with id {', '.join(map(str, missing))}")
        items = [_portfolio_summary(rows[i]) for i in ids]
        keys = sorted({k for r in rows.values() for k, v in (r["metrics"] or {}).items()
                       if isinstance(v, (int, float)) and not isinstance(v, bool)})
        metrics = {k: {str(i): _finite((rows[i]["metrics"] or {}).get(k)) for i in ids} for k in keys}
        best = max(items, key=lambda s: s.return_pct).id
        return PortfolioCompare(items=items, metrics=metrics, best_return_id=best)


# -- row -> model ----------------------------------------------------------------------------------------
def _trade_filters(runner_id: str | None, strategy: str | None, symbol: str | None, side: str | None,
                   reason: str | None, since_ms: int | None, until_ms: int | None) -> list[Any]:
    conds = []
    for column, value in ((_trades.c.runner_id, runner_id), (_trades.c.strategy, strategy),
                          (_trades.c.symbol, symbol), (_trades.c.side, side), (_trades.c.reason, reason)):
        if value is not None:
            conds.append(column == value)
    if since_ms is not None:
        conds.append(_trades.c.exit_ts >= since_ms)
    if until_ms is not None:
        conds.append(_trades.c.exit_ts < until_ms)
    return conds


def trade_from_row(r: dict[str, Any]) -> Trade:
    extra = r.get("extra") or {}
    return Trade(trade_id=r["trade_id"], runner_id=r["runner_id"], strategy=r["strategy"], symbol=r["symbol"],
                 side=r["side"], entry_ts=r["entry_ts"], exit_ts=r["exit_ts"], entry_price=r["entry_price"],
                 exit_price=r["exit_price"], qty=r["qty"], gross_pnl=r["gross_pnl"], fees=r["fees"],
                 slippage=r["slippage"], funding=r["funding"], net_pnl=r["net_pnl"], reason=r["reason"],
                 positions=extra.get("positions"))


def _event(r: dict[str, Any]) -> PositionEvent:
    payload = r.get("payload") or {}
    level = payload.get("level")
    return PositionEvent(event_id=r["event_id"], runner_id=r["runner_id"], strategy=r["strategy"], symbol=r["symbol"],
                         timestamp=r["timestamp"], kind=r["kind"], side=r["side"], price=r["price"], qty=r["qty"],
                         level=level if isinstance(level, int) and level >= 0 else None,
                         reason=payload.get("reason") or None)


def _performance(runner_id: str, rows: Sequence[dict[str, Any]]) -> RunnerPerformance:
    nets = [float(r["net_pnl"]) for r in rows]
    profit = sum(x for x in nets if x > 0)
    loss = -sum(x for x in nets if x < 0)
    peak = cum = dd = 0.0
    for x in nets:
        cum += x
        peak = max(peak, cum)
        dd = max(dd, peak - cum)
    wins = sum(1 for x in nets if x > 0)
    return RunnerPerformance(
        runner_id=runner_id, trades=len(nets), wins=wins, losses=sum(1 for x in nets if x < 0),
        win_rate=wins / len(nets) if nets else 0.0, net_pnl=sum(nets), gross_profit=profit, gross_loss=loss,
        profit_factor=profit / loss if loss > 0 else None, fees=sum(float(r["fees"]) for r in rows),
        funding=sum(float(r["funding"]) for r in rows), best_trade=max(nets) if nets else None,
        worst_trade=min(nets) if nets else None, avg_trade=sum(nets) / len(nets) if nets else None, max_drawdown=dd)


def _job(r: dict[str, Any]) -> JobProgress:
    request = (r.get("params") or {}).get("request") or {}
    total, done = int(r["total"] or 0), int(r["progress"] or 0)
    return JobProgress(job_id=r["id"], strategy=r["strategy"], symbols=list(request.get("symbols") or []),
                       source="db", status=r["status"], done=done, total=total,
                       progress=min(1.0, done / total) if total else 0.0, error=r["error"],
                       submitted_at=r["created_at"], started_at=r["created_at"],
                       finished_at=r["updated_at"] if r["status"] in ("done", "failed", "cancelled") else None)


def _portfolio_summary(r: dict[str, Any]) -> PortfolioSummary:
    m = r.get("metrics") or {}
    n = m.get("n_trades")
    return PortfolioSummary(
        id=r["id"], name=r["name"], created_at=r["created_at"], strategies=list(r["strategies"]),
        symbols=list(r["symbols"]), start_ms=r["start_ms"], end_ms=r["end_ms"], initial_capital=r["initial_capital"],
        final_equity=r["final_equity"], return_pct=(r["final_equity"] / r["initial_capital"] - 1.0) * 100.0,
        max_drawdown_pct=_finite(m.get("max_drawdown_pct")), sharpe=_finite(m.get("sharpe")),
        trades=int(n) if isinstance(n, (int, float)) else None,
        benchmark_return_pct=_finite(m.get("benchmark_return_pct")))


def _varying(items: Sequence[ComboResult]) -> list[str]:
    seen: dict[str, set[str]] = {}
    for c in items:
        for k, v in c.params.items():
            seen.setdefault(k, set()).add(repr(v))
    return sorted(k for k, vals in seen.items() if len(vals) > 1)


def _finite(x: Any) -> float | None:
    if x is None or isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    x = float(x)
    return x if math.isfinite(x) else None
