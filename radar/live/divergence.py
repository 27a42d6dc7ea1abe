"""Paper vs live divergence: for the same candles, what the runner's model filled (its `position_events`,
the "paper" fills every runner journals, live or not) against what the exchange filled (`live_orders`).

Pairing, per (runner, symbol, open/close, position side):
1. by client order id: the executor's ids are a function of the event (`radar.live.orders.client_order_id`:
   runner, seq, candle time, purpose), so a live order whose id is the entry/close id of a paper event is
   its fill;
2. the rest by time, in order: the first unpaired live fill between the paper event's candle open (a stop
   that fired on the exchange fills inside the candle) and its decision time + `max_delay_ms`.

Per pair, with the paper fill as the reference:
- slippage (bps) = (live - paper) / paper * 10,000 for buys, the opposite for sells: positive = live worse;
- delay (ms) = live first fill - paper decision time (the close of the deciding candle: the runner learns a
  candle only once it closed, so `decision_delay_ms` is the strategy's timeframe; 0 = the candle open);
- fee difference = live fees - paper fees (paper: taker fee on notional, as the runner charges entries);
- quantity difference = live - paper.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Engine, Table, select

from radar.data.schema import LiveOrderRow, PositionEventRow

PLAN_ORDER_TYPES = ("stop_loss", "take_profit")  # plan rows: their fills are the order the plan placed
DEFAULT_TAKER_FEE = 0.0006
DEFAULT_MAX_DELAY_MS = 3_600_000

_events: Table = PositionEventRow.__table__  # type: ignore[assignment]
_orders: Table = LiveOrderRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Fill:
    source: str  # paper | live
    ref: str  # paper: event id (runner#seq); live: client order id
    runner_id: str | None
    symbol: str
    action: str  # open | close
    side: int  # the position's side: +1 long, -1 short
    price: float
    qty: float
    fee: float
    time_ms: int  # paper: decision time; live: first fill
    candle_ms: int | None = None  # paper: the open of the candle that produced it
    seq: int | None = None  # paper: the runner's event seq
    reason: str = ""

    @property
    def buys(self) -> bool:
        return (self.action == "open") == (self.side > 0)


@dataclass(frozen=True, slots=True)
class FillPair:
    paper: Fill
    live: Fill
    matched_by: str  # client_oid | time

    @property
    def slippage_bps(self) -> float:
        sign = 1.0 if self.paper.buys else -1.0
        return sign * (self.live.price - self.paper.price) / self.paper.price * 10_000.0

    @property
    def delay_ms(self) -> int:
        return self.live.time_ms - self.paper.time_ms

    @property
    def fee_diff(self) -> float:
        return self.live.fee - self.paper.fee

    @property
    def qty_diff(self) -> float:
        return self.live.qty - self.paper.qty

    def to_dict(self) -> dict[str, Any]:
        p, lv = self.paper, self.live
        return {"runner_id": p.runner_id, "symbol": p.symbol, "action": p.action, "side": p.side,
                "paper_ref": p.ref, "live_ref": lv.ref, "matched_by": self.matched_by, "reason": p.reason,
                "paper_time_ms": p.time_ms, "live_time_ms": lv.time_ms, "paper_price": p.price, "live_price": lv.price,
                "paper_qty": p.qty, "live_qty": lv.qty, "paper_fee": p.fee, "live_fee": lv.fee,
                "slippage_bps": self.slippage_bps, "delay_ms": self.delay_ms, "fee_diff": self.fee_diff,
                "qty_diff": self.qty_diff}


def _stats(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"mean": None, "p50": None, "p95": None, "max": None}
    a = np.asarray(values, dtype=float)
    return {"mean": float(a.mean()), "p50": float(np.percentile(a, 50)), "p95": float(np.percentile(a, 95)),
            "max": float(a.max())}


@dataclass(frozen=True, slots=True)
class DivergenceReport:
    pairs: list[FillPair]
    paper_only: list[Fill]
    live_only: list[Fill]
    notes: list[str] = field(default_factory=list)
    unfilled: dict[str, str] = field(default_factory=dict)  # paper ref -> its live order's status (refused, ...)

    def summary(self) -> dict[str, Any]:
        by_runner: dict[str, list[FillPair]] = {}
        for p in self.pairs:
            by_runner.setdefault(str(p.paper.runner_id), []).append(p)
        return {
            "pairs": len(self.pairs),
            "matched_by_client_oid": sum(p.matched_by == "client_oid" for p in self.pairs),
            "slippage_bps": _stats([p.slippage_bps for p in self.pairs]),
            "delay_ms": _stats([p.delay_ms for p in self.pairs]),
            "fee_diff_total": float(sum(p.fee_diff for p in self.pairs)),
            "paper_only": len(self.paper_only),
            "live_only": len(self.live_only),
            "by_runner": {rid: {"pairs": len(ps), "mean_slippage_bps": _stats([p.slippage_bps for p in ps])["mean"],
                                "mean_delay_ms": _stats([p.delay_ms for p in ps])["mean"],
                                "fee_diff": float(sum(p.fee_diff for p in ps))}
                          for rid, ps in sorted(by_runner.items())},
        }

    def to_dict(self) -> dict[str, Any]:
        return {"summary": self.summary(), "pairs": [p.to_dict() for p in self.pairs],
                "paper_only": [asdict(f) | {"live_status": self.unfilled.get(f.ref)} for f in self.paper_only],
                "live_only": [asdict(f) for f in self.live_only],
                "notes": list(self.notes)}


# ---------------------------------------------------------------- reading the journals
def _where(q: Any, table: Table, time_col: str, since_ms: int | None, runner_id: str | None, symbol: str | None) -> Any:
    if since_ms is not None:
        q = q.where(table.c[time_col] >= since_ms)
    if runner_id is not None:
        q = q.where(table.c.runner_id == runner_id)
    if symbol is not None:
        q = q.where(table.c.symbol == symbol)
    return q


def load_paper_fills(engine: Engine, *, since_ms: int | None = None, runner_id: str | None = None,
                     symbol: str | None = None, decision_delay_ms: int | Callable[[str, str], int] = 0,
                     taker_fee: float = DEFAULT_TAKER_FEE) -> list[Fill]:
    """The runners' open/close events as fills. `decision_delay_ms`: per (strategy, symbol), ms from the
    candle open to the runner's decision (its timeframe)."""
    delay = decision_delay_ms if callable(decision_delay_ms) else (lambda _s, _y: int(decision_delay_ms))
    q = _where(select(_events).where(_events.c.kind.in_(("open", "close"))), _events, "timestamp", since_ms,
               runner_id, symbol).order_by(_events.c.timestamp, _events.c.id)
    out = []
    with engine.connect() as conn:
        for r in conn.execute(q):
            payload = r.payload or {}
            seq = r.event_id.rpartition("#")[2]
            out.append(Fill("paper", r.event_id, r.runner_id, r.symbol, r.kind, 1 if r.side == "long" else -1,
                            float(r.price), float(r.qty), float(r.price) * float(r.qty) * taker_fee,
                            int(r.timestamp) + int(delay(r.strategy, r.symbol)), int(r.timestamp),
                            int(seq) if seq.isdigit() else None, str(payload.get("reason") or "")))
    return out


def _fee(value: Any) -> float:
    if isinstance(value, dict):
        value = value.get("cost")
    return abs(float(value)) if value not in (None, "") else 0.0


def load_live_fills(engine: Engine, *, since_ms: int | None = None, runner_id: str | None = None,
                    symbol: str | None = None) -> list[Fill]:
    """Exchange orders that filled (any part), as fills: price = average fill price, fee = the fills' fees,
    time = the first fill's time (the row's last update when it lists no fills). Plan rows are skipped."""
    q = _where(select(_orders).where(_orders.c.filled_qty > 0, _orders.c.order_type.not_in(PLAN_ORDER_TYPES)),
               _orders, "created_at", since_ms, runner_id, symbol).order_by(_orders.c.created_at, _orders.c.id)
    out = []
    with engine.connect() as conn:
        for r in conn.execute(q):
            fills = [f for f in (r.fills or []) if isinstance(f, dict)]
            times = [int(f.get("timestamp", f.get("ts"))) for f in fills if f.get("timestamp", f.get("ts")) is not None]
            price = r.avg_fill_price
            if price is None:
                qty = sum(float(f.get("qty", f.get("amount")) or 0) for f in fills)
                price = sum(float(f["price"]) * float(f.get("qty", f.get("amount")) or 0) for f in fills) / qty if qty else None
            if price is None:
                continue  # a fill without any price cannot be compared
            action = "close" if r.reduce_only else "open"
            buy = r.side == "buy"
            side = (1 if buy else -1) if action == "open" else (-1 if buy else 1)
            out.append(Fill("live", r.client_oid, r.runner_id, r.symbol, action, side, float(price), float(r.filled_qty),
                            sum(_fee(f.get("fee")) for f in fills), min(times) if times else int(r.updated_at)))
    return out


def load_unfilled_orders(engine: Engine, *, since_ms: int | None = None) -> dict[str, str]:
    """client order id -> "status: error" of orders that filled nothing (refused, rejected, cancelled, ...)."""
    q = select(_orders.c.client_oid, _orders.c.status, _orders.c.error).where(_orders.c.filled_qty <= 0)
    if since_ms is not None:
        q = q.where(_orders.c.created_at >= since_ms)
    with engine.connect() as conn:
        return {cid: f"{status}: {error}" if error else str(status) for cid, status, error in conn.execute(q)}


# ---------------------------------------------------------------- pairing
def _client_oids(p: Fill) -> set[str]:
    """The ids the executor gives the orders of this paper event (empty if its module is not available)."""
    try:
        from radar.live.orders import Purpose, client_order_id
    except ImportError:
        return set()
    if p.runner_id is None or p.seq is None or p.candle_ms is None:
        return set()
    purpose = Purpose.ENTRY if p.action == "open" else Purpose.CLOSE
    try:
        return {client_order_id(p.runner_id, p.seq, p.candle_ms, purpose)}
    except ValueError:
        return set()


def pair_fills(paper: Iterable[Fill], live: Iterable[Fill], *, max_delay_ms: int = DEFAULT_MAX_DELAY_MS,
               unfilled_orders: dict[str, str] | None = None) -> DivergenceReport:
    """`unfilled_orders`: client order id -> status of live orders that never filled (`load_unfilled_orders`),
    to say why a paper fill has no live twin."""
    paper = sorted(paper, key=lambda f: (f.time_ms, f.seq or 0))
    live = sorted(live, key=lambda f: f.time_ms)
    by_ref = {f.ref: f for f in live}
    used: set[str] = set()
    pairs: list[FillPair] = []
    rest: list[Fill] = []
    for p in paper:
        hit = next((by_ref[c] for c in _client_oids(p) if c in by_ref and c not in used), None)
        if hit is not None:
            used.add(hit.ref)
            pairs.append(FillPair(p, hit, "client_oid"))
        else:
            rest.append(p)
    paper_only: list[Fill] = []
    for p in rest:
        start = p.candle_ms if p.candle_ms is not None else p.time_ms
        hit = next((lv for lv in live if lv.ref not in used and lv.runner_id == p.runner_id and lv.symbol == p.symbol
                    and lv.action == p.action and lv.side == p.side
                    and start <= lv.time_ms <= p.time_ms + max_delay_ms), None)
        if hit is None:
            paper_only.append(p)
        else:
            used.add(hit.ref)
            pairs.append(FillPair(p, hit, "time"))
    pairs.sort(key=lambda fp: (fp.paper.time_ms, fp.paper.seq or 0))
    unfilled = unfilled_orders or {}
    why = {p.ref: unfilled[c] for p in paper_only for c in _client_oids(p) if c in unfilled}
    return DivergenceReport(pairs, paper_only, [lv for lv in live if lv.ref not in used], unfilled=why)


def divergence_report(engine: Engine, *, since_ms: int | None = None, runner_id: str | None = None,
                      symbol: str | None = None, decision_delay_ms: int | Callable[[str, str], int] = 0,
                      taker_fee: float = DEFAULT_TAKER_FEE, max_delay_ms: int = DEFAULT_MAX_DELAY_MS) -> DivergenceReport:
    """Read both journals from `engine` and pair them (see the module docstring)."""
    from radar.data.schema import Base

    Base.metadata.create_all(engine, tables=[_events, _orders])  # an empty database reports nothing, not an error
    paper = load_paper_fills(engine, since_ms=since_ms, runner_id=runner_id, symbol=symbol,
                             decision_delay_ms=decision_delay_ms, taker_fee=taker_fee)
    live = load_live_fills(engine, since_ms=since_ms, runner_id=runner_id, symbol=symbol)
    return pair_fills(paper, live, max_delay_ms=max_delay_ms,
                      unfilled_orders=load_unfilled_orders(engine, since_ms=since_ms))
