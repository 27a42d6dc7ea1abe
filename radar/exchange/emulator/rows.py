"""The Bitget v2 JSON shapes of account objects, for REST responses and private WebSocket pushes.

Every number is a string (Bitget's wire format), at most 8 decimals. The account is in one-way
mode: `posMode` is `one_way_mode`, orders carry `posSide` `net` and `tradeSide` `buy_single` /
`sell_single`. Fees are reported negative (money leaving the account), as Bitget does.
"""
from __future__ import annotations

import json
from typing import Any

from radar.exchange.emulator.account import (
    Balance, Fill, Order, PositionView, SymbolSettings, TPSL_PLAN_TYPES, TriggerOrder,
)

MARGIN_COIN = "USDT"
POS_MODE = "one_way_mode"
KEEP_MARGIN_RATE = "0.004"
# The orders-algo channel abbreviates plan types.
WS_PLAN_TYPES = {"normal_plan": "pl", "profit_plan": "tp", "loss_plan": "sl", "pos_profit": "ptp", "pos_loss": "psl"}
_REST_ORDER_STATUS = {"live": "live", "partially_filled": "partially_filled", "filled": "filled", "cancelled": "canceled"}


def num(x: float | None, places: int = 8) -> str:
    """`12.5` -> "12.5"; no exponent, no trailing zeros, "" for None."""
    if x is None:
        return ""
    text = f"{x:.{places}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def neg(x: float) -> str:
    return num(-x) if x else "0"


def _trade_side(order_side: str) -> str:
    return f"{order_side}_single"


# ---------------------------------------------------------------- REST
def order_row(o: Order, *, status_key: str = "state") -> dict[str, Any]:
    """An order as `/order/detail` (status_key "state") or `/order/orders-pending` ("status") shows it."""
    return {
        "symbol": o.symbol, "size": num(o.size), "orderId": o.order_id, "clientOid": o.client_oid,
        "baseVolume": num(o.filled), "fee": neg(o.fee), "price": num(o.price) if o.price is not None else "0",
        "priceAvg": num(o.avg_price) if o.filled else "", status_key: _REST_ORDER_STATUS[o.status],
        "side": o.side, "force": o.force, "totalProfits": num(o.profit), "posSide": "net", "marginCoin": MARGIN_COIN,
        "presetStopSurplusPrice": "", "presetStopLossPrice": "", "quoteVolume": num(o.filled_value),
        "orderType": o.order_type, "leverage": str(o.leverage), "marginMode": o.margin_mode,
        "reduceOnly": "YES" if o.reduce_only else "NO", "enterPointSource": "API", "tradeSide": _trade_side(o.side),
        "posMode": POS_MODE, "orderSource": o.source, "cTime": str(o.created_ms), "uTime": str(o.updated_ms),
    }


def trigger_row(t: TriggerOrder) -> dict[str, Any]:
    """A plan order as `/order/orders-plan-pending` shows it."""
    loss = t.plan_type in ("pos_loss", "loss_plan")
    profit = t.plan_type in ("pos_profit", "profit_plan")
    trigger, execute = num(t.trigger_price), num(t.execute_price) if t.execute_price is not None else "0"
    return {
        "planType": t.plan_type, "symbol": t.symbol, "size": num(t.size), "orderId": t.order_id,
        "clientOid": t.client_oid, "price": execute, "executePrice": execute, "callbackRatio": "",
        "triggerPrice": trigger, "triggerType": t.trigger_type, "planStatus": t.status, "side": t.side,
        "posSide": "net", "holdSide": t.hold_side or "", "marginCoin": MARGIN_COIN, "marginMode": t.margin_mode,
        "enterPointSource": "API", "tradeSide": _trade_side(t.side), "posMode": POS_MODE, "orderType": t.order_type,
        "reduceOnly": "YES" if t.reduce_only else "NO",
        "stopSurplusTriggerPrice": trigger if profit else "", "stopSurplusExecutePrice": execute if profit else "",
        "stopSurplusTriggerType": t.trigger_type if profit else "",
        "stopLossTriggerPrice": trigger if loss else "", "stopLossExecutePrice": execute if loss else "",
        "stopLossTriggerType": t.trigger_type if loss else "",
        "executeOrderId": t.executed_order_id, "cTime": str(t.created_ms), "uTime": str(t.updated_ms),
    }


def fill_row(f: Fill) -> dict[str, Any]:
    return {
        "tradeId": f.trade_id, "symbol": f.symbol, "orderId": f.order_id, "price": num(f.price),
        "baseVolume": num(f.qty),
        "feeDetail": [{"deduction": "no", "feeCoin": MARGIN_COIN, "totalDeductionFee": None, "totalFee": neg(f.fee)}],
        "side": f.side, "quoteVolume": num(f.qty * f.price), "profit": num(f.profit), "enterPointSource": "API",
        "tradeSide": _trade_side(f.side), "posMode": POS_MODE, "tradeScope": f.scope, "orderType": f.order_type,
        "cTime": str(f.ts),
    }


def position_row(v: PositionView) -> dict[str, Any]:
    p = v.position
    return {
        "marginCoin": MARGIN_COIN, "symbol": p.symbol, "holdSide": p.side, "openDelegateSize": num(v.open_delegate_size),
        "marginSize": num(p.margin), "available": num(p.size - v.locked), "locked": num(v.locked), "total": num(p.size),
        "leverage": str(p.leverage), "achievedProfits": num(p.achieved_profits), "openPriceAvg": num(p.entry_price),
        "marginMode": p.margin_mode, "posMode": POS_MODE, "unrealizedPL": num(v.unrealized_pnl),
        "liquidationPrice": "0", "keepMarginRate": KEEP_MARGIN_RATE, "markPrice": num(v.mark),
        "marginRatio": "0", "breakEvenPrice": num(p.entry_price), "cTime": str(p.opened_ms), "uTime": str(p.updated_ms),
    }


def account_row(b: Balance, settings: SymbolSettings | None = None) -> dict[str, Any]:
    """`/account/accounts` rows; with `settings`, the single-symbol `/account/account` shape."""
    row: dict[str, Any] = {
        "marginCoin": MARGIN_COIN, "locked": num(b.frozen), "available": num(b.available),
        "crossedMaxAvailable": num(b.available), "isolatedMaxAvailable": num(b.available),
        "maxTransferOut": num(b.available), "accountEquity": num(b.equity), "usdtEquity": num(b.equity),
        "btcEquity": "0", "crossedRiskRate": "0", "unrealizedPL": num(b.unrealized_pnl), "coupon": "0",
        "crossedUnrealizedPL": num(b.cross_unrealized_pnl), "isolatedUnrealizedPL": num(b.isolated_unrealized_pnl),
    }
    if settings is not None:
        row.update(crossedMarginLeverage=settings.leverage, isolatedLongLever=settings.leverage,
                   isolatedShortLever=settings.leverage, marginMode=settings.margin_mode, posMode=POS_MODE)
    return row


# ---------------------------------------------------------------- WebSocket
def ws_order_row(o: Order, fill: Fill | None = None) -> dict[str, Any]:
    """An `orders` channel row: accBaseVolume is cumulative; the fill* fields and baseVolume describe
    the fill that caused this push (absent on pushes without a fill)."""
    row: dict[str, Any] = {
        "instId": o.symbol, "orderId": o.order_id, "clientOid": o.client_oid,
        "price": num(o.price) if o.price is not None else "0", "size": num(o.size),
        "notionalUsd": num(o.size * (o.price if o.price is not None else o.freeze_price)), "orderType": o.order_type,
        "force": o.force, "side": o.side, "posSide": "net", "posMode": POS_MODE, "tradeSide": _trade_side(o.side),
        "marginMode": o.margin_mode, "marginCoin": MARGIN_COIN, "leverage": str(o.leverage),
        "reduceOnly": "yes" if o.reduce_only else "no", "status": o.status, "accBaseVolume": num(o.filled),
        "priceAvg": num(o.avg_price), "feeDetail": [{"feeCoin": MARGIN_COIN, "fee": neg(o.fee)}],
        "totalProfits": num(o.profit), "enterPointSource": "API", "orderSource": o.source,
        "cTime": str(o.created_ms), "uTime": str(o.updated_ms),
    }
    if fill is not None:
        row.update(baseVolume=num(fill.qty), fillPrice=num(fill.price), fillFee=neg(fill.fee),
                   fillFeeCoin=MARGIN_COIN, fillNotionalUsd=num(fill.qty * fill.price), fillTime=str(fill.ts),
                   tradeId=fill.trade_id, tradeScope="M" if fill.scope == "maker" else "T", pnl=num(fill.profit))
    return row


def ws_fill_row(f: Fill) -> dict[str, Any]:
    """A `fill` channel row: the REST fill shape plus uTime."""
    return {**fill_row(f), "uTime": str(f.ts)}


def ws_trigger_row(t: TriggerOrder) -> dict[str, Any]:
    """An `orders-algo` channel row (status live / executed / cancelled / fail_execute)."""
    return {
        "instId": t.symbol, "orderId": t.order_id, "clientOid": t.client_oid, "triggerPrice": num(t.trigger_price),
        "triggerType": t.trigger_type, "triggerTime": str(t.triggered_ms) if t.triggered_ms else "",
        "planType": WS_PLAN_TYPES[t.plan_type], "price": num(t.trigger_price),
        "executePrice": num(t.execute_price) if t.execute_price is not None else "0", "size": num(t.size),
        "actualSize": "0", "orderType": t.order_type, "side": t.side, "posSide": "net", "posMode": POS_MODE,
        "tradeSide": _trade_side(t.side), "marginMode": t.margin_mode, "marginCoin": MARGIN_COIN,
        "holdSide": t.hold_side or "", "reduceOnly": "yes" if t.reduce_only else "no", "status": t.status,
        "stopSurplusTriggerType": t.trigger_type if t.plan_type in TPSL_PLAN_TYPES else "",
        "stopLossTriggerType": t.trigger_type if t.plan_type in TPSL_PLAN_TYPES else "",
        "executeOrderId": t.executed_order_id, "enterPointSource": "API",
        "cTime": str(t.created_ms), "uTime": str(t.updated_ms),
    }


def ws_position_row(v: PositionView) -> dict[str, Any]:
    p = v.position
    margin = p.margin
    return {
        "posId": p.pos_id, "instId": p.symbol, "marginCoin": MARGIN_COIN, "marginSize": num(margin),
        "marginMode": p.margin_mode, "holdSide": p.side, "posMode": POS_MODE, "total": num(p.size),
        "available": num(p.size - v.locked), "frozen": num(v.locked), "openPriceAvg": num(p.entry_price),
        "leverage": p.leverage, "achievedProfits": num(p.achieved_profits), "unrealizedPL": num(v.unrealized_pnl),
        "unrealizedPLR": num(v.unrealized_pnl / margin if margin else 0.0), "liquidationPrice": "0",
        "keepMarginRate": KEEP_MARGIN_RATE, "marginRate": "0", "markPrice": num(v.mark),
        "cTime": str(p.opened_ms), "uTime": str(p.updated_ms), "autoMargin": "off",
    }


def ws_account_row(b: Balance) -> dict[str, Any]:
    return {
        "marginCoin": MARGIN_COIN, "frozen": num(b.frozen), "available": num(b.available),
        "maxOpenPosAvailable": num(b.available), "maxTransferOut": num(b.available), "equity": num(b.equity),
        "usdtEquity": num(b.equity), "crossedRiskRate": "0", "unrealizedPL": num(b.unrealized_pnl),
    }


def dumps(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"))
