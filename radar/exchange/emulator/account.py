"""The emulated Bitget USDT-M futures account: balance, one-way positions, orders, trigger orders, fills.

Pure and deterministic: no aiohttp and no clock. The server feeds it the replayed price path
(`on_price`, see `marks.py`) and passes the emulator time into every call; everything else follows
from those numbers. Sizes are in base coin, prices and money in USDT. Every public method takes the
account lock, so tests may call it from their own thread while the server runs.

Rules (what a client can rely on; Bitget's codes where Bitget refuses):
- One-way mode only (net position per symbol). Leverage (1..contract max) and margin mode
  (`crossed` / `isolated`) per symbol; the margin mode cannot change while the symbol has a
  position or open orders (45117). An order's `margin_mode` must match the symbol's (40808).
- Fees: taker on market orders, on limits marketable when placed and on triggered market orders;
  maker on resting limits. Rates from `AccountConfig` (0.02 % / 0.06 % by default, what the
  emulator's contract list advertises).
- Market orders fill at the mark; a limit buy (sell) rests until a tick at or below (above) its
  price, then fills at its own price. A limit that is marketable when placed fills at the mark.
  `max_fill_qty` (per order per tick) and `volume_share` (of the tick's candle volume, shared by
  the orders of that tick) make fills partial; what is left fills on later ticks.
- Trigger orders watch the mark (the replayed last price: Bitget's mark, index and fill price
  are one price here, so `triggerType` is recorded but all three trigger alike). Position TP/SL
  (`pos_profit` / `pos_loss`) close the whole position when they fire, partial ones
  (`profit_plan` / `loss_plan`) their size; all of a symbol's TP/SL are cancelled when its
  position closes. One `pos_loss` and one `pos_profit` per position (43031 / 43030).
- Reduce-only orders need an opposite position (22002) and cannot together exceed it (40757);
  when they fill they are clipped to what is left of the position.
- clientOid is unique in the account across normal and trigger orders, forever (40786), which is
  what makes a client's retries idempotent.
- Money: cash = starting balance + realised PnL - fees. A position's margin = size * entry /
  leverage. equity = cash + unrealised PnL (at the mark). available = cash + cross unrealised
  PnL - position margins - margin frozen by open non-reduce-only orders (isolated unrealised PnL
  stays with its position). An order that would need more than `available` (its opening part's
  margin plus a taker fee on its size) is refused with 40762. No liquidation, no funding.
"""
from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Literal

from radar.exchange.emulator.market import ContractSpec
from radar.exchange.emulator.records import (
    FORCES, MARGIN_MODES, MAX_CLIENT_OID_LEN, PLAN_TYPES, QTY_DECIMALS, TPSL_PLAN_TYPES, TRIGGER_TYPES, AccountEvent,
    Balance, BalanceEvent, Fill, HoldSide, MarginMode, Order, OrderEvent, OrderStatus, PositionEvent,
    Position, PositionView, Side, SymbolSettings, TradingError, TriggerEvent, TriggerOrder, close_side_of,
    hold_side_of,
)

MIN_NOTIONAL_USDT = 5.0
FIRST_ORDER_ID = 1_200_000_000_000_000_001  # Bitget ids are 19-digit numbers
_TOL = 1e-9  # quantities/prices within this are equal (they are quoted with <= 8 decimals)
_Q = QTY_DECIMALS


@dataclass(frozen=True)
class AccountConfig:
    """Starting balance, fees, defaults and how partial fills happen."""

    balance: float = 10_000.0
    maker_fee: float = 0.0002
    taker_fee: float = 0.0006
    default_leverage: int = 20
    default_margin_mode: MarginMode = "crossed"
    max_fill_qty: float | None = None  # per order per price tick (base coin); None = no cap
    volume_share: float | None = None  # of each tick's candle volume, shared by its fills; None = no cap
    min_notional: float = MIN_NOTIONAL_USDT

    def __post_init__(self) -> None:
        if not (math.isfinite(self.balance) and self.balance >= 0):
            raise ValueError(f"account balance must be a finite number >= 0, got {self.balance}")
        for name in ("maker_fee", "taker_fee"):
            rate = getattr(self, name)
            if not (math.isfinite(rate) and 0 <= rate < 0.1):
                raise ValueError(f"account {name} must be a rate in [0, 0.1), got {rate}")
        if isinstance(self.default_leverage, bool) or not isinstance(self.default_leverage, int) or self.default_leverage < 1:
            raise ValueError(f"account default_leverage must be an integer >= 1, got {self.default_leverage!r}")
        if self.default_margin_mode not in MARGIN_MODES:
            raise ValueError(f"account default_margin_mode must be one of {MARGIN_MODES}, got {self.default_margin_mode!r}")
        if self.max_fill_qty is not None and not (math.isfinite(self.max_fill_qty) and self.max_fill_qty > 0):
            raise ValueError(f"account max_fill_qty must be > 0 or None, got {self.max_fill_qty}")
        if self.volume_share is not None and not (0 < self.volume_share <= 1):
            raise ValueError(f"account volume_share must be in (0, 1] or None, got {self.volume_share}")
        if not (math.isfinite(self.min_notional) and self.min_notional >= 0):
            raise ValueError(f"account min_notional must be >= 0, got {self.min_notional}")


def _default_spec(symbol: str) -> ContractSpec | None:
    return ContractSpec(base=symbol.removesuffix("USDT")) if symbol.endswith("USDT") and len(symbol) > 4 else None


def _decimals_ok(x: float, places: int) -> bool:
    return abs(round(x, places) - x) < _TOL


@dataclass
class _Budget:
    """What may still fill during one price tick."""

    volume: float
    per_order: float

    def take(self, wanted: float) -> float:
        qty = min(wanted, self.volume, self.per_order)
        return max(0.0, qty)


class Account:
    """The matching engine and ledger of one account (see the module docstring for the rules)."""

    def __init__(self, config: AccountConfig | None = None,
                 specs: Callable[[str], ContractSpec | None] | None = None) -> None:
        self.config = config or AccountConfig()
        self._specs = specs or _default_spec
        self._lock = threading.RLock()
        self._cash = float(self.config.balance)
        self._settings: dict[str, SymbolSettings] = {}
        self._positions: dict[str, Position] = {}
        self._orders: dict[str, Order] = {}  # every order ever placed, by id, in placement order
        self._triggers: dict[str, TriggerOrder] = {}
        # Open orders / live triggers per symbol (ids in placement order): what a price tick must look at.
        self._active_orders: dict[str, dict[str, None]] = {}
        self._active_triggers: dict[str, dict[str, None]] = {}
        self._client_oids: dict[str, str] = {}  # clientOid -> order id, normal and trigger alike
        self._fills: list[Fill] = []
        self._marks: dict[str, float] = {}
        self._events: list[AccountEvent] = []
        self._ids = itertools.count(FIRST_ORDER_ID)
        self._fills_enabled = True

    # ---------------------------------------------------------------- settings
    def settings(self, symbol: str) -> SymbolSettings:
        with self._lock:
            self._spec(symbol)
            return self._settings.get(symbol) or SymbolSettings(self.config.default_leverage, self.config.default_margin_mode)

    def set_leverage(self, symbol: str, leverage: int) -> SymbolSettings:
        with self._lock:
            spec = self._spec(symbol)
            if isinstance(leverage, bool) or not isinstance(leverage, int) or not 1 <= leverage <= spec.max_lever:
                raise TradingError("43050", f"Leverage exceeds the effective range: {leverage!r} (1..{spec.max_lever})")
            current = self.settings(symbol)
            pos = self._positions.get(symbol)
            if pos is not None and leverage < pos.leverage:
                extra = pos.size * pos.entry_price * (1 / leverage - 1 / pos.leverage)
                if extra > self._available() + _TOL:
                    raise TradingError("40893", "Unable to update the leverage factor of this position, "
                                                "there is not enough margin!")
            new = replace(current, leverage=leverage)
            self._settings[symbol] = new
            if pos is not None:
                self._positions[symbol] = replace(pos, leverage=leverage)
                self._emit(PositionEvent(symbol), BalanceEvent())
            return new

    def set_margin_mode(self, symbol: str, margin_mode: str) -> SymbolSettings:
        with self._lock:
            self._spec(symbol)
            if margin_mode not in MARGIN_MODES:
                raise TradingError("40017", f"Parameter verification failed marginMode must be crossed or isolated, "
                                            f"got {margin_mode!r}")
            current = self.settings(symbol)
            if margin_mode != current.margin_mode and (
                    symbol in self._positions or self.open_orders(symbol) or self.triggers(symbol)):
                raise TradingError("45117", "Currently holding positions or orders, the margin mode cannot be adjusted")
            new = replace(current, margin_mode=margin_mode)  # type: ignore[arg-type]
            self._settings[symbol] = new
            return new

    # ---------------------------------------------------------------- orders
    def place_order(self, symbol: str, side: str, order_type: str, size: float, *, now_ms: int,
                    price: float | None = None, client_oid: str | None = None, reduce_only: bool = False,
                    margin_mode: str | None = None, force: str = "gtc") -> Order:
        """Accept (or refuse) a market/limit order; what is marketable fills at once at the mark."""
        with self._lock:
            spec = self._spec(symbol)
            side_ = self._check_side(side)
            if order_type not in ("market", "limit"):
                raise TradingError("40017", f"Parameter verification failed orderType must be limit or market, got {order_type!r}")
            if force not in FORCES:
                raise TradingError("40017", f"Parameter verification failed force must be one of {', '.join(FORCES)}, got {force!r}")
            self._check_size(spec, size)
            if order_type == "limit":
                if price is None:
                    raise TradingError("40019", "Parameter price cannot be empty")
                self._check_price(spec, price, "price")
            else:
                price = None
            mode = self._check_margin_mode(symbol, margin_mode)
            mark = self._mark(symbol)
            oid = self._check_client_oid(client_oid)
            pos = self._positions.get(symbol)
            ref = price if price is not None else mark
            if reduce_only:
                self._check_reduce(symbol, side_, size, pos)
            else:
                if size * ref < self.config.min_notional - _TOL:
                    raise TradingError("45110", f"less than the minimum amount {self.config.min_notional:g} USDT")
                self._check_funds(symbol, side_, size, ref, pos)
            order_id = self._next_id()
            order = Order(order_id=order_id, client_oid=oid or order_id, symbol=symbol, side=side_,
                          order_type=order_type, size=float(size), price=price, reduce_only=bool(reduce_only),
                          margin_mode=mode, leverage=self.settings(symbol).leverage, force=force,  # type: ignore[arg-type]
                          created_ms=now_ms, updated_ms=now_ms, freeze_price=ref,
                          source="market" if order_type == "market" else "normal")
            self._store_order(order)
            self._emit(OrderEvent(order), BalanceEvent())
            self._execute_on_arrival(order_id, mark, now_ms)
            return self._orders[order_id]

    def cancel_order(self, symbol: str, *, now_ms: int, order_id: str | None = None,
                     client_oid: str | None = None) -> Order:
        with self._lock:
            order = self.order(symbol, order_id=order_id, client_oid=client_oid)
            if order is None:
                raise TradingError("40768", "Order does not exist")
            if not order.is_open:
                raise TradingError("22001", "No order to cancel")
            return self._cancel(order.order_id, now_ms)

    def cancel_all_orders(self, symbol: str | None, *, now_ms: int) -> list[Order]:
        with self._lock:
            return [self._cancel(o.order_id, now_ms) for o in self.open_orders(symbol)]

    def close_position(self, symbol: str, *, now_ms: int) -> Order:
        """Flash close: a reduce-only market order for the whole position (22002 without one)."""
        with self._lock:
            pos = self._positions.get(symbol)
            if pos is None:
                raise TradingError("22002", "No position to close")
            for order in self.open_orders(symbol):
                if order.reduce_only:  # they would compete for the same size
                    self._cancel(order.order_id, now_ms)
            return self.place_order(symbol, close_side_of(pos.side), "market", pos.size, now_ms=now_ms,
                                    reduce_only=True, margin_mode=pos.margin_mode)

    # ---------------------------------------------------------------- trigger orders
    def place_trigger(self, symbol: str, plan_type: str, *, trigger_price: float, size: float, now_ms: int,
                      side: str | None = None, hold_side: str | None = None, execute_price: float | None = None,
                      client_oid: str | None = None, trigger_type: str = "mark_price", reduce_only: bool = False,
                      margin_mode: str | None = None) -> TriggerOrder:
        """A TP/SL on a position (`hold_side` = the position's side) or a normal plan order (`side`)."""
        with self._lock:
            spec = self._spec(symbol)
            if plan_type not in PLAN_TYPES:
                raise TradingError("40017", f"Parameter verification failed planType must be one of "
                                            f"{', '.join(PLAN_TYPES)}, got {plan_type!r}")
            if trigger_type not in TRIGGER_TYPES:
                raise TradingError("40017", f"Parameter verification failed triggerType must be one of "
                                            f"{', '.join(TRIGGER_TYPES)}, got {trigger_type!r}")
            self._check_price(spec, trigger_price, "triggerPrice")
            if execute_price is not None and execute_price <= 0:
                execute_price = None  # Bitget: an execute price of 0 means a market order
            if execute_price is not None:
                self._check_price(spec, execute_price, "executePrice")
            mark = self._mark(symbol)
            mode = self._check_margin_mode(symbol, margin_mode)
            if plan_type in TPSL_PLAN_TYPES:
                hold = self._check_hold_side(hold_side)
                pos = self._positions.get(symbol)
                if pos is None or pos.side != hold:
                    raise TradingError("40837", "There is no position in this position, so stop-profit and "
                                                "stop-loss orders cannot be made")
                if plan_type in ("loss_plan", "profit_plan"):
                    self._check_size(spec, size)
                    if size > pos.size + _TOL:
                        raise TradingError("43023", "Insufficient position, can not set profit or stop loss")
                else:
                    size = pos.size
                self._check_tpsl_price(plan_type, hold, trigger_price, mark)
                for other in self.triggers(symbol, [plan_type]):
                    if plan_type == "pos_loss" and other.hold_side == hold:
                        raise TradingError("43031", "Stop loss order already existed")
                    if plan_type == "pos_profit" and other.hold_side == hold:
                        raise TradingError("43030", "Take profit order already existed")
                loss = plan_type in ("pos_loss", "loss_plan")
                up = (hold == "long") != loss  # long TP and short SL fire on the way up
                order_side = close_side_of(hold)
                reduce = True
            else:
                order_side = self._check_side(side)
                self._check_size(spec, size)
                hold = None
                up = trigger_price >= mark
                reduce = bool(reduce_only)
            oid = self._check_client_oid(client_oid)
            order_id = self._next_id()
            trig = TriggerOrder(order_id=order_id, client_oid=oid or order_id, symbol=symbol,
                                plan_type=plan_type, side=order_side, size=float(size),  # type: ignore[arg-type]
                                trigger_price=float(trigger_price), trigger_type=trigger_type,
                                execute_price=execute_price, reduce_only=reduce, margin_mode=mode, hold_side=hold,
                                direction="up" if up else "down", created_ms=now_ms, updated_ms=now_ms)
            self._put_trigger(trig)
            self._client_oids[trig.client_oid] = order_id
            self._emit(TriggerEvent(trig))
            return trig

    def modify_trigger(self, symbol: str, *, now_ms: int, trigger_price: float, order_id: str | None = None,
                       client_oid: str | None = None, execute_price: float | None = None,
                       size: float | None = None) -> TriggerOrder:
        """Move a live TP/SL (Bitget's modify-tpsl-order): same checks as placing one."""
        with self._lock:
            spec = self._spec(symbol)
            trig = self.trigger(symbol, order_id=order_id, client_oid=client_oid)
            if trig is None or not trig.is_live:
                raise TradingError("43020", "Stop profit and stop loss order does not exist")
            if trig.plan_type not in TPSL_PLAN_TYPES or trig.hold_side is None:
                raise TradingError("40017", "Parameter verification failed: only TP/SL orders can be modified here")
            self._check_price(spec, trigger_price, "triggerPrice")
            self._check_tpsl_price(trig.plan_type, trig.hold_side, trigger_price, self._mark(symbol))
            changes: dict[str, object] = {"trigger_price": float(trigger_price), "updated_ms": now_ms}
            if execute_price is not None:
                changes["execute_price"] = None if execute_price <= 0 else float(execute_price)
            if size is not None and trig.plan_type in ("loss_plan", "profit_plan"):
                self._check_size(spec, size)
                changes["size"] = float(size)
            new = replace(trig, **changes)  # type: ignore[arg-type]
            self._put_trigger(new)
            self._emit(TriggerEvent(new))
            return new

    def cancel_triggers(self, symbol: str | None, plan_type: str, *, now_ms: int,
                        ids: Iterable[tuple[str | None, str | None]] | None = None,
                        ) -> tuple[list[TriggerOrder], list[tuple[str | None, str | None]]]:
        """Cancel live plan orders of exactly `plan_type` (all of them on `symbol` without `ids`).

        `ids` are (orderId, clientOid) pairs; returns (cancelled, the pairs not found live).
        """
        with self._lock:
            cancelled: list[TriggerOrder] = []
            missing: list[tuple[str | None, str | None]] = []
            if ids is None:
                for trig in self.triggers(symbol, [plan_type]):
                    cancelled.append(self._cancel_trigger(trig.order_id, now_ms))
                return cancelled, missing
            for order_id, client_oid in ids:
                trig = self.trigger(symbol, order_id=order_id, client_oid=client_oid) if symbol else None
                if trig is None or not trig.is_live or trig.plan_type != plan_type:
                    missing.append((order_id, client_oid))
                else:
                    cancelled.append(self._cancel_trigger(trig.order_id, now_ms))
            return cancelled, missing

    # ---------------------------------------------------------------- the price path
    def on_price(self, symbol: str, price: float, ts: int, volume: float = math.inf) -> None:
        """One replayed price: fill what it reaches, fire the triggers it crosses."""
        with self._lock:
            self._marks[symbol] = float(price)
            share = self.config.volume_share
            budget_volume = math.inf if share is None else max(0.0, volume) * share
            cap = self.config.max_fill_qty if self.config.max_fill_qty is not None else math.inf
            for order_id in list(self._active_orders.get(symbol, ())):
                order = self._orders[order_id]  # an earlier fill of this tick may have cancelled it
                if not order.is_open:
                    continue
                reached = order.order_type == "market" or order.crossed or self._limit_reached(order, price)
                if not reached:
                    continue
                if not self._fills_enabled:
                    if order.order_type == "limit" and not order.crossed:
                        self._put_order(replace(order, crossed=True))
                    continue
                budget = _Budget(budget_volume, cap)
                qty = budget.take(order.remaining)
                if qty <= _TOL:
                    continue
                if order.order_type == "market":
                    filled = self._fill(order.order_id, qty, price, "taker", ts)
                else:
                    filled = self._fill(order.order_id, qty, float(order.price), "maker", ts)  # type: ignore[arg-type]
                budget_volume -= filled
            for trig_id in list(self._active_triggers.get(symbol, ())):
                trig = self._triggers[trig_id]  # a trigger fired before it may have closed its position
                if not trig.is_live:
                    continue
                if (price >= trig.trigger_price) if trig.direction == "up" else (price <= trig.trigger_price):
                    self._fire(trig.order_id, price, ts)

    def needs_ticks(self, symbol: str) -> bool:
        """Whether a price tick could fill or fire anything on `symbol` (else `set_mark` is enough)."""
        with self._lock:
            return bool(self._active_orders.get(symbol) or self._active_triggers.get(symbol))

    def set_mark(self, symbol: str, price: float) -> None:
        """Move the mark without matching (nothing is open on `symbol`)."""
        with self._lock:
            self._marks[symbol] = float(price)

    def set_fills_enabled(self, enabled: bool, *, now_ms: int) -> None:
        """Hold every fill (a delayed-fills fault); on release, what was due fills at once."""
        with self._lock:
            was = self._fills_enabled
            self._fills_enabled = bool(enabled)
            if enabled and not was:
                cap = self.config.max_fill_qty if self.config.max_fill_qty is not None else math.inf
                for order_id in [oid for active in self._active_orders.values() for oid in active]:
                    order = self._orders[order_id]
                    if not order.is_open:
                        continue
                    mark = self._marks.get(order.symbol)
                    qty = min(order.remaining, cap)
                    if order.order_type == "market" and mark is not None:
                        self._fill(order.order_id, qty, mark, "taker", now_ms)
                    elif order.crossed:
                        self._fill(order.order_id, qty, float(order.price), "maker", now_ms)  # type: ignore[arg-type]

    @property
    def fills_enabled(self) -> bool:
        with self._lock:
            return self._fills_enabled

    # ---------------------------------------------------------------- behind the client's back (admin)
    def open_position(self, symbol: str, side: str, size: float, *, now_ms: int, entry_price: float | None = None,
                      margin_mode: str | None = None, leverage: int | None = None) -> Position:
        """Create (or add to) a position without an order or fee: a manual trade the client did not make."""
        with self._lock:
            spec = self._spec(symbol)
            hold = self._check_hold_side(side)
            self._check_size(spec, size)
            price = float(entry_price) if entry_price is not None else self._mark(symbol)
            if not price > 0:
                raise ValueError(f"open_position {symbol}: entry price must be > 0, got {price}")
            if margin_mode is not None:
                self.set_margin_mode(symbol, margin_mode)
            if leverage is not None:
                self.set_leverage(symbol, leverage)
            settings = self.settings(symbol)
            pos = self._positions.get(symbol)
            if pos is not None and pos.side != hold:
                raise ValueError(f"open_position {symbol}: a {pos.side} position is open; close it first")
            if pos is None:
                pos = Position(self._next_id(), symbol, hold, round(float(size), _Q), price, settings.margin_mode,
                               settings.leverage, now_ms, now_ms)
            else:
                total = round(pos.size + size, _Q)
                pos = replace(pos, size=total, entry_price=(pos.entry_price * pos.size + price * size) / total,
                              updated_ms=now_ms)
            self._positions[symbol] = pos
            self._emit(PositionEvent(symbol), BalanceEvent())
            return pos

    # ---------------------------------------------------------------- queries
    def order(self, symbol: str | None, *, order_id: str | None = None, client_oid: str | None = None) -> Order | None:
        with self._lock:
            if order_id is None and client_oid is not None:
                order_id = self._client_oids.get(client_oid)
            order = self._orders.get(order_id) if order_id is not None else None
            return order if order is not None and (symbol is None or order.symbol == symbol) else None

    def trigger(self, symbol: str | None, *, order_id: str | None = None,
                client_oid: str | None = None) -> TriggerOrder | None:
        with self._lock:
            if order_id is None and client_oid is not None:
                order_id = self._client_oids.get(client_oid)
            trig = self._triggers.get(order_id) if order_id is not None else None
            return trig if trig is not None and (symbol is None or trig.symbol == symbol) else None

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        with self._lock:
            return [o for o in self._orders.values() if o.is_open and (symbol is None or o.symbol == symbol)]

    def orders(self, symbol: str | None = None) -> list[Order]:
        with self._lock:
            return [o for o in self._orders.values() if symbol is None or o.symbol == symbol]

    def triggers(self, symbol: str | None = None, plan_types: Iterable[str] | None = None,
                 *, live_only: bool = True) -> list[TriggerOrder]:
        with self._lock:
            kinds = None if plan_types is None else set(plan_types)
            return [t for t in self._triggers.values()
                    if (not live_only or t.is_live) and (symbol is None or t.symbol == symbol)
                    and (kinds is None or t.plan_type in kinds)]

    def fills(self, symbol: str | None = None, order_id: str | None = None) -> list[Fill]:
        with self._lock:
            return [f for f in self._fills
                    if (symbol is None or f.symbol == symbol) and (order_id is None or f.order_id == order_id)]

    def position(self, symbol: str) -> Position | None:
        with self._lock:
            return self._positions.get(symbol)

    def positions(self) -> list[Position]:
        with self._lock:
            return sorted(self._positions.values(), key=lambda p: p.symbol)

    def position_view(self, pos: Position) -> PositionView:
        with self._lock:
            mark = self._marks.get(pos.symbol, pos.entry_price)
            opening = sum(o.remaining for o in self.open_orders(pos.symbol)
                          if not o.reduce_only and hold_side_of(o.side) == pos.side)
            locked = sum(o.remaining for o in self.open_orders(pos.symbol)
                         if o.reduce_only and o.side == close_side_of(pos.side))
            return PositionView(pos, mark, self._upl(pos, mark), opening, min(locked, pos.size))

    def mark(self, symbol: str) -> float | None:
        with self._lock:
            return self._marks.get(symbol)

    def balance(self) -> Balance:
        with self._lock:
            cross = iso = margin = 0.0
            for pos in self._positions.values():
                upl = self._upl(pos, self._marks.get(pos.symbol, pos.entry_price))
                if pos.margin_mode == "crossed":
                    cross += upl
                else:
                    iso += upl
                margin += pos.margin
            frozen = self._frozen()
            available = self._cash + cross - margin - frozen
            return Balance(cash=self._cash, equity=self._cash + cross + iso, unrealized_pnl=cross + iso,
                           cross_unrealized_pnl=cross, isolated_unrealized_pnl=iso, position_margin=margin,
                           frozen=frozen, available=max(0.0, available))

    def drain_events(self) -> list[AccountEvent]:
        """What changed since the last call, in order (the private WebSocket pushes these)."""
        with self._lock:
            events, self._events = self._events, []
            return events

    # ---------------------------------------------------------------- internals: checks
    def _spec(self, symbol: str) -> ContractSpec:
        spec = self._specs(symbol) if isinstance(symbol, str) and symbol else None
        if spec is None:
            raise TradingError("40034", f"Parameter {symbol or '(empty symbol)'} does not exist")
        return spec

    @staticmethod
    def _check_side(side: str | None) -> Side:
        if side not in ("buy", "sell"):
            raise TradingError("40017", f"Parameter verification failed side must be buy or sell, got {side!r}")
        return side  # type: ignore[return-value]

    @staticmethod
    def _check_hold_side(side: str | None) -> HoldSide:
        # One-way mode names a position by the side that opened it (buy = long), hedge mode by long/short.
        mapping = {"buy": "long", "long": "long", "sell": "short", "short": "short"}
        if side not in mapping:
            raise TradingError("40017", f"Parameter verification failed holdSide must be buy, sell, long or short, "
                                        f"got {side!r}")
        return mapping[side]  # type: ignore[return-value]

    @staticmethod
    def _check_size(spec: ContractSpec, size: float) -> None:
        if not (isinstance(size, (int, float)) and math.isfinite(size) and size > 0):
            raise TradingError("40017", f"Parameter verification failed size must be > 0, got {size!r}")
        if not _decimals_ok(size, spec.volume_place):
            raise TradingError("40808", f"Parameter verification exception size checkBDScale error value={size} "
                                        f"checkScale={spec.volume_place}")
        if size < float(spec.min_trade_num) - _TOL:
            raise TradingError("45111", f"less than the minimum order quantity {spec.min_trade_num}")

    @staticmethod
    def _check_price(spec: ContractSpec, price: float, name: str) -> None:
        if not (isinstance(price, (int, float)) and math.isfinite(price) and price > 0):
            raise TradingError("40017", f"Parameter verification failed {name} must be > 0, got {price!r}")
        if not _decimals_ok(price, spec.price_place):
            raise TradingError("40808", f"Parameter verification exception {name} checkBDScale error value={price} "
                                        f"checkScale={spec.price_place}")

    def _check_margin_mode(self, symbol: str, margin_mode: str | None) -> MarginMode:
        current = self.settings(symbol).margin_mode
        if margin_mode is None:
            return current
        if margin_mode not in MARGIN_MODES:
            raise TradingError("40017", f"Parameter verification failed marginMode must be crossed or isolated, "
                                        f"got {margin_mode!r}")
        if margin_mode != current:
            # Bitget's wording: FIXED is its internal name of isolated margin.
            raise TradingError("40808", "Parameter verification exception margin mode == "
                                        f"{'FIXED' if current == 'isolated' else 'CROSSED'}")
        return current

    def _check_client_oid(self, client_oid: str | None) -> str | None:
        if client_oid is None or client_oid == "":
            return None
        if len(client_oid) > MAX_CLIENT_OID_LEN:
            raise TradingError("40304", f"clientOid or clientOrderId length cannot greater than {MAX_CLIENT_OID_LEN}")
        if client_oid in self._client_oids:
            raise TradingError("40786", "Duplicate clientOid")
        return client_oid

    def _check_reduce(self, symbol: str, side: Side, size: float, pos: Position | None) -> None:
        if pos is None or pos.side == hold_side_of(side):
            raise TradingError("22002", "No position to close")
        pending = sum(o.remaining for o in self.open_orders(symbol) if o.reduce_only and o.side == side)
        if size > pos.size - pending + _TOL:
            raise TradingError("40757", "Not enough position is available.")

    def _check_funds(self, symbol: str, side: Side, size: float, ref: float, pos: Position | None) -> None:
        closing = pos.size if pos is not None and pos.side != hold_side_of(side) else 0.0
        opening = max(0.0, size - closing)
        need = opening * ref / self.settings(symbol).leverage + size * ref * self.config.taker_fee
        if need > self._available() + _TOL:
            raise TradingError("40762", "The order amount exceeds the balance")

    @staticmethod
    def _check_tpsl_price(plan_type: str, hold: HoldSide, trigger: float, mark: float) -> None:
        loss = plan_type in ("pos_loss", "loss_plan")
        if loss and hold == "long" and not trigger < mark:
            raise TradingError("40917", f"Stop price for long positions please < mark price {mark}")
        if loss and hold == "short" and not trigger > mark:
            raise TradingError("45122", f"Short position stop loss price please > mark price {mark}")
        if not loss and hold == "long" and not trigger > mark:
            raise TradingError("40915", "Long position take profit price please > mark price")
        if not loss and hold == "short" and not trigger < mark:
            raise TradingError("40832", "The take profit price of short positions should be less than the current price")

    def _mark(self, symbol: str) -> float:
        mark = self._marks.get(symbol)
        if mark is None:
            raise TradingError("40823", f"The transaction or reasonable marked price does not exist ({symbol} has no "
                                        "replayed price yet)")
        return mark

    # ---------------------------------------------------------------- internals: money
    @staticmethod
    def _upl(pos: Position, mark: float) -> float:
        return (mark - pos.entry_price) * pos.size * (1 if pos.side == "long" else -1)

    def _frozen(self) -> float:
        return sum(o.remaining * o.freeze_price / o.leverage
                   for o in self._orders.values() if o.is_open and not o.reduce_only)

    def _available(self) -> float:
        return self.balance().available

    # ---------------------------------------------------------------- internals: execution
    def _next_id(self) -> str:
        return str(next(self._ids))

    def _store_order(self, order: Order) -> None:
        self._put_order(order)
        self._client_oids[order.client_oid] = order.order_id

    def _put_order(self, order: Order) -> None:
        self._orders[order.order_id] = order
        active = self._active_orders.setdefault(order.symbol, {})
        if order.is_open:
            active[order.order_id] = None
        else:
            active.pop(order.order_id, None)

    def _put_trigger(self, trig: TriggerOrder) -> None:
        self._triggers[trig.order_id] = trig
        active = self._active_triggers.setdefault(trig.symbol, {})
        if trig.is_live:
            active[trig.order_id] = None
        else:
            active.pop(trig.order_id, None)

    def _emit(self, *events: AccountEvent) -> None:
        self._events.extend(events)

    @staticmethod
    def _limit_reached(order: Order, price: float) -> bool:
        assert order.price is not None
        return price <= order.price + _TOL if order.side == "buy" else price >= order.price - _TOL

    def _execute_on_arrival(self, order_id: str, mark: float, now_ms: int) -> None:
        order = self._orders[order_id]
        cap = self.config.max_fill_qty if self.config.max_fill_qty is not None else math.inf
        marketable = order.order_type == "market" or self._limit_reached(order, mark)
        if order.force == "post_only" and marketable:
            self._cancel(order_id, now_ms)  # it would take liquidity
            return
        if order.force == "fok" and (not marketable or cap < order.size - _TOL or not self._fills_enabled):
            self._cancel(order_id, now_ms)
            return
        if marketable and self._fills_enabled:
            self._fill(order_id, min(order.remaining, cap), mark, "taker", now_ms)
        if order.force == "ioc" and self._orders[order_id].is_open:
            self._cancel(order_id, now_ms)

    def _fill(self, order_id: str, qty: float, price: float, scope: Literal["maker", "taker"], ts: int) -> float:
        """Apply one fill to the order, the position and the cash; returns the quantity filled."""
        order = self._orders[order_id]
        symbol = order.symbol
        pos = self._positions.get(symbol)
        opposite = pos is not None and pos.side != hold_side_of(order.side)
        if order.reduce_only:
            if not opposite:
                self._cancel(order_id, ts)  # nothing left to reduce
                return 0.0
            assert pos is not None
            qty = min(qty, pos.size)
        qty = round(qty, _Q)
        if qty <= _TOL:
            return 0.0
        rate = self.config.maker_fee if scope == "maker" else self.config.taker_fee
        fee = qty * price * rate
        closing = min(qty, pos.size) if opposite and pos is not None else 0.0
        realised = 0.0
        closed = False
        if closing > 0 and pos is not None:
            realised = (price - pos.entry_price) * closing * (1 if pos.side == "long" else -1)
            rest = round(pos.size - closing, _Q)
            if rest <= _TOL:
                del self._positions[symbol]
                closed = True
            else:
                self._positions[symbol] = replace(pos, size=rest, achieved_profits=pos.achieved_profits + realised,
                                                  updated_ms=ts)
        opening = round(qty - closing, _Q)
        if opening > _TOL:
            current = self._positions.get(symbol)
            if current is None:
                settings = self.settings(symbol)
                self._positions[symbol] = Position(self._next_id(), symbol, hold_side_of(order.side), opening, price,
                                                   order.margin_mode, settings.leverage, ts, ts)
            else:
                total = round(current.size + opening, _Q)
                entry = (current.entry_price * current.size + price * opening) / total
                self._positions[symbol] = replace(current, size=total, entry_price=entry, updated_ms=ts)
        self._cash += realised - fee
        filled = round(order.filled + qty, _Q)
        status: OrderStatus = "filled" if filled >= order.size - _TOL else "partially_filled"
        order = replace(order, filled=filled, filled_value=order.filled_value + qty * price, fee=order.fee + fee,
                        profit=order.profit + realised, status=status, updated_ms=ts, crossed=False)
        self._put_order(order)
        fill = Fill(self._next_id(), order_id, symbol, order.side, order.order_type, price, qty, fee, realised, scope,
                    order.reduce_only, ts)
        self._fills.append(fill)
        self._emit(OrderEvent(order, fill), PositionEvent(symbol), BalanceEvent())
        if closed:
            self._on_position_closed(symbol, ts)
        return qty

    def _on_position_closed(self, symbol: str, ts: int) -> None:
        for trig in self.triggers(symbol, TPSL_PLAN_TYPES):
            self._cancel_trigger(trig.order_id, ts)
        for order in self.open_orders(symbol):
            if order.reduce_only:
                self._cancel(order.order_id, ts)

    def _cancel(self, order_id: str, ts: int) -> Order:
        order = replace(self._orders[order_id], status="cancelled", updated_ms=ts, crossed=False)
        self._put_order(order)
        self._emit(OrderEvent(order), BalanceEvent())
        return order

    def _cancel_trigger(self, order_id: str, ts: int) -> TriggerOrder:
        trig = replace(self._triggers[order_id], status="cancelled", updated_ms=ts)
        self._put_trigger(trig)
        self._emit(TriggerEvent(trig))
        return trig

    def _fire(self, trigger_id: str, price: float, ts: int) -> None:
        trig = self._triggers[trigger_id]
        pos = self._positions.get(trig.symbol)
        size = trig.size
        if trig.plan_type in TPSL_PLAN_TYPES:
            if pos is None or pos.side != trig.hold_side:
                self._cancel_trigger(trigger_id, ts)
                return
            size = pos.size if trig.plan_type in ("pos_loss", "pos_profit") else min(trig.size, pos.size)
        prefix = "plan" if trig.plan_type == "normal_plan" else trig.plan_type
        order_id = self._next_id()
        ref = trig.execute_price if trig.execute_price is not None else price
        if not trig.reduce_only:
            try:
                self._check_funds(trig.symbol, trig.side, size, ref, pos)
            except TradingError:
                self._put_trigger(replace(trig, status="fail_execute", updated_ms=ts, triggered_ms=ts))
                self._emit(TriggerEvent(self._triggers[trigger_id]))
                return
        order = Order(order_id=order_id, client_oid=order_id, symbol=trig.symbol, side=trig.side,
                      order_type=trig.order_type, size=size, price=trig.execute_price, reduce_only=trig.reduce_only,
                      margin_mode=trig.margin_mode, leverage=self.settings(trig.symbol).leverage, force="gtc",
                      created_ms=ts, updated_ms=ts, freeze_price=ref, source=f"{prefix}_{trig.order_type}")
        self._store_order(order)
        self._put_trigger(replace(trig, status="executed", executed_order_id=order_id, updated_ms=ts,
                                  triggered_ms=ts))
        self._emit(TriggerEvent(self._triggers[trigger_id]), OrderEvent(order))
        self._execute_on_arrival(order_id, price, ts)


__all__ = [
    "Account", "AccountConfig", "AccountEvent", "Balance", "BalanceEvent", "Fill", "MARGIN_MODES", "Order",
    "OrderEvent", "PLAN_TYPES", "Position", "PositionEvent", "PositionView", "SymbolSettings", "TPSL_PLAN_TYPES",
    "TradingError", "TriggerEvent", "TriggerOrder", "close_side_of", "hold_side_of",
]
