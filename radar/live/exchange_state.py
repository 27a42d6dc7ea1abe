"""What the live executor believes (`LocalPosition`) and what the exchange says (`ExchangePosition`,
`ExchangeOrder`), as small frozen values, plus the ccxt reads that fetch the exchange side.

Bitget specifics kept here: a position's size is ccxt `contracts` (USDT-M contract size 1 = base units);
TP/SL orders are plan orders of type `pos_loss`/`loss_plan` (stop-loss) and `pos_profit`/`profit_plan`
(take-profit) listed with `{"trigger": True, "planType": "profit_loss"}`; trigger entries are
`normal_plan` orders listed with `{"trigger": True}`. A `pos_loss` stop closes the WHOLE position when it
fires, whatever size it was listed with, so only a partial `loss_plan` has a size that must cover the position.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from radar.errors import RadarError

SL_PLAN_TYPES = ("pos_loss", "loss_plan")
TP_PLAN_TYPES = ("pos_profit", "profit_plan")
POSITION_SL = "pos_loss"
_SIDES = {"long": 1, "buy": 1, "short": -1, "sell": -1}


class ReconcileError(RadarError):
    """A local position or an exchange answer that reconciliation cannot read."""


def _float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    return float(value)


def close_side(side: int) -> str:
    """The order side that reduces a position of `side` (+1 long, -1 short)."""
    return "sell" if side > 0 else "buy"


def side_name(side: int) -> str:
    return "long" if side > 0 else "short"


@dataclass(frozen=True, slots=True)
class LocalPosition:
    """One position of the executor's state (`executor_state.json`). `runner_id` None: adopted from the exchange,
    no runner manages it (its stop-loss protects it; nothing takes profit for it)."""

    symbol: str
    runner_id: str | None
    side: int  # +1 long, -1 short
    qty: float
    avg_entry: float
    sl_price: float | None = None
    sl_order_id: str | None = None
    tp_price: float | None = None
    tp_order_id: str | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LocalPosition:
        """From the executor's plain dict; a clear error naming the position and the bad field."""
        name = f"local position {d.get('symbol')!r} (runner {d.get('runner_id')!r})"
        missing = [k for k in ("symbol", "side", "qty", "avg_entry") if d.get(k) is None]
        if missing:
            raise ReconcileError(f"{name}: missing {', '.join(missing)}")
        try:
            side = int(d["side"])
            qty, entry = float(d["qty"]), float(d["avg_entry"])
            sl, tp = _float(d.get("sl_price")), _float(d.get("tp_price"))
        except (TypeError, ValueError) as exc:
            raise ReconcileError(f"{name}: {exc}") from None
        if side not in (1, -1):
            raise ReconcileError(f"{name}: side must be +1 (long) or -1 (short), got {d['side']!r}")
        if not qty > 0 or not entry > 0:
            raise ReconcileError(f"{name}: qty and avg_entry must be > 0, got qty={qty}, avg_entry={entry}")
        sl_id, tp_id = d.get("sl_order_id"), d.get("tp_order_id")
        return cls(str(d["symbol"]), None if d.get("runner_id") is None else str(d["runner_id"]), side, qty, entry,
                   sl, None if sl_id is None else str(sl_id), tp, None if tp_id is None else str(tp_id))

    @classmethod
    def coerce(cls, p: LocalPosition | Mapping[str, Any]) -> LocalPosition:
        return p if isinstance(p, LocalPosition) else cls.from_dict(p)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ExchangePosition:
    symbol: str  # ccxt unified, e.g. BTC/USDT:USDT
    side: int
    qty: float
    entry_price: float
    mark_price: float | None = None
    margin_mode: str = "cross"  # ccxt: cross | isolated
    leverage: float | None = None

    @classmethod
    def from_ccxt(cls, p: Mapping[str, Any]) -> ExchangePosition:
        """From a ccxt `fetch_positions` entry."""
        side = _SIDES.get(str(p.get("side") or "").lower())
        qty, entry = _float(p.get("contracts")), _float(p.get("entryPrice"))
        if side is None or qty is None or entry is None:
            raise ReconcileError(f"exchange position {p.get('symbol')!r}: cannot read side/contracts/entryPrice "
                                 f"({p.get('side')!r}, {p.get('contracts')!r}, {p.get('entryPrice')!r})")
        return cls(str(p["symbol"]), side, qty * float(p.get("contractSize") or 1.0), entry, _float(p.get("markPrice")),
                   str(p.get("marginMode") or "cross"), _float(p.get("leverage")))


@dataclass(frozen=True, slots=True)
class ExchangeOrder:
    """An open (or, for history, closed) order: normal (`plan_type` None) or a plan/TP/SL order."""

    id: str
    symbol: str
    side: str  # buy | sell
    qty: float
    price: float | None = None
    trigger_price: float | None = None
    client_oid: str | None = None
    plan_type: str | None = None  # pos_loss | loss_plan | pos_profit | profit_plan | normal_plan | None
    hold_side: int = 0  # TP/SL: the side of the position it closes
    reduce_only: bool = False
    status: str = "open"  # for history: plan status (executed, cancelled, ...)
    execute_order_id: str | None = None  # history: the order an executed plan placed
    timestamp: int | None = None

    @classmethod
    def from_ccxt(cls, o: Mapping[str, Any]) -> ExchangeOrder:
        """From a ccxt order. The TP/SL's position side is `info.holdSide` (Bitget: long/short, or buy/sell in
        one-way mode) when given, else the opposite of the closing order's side."""
        info = o.get("info") or {}
        plan = info.get("planType") or None
        side = str(o.get("side") or "").lower()
        if side not in ("buy", "sell") or o.get("id") is None:
            raise ReconcileError(f"exchange order {o.get('id')!r} on {o.get('symbol')!r}: cannot read its side {side!r}")
        hold = 0
        if plan in SL_PLAN_TYPES + TP_PLAN_TYPES:
            hold = _SIDES.get(str(info.get("holdSide") or "").lower(), -_SIDES[side])
        status = str(info.get("planStatus") or o.get("status") or "open")
        return cls(str(o["id"]), str(o["symbol"]), side, float(o.get("amount") or 0.0), _float(o.get("price")),
                   _float(o.get("triggerPrice")), o.get("clientOrderId"), plan, hold, bool(o.get("reduceOnly")),
                   status, info.get("executeOrderId") or None, o.get("timestamp"))

    @property
    def role(self) -> str:
        """sl | tp | plan (a trigger entry) | order (a normal order)."""
        if self.plan_type in SL_PLAN_TYPES:
            return "sl"
        if self.plan_type in TP_PLAN_TYPES:
            return "tp"
        return "order" if self.plan_type is None else "plan"

    def cancel_params(self) -> dict[str, Any]:
        """ccxt `cancel_order` params: a plan order needs its exact plan type (Bitget 43025 otherwise)."""
        return {} if self.plan_type is None else {"trigger": True, "planType": self.plan_type}

    def matches(self, ids: Iterable[str]) -> bool:
        wanted = set(ids)
        return self.id in wanted or (self.client_oid is not None and self.client_oid in wanted)


# ---------------------------------------------------------------- ccxt reads
async def fetch_positions(client: Any, symbols: Iterable[str] | None = None) -> list[ExchangePosition]:
    """Open positions (all, or those of `symbols`)."""
    wanted = None if symbols is None else set(symbols)
    raw = await client.fetch_positions(None if wanted is None else sorted(wanted))
    out = [ExchangePosition.from_ccxt(p) for p in raw if (_float(p.get("contracts")) or 0.0) > 0]
    return [p for p in out if wanted is None or p.symbol in wanted]


async def fetch_open_orders(client: Any, symbols: Iterable[str] | None = None) -> list[ExchangeOrder]:
    """Every open order: normal orders, TP/SL orders and trigger (plan) entries. One request per family for
    all symbols (Bitget lists a whole product type when no symbol is given)."""
    wanted = None if symbols is None else set(symbols)
    raw = [*await client.fetch_open_orders(None),
           *await client.fetch_open_orders(None, None, None, {"trigger": True, "planType": "profit_loss"}),
           *await client.fetch_open_orders(None, None, None, {"trigger": True})]
    orders = [ExchangeOrder.from_ccxt(o) for o in raw]
    return [o for o in orders if wanted is None or o.symbol in wanted]


async def fetch_stop_orders(client: Any) -> list[ExchangeOrder]:
    """Open TP/SL orders of every symbol (one request)."""
    raw = await client.fetch_open_orders(None, None, None, {"trigger": True, "planType": "profit_loss"})
    return [ExchangeOrder.from_ccxt(o) for o in raw]


async def fetch_closed_stops(client: Any, symbol: str) -> list[ExchangeOrder]:
    """TP/SL plan history of one symbol (executed / cancelled), newest first as the exchange lists it."""
    raw = await client.fetch_closed_orders(symbol, None, None, {"trigger": True, "planType": "profit_loss"})
    return [ExchangeOrder.from_ccxt(o) for o in raw]
