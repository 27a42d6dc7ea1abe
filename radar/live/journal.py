"""TradeJournal: the single writer of `simulation_trades`, `position_events` and `portfolio_snapshots`.

Every row has a deterministic key (`runner_id#seq`), inserted with ON CONFLICT DO NOTHING: after a
`kill -9` the runners replay from their last saved state and re-emit the same events with the same
seqs, and the journal keeps exactly one row of each.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, Table, case, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from radar.data.schema import Base, PortfolioSnapshotRow, PositionEventRow, SimulationTradeRow
from radar.errors import DataError
from radar.events import EventKind, TradeEvent, TradeResult
from radar.live.clock import Clock, WallClock

SNAPSHOT_INTERVAL_MS = 5 * 60_000

_trades: Table = SimulationTradeRow.__table__  # type: ignore[assignment]
_events: Table = PositionEventRow.__table__  # type: ignore[assignment]
_snapshots: Table = PortfolioSnapshotRow.__table__  # type: ignore[assignment]


def trade_id(runner_id: str, seq: int) -> str:
    return f"{runner_id}#{seq}"


def _side(side: int) -> str:
    return "long" if side > 0 else "short" if side < 0 else "flat"


class TradeJournal:
    def __init__(self, engine: Engine, clock: Clock | None = None, snapshot_interval_ms: int = SNAPSHOT_INTERVAL_MS) -> None:
        self.engine = engine
        self.clock = clock or WallClock()
        self.snapshot_interval_ms = int(snapshot_interval_ms)
        self._last_bucket: dict[str, int] = {}
        Base.metadata.create_all(engine, tables=[_trades, _events, _snapshots])  # only creates missing tables

    # -- writes --------------------------------------------------------------------------------------
    def _insert_ignore(self, table: Table, rows: list[dict[str, Any]], key: str) -> int:
        """Insert rows whose `key` is new; returns how many were new."""
        if not rows:
            return 0
        name = self.engine.dialect.name
        try:
            with self.engine.begin() as conn:
                if name in ("sqlite", "postgresql"):
                    ins = (sqlite if name == "sqlite" else postgresql).insert(table).on_conflict_do_nothing(index_elements=[key])
                    before = conn.execute(select(func.count()).select_from(table)).scalar_one()
                    conn.execute(ins, rows)
                    return int(conn.execute(select(func.count()).select_from(table)).scalar_one() - before)
                # Other dialects: skip the keys already present, then insert (single writer, so no race).
                keys = [r[key] for r in rows]
                present = set(conn.execute(select(table.c[key]).where(table.c[key].in_(keys))).scalars())
                fresh = [r for r in rows if r[key] not in present]
                if fresh:
                    conn.execute(table.insert(), fresh)
                return len(fresh)
        except IntegrityError as exc:
            raise DataError(f"journal: writing {len(rows)} rows to {table.name} failed: {exc.orig}") from exc
        except SQLAlchemyError as exc:
            raise DataError(f"journal: writing {len(rows)} rows to {table.name} failed, nothing written: "
                            f"{getattr(exc, 'orig', None) or exc}") from exc

    def record_trades(self, trades: Iterable[TradeResult]) -> int:
        rows = [{
            "trade_id": trade_id(t.runner_id, t.seq), "runner_id": t.runner_id, "strategy": t.strategy,
            "symbol": t.symbol, "side": _side(t.side), "entry_ts": t.entry_ts, "exit_ts": t.exit_ts,
            "entry_price": t.entry_price, "exit_price": t.exit_price, "qty": t.quantity, "gross_pnl": t.gross,
            "fees": t.fees, "slippage": t.slippage, "funding": t.funding, "net_pnl": t.net, "reason": t.reason,
            "extra": {"positions": t.positions, "return_frac": t.return_frac, "end_of_data": t.end_of_data},
        } for t in trades]
        return self._insert_ignore(_trades, rows, "trade_id")

    def record_events(self, events: Iterable[TradeEvent]) -> tuple[int, int]:
        """Journal events (every kind as a position event, closes also as trades). Returns (new events, new trades)."""
        events = list(events)
        rows = [{
            "event_id": trade_id(e.runner_id, e.seq), "runner_id": e.runner_id, "strategy": e.strategy,
            "symbol": e.symbol, "timestamp": e.timestamp, "kind": e.kind.value, "side": _side(e.side),
            "price": e.price, "qty": e.quantity,
            "payload": {"level": e.level, "reason": e.reason, "extra": dict(e.extra)},
        } for e in events]
        n_events = self._insert_ignore(_events, rows, "event_id")
        n_trades = self.record_trades(e.trade for e in events if e.kind is EventKind.CLOSE and e.trade is not None)
        return n_events, n_trades

    def maybe_snapshot(self, scope: str, equity: float, cash: float, unrealized_pnl: float = 0.0,
                       margin_used: float = 0.0, payload: dict[str, Any] | None = None,
                       now_ms: int | None = None) -> bool:
        """Write a snapshot if none was written in the current interval bucket of the clock (so a restart inside
        a bucket does not write a second one). Returns whether a row was written. `now_ms`: the time of the
        snapshot when the caller's clock is not this journal's (the candles' time in a replay)."""
        now = self.clock.now_ms() if now_ms is None else int(now_ms)
        bucket = now // self.snapshot_interval_ms
        if scope not in self._last_bucket:
            with self.engine.connect() as conn:
                last = conn.execute(select(func.max(_snapshots.c.timestamp)).where(_snapshots.c.scope == scope)).scalar()
            self._last_bucket[scope] = -1 if last is None else int(last) // self.snapshot_interval_ms
        if bucket <= self._last_bucket[scope]:
            return False
        with self.engine.begin() as conn:
            conn.execute(_snapshots.insert(), [{
                "scope": scope, "timestamp": now, "equity": equity, "cash": cash,
                "unrealized_pnl": unrealized_pnl, "margin_used": margin_used, "payload": payload}])
        self._last_bucket[scope] = bucket
        return True

    # -- reads (status, dashboard) ----------------------------------------------------------------------
    def trades(self, runner_id: str | None = None, since_ms: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Most recent closed trades first."""
        q = select(_trades)
        if runner_id is not None:
            q = q.where(_trades.c.runner_id == runner_id)
        if since_ms is not None:
            q = q.where(_trades.c.exit_ts >= since_ms)
        q = q.order_by(_trades.c.exit_ts.desc(), _trades.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def trade_count(self, runner_id: str | None = None) -> int:
        q = select(func.count()).select_from(_trades)
        if runner_id is not None:
            q = q.where(_trades.c.runner_id == runner_id)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())

    def position_events(self, runner_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        q = select(_events)
        if runner_id is not None:
            q = q.where(_events.c.runner_id == runner_id)
        q = q.order_by(_events.c.timestamp.desc(), _events.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def snapshots(self, scope: str, since_ms: int | None = None, limit: int = 10_000) -> list[dict[str, Any]]:
        """Oldest first (an equity curve)."""
        q = select(_snapshots).where(_snapshots.c.scope == scope)
        if since_ms is not None:
            q = q.where(_snapshots.c.timestamp >= since_ms)
        q = q.order_by(_snapshots.c.timestamp.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(q)]
        return rows[::-1]

    def summary(self) -> dict[str, dict[str, float]]:
        """Per runner: trades, wins, net PnL, fees (for status and the arena)."""
        q = select(_trades.c.runner_id, func.count(), func.sum(case((_trades.c.net_pnl > 0, 1), else_=0)),
                   func.sum(_trades.c.net_pnl), func.sum(_trades.c.fees)).group_by(_trades.c.runner_id)
        with self.engine.connect() as conn:
            return {rid: {"trades": int(n), "wins": int(w or 0), "net_pnl": float(net or 0.0), "fees": float(fees or 0.0)}
                    for rid, n, w, net, fees in conn.execute(q)}

