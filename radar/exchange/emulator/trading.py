"""The emulator's private REST endpoints (Bitget v2 mix, USDT-M, one-way mode) over `account.Account`.

Every request is signature-checked (`auth.py`), then the account is brought up to the emulator clock
(the replayed price ticks since the last sync, see `marks.py`) before it acts, so an answer always
reflects "now"; the account's changes are pushed to the private WebSocket before the answer returns.
The replay loop calls `on_tick` too, so fills and triggers happen as the clock runs.

Endpoints (what ccxt's bitget calls; see `docs` of each handler for the fields read):
  POST /api/v2/mix/account/set-leverage, set-margin-mode, set-position-mode (one_way_mode only)
  POST /api/v2/mix/order/place-order, cancel-order, batch-cancel-orders, cancel-all-orders, close-positions
  POST /api/v2/mix/order/place-tpsl-order, modify-tpsl-order, place-plan-order (normal_plan), cancel-plan-order
  GET  /api/v2/mix/order/orders-pending, orders-history, orders-plan-pending, orders-plan-history, detail, fills
  GET  /api/v2/mix/position/all-position, single-position
  GET  /api/v2/mix/account/accounts, account
Admin (not Bitget, no signature): GET /_emulator/account, POST /_emulator/account/position.
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from radar.exchange.emulator.account import Account, Order, TPSL_PLAN_TYPES, TradingError, TriggerOrder
from radar.exchange.emulator.auth import Credentials, verify_rest, wall_ms
from radar.exchange.emulator.faults import Faults
from radar.exchange.emulator.market import Clock, MarketData
from radar.exchange.emulator.marks import MarkPrices
from radar.exchange.emulator.private_ws import PrivateWebSocket
from radar.exchange.emulator.rows import (
    MARGIN_COIN, POS_MODE, account_row, fill_row, order_row, position_row, trigger_row,
)

PRODUCT_TYPE = "USDT-FUTURES"
MIX = "/api/v2/mix"
MAX_PAGE = 100
_PRESET_FIELDS = ("presetStopSurplusPrice", "presetStopLossPrice", "stopSurplusTriggerPrice", "stopLossTriggerPrice")

Params = dict[str, Any]
Handler = Callable[[Params, int], Any]


class TradingApi:
    """Signature check, clock sync and Bitget request/response shapes around one `Account`."""

    def __init__(self, account: Account, market: MarketData, clock: Clock, faults: Faults,
                 private_ws: PrivateWebSocket, credentials: Credentials | None,
                 envelope: Callable[[Any], web.Response]) -> None:
        self.account = account
        self.market = market
        self.marks = MarkPrices(market)
        self.clock = clock
        self.faults = faults
        self.private_ws = private_ws
        self.credentials = credentials
        self._envelope = envelope
        self._lock = asyncio.Lock()
        self.matched_through_ms: int | None = None  # the clock time the account was last brought up to

    def routes(self) -> list[web.RouteDef]:
        post, get = web.post, web.get
        return [
            post(f"{MIX}/account/set-leverage", self._private(self._set_leverage)),
            post(f"{MIX}/account/set-margin-mode", self._private(self._set_margin_mode)),
            post(f"{MIX}/account/set-position-mode", self._private(self._set_position_mode)),
            post(f"{MIX}/order/place-order", self._private(self._place_order)),
            post(f"{MIX}/order/cancel-order", self._private(self._cancel_order)),
            post(f"{MIX}/order/batch-cancel-orders", self._private(self._batch_cancel_orders)),
            post(f"{MIX}/order/cancel-all-orders", self._private(self._cancel_all_orders)),
            post(f"{MIX}/order/close-positions", self._private(self._close_positions)),
            post(f"{MIX}/order/place-tpsl-order", self._private(self._place_tpsl_order)),
            post(f"{MIX}/order/modify-tpsl-order", self._private(self._modify_tpsl_order)),
            post(f"{MIX}/order/place-plan-order", self._private(self._place_plan_order)),
            post(f"{MIX}/order/cancel-plan-order", self._private(self._cancel_plan_order)),
            get(f"{MIX}/order/orders-pending", self._private(self._orders_pending)),
            get(f"{MIX}/order/orders-history", self._private(self._orders_history)),
            get(f"{MIX}/order/orders-plan-pending", self._private(self._orders_plan_pending)),
            get(f"{MIX}/order/orders-plan-history", self._private(self._orders_plan_history)),
            get(f"{MIX}/order/detail", self._private(self._order_detail)),
            get(f"{MIX}/order/fills", self._private(self._fills)),
            get(f"{MIX}/position/all-position", self._private(self._all_positions)),
            get(f"{MIX}/position/single-position", self._private(self._single_position)),
            get(f"{MIX}/account/accounts", self._private(self._accounts)),
            get(f"{MIX}/account/account", self._private(self._single_account)),
            get("/_emulator/account", self._admin_account),
            post("/_emulator/account/position", self._admin_position),
        ]

    # ---------------------------------------------------------------- sync with the clock
    async def on_tick(self, now_ms: int) -> None:
        """The replay loop's hook: apply the trading faults due, then match up to the clock."""
        abrupt = self.faults.take_private_ws_drop()
        if abrupt is not None:
            await self.private_ws.drop_all(abrupt)
        async with self._lock:
            self._sync(now_ms)
            await self.private_ws.publish(self.account.drain_events())

    def _sync(self, now_ms: int) -> None:
        self.account.set_fills_enabled(not self.faults.fills_delayed(), now_ms=now_ms)
        for symbol in self.market.symbols():
            if self.account.needs_ticks(symbol):
                for tick in self.marks.advance(symbol, now_ms):
                    self.account.on_price(symbol, tick.price, tick.ts, tick.volume)
            else:  # nothing can fill or fire: skip the path (a long replay of a quiet symbol costs nothing)
                mark = self.marks.skip_to(symbol, now_ms)
                if mark is not None:
                    self.account.set_mark(symbol, mark)
        self.matched_through_ms = now_ms

    def _private(self, fn: Handler) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.Response:
            body = await request.text() if request.method == "POST" else ""
            queries = (request.rel_url.raw_query_string, request.rel_url.query_string)
            verify_rest(self.credentials, request.headers, request.method, request.path, queries, body, wall_ms())
            params = _parse_body(body) if request.method == "POST" else dict(request.query)
            async with self._lock:
                now = self.clock.now_ms()
                self._sync(now)
                try:
                    data = fn(params, now)
                finally:
                    await self.private_ws.publish(self.account.drain_events())
            return self._envelope(data)

        return handler

    # ---------------------------------------------------------------- account settings
    def _set_leverage(self, p: Params, now: int) -> Any:
        """symbol, productType, marginCoin, leverage (holdSide is ignored in one-way mode)."""
        symbol = self._symbol(p)
        _margin_coin(p)
        raw = _required(p, "leverage")
        try:
            leverage = int(float(raw))
            if leverage != float(raw):
                raise ValueError
        except ValueError:
            raise TradingError("40017", f"Parameter verification failed leverage must be an integer, got {raw!r}") from None
        s = self.account.set_leverage(symbol, leverage)
        return {"symbol": symbol, "marginCoin": MARGIN_COIN, "longLeverage": str(s.leverage),
                "shortLeverage": str(s.leverage), "crossMarginLeverage": str(s.leverage), "marginMode": s.margin_mode}

    def _set_margin_mode(self, p: Params, now: int) -> Any:
        """symbol, productType, marginCoin, marginMode (crossed / isolated)."""
        symbol = self._symbol(p)
        _margin_coin(p)
        s = self.account.set_margin_mode(symbol, str(_required(p, "marginMode")).lower())
        return {"symbol": symbol, "marginCoin": MARGIN_COIN, "longLeverage": str(s.leverage),
                "shortLeverage": str(s.leverage), "marginMode": s.margin_mode}

    def _set_position_mode(self, p: Params, now: int) -> Any:
        """productType, posMode: the emulator account is one-way only."""
        _product_type(p)
        mode = str(_required(p, "posMode"))
        if mode != POS_MODE:
            if self.account.positions() or self.account.open_orders() or self.account.triggers():
                raise TradingError("40920", "Position or order exists, the position mode cannot be switched")
            raise TradingError("40017", f"Parameter verification failed posMode {mode!r}: the emulator account "
                                        "supports one_way_mode only")
        return {"posMode": POS_MODE}

    # ---------------------------------------------------------------- orders
    def _place_order(self, p: Params, now: int) -> Any:
        """symbol, productType, marginMode, marginCoin, size, price (limit), side, orderType, force,
        clientOid, reduceOnly (YES/NO). No tradeSide (hedge mode) and no preset TP/SL here."""
        symbol = self._symbol(p)
        _margin_coin(p)
        if p.get("tradeSide") not in (None, ""):
            raise TradingError("40774", "The order type for unilateral position must also be the unilateral position type.")
        _refuse_presets(p)
        order_type = str(_required(p, "orderType")).lower()
        price = _float(p, "price") if order_type == "limit" else None
        size = _float(p, "size", required=True)
        self._fault_reject()
        order = self.account.place_order(
            symbol, str(_required(p, "side")).lower(), order_type, size, now_ms=now, price=price,
            client_oid=_str(p, "clientOid"), reduce_only=_yes(p, "reduceOnly"),
            margin_mode=_margin_mode(p), force=str(p.get("force") or "gtc").lower())
        return {"orderId": order.order_id, "clientOid": order.client_oid}

    def _cancel_order(self, p: Params, now: int) -> Any:
        """symbol, productType, orderId or clientOid."""
        symbol = self._symbol(p)
        order_id, client_oid = _ids(p)
        order = self.account.cancel_order(symbol, now_ms=now, order_id=order_id, client_oid=client_oid)
        return {"orderId": order.order_id, "clientOid": order.client_oid}

    def _batch_cancel_orders(self, p: Params, now: int) -> Any:
        """symbol, productType, orderIdList [{orderId}|{clientOid}] (none: every open order of the symbol,
        what ccxt's cancel_all_orders sends)."""
        symbol = self._symbol(p)
        items = p.get("orderIdList")
        if not items:
            orders = self.account.cancel_all_orders(symbol, now_ms=now)
            return {"successList": [{"orderId": o.order_id, "clientOid": o.client_oid} for o in orders],
                    "failureList": []}
        success, failure = [], []
        for item in items if isinstance(items, list) else []:
            item = item if isinstance(item, dict) else {}
            order_id, client_oid = _str(item, "orderId"), _str(item, "clientOid")
            try:
                o = self.account.cancel_order(symbol, now_ms=now, order_id=order_id, client_oid=client_oid)
                success.append({"orderId": o.order_id, "clientOid": o.client_oid})
            except TradingError as exc:
                failure.append({"orderId": order_id or "", "clientOid": client_oid or "", "errorMsg": exc.msg,
                                "errorCode": exc.code})
        return {"successList": success, "failureList": failure}

    def _cancel_all_orders(self, p: Params, now: int) -> Any:
        """productType, symbol (optional): every open normal order."""
        _product_type(p)
        symbol = self._symbol(p) if p.get("symbol") else None
        orders = self.account.cancel_all_orders(symbol, now_ms=now)
        return {"successList": [{"orderId": o.order_id, "clientOid": o.client_oid} for o in orders], "failureList": []}

    def _close_positions(self, p: Params, now: int) -> Any:
        """symbol, productType, holdSide (optional): a market close of the whole position."""
        symbol = self._symbol(p)
        pos = self.account.position(symbol)
        hold = p.get("holdSide")
        if pos is None or (hold and {"buy": "long", "sell": "short"}.get(hold, hold) != pos.side):
            raise TradingError("22002", "No position to close")
        self._fault_reject()
        order = self.account.close_position(symbol, now_ms=now)
        return {"successList": [{"orderId": order.order_id, "clientOid": order.client_oid, "symbol": symbol}],
                "failureList": []}

    # ---------------------------------------------------------------- plan orders
    def _place_tpsl_order(self, p: Params, now: int) -> Any:
        """symbol, productType, marginCoin, planType (pos_loss/pos_profit/loss_plan/profit_plan),
        triggerPrice, triggerType, executePrice (0 or absent = market), holdSide (buy = the long
        position in one-way mode), size (partial plans), clientOid."""
        symbol = self._symbol(p)
        _margin_coin(p)
        plan_type = str(_required(p, "planType"))
        if plan_type not in TPSL_PLAN_TYPES:
            raise TradingError("40017", f"Parameter verification failed planType {plan_type!r} is not a TP/SL plan "
                                        f"type ({', '.join(TPSL_PLAN_TYPES)})")
        trigger = _float(p, "triggerPrice", required=True)
        execute = _float(p, "executePrice")
        size = _float(p, "size") or 0.0
        failure = self.faults.take_tpsl_failure()
        if failure is not None:
            raise TradingError(*failure)
        trig = self.account.place_trigger(
            symbol, plan_type, trigger_price=trigger, size=size, now_ms=now, hold_side=_str(p, "holdSide"),
            execute_price=execute, client_oid=_str(p, "clientOid"),
            trigger_type=str(p.get("triggerType") or "fill_price"))
        return {"orderId": trig.order_id, "clientOid": trig.client_oid}

    def _modify_tpsl_order(self, p: Params, now: int) -> Any:
        """orderId or clientOid, symbol, productType, marginCoin, triggerPrice, executePrice, size."""
        symbol = self._symbol(p)
        order_id, client_oid = _ids(p)
        trig = self.account.modify_trigger(symbol, now_ms=now, order_id=order_id, client_oid=client_oid,
                                           trigger_price=_float(p, "triggerPrice", required=True),
                                           execute_price=_float(p, "executePrice"), size=_float(p, "size"))
        return {"orderId": trig.order_id, "clientOid": trig.client_oid}

    def _place_plan_order(self, p: Params, now: int) -> Any:
        """planType normal_plan: symbol, productType, marginMode, marginCoin, size, side, orderType,
        triggerPrice, triggerType, executePrice / price (limit), clientOid, reduceOnly."""
        symbol = self._symbol(p)
        _margin_coin(p)
        plan_type = str(p.get("planType") or "normal_plan")
        if plan_type != "normal_plan":
            raise TradingError("40017", f"Parameter verification failed planType {plan_type!r}: the emulator "
                                        "supports normal_plan here (TP/SL: place-tpsl-order)")
        _refuse_presets(p)
        order_type = str(p.get("orderType") or "market").lower()
        execute = _float(p, "executePrice")
        if execute is None and order_type == "limit":
            execute = _float(p, "price", required=True)
        trig = self.account.place_trigger(
            symbol, "normal_plan", trigger_price=_float(p, "triggerPrice", required=True),
            size=_float(p, "size", required=True), now_ms=now, side=str(_required(p, "side")).lower(),
            execute_price=execute if order_type == "limit" else None, client_oid=_str(p, "clientOid"),
            trigger_type=str(p.get("triggerType") or "fill_price"), reduce_only=_yes(p, "reduceOnly"),
            margin_mode=_margin_mode(p))
        return {"orderId": trig.order_id, "clientOid": trig.client_oid}

    def _cancel_plan_order(self, p: Params, now: int) -> Any:
        """productType, symbol, planType (default normal_plan; must be the order's exact type, e.g.
        pos_loss), orderIdList [{orderId}|{clientOid}] or orderId/clientOid (none: all of that type)."""
        _product_type(p)
        symbol = self._symbol(p) if p.get("symbol") else None
        plan_type = str(p.get("planType") or "normal_plan")
        ids: list[tuple[str | None, str | None]] | None = None
        if isinstance(p.get("orderIdList"), list) and p["orderIdList"]:
            ids = [(_str(x, "orderId"), _str(x, "clientOid")) for x in p["orderIdList"] if isinstance(x, dict)]
        elif p.get("orderId") or p.get("clientOid"):
            ids = [(_str(p, "orderId"), _str(p, "clientOid"))]
        cancelled, missing = self.account.cancel_triggers(symbol, plan_type, now_ms=now, ids=ids)
        if ids and not cancelled:
            raise TradingError("43025", "Plan order does not exist")
        return {"successList": [{"orderId": t.order_id, "clientOid": t.client_oid} for t in cancelled],
                "failureList": [{"orderId": o or "", "clientOid": c or "", "errorMsg": "Plan order does not exist"}
                                for o, c in missing]}

    # ---------------------------------------------------------------- order queries
    def _orders_pending(self, p: Params, now: int) -> Any:
        """productType, symbol, orderId, clientOid, status (live / partially_filled), limit: newest first."""
        _product_type(p)
        symbol = self._symbol(p) if p.get("symbol") else None
        status = _str(p, "status")
        orders = [o for o in reversed(self.account.open_orders(symbol))
                  if _matches(p, o) and (status is None or o.status == status)]
        page = orders[: _limit(p)]
        return {"entrustedList": [order_row(o, status_key="status") for o in page],
                "endId": page[-1].order_id if page else ""}

    def _orders_history(self, p: Params, now: int) -> Any:
        """productType, symbol, orderId, clientOid, startTime, endTime, limit: filled and cancelled
        orders, newest first."""
        _product_type(p)
        symbol = self._symbol(p) if p.get("symbol") else None
        orders = [o for o in reversed(self.account.orders(symbol)) if not o.is_open and _matches(p, o)]
        page = orders[: _limit(p)]
        return {"entrustedList": [order_row(o, status_key="status") for o in page],
                "endId": page[-1].order_id if page else ""}

    def _orders_plan_pending(self, p: Params, now: int) -> Any:
        """productType, planType (normal_plan, profit_loss = every TP/SL kind, or one kind), symbol,
        orderId, clientOid: live plan orders, newest first."""
        return self._plans(p, live=True)

    def _orders_plan_history(self, p: Params, now: int) -> Any:
        """Like orders-plan-pending, for plan orders that executed, failed or were cancelled."""
        return self._plans(p, live=False)

    def _plans(self, p: Params, *, live: bool) -> Any:
        _product_type(p)
        symbol = self._symbol(p) if p.get("symbol") else None
        plan_type = str(_required(p, "planType"))
        kinds = TPSL_PLAN_TYPES if plan_type == "profit_loss" else (plan_type,)
        found = [t for t in reversed(self.account.triggers(symbol, kinds, live_only=live))
                 if t.is_live == live and _matches(p, t)]
        page = found[: _limit(p)]
        return {"entrustedList": [trigger_row(t) for t in page], "endId": page[-1].order_id if page else ""}

    def _order_detail(self, p: Params, now: int) -> Any:
        """symbol, productType, orderId or clientOid (normal orders only; plan orders: orders-plan-pending)."""
        symbol = self._symbol(p)
        order_id, client_oid = _ids(p)
        order = self.account.order(symbol, order_id=order_id, client_oid=client_oid)
        if order is None:
            raise TradingError("40109", "The data of the order cannot be found, please confirm the order number")
        return order_row(order)

    def _fills(self, p: Params, now: int) -> Any:
        """productType, symbol, orderId, startTime, endTime, limit: the account's fills, newest first."""
        _product_type(p)
        symbol = self._symbol(p) if p.get("symbol") else None
        start, end = _int(p, "startTime"), _int(p, "endTime")
        fills = [f for f in reversed(self.account.fills(symbol, _str(p, "orderId")))
                 if (start is None or f.ts >= start) and (end is None or f.ts <= end)]
        page = fills[: _limit(p)]
        return {"fillList": [fill_row(f) for f in page], "endId": page[-1].trade_id if page else ""}

    # ---------------------------------------------------------------- positions and balance
    def _all_positions(self, p: Params, now: int) -> Any:
        """productType, marginCoin: every open position."""
        _product_type(p)
        _margin_coin(p)
        return [position_row(self.account.position_view(pos)) for pos in self.account.positions()]

    def _single_position(self, p: Params, now: int) -> Any:
        symbol = self._symbol(p)
        _margin_coin(p)
        pos = self.account.position(symbol)
        return [] if pos is None else [position_row(self.account.position_view(pos))]

    def _accounts(self, p: Params, now: int) -> Any:
        _product_type(p)
        return [account_row(self.account.balance())]

    def _single_account(self, p: Params, now: int) -> Any:
        symbol = self._symbol(p)
        _margin_coin(p)
        return account_row(self.account.balance(), self.account.settings(symbol))

    # ---------------------------------------------------------------- admin (tests, rehearsals)
    async def _admin_account(self, request: web.Request) -> web.Response:
        async with self._lock:
            self._sync(self.clock.now_ms())
            await self.private_ws.publish(self.account.drain_events())
            acc = self.account
            body = {
                "balance": {k: v for k, v in acc.balance().__dict__.items()},
                "positions": [position_row(acc.position_view(p)) for p in acc.positions()],
                "orders": [order_row(o, status_key="status") for o in acc.open_orders()],
                "triggers": [trigger_row(t) for t in acc.triggers()],
                "fills": len(acc.fills()),
                "settings": {s: acc.settings(s).__dict__ for s in self.market.symbols()},
            }
        return web.json_response(body)

    async def _admin_position(self, request: web.Request) -> web.Response:
        """Body: symbol (Bitget id), side (long/short), size, entry_price (default: the mark),
        margin_mode, leverage. Makes a position without an order: what a manual trade would leave."""
        try:
            body = await request.json()
            unknown = set(body) - {"symbol", "side", "size", "entry_price", "margin_mode", "leverage"}
            if unknown:
                raise ValueError(f"unknown position keys: {', '.join(sorted(unknown))}")
            async with self._lock:
                now = self.clock.now_ms()
                self._sync(now)
                try:
                    pos = self.account.open_position(
                        str(body["symbol"]), str(body["side"]), float(body["size"]), now_ms=now,
                        entry_price=None if body.get("entry_price") is None else float(body["entry_price"]),
                        margin_mode=body.get("margin_mode"),
                        leverage=None if body.get("leverage") is None else int(body["leverage"]))
                finally:
                    await self.private_ws.publish(self.account.drain_events())
        except TradingError as exc:
            return web.json_response({"ok": False, "error": f"{exc.code} {exc.msg}"}, status=400)
        except (ValueError, TypeError, KeyError, AttributeError, json.JSONDecodeError) as exc:
            return web.json_response({"ok": False, "error": f"{type(exc).__name__}: {exc}"}, status=400)
        return web.json_response({"ok": True, "position": position_row(self.account.position_view(pos))})

    # ---------------------------------------------------------------- helpers
    def _symbol(self, p: Params) -> str:
        _product_type(p)
        symbol = p.get("symbol")
        if not symbol:
            raise TradingError("40019", "Parameter symbol cannot be empty")
        if self.market.spec(str(symbol)) is None:
            raise TradingError("40034", f"Parameter {symbol} does not exist")
        return str(symbol)

    def _fault_reject(self) -> None:
        reject = self.faults.take_order_reject()
        if reject is not None:
            raise TradingError(*reject)


def _parse_body(body: str) -> Params:
    try:
        parsed = json.loads(body) if body.strip() else {}
    except json.JSONDecodeError:
        raise TradingError("40017", "Parameter verification failed: the body is not JSON") from None
    if not isinstance(parsed, dict):
        raise TradingError("40017", "Parameter verification failed: the body must be a JSON object")
    return parsed


def _product_type(p: Params) -> str:
    product_type = str(p.get("productType") or "")
    if product_type.upper() != PRODUCT_TYPE:
        raise TradingError("40034", f"Parameter productType {product_type or '(empty)'} is not supported by the emulator")
    return product_type


def _margin_coin(p: Params) -> None:
    coin = p.get("marginCoin")
    if coin not in (None, "") and str(coin).upper() != MARGIN_COIN:
        raise TradingError("40034", f"Parameter marginCoin {coin} does not exist")


def _margin_mode(p: Params) -> str | None:
    mode = p.get("marginMode")
    return None if mode in (None, "") else str(mode).lower()


def _required(p: Params, name: str) -> Any:
    value = p.get(name)
    if value is None or value == "":
        raise TradingError("40019", f"Parameter {name} cannot be empty")
    return value


def _str(p: Params, name: str) -> str | None:
    value = p.get(name)
    return None if value is None or value == "" else str(value)


def _float(p: Params, name: str, *, required: bool = False) -> float | None:
    value = _required(p, name) if required else p.get(name)
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TradingError("40017", f"Parameter verification failed {name} must be a number, got {value!r}") from None


def _int(p: Params, name: str) -> int | None:
    value = p.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise TradingError("40017", f"Parameter verification failed {name} must be an integer, got {value!r}") from None


def _limit(p: Params) -> int:
    limit = _int(p, "limit")
    return MAX_PAGE if limit is None else max(1, min(limit, MAX_PAGE))


def _yes(p: Params, name: str) -> bool:
    return str(p.get(name) or "NO").upper() in ("YES", "TRUE")


def _ids(p: Params) -> tuple[str | None, str | None]:
    order_id, client_oid = _str(p, "orderId"), _str(p, "clientOid")
    if order_id is None and client_oid is None:
        raise TradingError("40924", "orderId and clientOid must have one")
    return order_id, client_oid


def _matches(p: Params, item: Order | TriggerOrder) -> bool:
    """The orderId / clientOid / startTime / endTime filters of the order lists."""
    order_id, client_oid = _str(p, "orderId"), _str(p, "clientOid")
    start, end = _int(p, "startTime"), _int(p, "endTime")
    return ((order_id is None or item.order_id == order_id) and (client_oid is None or item.client_oid == client_oid)
            and (start is None or item.created_ms >= start) and (end is None or item.created_ms <= end))


def _refuse_presets(p: Params) -> None:
    # Silently dropping an attached stop-loss would leave a client believing it is protected.
    for name in _PRESET_FIELDS:
        if p.get(name) not in (None, ""):
            raise TradingError("40017", f"Parameter verification failed {name}: attached TP/SL are not supported by "
                                        "the emulator; place a pos_loss / pos_profit with place-tpsl-order")
