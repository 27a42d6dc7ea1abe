"""Pure helpers of the live executor: client order ids, contract rules (size and price rounding), order
intents from trade events, stop-loss prices and the one-way collision rule. No I/O, no clock.

Choices (SPEC §9 leaves them to the executor):
- **Entries are market orders.** A grid runner decides on a *closed* candle that a level was touched
  during it; by then the price has usually left the level, so a limit at the level would often never
  fill and the exchange would drift from the runner's book. A market order fills now at the taker fee
  the runner already charges (SPEC §5: entry fee = taker fee on notional).
- **Client order ids** are `rs-<8 hex of the runner id>-<event seq>-<event time base 36>-<purpose>`:
  a function of the event alone, so the same event always maps to the same id (a retried call, a
  Ray task retry or a restart re-sends the same id and Bitget refuses a second order with 40786),
  while a runner that restarted from scratch (seq from 1 again) still gets new ids, because its
  candle times differ. At most 50 characters (Bitget's limit).
- **One-way collision rule:** Bitget nets one position per symbol, so a symbol belongs to the runner
  that opened the position on it until that position is flat. Another runner's entry on it is
  refused (`symbol_busy`, the risk manager's rule) and reported as a collision; it is never netted.
  The refused runner's later entries of the same cycle are skipped too, until its own CLOSE, so it
  never ends up holding part of a grid.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import Enum
from typing import Any

from radar.events import EventKind, TradeEvent

MAX_CLIENT_OID = 50
DEFAULT_MIN_NOTIONAL = 5.0  # USDT, Bitget's minimum order value on USDT-M perpetuals
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


class Purpose(str, Enum):
    ENTRY = "e"
    CLOSE = "c"  # market reduce-only close (grid TP, rule exits)
    STOP_LOSS = "sl"
    TAKE_PROFIT = "tp"


class OrderSizeError(ValueError):
    """An order that cannot be sent as asked (below the contract's minimum size or value)."""


def _base36(n: int) -> str:
    if n < 0:
        raise ValueError(f"base36: expected a non-negative integer, got {n}")
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = _B36[r] + out
        if n == 0:
            return out


def runner_tag(runner_id: str) -> str:
    """8 hex characters that stand for the runner in its client order ids."""
    if not runner_id:
        raise ValueError("client order id: runner id must be a non-empty string")
    return hashlib.sha1(runner_id.encode("utf-8")).hexdigest()[:8]


def client_order_id(runner_id: str, seq: int, timestamp: int, purpose: Purpose, n: int = 0) -> str:
    """The deterministic client order id of `purpose` for the event (runner_id, seq, timestamp). `n` > 0 numbers
    a re-creation (a stop-loss placed again after the exchange lost the previous one)."""
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise ValueError(f"client order id of {runner_id}: seq must be an integer >= 0, got {seq!r}")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
        raise ValueError(f"client order id of {runner_id}: timestamp must be epoch ms >= 0, got {timestamp!r}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"client order id of {runner_id}: n must be an integer >= 0, got {n!r}")
    cid = f"rs-{runner_tag(runner_id)}-{seq}-{_base36(timestamp)}-{Purpose(purpose).value}{n or ''}"
    if len(cid) > MAX_CLIENT_OID:
        raise ValueError(f"client order id {cid!r} is longer than {MAX_CLIENT_OID} characters")
    return cid


def is_ours(client_oid: str | None) -> bool:
    return bool(client_oid) and str(client_oid).startswith("rs-")


# ---------------------------------------------------------------------------------------------------- contracts
@dataclass(frozen=True, slots=True)
class ContractRules:
    """What an order on one contract must respect: quantity step and minimum, price tick, minimum value."""

    symbol: str
    qty_step: float
    min_qty: float
    price_tick: float
    min_notional: float = DEFAULT_MIN_NOTIONAL

    def __post_init__(self) -> None:
        for name in ("qty_step", "price_tick"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"contract rules of {self.symbol}: {name} must be > 0, got {v!r}")
        for name in ("min_qty", "min_notional"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"contract rules of {self.symbol}: {name} must be >= 0, got {v!r}")

    @classmethod
    def from_ccxt_market(cls, market: dict[str, Any]) -> ContractRules:
        """From a ccxt market (`client.market(symbol)`, TICK_SIZE precision mode as ccxt's bitget uses)."""
        symbol = str(market.get("symbol", "?"))
        precision = market.get("precision") or {}
        limits = market.get("limits") or {}
        amount_step = float(precision.get("amount") or 0)
        price_step = float(precision.get("price") or 0)
        if amount_step <= 0 or price_step <= 0:
            raise ValueError(f"{symbol}: the exchange gives no amount/price precision ({precision!r})")
        min_qty = float((limits.get("amount") or {}).get("min") or 0.0)
        min_cost = (limits.get("cost") or {}).get("min")
        return cls(symbol, amount_step, min_qty, price_step,
                   DEFAULT_MIN_NOTIONAL if min_cost is None else float(min_cost))

    def floor_qty(self, qty: float) -> float:
        """`qty` rounded DOWN to the quantity step (never more than the runner asked for)."""
        return _to_step(qty, self.qty_step, ROUND_DOWN)

    def round_price(self, price: float) -> float:
        return _to_step(price, self.price_tick, ROUND_HALF_UP)

    def stop_price(self, price: float, side: int) -> float:
        """A stop price on the tick grid, rounded AWAY from the market: down for a long's stop (below the
        price), up for a short's, so rounding never moves a stop closer to the mark."""
        step = Decimal(repr(self.price_tick))
        units = Decimal(repr(float(price))) / step
        n = units.to_integral_value(rounding=ROUND_FLOOR if side > 0 else ROUND_CEILING)
        return float(n * step)

    def entry_qty(self, qty: float, price: float) -> float:
        """The quantity to send for an entry of `qty` at about `price`; OrderSizeError if it is too small."""
        if not (math.isfinite(qty) and qty > 0):
            raise OrderSizeError(f"{self.symbol}: quantity must be > 0, got {qty!r}")
        if not (math.isfinite(price) and price > 0):
            raise OrderSizeError(f"{self.symbol}: reference price must be > 0, got {price!r}")
        q = self.floor_qty(qty)
        if q <= 0 or q + 1e-12 < self.min_qty:
            raise OrderSizeError(f"{self.symbol}: quantity {qty:g} rounds to {q:g}, below the contract minimum "
                                 f"{self.min_qty:g} (step {self.qty_step:g})")
        if q * price + 1e-9 < self.min_notional:
            raise OrderSizeError(f"{self.symbol}: order value {q * price:,.2f} USDT (qty {q:g} at {price:g}) is below "
                                 f"the minimum {self.min_notional:g} USDT")
        return q


def _to_step(x: float, step: float, rounding: str) -> float:
    if not math.isfinite(x):
        raise ValueError(f"cannot round {x!r} to a step of {step}")
    d_step = Decimal(repr(step))
    n = (Decimal(repr(float(x))) / d_step).quantize(Decimal(1), rounding=rounding)
    return float(n * d_step)


# ---------------------------------------------------------------------------------------------------- intents
def order_side(position_side: int, closing: bool) -> str:
    """ccxt order side of an order that opens (or closes) a position of `position_side`."""
    if position_side not in (1, -1):
        raise ValueError(f"position side must be +1 (long) or -1 (short), got {position_side!r}")
    opening = "buy" if position_side > 0 else "sell"
    return ({"buy": "sell", "sell": "buy"}[opening]) if closing else opening


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """An order the executor is about to send (or refuse). `price` is the runner's reference price."""

    client_oid: str
    runner_id: str
    strategy: str
    symbol: str
    purpose: Purpose
    position_side: int  # +1 long, -1 short: the position the order opens, closes or protects
    side: str  # buy | sell
    order_type: str  # market
    qty: float
    price: float
    reduce_only: bool
    seq: int
    event_ts: int
    level: int = -1
    stop_loss: float | None = None  # single strategies: the runner's stop (grid stops come from the SL rule)
    take_profit: float | None = None

    @property
    def notional(self) -> float:
        return self.qty * self.price


def _finite_extra(event: TradeEvent, key: str) -> float | None:
    v = event.extra.get(key) if event.extra else None
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) and f > 0 else None


def entry_intent(event: TradeEvent, rules: ContractRules) -> OrderIntent:
    """A market entry for an OPEN event (one grid level or a single position). OrderSizeError if too small."""
    if event.kind is not EventKind.OPEN:
        raise ValueError(f"entry intent of {event.runner_id}#{event.seq}: expected an OPEN event, got {event.kind.value}")
    qty = rules.entry_qty(event.quantity, event.price)
    return OrderIntent(client_order_id(event.runner_id, event.seq, event.timestamp, Purpose.ENTRY), event.runner_id,
                       event.strategy, event.symbol, Purpose.ENTRY, event.side, order_side(event.side, False), "market",
                       qty, event.price, False, event.seq, event.timestamp, event.level,
                       _finite_extra(event, "sl"), _finite_extra(event, "tp"))


def close_intent(event: TradeEvent, held_qty: float, rules: ContractRules) -> OrderIntent:
    """A market reduce-only close for a CLOSE event. A close of at least what is held (less one quantity
    step of rounding) closes the whole position; a smaller one (a per-position grid leg) that much."""
    if event.kind is not EventKind.CLOSE:
        raise ValueError(f"close intent of {event.runner_id}#{event.seq}: expected a CLOSE event, got {event.kind.value}")
    if not held_qty > 0:
        raise ValueError(f"close intent of {event.runner_id}#{event.seq}: nothing held on {event.symbol}")
    wanted = rules.floor_qty(event.quantity)
    qty = held_qty if wanted + rules.qty_step >= held_qty else wanted
    if qty <= 0:
        raise OrderSizeError(f"{event.symbol}: close quantity {event.quantity:g} rounds to 0 (step {rules.qty_step:g})")
    return OrderIntent(client_order_id(event.runner_id, event.seq, event.timestamp, Purpose.CLOSE), event.runner_id,
                       event.strategy, event.symbol, Purpose.CLOSE, event.side, order_side(event.side, True), "market",
                       qty, event.price, True, event.seq, event.timestamp, event.level)


def stop_loss_price(side: int, avg_entry: float, sl_percent: float) -> float:
    """The grid stop on the average entry: avg * (1 - side * sl_percent / 100) (SPEC §5), before rounding."""
    if side not in (1, -1):
        raise ValueError(f"stop-loss: side must be +1 or -1, got {side!r}")
    if not (math.isfinite(avg_entry) and avg_entry > 0):
        raise ValueError(f"stop-loss: average entry must be > 0, got {avg_entry!r}")
    if not (math.isfinite(sl_percent) and 0 < sl_percent < 100):
        raise ValueError(f"stop-loss: sl_percent must be in (0, 100), got {sl_percent!r}")
    return avg_entry * (1.0 - side * sl_percent / 100.0)


def stop_on_right_side(side: int, stop: float, mark: float) -> bool:
    """Bitget refuses a long's stop at or above the mark (40917) and a short's at or below it (45122)."""
    return stop < mark if side > 0 else stop > mark


# ---------------------------------------------------------------------------------------------------- collisions
@dataclass(frozen=True, slots=True)
class Collision:
    """Two runners on one symbol of a one-way account: `runner_id`'s entry was refused."""

    timestamp: int
    symbol: str
    holder: str
    runner_id: str
    seq: int
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"timestamp": self.timestamp, "symbol": self.symbol, "holder": self.holder,
                "runner_id": self.runner_id, "seq": self.seq, "detail": self.detail}


def collision(symbol: str, runner_id: str, holders: dict[str, str]) -> str | None:
    """The runner already holding `symbol` when it is not `runner_id` (None: no collision)."""
    holder = holders.get(symbol)
    return holder if holder is not None and holder != runner_id else None
