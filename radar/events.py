"""Messages between runners, the executor and the state store: small, frozen, sequence-numbered.

The same types are produced by a runner inside a backtest and inside a Ray actor, so what a
backtest records is exactly what paper/live trading would send to the executor.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any


class EventKind(str, Enum):
    OPEN = "open"
    CLOSE = "close"
    KILL_SWITCH = "kill_switch"


@dataclass(frozen=True, slots=True)
class TradeResult:
    """One closed trade: a whole grid cycle (all levels closed together) or one single position.

    `net` = gross - fees - slippage (SPEC §5); funding is charged to capital when it settles and is
    reported here for information, not subtracted again.
    """

    runner_id: str
    strategy: str
    symbol: str
    side: int  # +1 long, -1 short
    entry_ts: int
    exit_ts: int
    entry_price: float  # quantity-weighted average fill
    exit_price: float
    quantity: float
    positions: int
    gross: float
    fees: float
    slippage: float
    funding: float
    net: float
    return_frac: float  # net / capital after the margin came back (SPEC §5)
    reason: str  # tp | sl | trail | signal | flip | end_of_data | ...
    end_of_data: bool = False
    seq: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class TradeEvent:
    """What a runner tells the executor and the state store. `seq` is per runner, strictly increasing."""

    runner_id: str
    seq: int
    kind: EventKind
    strategy: str
    symbol: str
    timestamp: int  # candle open time that produced the decision
    side: int = 0
    price: float = 0.0
    quantity: float = 0.0
    level: int = -1
    reason: str = ""
    trade: TradeResult | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["kind"] = self.kind.value
        return d
