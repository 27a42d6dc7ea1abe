"""OrderJournal: the live executor's record of every exchange order and fill (table `live_orders`).

An order is written with status `new` BEFORE it is sent, keyed by its deterministic client order id, so
after a crash the executor finds it again and looks it up on the exchange instead of sending it twice;
the row then follows the order: ack (`open`, exchange id), fills (`partially_filled` / `filled`, the fills
list, cumulative quantity and average price), `cancelled`, `rejected` (the exchange refused it), or
`unknown` (no answer after every retry). Entries the risk manager refused are rows with status `refused`
and the reason in `error`: they never left the machine. Stop-loss / take-profit plan orders are rows of
type `stop_loss` / `take_profit` (status `live`, `executed`, `cancelled`, `failed`), whose `price` is
the trigger price; the order a fired stop places is a row of its own.

Every write is idempotent: a row is inserted once per client order id, a fill once per fill id.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from radar.data.schema import Base, LiveOrderRow
from radar.errors import DataError
from radar.live.clock import Clock, WallClock
from radar.live.orders import OrderIntent

_orders: Table = LiveOrderRow.__table__  # type: ignore[assignment]

OPEN_STATUSES = ("new", "open", "partially_filled", "unknown", "live")
FINAL_STATUSES = ("filled", "cancelled", "rejected", "refused", "executed", "failed")
STATUSES = OPEN_STATUSES + FINAL_STATUSES


class OrderJournal:
    def __init__(self, engine: Engine, exchange: str = "bitget", clock: Clock | None = None) -> None:
        self.engine = engine
        self.exchange = exchange
        self.clock = clock or WallClock()
        Base.metadata.create_all(engine, tables=[_orders])  # only creates it when missing

    # -- writes --------------------------------------------------------------------------------------
    def record(self, intent: OrderIntent, *, status: str = "new", order_type: str | None = None,
               price: float | None = None, qty: float | None = None, error: str | None = None) -> bool:
        """Insert the row of an order about to be sent (or refused); False when the id is already journalled."""
        return self._insert({
            "client_oid": intent.client_oid, "exchange_order_id": None, "symbol": intent.symbol,
            "runner_id": intent.runner_id, "side": intent.side, "order_type": order_type or intent.order_type,
            "reduce_only": intent.reduce_only, "qty": intent.qty if qty is None else qty,
            "price": intent.price if price is None else price, "status": status, "error": error})

    def record_external(self, client_oid: str, *, symbol: str, side: str, order_type: str, qty: float,
                        reduce_only: bool, runner_id: str | None, exchange_order_id: str | None,
                        status: str = "open", price: float | None = None, error: str | None = None) -> bool:
        """An order the executor did not place itself (a fired stop's close, an emergency close-all)."""
        return self._insert({
            "client_oid": client_oid, "exchange_order_id": exchange_order_id, "symbol": symbol,
            "runner_id": runner_id, "side": side, "order_type": order_type, "reduce_only": reduce_only,
            "qty": qty, "price": price, "status": status, "error": error})

    def _insert(self, row: dict[str, Any]) -> bool:
        _check_status(row["status"])
        now = self.clock.now_ms()
        row = {**row, "exchange": self.exchange, "filled_qty": 0.0, "avg_fill_price": None, "fills": [],
               "created_at": now, "updated_at": now}
        name = self.engine.dialect.name
        try:
            with self.engine.begin() as conn:
                if name in ("sqlite", "postgresql"):
                    ins = (sqlite if name == "sqlite" else postgresql).insert(_orders).on_conflict_do_nothing(
                        index_elements=["client_oid"])
                    return bool(conn.execute(ins, row).rowcount)
                present = conn.execute(select(_orders.c.id).where(_orders.c.client_oid == row["client_oid"])).first()
                if present is None:
                    conn.execute(_orders.insert(), row)
                return present is None
        except SQLAlchemyError as exc:
            raise DataError(f"order journal: recording order {row['client_oid']} failed: "
                            f"{getattr(exc, 'orig', None) or exc}") from exc

    def update(self, client_oid: str, *, status: str | None = None, exchange_order_id: str | None = None,
               filled_qty: float | None = None, avg_fill_price: float | None = None,
               fill: dict[str, Any] | None = None, price: float | None = None, qty: float | None = None,
               error: str | None = None) -> bool:
        """Change an order's row; a `fill` whose `fill_id` is already listed is not added again. False when
        there is no row for `client_oid`."""
        values: dict[str, Any] = {"updated_at": self.clock.now_ms()}
        if status is not None:
            _check_status(status)
            values["status"] = status
        for key, v in (("exchange_order_id", exchange_order_id), ("filled_qty", filled_qty),
                       ("avg_fill_price", avg_fill_price), ("price", price), ("qty", qty), ("error", error)):
            if v is not None:
                values[key] = v
        try:
            with self.engine.begin() as conn:
                row = conn.execute(select(_orders.c.id, _orders.c.fills).where(_orders.c.client_oid == client_oid)).first()
                if row is None:
                    return False
                if fill is not None:
                    fills = list(row.fills or [])
                    if all(f.get("fill_id") != fill.get("fill_id") for f in fills):
                        values["fills"] = [*fills, dict(fill)]
                conn.execute(update(_orders).where(_orders.c.id == row.id).values(**values))
                return True
        except SQLAlchemyError as exc:
            raise DataError(f"order journal: updating order {client_oid} failed: {getattr(exc, 'orig', None) or exc}") from exc

    # -- reads ---------------------------------------------------------------------------------------
    def get(self, client_oid: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(_orders).where(_orders.c.client_oid == client_oid)).first()
        return None if row is None else dict(row._mapping)

    def by_exchange_id(self, exchange_order_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(_orders).where(_orders.c.exchange_order_id == exchange_order_id)).first()
        return None if row is None else dict(row._mapping)

    def orders(self, *, symbol: str | None = None, runner_id: str | None = None,
               statuses: Iterable[str] | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """Newest first."""
        q = select(_orders)
        if symbol is not None:
            q = q.where(_orders.c.symbol == symbol)
        if runner_id is not None:
            q = q.where(_orders.c.runner_id == runner_id)
        if statuses is not None:
            q = q.where(_orders.c.status.in_(list(statuses)))
        q = q.order_by(_orders.c.id.desc()).limit(int(limit))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def fills(self, symbol: str | None = None) -> list[dict[str, Any]]:
        """Every journalled fill, oldest order first, each with its order's id, side and reduce-only flag."""
        q = select(_orders.c.client_oid, _orders.c.symbol, _orders.c.runner_id, _orders.c.side,
                   _orders.c.reduce_only, _orders.c.fills).order_by(_orders.c.id)
        if symbol is not None:
            q = q.where(_orders.c.symbol == symbol)
        out = []
        with self.engine.connect() as conn:
            for r in conn.execute(q):
                for f in r.fills or []:
                    out.append({**f, "client_oid": r.client_oid, "symbol": r.symbol, "runner_id": r.runner_id,
                                "side": r.side, "reduce_only": r.reduce_only})
        return out


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise ValueError(f"order journal: unknown status {status!r}; expected one of {', '.join(STATUSES)}")
