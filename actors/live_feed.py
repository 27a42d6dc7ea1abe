"""DataFeed actor (asyncio, num_cpus=0): ccxt.pro `watch_ohlcv` per symbol, closed-candle detection,
publication to the runner actors, REST back-fill of gaps, funding polling, candle flush to the DB.

The bookkeeping is `radar.live.feed.FeedBook` (no Ray); this actor only does the IO. Each symbol has
one publisher task draining a queue, so a stream's candles reach its runners in seq order even though
websocket updates, clock closes and back-fills are produced by different coroutines.
"""
from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from typing import Any

import ray

from radar.live.clock import ServerClock
from radar.live.feed import Backoff, BackfillRequest, FeedBook, FeedUpdate, subscription_plan
from radar.live.messages import CandleMsg, FeedHealth


class DataFeed:
    def __init__(self, symbols: list[str], timeframe: str, exchange: str, state_store: Any,
                 exchange_url: str | None = None, speed: float = 1.0, flush_every_s: float = 5.0,
                 funding_every_s: float = 300.0, ws_keepalive_ms: int | None = None) -> None:
        self.symbols, self.timeframe, self.exchange = list(symbols), timeframe, exchange
        self.state_store = state_store
        self.exchange_url, self.speed = exchange_url, speed
        self.flush_every_s, self.funding_every_s = flush_every_s, funding_every_s
        self.ws_keepalive_ms = ws_keepalive_ms
        self.clock = ServerClock(speed)
        self.book = FeedBook(self.clock, exchange)
        self.subscribers: dict[str, list[Any]] = defaultdict(list)
        self.queues: dict[str, asyncio.Queue] = {}
        self.tasks: list[asyncio.Task] = []
        self.client: Any = None
        self.rest: Any = None
        self.published = 0
        self.latency_ms: list[float] = []  # candle close detected -> runner call returned (benchmarks)
        self.backoff = Backoff()
        self.running = False

    def subscribe(self, symbol: str, runner: Any) -> None:
        self.subscribers[symbol].append(runner)

    async def start(self, last_closed: dict[str, int | None]) -> None:
        """Open the exchange connection and start streaming; `last_closed` (per symbol) is where the
        runners are: anything closed after it is back-filled through REST first."""
        from radar.exchange.bitget import make_bitget_client

        self.client = make_bitget_client(self.exchange_url, async_=True, pro=True,
                                         ws_keepalive_ms=self.ws_keepalive_ms)
        self.rest = make_bitget_client(self.exchange_url, async_=True)
        await self.rest.load_markets()
        await self._sync_clock()
        for s in self.symbols:
            self.book.add_stream(s, self.timeframe, last_closed_ts=last_closed.get(s))
            self.queues[s] = asyncio.Queue()
            self.tasks.append(asyncio.create_task(self._publisher(s)))
        self.running = True
        loop_tasks = [self._ticker(), self._flusher(), self._funding()]
        for delay, batch in subscription_plan(self.symbols):
            loop_tasks.extend(self._watch(s, delay) for s in batch)
        self.tasks.extend(asyncio.create_task(t) for t in loop_tasks)
        # catch up what closed while the runners were away
        for req in self.book.on_reconnect():
            await self._backfill(req)

    async def _sync_clock(self) -> None:
        with contextlib.suppress(Exception):
            self.clock.sync(int(await self.rest.fetch_time()))

    async def _watch(self, symbol: str, delay: float) -> None:
        await asyncio.sleep(delay)
        disconnected = False
        while self.running:
            try:
                rows = await self.client.watch_ohlcv(symbol, self.timeframe)
                if disconnected:
                    disconnected = False
                    self.backoff.reset()
                    for req in self.book.on_reconnect():
                        await self._backfill(req)
                self._queue(symbol, self.book.on_ohlcv(symbol, self.timeframe, rows))
            except asyncio.CancelledError:
                raise
            except Exception:  # network, malformed frames, exchange errors: reconnect with backoff
                if not self.running:
                    return
                if not disconnected:
                    self.book.on_disconnect()
                    disconnected = True
                await asyncio.sleep(self.backoff.next_delay() / max(1.0, self.speed / 3600.0))

    def _queue(self, symbol: str, update: FeedUpdate) -> None:
        by_symbol: dict[str, list[CandleMsg]] = defaultdict(list)
        for m in update.candles:
            by_symbol[m.candle.symbol].append(m)
        for s, msgs in by_symbol.items():
            self.queues[s].put_nowait(msgs)
        for req in update.backfills:
            asyncio.get_running_loop().create_task(self._backfill(req))

    async def _backfill(self, req: BackfillRequest) -> None:
        try:
            rows = await self.rest.fetch_ohlcv(req.symbol, req.timeframe, since=req.start_ms,
                                               params={"until": req.end_ms - 1})
            update = self.book.on_backfill(req, [r for r in rows if req.start_ms <= r[0] < req.end_ms])
        except Exception:
            update = self.book.abandon_backfill(req)
        self._queue(req.symbol, update)

    async def _publisher(self, symbol: str) -> None:
        q = self.queues[symbol]
        while True:
            msgs = await q.get()
            for runner in self.subscribers.get(symbol, ()):
                await runner.on_candles.remote(msgs)
            now = time.time() * 1000
            self.latency_ms.extend(now - m.received_ms for m in msgs)
            self.latency_ms = self.latency_ms[-10_000:]
            self.published += len(msgs)

    async def _ticker(self) -> None:
        while self.running:
            await asyncio.sleep(0.05)
            self._queue("", self.book.tick())

    async def _flusher(self) -> None:
        while self.running:
            await asyncio.sleep(self.flush_every_s)
            await self.flush()

    async def flush(self) -> int:
        batch = self.book.take_flush()
        if not batch:
            return 0
        try:
            return await self.state_store.flush_candles.remote(batch, self.exchange)
        except Exception:
            self.book.requeue(batch)
            return 0

    async def _funding(self) -> None:
        while self.running:
            for s in self.symbols:
                with contextlib.suppress(Exception):
                    fr = await self.rest.fetch_funding_rate(s)
                    msg = self.book.funding(s, int(fr.get("timestamp") or self.clock.now_ms()),
                                            float(fr["fundingRate"]))
                    if msg is not None:
                        for runner in self.subscribers.get(s, ()):
                            await runner.on_funding.remote(msg)
            await self._sync_clock()
            await asyncio.sleep(self.funding_every_s / max(1.0, self.speed / 3600.0))

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Wait until every queued candle has been handed to the runners."""
        deadline = time.monotonic() + timeout_s
        while any(not q.empty() for q in self.queues.values()) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    async def stop(self) -> int:
        """Stop streaming, publish what is queued, flush candles: the shutdown step of the feed."""
        self.running = False
        await self.drain()
        for t in self.tasks:
            t.cancel()
        for t in self.tasks:
            with contextlib.suppress(BaseException):
                await t
        flushed = await self.flush()
        for c in (self.client, self.rest):
            with contextlib.suppress(Exception):
                if c is not None:
                    await c.close()
        return flushed

    def health(self) -> FeedHealth:
        return self.book.health()

    def stats(self) -> dict[str, Any]:
        return {"published": self.published, "latency_ms": list(self.latency_ms)}

    def ping(self) -> bool:
        return True


DataFeedActor = ray.remote(num_cpus=0, max_restarts=-1)(DataFeed)
