"""The emulator's private WebSocket (`/v2/ws/private`): enough Bitget v2 for unmodified `ccxt.pro.bitget`
`watch_orders` (also `trigger=True`), `watch_my_trades`, `watch_positions` and `watch_balance`.

Protocol:
- client text `ping` -> server text `pong`;
- `{"op":"login","args":[{apiKey, passphrase, timestamp, sign}]}` (see `auth.py`) ->
  `{"event":"login","code":0}` or `{"event":"error","code":30011|30012|30013|30014|30015,"msg":...}`;
- `{"op":"subscribe","args":[{"instType":"USDT-FUTURES","channel":"orders"|"orders-algo"|"fill"|
  "positions"|"account","instId"|"coin":"default"}]}` -> `{"event":"subscribe","arg":{...}}`; before login the
  answer is error 30004. `positions` and `account` then push a snapshot at once;
- pushes `{"action":"snapshot","arg":{...},"data":[...],"ts":...}` on every change: one `orders`
  push per order change (placed, each fill, cancelled) followed by a `fill` push for a fill, one
  `orders-algo` push per plan-order change, then one `positions` push with every open position (a closed position is simply absent,
  so an empty list means flat) and one `account` push.
"""
from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from radar.exchange.emulator.account import Account, AccountEvent, BalanceEvent, OrderEvent, PositionEvent, TriggerEvent
from radar.exchange.emulator.auth import Credentials, verify_ws_login, wall_ms
from radar.exchange.emulator.market import Clock
from radar.exchange.emulator.ws_protocol import WsRequest, is_ping, parse_request
from radar.exchange.emulator.rows import (
    dumps, ws_account_row, ws_fill_row, ws_order_row, ws_position_row, ws_trigger_row,
)

WS_PRIVATE_PATH = "/v2/ws/private"
INST_TYPE = "USDT-FUTURES"
PRIVATE_CHANNELS = ("orders", "orders-algo", "fill", "positions", "account")
ERR_NOT_EXIST, ERR_BAD_OP, ERR_NOT_LOGGED_IN = 30001, 30003, 30004


@dataclass(eq=False)
class _Connection:
    ws: web.WebSocketResponse
    request: web.Request
    logged_in: bool = False
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)  # channel -> arg as sent
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class PrivateWebSocket:
    """Logged-in connections and their channels; `publish` turns account events into pushes."""

    def __init__(self, account: Account, clock: Clock, credentials: Credentials | None) -> None:
        self.account = account
        self.clock = clock
        self.credentials = credentials
        self._connections: set[_Connection] = set()
        self.connections_opened = 0
        self.logins = 0

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    def subscribed(self, channel: str) -> int:
        """How many logged-in connections listen to `channel` (tests wait on this)."""
        return sum(1 for c in self._connections if c.logged_in and channel in c.subscriptions)

    # ---------------------------------------------------------------- aiohttp handler
    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = _Connection(ws, request)
        self._connections.add(conn)
        self.connections_opened += 1
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_text(conn, msg.data)
        except ConnectionResetError:
            pass
        finally:
            self._connections.discard(conn)
        return ws

    async def _on_text(self, conn: _Connection, text: str) -> None:
        if is_ping(text):
            await self._send(conn, "pong")
            return
        request = parse_request(text)
        if not isinstance(request, WsRequest):
            await self._send(conn, dumps(request))
            return
        op, args = request.op, request.args
        if op == "login":
            await self._login(conn, args[0] if args else {})
        elif op in ("subscribe", "unsubscribe"):
            for arg in args:
                await (self._subscribe(conn, arg) if op == "subscribe" else self._unsubscribe(conn, arg))
        else:
            await self._send(conn, dumps({"event": "error", "code": ERR_BAD_OP, "msg": f"op {op!r} is not supported",
                                          "op": op}))

    async def _login(self, conn: _Connection, arg: dict[str, Any]) -> None:
        refusal = verify_ws_login(self.credentials, arg, wall_ms())
        if refusal is not None:
            code, msg = refusal
            await self._send(conn, dumps({"event": "error", "code": code, "msg": msg, "op": "login"}))
            return
        conn.logged_in = True
        self.logins += 1
        await self._send(conn, dumps({"event": "login", "code": 0}))

    async def _subscribe(self, conn: _Connection, arg: dict[str, Any]) -> None:
        if not conn.logged_in:
            await self._send(conn, dumps({"event": "error", "arg": arg, "code": ERR_NOT_LOGGED_IN,
                                          "msg": "User not logged in", "op": "subscribe"}))
            return
        channel = str(arg.get("channel", ""))
        inst_type = str(arg.get("instType", ""))
        if inst_type.upper() != INST_TYPE or channel not in PRIVATE_CHANNELS:
            await self._send(conn, dumps({
                "event": "error", "arg": arg, "code": ERR_NOT_EXIST, "op": "subscribe",
                "msg": f"instType:{inst_type},channel:{channel},instId:{arg.get('instId', arg.get('coin', ''))} "
                       "doesn't exist"}))
            return
        conn.subscriptions[channel] = dict(arg)
        await self._send(conn, dumps({"event": "subscribe", "arg": arg}))
        if channel == "positions":
            await self._push(conn, channel, self._positions_data())
        elif channel == "account":
            await self._push(conn, channel, [ws_account_row(self.account.balance())])

    async def _unsubscribe(self, conn: _Connection, arg: dict[str, Any]) -> None:
        conn.subscriptions.pop(str(arg.get("channel", "")), None)
        await self._send(conn, dumps({"event": "unsubscribe", "arg": arg}))

    # ---------------------------------------------------------------- pushes
    async def publish(self, events: list[AccountEvent]) -> None:
        """Push account events to the subscribed connections, in order, positions/account once each."""
        if not events or not self._connections:
            return
        positions_changed = balance_changed = False
        for event in events:
            if isinstance(event, OrderEvent):
                await self._broadcast("orders", [ws_order_row(event.order, event.fill)])
                if event.fill is not None:
                    await self._broadcast("fill", [ws_fill_row(event.fill)])
            elif isinstance(event, TriggerEvent):
                await self._broadcast("orders-algo", [ws_trigger_row(event.trigger)])
            elif isinstance(event, PositionEvent):
                positions_changed = True
            elif isinstance(event, BalanceEvent):
                balance_changed = True
        if positions_changed:
            await self._broadcast("positions", self._positions_data())
        if balance_changed:
            await self._broadcast("account", [ws_account_row(self.account.balance())])

    def _positions_data(self) -> list[dict[str, Any]]:
        return [ws_position_row(self.account.position_view(p)) for p in self.account.positions()]

    async def _broadcast(self, channel: str, data: list[dict[str, Any]]) -> None:
        for conn in list(self._connections):
            if conn.logged_in and channel in conn.subscriptions:
                await self._push(conn, channel, data)

    async def _push(self, conn: _Connection, channel: str, data: list[dict[str, Any]]) -> None:
        arg = conn.subscriptions[channel]
        await self._send(conn, dumps({"action": "snapshot", "arg": arg, "data": data, "ts": self.clock.now_ms()}))

    async def drop_all(self, abrupt: bool) -> None:
        for conn in list(self._connections):
            self._connections.discard(conn)
            if abrupt:
                if conn.request.transport is not None:
                    conn.request.transport.abort()
            else:
                asyncio.get_running_loop().create_task(
                    conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"emulator fault: connection dropped"))

    async def close_all(self) -> None:
        for conn in list(self._connections):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"emulator stopping"), 2)
        self._connections.clear()

    async def _send(self, conn: _Connection, text: str) -> None:
        if conn.ws.closed:
            return
        async with conn.lock:
            try:
                await conn.ws.send_str(text)
            except (ConnectionResetError, RuntimeError):
                self._connections.discard(conn)
