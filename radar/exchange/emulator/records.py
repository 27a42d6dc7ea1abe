"""The records of the emulated trading account: orders, plan orders, positions, fills, balances,
the events the account emits, and the error it refuses with (Bitget's code and wording).

All frozen: the account replaces a record on every change, so any record handed out is a snapshot.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Union

Side = Literal["buy", "sell"]
HoldSide = Literal["long", "short"]
MarginMode = Literal["crossed", "isolated"]
OrderKind = Literal["market", "limit"]
Force = Literal["gtc", "ioc", "fok", "post_only"]
OrderStatus = Literal["live", "partially_filled", "filled", "cancelled"]
TriggerStatus = Literal["live", "executed", "cancelled", "fail_execute"]
PlanType = Literal["normal_plan", "pos_loss", "pos_profit", "loss_plan", "profit_plan"]

MARGIN_MODES: tuple[str, ...] = ("crossed", "isolated")
FORCES: tuple[str, ...] = ("gtc", "ioc", "fok", "post_only")
TPSL_PLAN_TYPES: tuple[str, ...] = ("pos_loss", "pos_profit", "loss_plan", "profit_plan")
PLAN_TYPES: tuple[str, ...] = ("normal_plan", *TPSL_PLAN_TYPES)
TRIGGER_TYPES: tuple[str, ...] = ("mark_price", "fill_price", "index_price")
MAX_CLIENT_OID_LEN = 50
QTY_DECIMALS = 12  # stored quantities are rounded to this many decimals so sums do not drift


class TradingError(Exception):
    """A refusal worded the way Bitget words it: `code` and `msg` go into the error envelope."""

    def __init__(self, code: str, msg: str, http_status: int = 400) -> None:
        super().__init__(f"{code} {msg}")
        self.code, self.msg, self.http_status = code, msg, http_status


@dataclass(frozen=True)
class SymbolSettings:
    leverage: int
    margin_mode: MarginMode


@dataclass(frozen=True)
class Order:
    order_id: str
    client_oid: str
    symbol: str
    side: Side
    order_type: OrderKind
    size: float
    price: float | None  # limit price; None for market orders
    reduce_only: bool
    margin_mode: MarginMode
    leverage: int
    force: Force
    created_ms: int
    updated_ms: int
    freeze_price: float  # the price its frozen margin is computed at (limit price, or the mark when placed)
    status: OrderStatus = "live"
    filled: float = 0.0
    filled_value: float = 0.0  # sum of qty * price over its fills
    fee: float = 0.0  # fees paid (a positive cost)
    profit: float = 0.0  # realised PnL of the part that closed a position (before fees)
    source: str = "normal"  # Bitget's orderSource: normal, market, pos_loss_market, ...
    crossed: bool = False  # a resting limit the price reached while fills were delayed

    @property
    def remaining(self) -> float:
        return max(0.0, round(self.size - self.filled, QTY_DECIMALS))

    @property
    def is_open(self) -> bool:
        return self.status in ("live", "partially_filled")

    @property
    def avg_price(self) -> float:
        return self.filled_value / self.filled if self.filled > 0 else 0.0


@dataclass(frozen=True)
class TriggerOrder:
    """A plan order: when the mark crosses `trigger_price` it places a market (or limit) order."""

    order_id: str
    client_oid: str
    symbol: str
    plan_type: PlanType
    side: Side  # side of the order it places
    size: float  # for pos_loss / pos_profit: ignored, the whole position closes
    trigger_price: float
    trigger_type: str
    execute_price: float | None  # None: a market order
    reduce_only: bool
    margin_mode: MarginMode
    hold_side: HoldSide | None  # the position a TP/SL protects
    direction: Literal["up", "down"]  # fires when the mark >= (up) or <= (down) the trigger price
    created_ms: int
    updated_ms: int
    status: TriggerStatus = "live"
    executed_order_id: str = ""
    triggered_ms: int = 0

    @property
    def is_live(self) -> bool:
        return self.status == "live"

    @property
    def order_type(self) -> OrderKind:
        return "market" if self.execute_price is None else "limit"


@dataclass(frozen=True)
class Position:
    pos_id: str
    symbol: str
    side: HoldSide
    size: float
    entry_price: float
    margin_mode: MarginMode
    leverage: int
    opened_ms: int
    updated_ms: int
    achieved_profits: float = 0.0  # realised PnL of its partial closes (before fees)

    @property
    def margin(self) -> float:
        return self.size * self.entry_price / self.leverage


@dataclass(frozen=True)
class Fill:
    trade_id: str
    order_id: str
    symbol: str
    side: Side
    order_type: OrderKind
    price: float
    qty: float
    fee: float  # a positive cost
    profit: float  # realised PnL of the closing part (before fees)
    scope: Literal["maker", "taker"]
    reduce_only: bool
    ts: int


@dataclass(frozen=True)
class PositionView:
    """A position valued at the current mark."""

    position: Position
    mark: float
    unrealized_pnl: float
    open_delegate_size: float  # size of open orders that would add to it
    locked: float  # size held by open reduce-only orders


@dataclass(frozen=True)
class Balance:
    cash: float  # wallet balance: starting balance + realised PnL - fees
    equity: float
    unrealized_pnl: float
    cross_unrealized_pnl: float
    isolated_unrealized_pnl: float
    position_margin: float
    frozen: float  # margin held by open orders
    available: float  # free for new positions (never below 0)


@dataclass(frozen=True)
class OrderEvent:
    order: Order
    fill: Fill | None = None


@dataclass(frozen=True)
class TriggerEvent:
    trigger: TriggerOrder


@dataclass(frozen=True)
class PositionEvent:
    symbol: str


@dataclass(frozen=True)
class BalanceEvent:
    pass


AccountEvent = Union[OrderEvent, TriggerEvent, PositionEvent, BalanceEvent]


def hold_side_of(side: Side) -> HoldSide:
    """The position an opening order of this side builds."""
    return "long" if side == "buy" else "short"


def close_side_of(hold: HoldSide) -> Side:
    return "sell" if hold == "long" else "buy"


