"""One position per symbol with its own TP and SL (server-side orders in live).

Exit costs: a TP is a resting limit order -> maker fee, no slippage; a stop or a signal exit is a
market order -> taker fee plus slippage (and a stop fills with the gap model of SPEC §5).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from radar.positions.costs import CostModel


@dataclass(frozen=True, slots=True)
class SinglePosition:
    side: int
    entry_price: float
    quantity: float
    margin: float
    entry_fee: float
    entry_ts: int
    entry_index: int
    tp_price: float = math.nan
    sl_price: float = math.nan
    funding: float = 0.0

    @property
    def notional(self) -> float:
        return self.entry_price * self.quantity


@dataclass(frozen=True, slots=True)
class SingleClose:
    position: SinglePosition
    exit_price: float
    gross: float
    exit_fee: float
    slippage: float
    net: float


class PositionManager:
    def __init__(self, costs: CostModel) -> None:
        self.costs = costs
        self.position: SinglePosition | None = None

    def open(self, side: int, fill_price: float, margin: float, leverage: float, ts: int, index: int,
             tp: float, sl: float) -> SinglePosition:
        notional = margin * leverage
        self.position = SinglePosition(side, fill_price, notional / fill_price, margin,
                                       notional * self.costs.taker_fee, ts, index, tp, sl)
        return self.position

    def set_stops(self, tp: float, sl: float) -> None:
        assert self.position is not None
        self.position = replace(self.position, tp_price=tp, sl_price=sl)

    def charge_funding(self, rate: float) -> float:
        p = self.position
        if p is None:
            return 0.0
        cost = rate * p.notional * p.side
        self.position = replace(p, funding=p.funding + cost)
        return cost

    def close(self, exit_price: float, reason: str) -> SingleClose:
        p = self.position
        assert p is not None
        gross = (exit_price - p.entry_price) * p.quantity * p.side
        if reason == "tp":
            fee, slip = p.quantity * exit_price * self.costs.maker_fee, 0.0
        else:
            fee = p.quantity * exit_price * self.costs.taker_fee
            slip = p.quantity * exit_price * self.costs.slippage
        self.position = None
        return SingleClose(p, exit_price, gross, fee, slip, gross - p.entry_fee - fee - slip)

    def unrealized(self, price: float) -> float:
        p = self.position
        return 0.0 if p is None else (price - p.entry_price) * p.quantity * p.side

    def to_state(self) -> dict[str, Any] | None:
        if self.position is None:
            return None
        return {k: ("nan" if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self.position).items()}

    def load_state(self, state: dict[str, Any] | None) -> None:
        self.position = None if state is None else SinglePosition(
            **{k: (math.nan if v == "nan" else v) for k, v in state.items()})
