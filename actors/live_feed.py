"""DataFeed actor (asyncio, num_cpus=0): ccxt.pro `watch_ohlcv` per symbol, closed-candle detection,
publication to the runner actors, REST back-fill of gaps, funding (5 min) and open-interest (60 s) polling,
candle flush to the DB.

The bookkeeping is `radar.live.feed.FeedBook` (no Ray); this actor only does the IO. Each symbol has
one publisher task draining a queue, so a stream's candles reach its runners in seq order even though
websocket updates, clock closes and back-fills are produced by different coroutines.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import defaultdict, deque
from typing import Any

import ray

from radar.live.clock import ServerClock
from radar.live.feed import (BUFFER_CANDLES, CLOSE_GRACE_MS, Backoff, BackfillRequest, FeedBook, FeedUpdate, RetryPolicy,
                             subscription_plan)
from radar.live.messages import CandleMsg, FeedHealth
from radar.models import timeframe_ms


CLOSE_GRACE_REAL_S = 1.0
CLOCK_SYNC_EVERY_MS = 60_000  # simulated time between server-time syncs (at least 1 s real)
RUNNER_RESTART_WAIT_S = 60.0
# Below the close grace, so a silent stream is declared dead (no clock closes; the back-fill supplies the
# final values) before the clock closes its candle with the last partial values seen.
SILENCE_MIN_S, SILENCE_MAX_S = 0.5, 60.0
CONNECT_TIMEOUT_S = 15.0


class DataFeed:
    def __init__(self, symbols: list[str], timeframe: str, exchange: str, state_store: Any,
                 exchange_url: str | None = None, speed: float = 1.0, flush_every_s: float = 5.0,
                 funding_every_s: float = 300.0, ws_keepalive_ms: int | None = None,
                 open_interest_every_s: float = 60.0) -> None:
        self.symbols, self.timeframe, self.exchange = list(symbols), timeframe, exchange
        self.state_store = state_store
        self.exchange_url, self.speed = exchange_url, speed
        self.flush_every_s, self.funding_every_s = flush_every_s, funding_every_s
        self.open_interest_every_s = open_interest_every_s
        self.ws_keepalive_ms = ws_keepalive_ms
        self.clock = ServerClock(speed, detect_pause=True)  # synced from the exchange's time endpoint
        # A replay at `speed` x makes the 2 s close grace a few microseconds of real time: the clock closed
        # candles with their open/mid-way values before the final update arrived over the socket. Keep the
        # grace at least CLOSE_GRACE_REAL_S of real time (normally the next candle's row closes it first).
        self.book = FeedBook(self.clock, exchange,
                             close_grace_ms=max(CLOSE_GRACE_MS, int(CLOSE_GRACE_REAL_S * 1000 * speed)))
        self.subscribers: dict[str, list[Any]] = defaultdict(list)
        self.queues: dict[str, asyncio.Queue] = {}
        self.tasks: list[asyncio.Task] = []  # producers: websocket watchers, ticker, flusher, funding
        self.publishers: list[asyncio.Task] = []
        self.client: Any = None
        self.rest: Any = None
        self.published = 0
        self.undelivered = 0
        self.open_interest_polls = 0
        self.latency_ms: list[float] = []  # candle close detected -> runner call returned (benchmarks)
        self.backoff = Backoff()
        self.running = False

    def subscribe(self, symbol: str, runner: Any) -> None:
        self.subscribers[symbol].append(runner)

    async def start(self, last_closed: dict[str, int | None], last_seq: dict[str, int] | None = None) -> None:
        """Open the exchange connection and start streaming; `last_closed` (per symbol) is where the
        runners are: anything closed after it is back-filled through REST first. `last_seq` (per symbol)
        continues the restored runners' message numbering: they drop a seq they have seen as a re-delivery."""
        from radar.exchange.bitget import make_bitget_client

        self.client = make_bitget_client(self.exchange_url, async_=True, pro=True,
                                         ws_keepalive_ms=self.ws_keepalive_ms)
        self.rest = make_bitget_client(self.exchange_url, async_=True)
        await self.rest.load_markets()
        await self._sync_clock()
        for s in self.symbols:
            self.book.add_stream(s, self.timeframe, last_closed_ts=last_closed.get(s), seq=(last_seq or {}).get(s, 0))
            self.queues[s] = asyncio.Queue()
            self.publishers.append(asyncio.create_task(self._publisher(s)))
        self.running = True
        self._watch_frame_errors()
        loop_tasks = [self._ticker(), self._flusher(), self._funding(), self._open_interest()]
        for delay, batch in subscription_plan(self.symbols):
            loop_tasks.extend(self._watch(s, delay) for s in batch)
        self.tasks.extend(asyncio.create_task(t) for t in loop_tasks)
        # catch up what closed while the runners were away
        for req in self.book.on_reconnect():
            await self._backfill(req)

    def _watch_frame_errors(self) -> None:
        """ccxt.pro decodes frames in a callback of its receive loop: a frame that is not JSON raises there,
        asyncio logs it, the loop stops and the socket stays open but silent. Count it as a rejected frame
        and replace the client now, instead of waiting for the silence timeout."""
        loop = asyncio.get_running_loop()
        previous = loop.get_exception_handler()

        def handler(lp: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            if isinstance(context.get("exception"), json.JSONDecodeError) and self.client is not None:
                self.book.on_undecodable_frame()
                lp.create_task(self._replace_client(self.client))
                return
            if previous is not None:
                previous(lp, context)
            else:
                lp.default_exception_handler(context)

        loop.set_exception_handler(handler)

    async def _sync_clock(self) -> None:
        with contextlib.suppress(Exception):
            self.clock.sync(int(await self.rest.fetch_time()))

    async def _watch(self, symbol: str, delay: float) -> None:
        await asyncio.sleep(delay)
        disconnected, fresh = False, True
        while self.running:
            client = self.client
            try:
                # (Re)connecting and subscribing may take a while; after that, silence means a dead stream.
                timeout = CONNECT_TIMEOUT_S if fresh else self._silence_s()
                rows = await asyncio.wait_for(client.watch_ohlcv(symbol, self.timeframe), timeout)
                fresh = False
                if disconnected:
                    disconnected = False
                    self.backoff.reset()
                    for req in self.book.on_reconnect():
                        await self._backfill(req)
                cache = (getattr(client, "ohlcvs", None) or {}).get(symbol, {}).get(self.timeframe) or ()
                self._queue(symbol, self.book.on_ohlcv(symbol, self.timeframe, rows, cache))
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is None or task.cancelling():
                    raise
                # not us: the client was closed under this watch (replaced after an undecodable frame)
                if not self.running:
                    return
                if not disconnected:
                    self.book.on_disconnect()
                    disconnected = True
                fresh = True
            except Exception:  # network, malformed frames, exchange errors: reconnect with backoff
                if not self.running:
                    return
                if not disconnected:
                    self.book.on_disconnect()
                    disconnected = True
                await self._replace_client(client)
                fresh = True
                await asyncio.sleep(self.backoff.next_delay() / max(1.0, self.speed / 3600.0))

    def _silence_s(self) -> float:
        """How long a stream may stay silent before its connection counts as dead: an exchange pushes a
        candle update every second or so, the emulator three per candle."""
        return max(SILENCE_MIN_S, min(SILENCE_MAX_S, 2 * timeframe_ms(self.timeframe) / 1000 / self.speed))

    async def _replace_client(self, failed: Any) -> None:
        """A fresh websocket client for every stream. ccxt.pro's receive loop dies on a frame that is not
        valid JSON and leaves the socket open, so without this every later watch_ohlcv waited forever."""
        if self.client is not failed:
            return  # another stream replaced it already
        from radar.exchange.bitget import make_bitget_client

        self.client = make_bitget_client(self.exchange_url, async_=True, pro=True, ws_keepalive_ms=self.ws_keepalive_ms)
        with contextlib.suppress(Exception):
            await failed.close()

    def _queue(self, symbol: str, update: FeedUpdate) -> None:
        by_symbol: dict[str, list[CandleMsg]] = defaultdict(list)
        for m in update.candles:
            by_symbol[m.candle.symbol].append(m)
        for s, msgs in by_symbol.items():
            self.queues[s].put_nowait(msgs)
        for req in update.backfills:
            asyncio.get_running_loop().create_task(self._backfill(req))

    async def _backfill(self, req: BackfillRequest) -> None:
        # Rate limits (429 / 30006) are retried with backoff before the gap is given up (SPEC §9); the
        # delays shrink with the replay speed like the reconnect backoff.
        scale = max(1.0, self.speed / 3600.0)
        policy = RetryPolicy(initial_s=RetryPolicy.initial_s / scale, max_s=RetryPolicy.max_s / scale)
        tf = timeframe_ms(req.timeframe)
        rows: list[list[Any]] = []
        since = req.start_ms
        try:
            # Page through the gap: one request returns at most the exchange's page size (Bitget 200), and a
            # gap left half filled was a hole for good.
            while since < req.end_ms:
                page = await policy.acall(lambda: self.rest.fetch_ohlcv(req.symbol, req.timeframe, since=since,
                                                                        params={"until": req.end_ms - 1}))
                page = [r for r in page if since <= r[0] < req.end_ms]
                if not page:
                    break
                rows.extend(page)
                since = int(page[-1][0]) + tf
            update = self.book.on_backfill(req, rows)
        except Exception:
            update = self.book.abandon_backfill(req)
        self._queue(req.symbol, update)

    async def _publisher(self, symbol: str) -> None:
        q = self.queues[symbol]
        sent: deque[CandleMsg] = deque(maxlen=BUFFER_CANDLES)
        while True:
            msgs = await q.get()
            try:
                for runner in self.subscribers.get(symbol, ()):
                    await self._deliver(runner, symbol, msgs, sent)
                sent.extend(msgs)
                now = time.time() * 1000
                self.latency_ms.extend(now - m.received_ms for m in msgs)
                self.latency_ms = self.latency_ms[-10_000:]
                self.published += len(msgs)
            finally:
                # drain() joins the queues: a batch counts as handed over only once its delivery returned
                q.task_done()

    async def _deliver(self, runner: Any, symbol: str, msgs: list[CandleMsg], sent: deque[CandleMsg]) -> None:
        """Hand `msgs` to one runner. A runner that died is restarted by Ray (max_restarts) from its last
        saved state, which may be behind what it had been sent (state is saved on trades and every minute,
        candles reach the DB every few seconds): resend every recent candle after its last processed one.
        Without this the publisher task died with the first failed call and no runner got a candle again."""
        try:
            await runner.on_candles.remote(msgs)
            return
        except ray.exceptions.RayActorError:
            pass
        deadline = time.monotonic() + RUNNER_RESTART_WAIT_S
        while time.monotonic() < deadline:
            try:
                last = (await runner.last_processed.remote()).get(symbol)
                await runner.on_candles.remote([m for m in (*sent, *msgs) if last is None or m.candle.timestamp > last])
                return
            except ray.exceptions.RayActorError:
                await asyncio.sleep(0.1)
        self.undelivered += len(msgs)  # gone for good (restarts exhausted): the others still get theirs

    async def _ticker(self) -> None:
        every_s = max(1.0, CLOCK_SYNC_EVERY_MS / 1000 / self.speed)
        next_sync = time.monotonic() + every_s
        while self.running:
            await asyncio.sleep(0.05)
            if time.monotonic() >= next_sync:  # clock closes need the server's time, not a stale offset
                next_sync = time.monotonic() + every_s
                await self._sync_clock()
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

    def _poll_delay_s(self, every_s: float) -> float:
        return every_s / max(1.0, self.speed / 3600.0)

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
            await asyncio.sleep(self._poll_delay_s(self.funding_every_s))

    async def _open_interest(self) -> None:
        """Open interest per symbol (the liquidation strategy reads it); a failed poll is retried next round."""
        while self.running:
            for s in self.symbols:
                with contextlib.suppress(Exception):
                    oi = await self.rest.fetch_open_interest(s)
                    value = oi.get("openInterestAmount")
                    if value is None:
                        value = oi.get("openInterestValue")
                    msg = self.book.open_interest(s, int(oi.get("timestamp") or self.clock.now_ms()), float(value))
                    if msg is not None:
                        self.open_interest_polls += 1
                        for runner in self.subscribers.get(s, ()):
                            await runner.on_open_interest.remote(msg)
            await asyncio.sleep(self._poll_delay_s(self.open_interest_every_s))

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Wait until every queued candle has been handed to the runners, including a batch a publisher
        has taken off its queue and is still delivering (an empty queue alone said nothing about that)."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(q.join() for q in self.queues.values())), timeout_s)

    async def stop(self) -> int:
        """Stop streaming, publish what is queued, flush candles: the shutdown step of the feed."""
        self.running = False
        # Producers first, so nothing is queued behind the drain; publishers only once their queues are
        # empty and their last delivery returned (cancelling one mid-call left a runner a candle ahead).
        await _cancel(self.tasks)
        await self.drain()
        await _cancel(self.publishers)
        flushed = await self.flush()
        for c in (self.client, self.rest):
            with contextlib.suppress(Exception):
                if c is not None:
                    await c.close()
        return flushed

    def health(self) -> FeedHealth:
        return self.book.health()

    def stats(self) -> dict[str, Any]:
        return {"published": self.published, "undelivered": self.undelivered, "latency_ms": list(self.latency_ms),
                "open_interest_polls": self.open_interest_polls}

    def ping(self) -> bool:
        return True


DataFeedActor = ray.remote(num_cpus=0, max_restarts=-1)(DataFeed)


async def _cancel(tasks: list[asyncio.Task]) -> None:
    for t in tasks:
        t.cancel()
    for t in tasks:
        with contextlib.suppress(BaseException):
            await t
