"""PaperExecutor: the executor of paper trading. Each OPEN/CLOSE trade event becomes a simulated fill at the
runner's own fill price (slippage already applied by the runner), with the fees the runner charged, and
paper positions are kept per (runner, symbol).

Idempotent by (runner_id, event seq): runner seqs are strictly increasing, so a per-runner high-water mark
recognises a re-delivered event (after a crash the runners replay events from their last saved state).
"""
from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, replace
from typing import Any

from radar.errors import RadarError
from radar.events import EventKind, TradeEvent
from radar.positions.costs import CostModel

PAPER_STATE_VERSION = 1
RECENT_FILLS = 500
_QTY_EPS = 1e-12


@dataclass(frozen=True, slots=True)
class PaperFill:
    fill_id: str  # runner_id#seq
    runner_id: str
    symbol: str
    kind: str  # open | close
    side: int  # side of the position (+1 long, -1 short)
    price: float
    quantity: float
    fee: float
    timestamp: int
    realized: float = 0.0  # net PnL of a close (from the runner's trade)
    reason: str = ""


@dataclass(frozen=True, slots=True)
class PaperPosition:
    runner_id: str
    symbol: str
    side: int
    quantity: float
    avg_entry: float
    entry_fees: float
    opened_ts: int

    def unrealized(self, price: float) -> float:
        return self.side * (price - self.avg_entry) * self.quantity


class PaperExecutor:
    def __init__(self, costs: CostModel | None = None) -> None:
        self.costs = costs or CostModel()
        self.positions: dict[tuple[str, str], PaperPosition] = {}
        self.last_seq: dict[str, int] = {}
        self.realized: dict[str, float] = {}
        self.fees_paid = 0.0
        self.fills_count = 0
        self.duplicates = 0
        self.mismatches = 0  # closes of more than the paper book holds (state restored from different saves)
        self.recent: deque[PaperFill] = deque(maxlen=RECENT_FILLS)

    def on_event(self, event: TradeEvent) -> PaperFill | None:
        """Apply one event; None for a re-delivery or an event that is not a fill (kill switch)."""
        if event.seq <= self.last_seq.get(event.runner_id, 0):
            self.duplicates += 1
            return None
        self.last_seq[event.runner_id] = event.seq
        if event.kind is EventKind.OPEN:
            fill = self._open(event)
        elif event.kind is EventKind.CLOSE:
            fill = self._close(event)
        else:
            return None
        self.fills_count += 1
        self.fees_paid += fill.fee
        self.recent.append(fill)
        return fill

    def _open(self, e: TradeEvent) -> PaperFill:
        # Entries are market/taker fills in the runner (SPEC §5); the fee matches its entry_fee.
        fee = e.price * e.quantity * self.costs.taker_fee
        key = (e.runner_id, e.symbol)
        pos = self.positions.get(key)
        if pos is None or pos.quantity <= _QTY_EPS:
            self.positions[key] = PaperPosition(e.runner_id, e.symbol, e.side, e.quantity, e.price, fee, e.timestamp)
        elif pos.side != e.side:
            self.mismatches += 1  # a one-way account cannot add the other side: replace, as the runner did
            self.positions[key] = PaperPosition(e.runner_id, e.symbol, e.side, e.quantity, e.price, fee, e.timestamp)
        else:
            qty = pos.quantity + e.quantity
            avg = (pos.avg_entry * pos.quantity + e.price * e.quantity) / qty
            self.positions[key] = replace(pos, quantity=qty, avg_entry=avg, entry_fees=pos.entry_fees + fee)
        return PaperFill(f"{e.runner_id}#{e.seq}", e.runner_id, e.symbol, "open", e.side, e.price, e.quantity, fee,
                         e.timestamp, reason=e.reason)

    def _close(self, e: TradeEvent) -> PaperFill:
        key = (e.runner_id, e.symbol)
        pos = self.positions.get(key)
        qty = e.quantity
        entry_fees = 0.0
        if pos is None or pos.quantity + _QTY_EPS < qty:
            self.mismatches += 1
        if pos is not None:
            closed = min(qty, pos.quantity)
            entry_fees = pos.entry_fees * closed / pos.quantity if pos.quantity > 0 else 0.0
            left = pos.quantity - closed
            if left <= _QTY_EPS * max(1.0, pos.quantity):
                del self.positions[key]
            else:
                self.positions[key] = replace(pos, quantity=left, entry_fees=pos.entry_fees - entry_fees)
        trade = e.trade
        if trade is not None:
            # The trade's fees cover entry + exit; the exit fee is what is left after the entries' share.
            fee = max(trade.fees - entry_fees, 0.0) if pos is not None else trade.fees
            realized = trade.net
        else:
            fee = e.price * qty * self.costs.taker_fee
            realized = 0.0
        self.realized[e.runner_id] = self.realized.get(e.runner_id, 0.0) + realized
        return PaperFill(f"{e.runner_id}#{e.seq}", e.runner_id, e.symbol, "close", e.side, e.price, qty, fee,
                         e.timestamp, realized, e.reason)

    # -- views ---------------------------------------------------------------------------------------
    def open_positions(self) -> list[PaperPosition]:
        return sorted(self.positions.values(), key=lambda p: (p.runner_id, p.symbol))

    def unrealized(self, prices: dict[str, float]) -> float:
        return sum(p.unrealized(prices[p.symbol]) for p in self.positions.values() if p.symbol in prices)

    # -- persistence ---------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {
            "version": PAPER_STATE_VERSION,
            "positions": [asdict(p) for p in self.open_positions()],
            "last_seq": dict(self.last_seq),
            "realized": dict(self.realized),
            "fees_paid": self.fees_paid,
            "fills_count": self.fills_count,
            "duplicates": self.duplicates,
            "mismatches": self.mismatches,
        }

    def restore(self, state: dict[str, Any]) -> None:
        if state.get("version") != PAPER_STATE_VERSION:
            raise RadarError(f"paper executor: saved state version {state.get('version')!r} is not supported "
                             f"(expected {PAPER_STATE_VERSION})")
        self.positions = {(p["runner_id"], p["symbol"]): PaperPosition(**p) for p in state["positions"]}
        self.last_seq = {k: int(v) for k, v in state["last_seq"].items()}
        self.realized = {k: float(v) for k, v in state["realized"].items()}
        self.fees_paid = float(state["fees_paid"])
        self.fills_count = int(state["fills_count"])
        self.duplicates = int(state.get("duplicates", 0))
        self.mismatches = int(state.get("mismatches", 0))
        self.recent.clear()
