"""The emulator's public WebSocket (`/v2/ws/public`): enough Bitget v2 for unmodified `ccxt.pro.bitget`.

Protocol (as Bitget documents it and ccxt speaks it):
- client text `ping` -> server text `pong` (ccxt's keep-alive);
- `{"op":"subscribe","args":[{"instType":"USDT-FUTURES","channel":"candle1H","instId":"BTCUSDT"}]}`
  -> `{"event":"subscribe","arg":{...}}` per arg, then a `snapshot` push with the latest candle state;
- pushes `{"action":"snapshot"|"update","arg":{...},"data":[[ts,o,h,l,c,baseVol,quoteVol,usdtVol]],"ts":...}`
  (all strings), one row per update; channel `ticker` pushes `data:[{instId,lastPr,...}]`;
- `{"op":"unsubscribe","args":[...]}` -> `{"event":"unsubscribe","arg":{...}}`;
- a bad request -> `{"event":"error","arg":{...},"code":30001,"msg":"...","op":"subscribe"}`.
Timing and faults live in `replay.py`; this module only speaks the protocol.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from radar.exchange.emulator.market import MarketData
from radar.exchange.emulator.replay import CandleRow
from radar.exchange.emulator.ws_protocol import WsRequest, is_ping, parse_request
from radar.models import CandleArrays, timeframe_ms

WS_PUBLIC_PATH = "/v2/ws/public"
INST_TYPE = "USDT-FUTURES"
# Bitget candle channel suffix -> our timeframe name.
CHANNEL_TIMEFRAMES = {"1m": "1m", "5m": "5m", "15m": "15m", "1H": "1h", "4H": "4h", "1D": "1d"}
TICKER_CHANNEL = "ticker"
ERR_NOT_EXIST, ERR_BAD_OP = 30001, 30003


@dataclass(eq=False)
class _Connection:
    ws: web.WebSocketResponse
    request: web.Request
    subscriptions: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # key -> arg as sent
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one writer at a time keeps frames in order


class PublicWebSocket:
    """Connections and their subscriptions; the `Replayer` calls `push_rows` when candles fall due."""

    def __init__(self, market: MarketData, clock: Any) -> None:
        self.market = market
        self.clock = clock
        self.replayer: Any = None  # set by the server: stream state for snapshots
        self._connections: set[_Connection] = set()
        self.connections_opened = 0
        self.frames_received = 0

    # ---------------------------------------------------------------- introspection
    @property
    def connection_count(self) -> int:
        return len(self._connections)

    def channels(self) -> set[tuple[str, str]]:
        return {key for conn in self._connections for key in conn.subscriptions}

    def stream_source(self, channel: str, market_id: str) -> tuple[CandleArrays, str] | None:
        if channel == TICKER_CHANNEL:
            # The ticker follows the finest timeframe served for the symbol.
            tfs = sorted(self.market.timeframes(market_id), key=timeframe_ms)
            if not tfs:
                return None
            timeframe = tfs[0]
        else:
            timeframe = CHANNEL_TIMEFRAMES.get(channel.removeprefix("candle"), "")
        candles = self.market.all_candles(market_id, timeframe) if timeframe else None
        return None if candles is None else (candles, timeframe)

    # ---------------------------------------------------------------- aiohttp handler
    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = _Connection(ws, request)
        self._connections.add(conn)
        self.connections_opened += 1
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                self.frames_received += 1
                await self._on_text(conn, msg.data)
        except ConnectionResetError:
            pass  # the client vanished; nothing to answer
        finally:
            self._connections.discard(conn)
        return ws

    async def _on_text(self, conn: _Connection, text: str) -> None:
        if is_ping(text):
            await self._send(conn, "pong")
            return
        request = parse_request(text)
        if not isinstance(request, WsRequest):
            await self._send_json(conn, request)
            return
        op, args = request.op, request.args
        if op not in ("subscribe", "unsubscribe"):
            await self._send_json(conn, {"event": "error", "code": ERR_BAD_OP, "msg": f"op {op!r} is not supported",
                                         "op": op})
            return
        for arg in args:
            if op == "subscribe":
                await self._subscribe(conn, arg)
            else:
                conn.subscriptions.pop(self._key(arg), None)
                await self._send_json(conn, {"event": "unsubscribe", "arg": arg})

    @staticmethod
    def _key(arg: dict[str, Any]) -> tuple[str, str]:
        return str(arg.get("channel", "")), str(arg.get("instId", ""))

    def _arg_error(self, arg: dict[str, Any]) -> str | None:
        inst_type, channel, inst_id = (str(arg.get(k, "")) for k in ("instType", "channel", "instId"))
        exists = (inst_type.upper() == INST_TYPE and self.market.spec(inst_id) is not None
                  and (channel == TICKER_CHANNEL or channel.startswith("candle"))
                  and self.stream_source(channel, inst_id) is not None)
        return None if exists else f"instType:{inst_type},channel:{channel},instId:{inst_id} doesn't exist"

    async def _subscribe(self, conn: _Connection, arg: dict[str, Any]) -> None:
        error = self._arg_error(arg)
        if error is not None:
            await self._send_json(conn, {"event": "error", "arg": arg, "code": ERR_NOT_EXIST, "msg": error,
                                         "op": "subscribe"})
            return
        channel, market_id = self._key(arg)
        # Existing subscribers first get what fell due, so this snapshot and their stream agree.
        stream = await self.replayer.flush(channel, market_id) if self.replayer is not None else None
        conn.subscriptions[(channel, market_id)] = dict(arg)
        await self._send_json(conn, {"event": "subscribe", "arg": arg})
        row = stream.current() if stream is not None else None
        if row is not None:
            await self._send_json(conn, self._push_message("snapshot", arg, channel, market_id, [row],
                                                           self.clock.now_ms()))

    # ---------------------------------------------------------------- pushes (called by the replayer)
    async def push_rows(self, channel: str, market_id: str, rows: list[CandleRow], now_ms: int) -> None:
        key = (channel, market_id)
        for conn in list(self._connections):
            arg = conn.subscriptions.get(key)
            if arg is None:
                continue
            for row in rows:
                await self._send_json(conn, self._push_message("update", arg, channel, market_id, [row], now_ms))

    async def drop_all(self, abrupt: bool) -> None:
        for conn in list(self._connections):
            self._connections.discard(conn)
            if abrupt:
                if conn.request.transport is not None:
                    conn.request.transport.abort()
            else:
                # Not awaited: close() waits for the peer's close frame, which the handler's reader gets.
                asyncio.get_running_loop().create_task(
                    conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"emulator fault: connection dropped"))

    async def send_malformed(self, kind: str, now_ms: int) -> None:
        for conn in list(self._connections):
            if not conn.subscriptions:
                continue
            arg = next(iter(conn.subscriptions.values()))
            if kind == "invalid_json":
                text = '{"action":"update","arg":' + json.dumps(arg) + ',"data":[["' + str(now_ms)
            else:  # wrong_shape: parses, but the row is not numbers
                text = json.dumps({"action": "update", "arg": arg, "data": [["not-a-time", "", "-1", None, "x"]],
                                   "ts": now_ms})
            await self._send(conn, text)

    async def close_all(self) -> None:
        for conn in list(self._connections):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"emulator stopping"), 2)
        self._connections.clear()

    # ---------------------------------------------------------------- formatting and sending
    def _push_message(self, action: str, arg: dict[str, Any], channel: str, market_id: str,
                      rows: list[CandleRow], now_ms: int) -> dict[str, Any]:
        if channel == TICKER_CHANNEL:
            data: list[Any] = [self._ticker_data(market_id, row, now_ms) for row in rows]
        else:
            data = [_candle_data(row) for row in rows]
        return {"action": action, "arg": arg, "data": data, "ts": now_ms}

    def _ticker_data(self, market_id: str, row: CandleRow, now_ms: int) -> dict[str, str]:
        spec = self.market.spec(market_id)
        last = repr(row.close)
        return {
            "instId": market_id, "lastPr": last, "bidPr": last, "askPr": last, "bidSz": "1", "askSz": "1",
            "open24h": repr(row.open), "high24h": repr(row.high), "low24h": repr(row.low), "change24h": "0",
            "baseVolume": repr(row.volume), "quoteVolume": repr(row.volume * row.close), "usdtVolume":
            repr(row.volume * row.close), "markPrice": last, "indexPrice": last, "ts": str(now_ms),
            "fundingRate": repr(spec.funding_rate if spec else 0.0),
            "holdingAmount": repr(spec.open_interest if spec else 0.0),
        }

    async def _send_json(self, conn: _Connection, payload: dict[str, Any]) -> None:
        await self._send(conn, json.dumps(payload, separators=(",", ":")))

    async def _send(self, conn: _Connection, text: str) -> None:
        if conn.ws.closed:
            return
        async with conn.lock:
            try:
                await conn.ws.send_str(text)
            except (ConnectionResetError, RuntimeError):
                self._connections.discard(conn)  # the peer went away mid-send


def _candle_data(row: CandleRow) -> list[str]:
    quote = repr(row.volume * row.close)
    return [str(row.timestamp), repr(row.open), repr(row.high), repr(row.low), repr(row.close), repr(row.volume),
            quote, quote]
