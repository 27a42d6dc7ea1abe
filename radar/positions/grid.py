"""Grid positions: several levels on one side, one quantity-weighted average entry, closed together.

Capital accounting lives in the runner; this manager only holds the open positions and turns a
close into per-position PnL (SPEC §5: gross - entry fee - exit taker fee - exit slippage).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from radar.positions.costs import CostModel


@dataclass(frozen=True, slots=True)
class GridPosition:
    level: int
    side: int
    entry_price: float  # fill price, slippage included
    quantity: float
    margin: float
    entry_fee: float
    entry_ts: int
    entry_index: int
    funding: float = 0.0  # funding paid while open (positive = cost)

    @property
    def notional(self) -> float:
        return self.entry_price * self.quantity


@dataclass(frozen=True, slots=True)
class ClosedLeg:
    position: GridPosition
    exit_price: float
    gross: float
    exit_fee: float
    slippage: float
    net: float


class GridPositionManager:
    def __init__(self, costs: CostModel) -> None:
        self.costs = costs
        self.positions: list[GridPosition] = []

    # -- views -------------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return bool(self.positions)

    @property
    def side(self) -> int:
        return self.positions[0].side if self.positions else 0

    def filled_levels(self) -> set[int]:
        return {p.level for p in self.positions}

    def total_quantity(self) -> float:
        return sum(p.quantity for p in self.positions)

    def avg_entry(self) -> float:
        qty = 0.0
        cost = 0.0
        for p in self.positions:
            qty += p.quantity
            cost += p.entry_price * p.quantity
        return cost / qty

    def used_margin(self) -> float:
        return sum(p.margin for p in self.positions)

    def notional(self) -> float:
        return sum(p.notional for p in self.positions)

    def unrealized(self, price: float) -> float:
        return sum((price - p.entry_price) * p.quantity * p.side for p in self.positions)

    # -- mutations ---------------------------------------------------------------------------
    def open(self, level: int, side: int, fill_price: float, margin: float, leverage: float, ts: int, index: int) -> GridPosition:
        notional = margin * leverage
        pos = GridPosition(
            level=level, side=side, entry_price=fill_price, quantity=notional / fill_price, margin=margin,
            entry_fee=notional * self.costs.taker_fee, entry_ts=ts, entry_index=index,
        )
        self.positions.append(pos)
        return pos

    def charge_funding(self, rate: float) -> float:
        """Funding for every open position: rate * entry notional * direction (SPEC §5). Returns the cost."""
        total = 0.0
        updated = []
        for p in self.positions:
            cost = rate * p.notional * p.side
            total += cost
            updated.append(_replace_funding(p, p.funding + cost))
        self.positions = updated
        return total

    def close_legs(self, exit_price: float, positions: list[GridPosition] | None = None) -> list[ClosedLeg]:
        """PnL of closing `positions` (default all) at `exit_price`; removes them from the book."""
        closing = self.positions if positions is None else positions
        legs = []
        for p in closing:
            gross = (exit_price - p.entry_price) * p.quantity * p.side
            exit_fee = p.quantity * exit_price * self.costs.taker_fee
            slip = p.quantity * exit_price * self.costs.slippage
            legs.append(ClosedLeg(p, exit_price, gross, exit_fee, slip, gross - p.entry_fee - exit_fee - slip))
        ids = {id(p) for p in closing}
        self.positions = [p for p in self.positions if id(p) not in ids]
        return legs

    # -- persistence -------------------------------------------------------------------------
    def to_state(self) -> list[dict[str, Any]]:
        return [asdict(p) for p in self.positions]

    def load_state(self, state: list[dict[str, Any]]) -> None:
        self.positions = [GridPosition(**d) for d in state]


def _replace_funding(p: GridPosition, funding: float) -> GridPosition:
    return GridPosition(p.level, p.side, p.entry_price, p.quantity, p.margin, p.entry_fee, p.entry_ts, p.entry_index, funding)
