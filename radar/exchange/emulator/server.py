"""A loopback Bitget v2 REST emulator (aiohttp) that the unmodified ccxt bitget client can talk to.

Serves what ccxt's `load_markets()` and the USDT-M market-data calls hit: server time, contracts,
coins, candles / history-candles, ticker(s), current funding rate and open interest, all in Bitget's
envelope `{"code":"00000","msg":"success","requestTime":...,"data":...}`; and the public WebSocket
`/v2/ws/public` (`ws.py`) streaming candles replayed on the emulator clock (`replay.py`). Trading: one
account (`account.py`) behind signed private REST endpoints (`trading.py`) and the private WebSocket
`/v2/ws/private` (`private_ws.py`); the replay loop drives its matching on every tick.

Admin endpoints (not Bitget): `POST /_emulator/faults`, `POST /_emulator/clock` (now_ms, advance_ms,
speed, run: true|false), `GET /_emulator/clock`, `GET /_emulator/requests`, `GET /_emulator/account`,
`POST /_emulator/account/position`.
"""
from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiohttp import web

from radar.exchange.emulator.account import Account, AccountConfig, TradingError
from radar.exchange.emulator.auth import Credentials
from radar.exchange.emulator.faults import Faults
from radar.exchange.emulator.market import Clock, MarketData, next_funding_ms
from radar.exchange.emulator.private_ws import WS_PRIVATE_PATH, PrivateWebSocket
from radar.exchange.emulator.replay import Replayer
from radar.exchange.emulator.trading import TradingApi
from radar.exchange.emulator.ws import WS_PUBLIC_PATH, PublicWebSocket
from radar.models import CandleArrays

PRODUCT_TYPE = "USDT-FUTURES"
# Bitget granularity strings (swap) -> our timeframe names. `...utc` variants are UTC-aligned.
GRANULARITY_TO_TIMEFRAME = {"1m": "1m", "5m": "5m", "15m": "15m", "1H": "1h", "4H": "4h", "1D": "1d", "1Dutc": "1d"}
CANDLES_MAX_LIMIT = 1000
HISTORY_CANDLES_MAX_LIMIT = 200
DEFAULT_CANDLES_LIMIT = 100

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class RequestRecord:
    """One request as the emulator saw it (for assertions on what the client asked)."""

    method: str
    path: str
    params: dict[str, str]
    status: int
    fault: str = "none"
    candles_served: int = 0
    first_ts: int | None = None
    last_ts: int | None = None


class BitgetApiError(Exception):
    def __init__(self, code: str, msg: str, http_status: int = 400) -> None:
        super().__init__(msg)
        self.code, self.msg, self.http_status = code, msg, http_status


@dataclass
class _Served:
    count: int = 0
    first_ts: int | None = None
    last_ts: int | None = None


SERVED_KEY = web.RequestKey("served", _Served)


class BitgetEmulator:
    """Owns the aiohttp app, the market data, the clock, the faults, the request log and the WebSocket.

    Replay control from Python goes through the clock: `emulator.clock.start(speed)`, `.pause()`,
    `.set(now_ms)` (jump), `.set_speed(x)`; the WebSocket pushes follow it within `tick_s`.

    Trading: `account` (default: a fresh `Account` with `AccountConfig()` over this market's contracts)
    is reachable as `emulator.account`; without `credentials` every private endpoint answers 40037.
    """

    def __init__(self, market: MarketData, clock: Clock | None = None, faults: Faults | None = None,
                 *, tick_s: float = 0.02, account: Account | None = None,
                 credentials: Credentials | None = None) -> None:
        self.market = market
        self.clock = clock or Clock.wall()
        self.faults = faults or Faults()
        self.ws = PublicWebSocket(market, self.clock)
        self.replayer = Replayer(self.ws, self.clock, self.faults, tick_s=tick_s)
        self.ws.replayer = self.replayer
        self.account = account or Account(AccountConfig(), specs=market.spec)
        self.credentials = credentials
        self.private_ws = PrivateWebSocket(self.account, self.clock, credentials)
        self.trading = TradingApi(self.account, market, self.clock, self.faults, self.private_ws, credentials,
                                  self._envelope)
        self.replayer.tick_hooks.append(self.trading.on_tick)
        self.ws_url: str | None = None
        self.private_ws_url: str | None = None
        self._log_lock = threading.Lock()
        self._requests: list[RequestRecord] = []
        self.app = web.Application(middlewares=[self._middleware])
        self.app.add_routes(self._routes())
        self._runner: web.AppRunner | None = None
        self.base_url: str | None = None

    # ---------------------------------------------------------------- lifecycle
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.base_url = f"http://{bound_host}:{bound_port}"
        self.ws_url = f"ws://{bound_host}:{bound_port}{WS_PUBLIC_PATH}"
        self.private_ws_url = f"ws://{bound_host}:{bound_port}{WS_PRIVATE_PATH}"
        self.replayer.start()
        return self.base_url

    async def stop(self) -> None:
        await self.replayer.stop()
        await self.ws.close_all()
        await self.private_ws.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---------------------------------------------------------------- request log
    @property
    def requests(self) -> list[RequestRecord]:
        with self._log_lock:
            return list(self._requests)

    def candle_requests(self) -> list[RequestRecord]:
        return [r for r in self.requests if r.path.endswith("candles")]

    def _record(self, record: RequestRecord) -> None:
        with self._log_lock:
            self._requests.append(record)

    # ---------------------------------------------------------------- plumbing
    def _routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/v2/public/time", self._time),
            web.get("/api/v2/mix/market/contracts", self._contracts),
            web.get("/api/v2/spot/public/coins", self._coins),
            web.get("/api/v2/spot/public/symbols", self._empty_list),
            web.get("/api/v2/margin/currencies", self._empty_list),
            web.get("/api/v2/mix/market/candles", self._candles),
            web.get("/api/v2/mix/market/history-candles", self._history_candles),
            web.get("/api/v2/mix/market/ticker", self._ticker),
            web.get("/api/v2/mix/market/tickers", self._tickers),
            web.get("/api/v2/mix/market/current-fund-rate", self._funding_rate),
            web.get("/api/v2/mix/market/open-interest", self._open_interest),
            web.post("/_emulator/faults", self._admin_faults),
            web.post("/_emulator/clock", self._admin_clock),
            web.get("/_emulator/clock", self._admin_clock_state),
            web.get(WS_PUBLIC_PATH, self.ws.handle),
            web.get(WS_PRIVATE_PATH, self.private_ws.handle),
            web.get("/_emulator/requests", self._admin_requests),
            *self.trading.routes(),
        ]

    def _envelope(self, data: Any) -> web.Response:
        return web.json_response({"code": "00000", "msg": "success", "requestTime": self.clock.now_ms(), "data": data})

    def _error(self, code: str, msg: str, http_status: int = 400) -> web.Response:
        body = {"code": code, "msg": msg, "requestTime": self.clock.now_ms(), "data": None}
        return web.json_response(body, status=http_status)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_emulator/") or request.path in (WS_PUBLIC_PATH, WS_PRIVATE_PATH):
            return await handler(request)  # WebSocket faults are applied by the replayer
        params = dict(request.query)
        action = self.faults.next_action(request.path)
        if action.kind == "die":
            self._record(RequestRecord(request.method, request.path, params, 0, "die"))
            if request.transport is not None:
                request.transport.abort()  # the client sees the connection drop with no answer
            raise asyncio.CancelledError()
        if action.kind == "stall":
            await asyncio.sleep(action.seconds)
        if action.kind == "rate_limit":
            resp = self._error("429", "Too Many Requests", 429)
        elif action.kind == "server_error":
            # Gateway failures come back as plain text, not Bitget's JSON envelope.
            resp = web.Response(status=action.status, text=f"{action.status} Service Temporarily Unavailable")
        else:
            served = _Served()
            request[SERVED_KEY] = served
            try:
                resp = await handler(request)
            except (BitgetApiError, TradingError) as exc:
                resp = self._error(exc.code, exc.msg, exc.http_status)
            except web.HTTPNotFound:
                resp = self._error("40404", "Request URL NOT FOUND", 404)
            except web.HTTPMethodNotAllowed:
                resp = self._error("40404", "Request URL NOT FOUND", 405)
            if resp.status == 200 and request.path.endswith("candles"):
                self.faults.note_candle_request_served()
            self._record(RequestRecord(request.method, request.path, params, resp.status, action.kind,
                                       served.count, served.first_ts, served.last_ts))
            return resp
        self._record(RequestRecord(request.method, request.path, params, resp.status, action.kind))
        return resp

    # ---------------------------------------------------------------- helpers
    def _market_id(self, request: web.Request) -> str:
        symbol = request.query.get("symbol")
        if not symbol:
            raise BitgetApiError("40019", "Parameter symbol cannot be empty")
        self._product_type(request)
        if self.market.spec(symbol) is None:
            raise BitgetApiError("40034", f"Parameter {symbol} does not exist")
        return symbol

    @staticmethod
    def _product_type(request: web.Request) -> str:
        product_type = request.query.get("productType", "")
        if product_type.upper() != PRODUCT_TYPE:
            raise BitgetApiError("40034", f"Parameter productType {product_type or '(empty)'} is not supported by the emulator")
        return product_type

    @staticmethod
    def _int_param(request: web.Request, name: str, default: int | None) -> int | None:
        raw = request.query.get(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise BitgetApiError("40017", f"Parameter {name} must be an integer, got {raw!r}") from None

    # ---------------------------------------------------------------- public endpoints
    async def _time(self, request: web.Request) -> web.Response:
        return self._envelope({"serverTime": str(self.clock.now_ms())})

    async def _empty_list(self, request: web.Request) -> web.Response:
        return self._envelope([])

    async def _coins(self, request: web.Request) -> web.Response:
        coins = sorted({s.base for s in map(self.market.spec, self.market.symbols()) if s} | {"USDT"})
        return self._envelope([{"coinId": str(i + 1), "coin": c, "transfer": "true", "chains": []} for i, c in enumerate(coins)])

    async def _contracts(self, request: web.Request) -> web.Response:
        if request.query.get("productType", "").upper() != PRODUCT_TYPE:
            return self._envelope([])  # only USDT-M swaps are listed
        wanted = request.query.get("symbol")
        data = []
        for market_id in self.market.symbols():
            spec = self.market.spec(market_id)
            if spec is None or (wanted and wanted != market_id):
                continue
            data.append({
                "symbol": market_id, "baseCoin": spec.base, "quoteCoin": spec.quote,
                "buyLimitPriceRatio": "0.01", "sellLimitPriceRatio": "0.01", "feeRateUpRatio": "0.005",
                "makerFeeRate": repr(self.account.config.maker_fee), "takerFeeRate": repr(self.account.config.taker_fee),
                "openCostUpRatio": "0.01",
                "supportMarginCoins": [spec.quote], "minTradeNum": spec.min_trade_num, "priceEndStep": "1",
                "volumePlace": str(spec.volume_place), "pricePlace": str(spec.price_place),
                "sizeMultiplier": spec.min_trade_num, "symbolType": "perpetual", "minTradeUSDT": "5",
                "maxSymbolOrderNum": "200", "maxProductOrderNum": "400", "maxPositionNum": "150",
                "symbolStatus": "normal", "offTime": "-1", "limitOpenTime": "-1", "deliveryTime": "",
                "deliveryStartTime": "", "deliveryPeriod": "", "launchTime": "", "fundInterval": "8",
                "minLever": "1", "maxLever": str(spec.max_lever), "posLimit": "0.05", "maintainTime": "",
            })
        return self._envelope(data)

    async def _candles(self, request: web.Request) -> web.Response:
        return self._serve_candles(request, CANDLES_MAX_LIMIT)

    async def _history_candles(self, request: web.Request) -> web.Response:
        return self._serve_candles(request, HISTORY_CANDLES_MAX_LIMIT)

    def _serve_candles(self, request: web.Request, max_limit: int) -> web.Response:
        market_id = self._market_id(request)
        granularity = request.query.get("granularity", "")
        timeframe = GRANULARITY_TO_TIMEFRAME.get(granularity)
        if timeframe is None:
            raise BitgetApiError("40034", f"Parameter granularity {granularity or '(empty)'} is not supported")
        limit = self._int_param(request, "limit", DEFAULT_CANDLES_LIMIT)
        assert limit is not None
        if not 1 <= limit <= max_limit:
            raise BitgetApiError("40017", f"Parameter limit must be between 1 and {max_limit}, got {limit}")
        now = self.clock.now_ms()
        start = self._int_param(request, "startTime", None)
        end = self._int_param(request, "endTime", None)
        end = now if end is None else min(end, now)
        if start is not None and start > end:
            raise BitgetApiError("40017", "Parameter startTime must not be after endTime")
        closed = self.market.closed(market_id, timeframe, now)
        if closed is None:
            raise BitgetApiError("40034", f"Parameter granularity {granularity} has no data for {market_id} in the emulator")
        ts = closed.timestamp
        lo = 0 if start is None else int(np.searchsorted(ts, start, side="left"))
        hi = int(np.searchsorted(ts, end, side="right"))
        # Like Bitget, the window is filled from its END: the newest `limit` candles <= endTime.
        lo = max(lo, hi - limit)
        page = closed.slice(lo, hi)
        served = request[SERVED_KEY]
        served.count = len(page)
        if len(page):
            served.first_ts, served.last_ts = int(page.timestamp[0]), int(page.timestamp[-1])
        return self._envelope(_candle_rows(page))

    def _ticker_row(self, market_id: str) -> dict[str, str]:
        now = self.clock.now_ms()
        spec = self.market.spec(market_id)
        assert spec is not None
        last = self.market.last_close(market_id, now) or 0.0
        return {
            "symbol": market_id, "lastPr": repr(last), "askPr": repr(last), "bidPr": repr(last),
            "bidSz": "1", "askSz": "1", "high24h": repr(last), "low24h": repr(last), "ts": str(now),
            "change24h": "0", "baseVolume": "0", "quoteVolume": "0", "usdtVolume": "0", "openUtc": repr(last),
            "changeUtc24h": "0", "indexPrice": repr(last), "fundingRate": repr(spec.funding_rate),
            "holdingAmount": repr(spec.open_interest), "open24h": repr(last), "markPrice": repr(last),
        }

    async def _ticker(self, request: web.Request) -> web.Response:
        return self._envelope([self._ticker_row(self._market_id(request))])

    async def _tickers(self, request: web.Request) -> web.Response:
        self._product_type(request)
        return self._envelope([self._ticker_row(m) for m in self.market.symbols()])

    async def _funding_rate(self, request: web.Request) -> web.Response:
        market_id = self._market_id(request)
        spec = self.market.spec(market_id)
        assert spec is not None
        return self._envelope([{
            "symbol": market_id, "fundingRate": repr(spec.funding_rate), "fundingRateInterval": "8",
            "nextUpdate": str(next_funding_ms(self.clock.now_ms())), "minFundingRate": "-0.003", "maxFundingRate": "0.003",
        }])

    async def _open_interest(self, request: web.Request) -> web.Response:
        market_id = self._market_id(request)
        spec = self.market.spec(market_id)
        assert spec is not None
        return self._envelope({"openInterestList": [{"symbol": market_id, "size": repr(spec.open_interest)}],
                               "ts": str(self.clock.now_ms())})

    # ---------------------------------------------------------------- admin endpoints
    async def _admin_faults(self, request: web.Request) -> web.Response:
        try:
            self.faults.configure(await request.json())
        except (ValueError, TypeError, AttributeError, json.JSONDecodeError) as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        return web.json_response({"ok": True})

    async def _admin_clock(self, request: web.Request) -> web.Response:
        """Body keys (all optional): now_ms (jump), advance_ms, speed, run (true = start, false = pause)."""
        try:
            body = await request.json()
            unknown = set(body) - {"now_ms", "advance_ms", "speed", "run"}
            if unknown:
                raise ValueError(f"unknown clock keys: {', '.join(sorted(unknown))}")
            if "now_ms" in body:
                self.clock.set(int(body["now_ms"]))
            if "advance_ms" in body:
                self.clock.advance(int(body["advance_ms"]))
            if "speed" in body:
                self.clock.set_speed(float(body["speed"]))
            if "run" in body:
                self.clock.start() if body["run"] else self.clock.pause()
        except (ValueError, TypeError, AttributeError, json.JSONDecodeError) as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        return web.json_response(self.clock.state())

    async def _admin_clock_state(self, request: web.Request) -> web.Response:
        return web.json_response(self.clock.state())

    async def _admin_requests(self, request: web.Request) -> web.Response:
        return web.json_response([r.__dict__ for r in self.requests])


def _fmt(x: float) -> str:
    return repr(float(x))


def _candle_rows(c: CandleArrays) -> list[list[str]]:
    return [
        [str(int(c.timestamp[i])), _fmt(c.open[i]), _fmt(c.high[i]), _fmt(c.low[i]), _fmt(c.close[i]),
         _fmt(c.volume[i]), _fmt(c.volume[i] * c.close[i])]
        for i in range(len(c))
    ]


@dataclass
class EmulatorThread:
    """Run a `BitgetEmulator` on its own event loop in a daemon thread (for sync code and tests).

    `with EmulatorThread(emulator) as base_url: ...` — stops the server and the loop on exit.
    """

    emulator: BitgetEmulator
    host: str = "127.0.0.1"
    port: int = 0
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)

    def __enter__(self) -> str:
        ready = threading.Event()
        box: dict[str, Any] = {}

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                box["url"] = loop.run_until_complete(self.emulator.start(self.host, self.port))
            except BaseException as exc:  # surface bind errors to the caller's thread
                box["error"] = exc
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.emulator.stop())
            loop.close()

        self._thread = threading.Thread(target=run, name="bitget-emulator", daemon=True)
        self._thread.start()
        ready.wait(10)
        if "error" in box:
            raise box["error"]
        if "url" not in box:
            raise RuntimeError("Bitget emulator did not start within 10 s")
        return str(box["url"])

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)


@contextmanager
def running_emulator(market: MarketData, clock: Clock | None = None, faults: Faults | None = None, *,
                     account: Account | None = None,
                     credentials: Credentials | None = None) -> Iterator[tuple[BitgetEmulator, str]]:
    """Convenience: build an emulator, run it in a thread, yield `(emulator, base_url)`."""
    emulator = BitgetEmulator(market, clock, faults, account=account, credentials=credentials)
    with EmulatorThread(emulator) as url:
        yield emulator, url
