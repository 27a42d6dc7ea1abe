"""DataFeed actor (asyncio, num_cpus=0): ccxt.pro `watch_ohlcv` per symbol, closed-candle detection,
publication to the runner actors, REST back-fill of gaps, funding (5 min) and open-interest (60 s) polling,
candle flush to the DB.

The bookkeeping is `radar.live.feed.FeedBook` (no Ray); this actor only does the IO. Each runner actor has
one publisher task draining a queue, so a stream's candles reach its runners in seq order even though
websocket updates, clock closes and back-fills are produced by different coroutines. A publisher hands over
everything queued for its runner in one call: the symbols that close at the same instant cost one actor
call per runner, not one per symbol.
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
from radar.live.messages import CandleAck, CandleMsg, FeedHealth
from radar.models import timeframe_ms


CLOSE_GRACE_REAL_S = 1.0
CLOCK_SYNC_EVERY_MS = 60_000  # simulated time between server-time syncs (at least 1 s real)
RUNNER_RESTART_WAIT_S = 60.0
# Below the close grace, so a silent stream is declared dead (no clock closes; the back-fill supplies the
# final values) before the clock closes its candle with the last partial values seen.
SILENCE_MIN_S, SILENCE_MAX_S = 0.5, 60.0
CONNECT_TIMEOUT_S = 15.0
LATENCY_SAMPLES = 20_000
HISTORY_PAGE = 1000  # candles per REST request asked; the exchange's own page size caps it
REPORT_COALESCE_S = 0.02  # the runners' books go to the guard once every runner answered, or after this
COALESCE_YIELDS = 3  # event-loop turns a publisher waits for the other symbols closing at the same instant


class DataFeed:
    def __init__(self, streams: list[tuple[str, str]], exchange: str, state_store: Any,
                 exchange_url: str | None = None, speed: float = 1.0, flush_every_s: float = 5.0,
                 funding_every_s: float = 300.0, ws_keepalive_ms: int | None = None,
                 open_interest_every_s: float = 60.0) -> None:
        """`streams`: the (symbol, timeframe) candle streams to watch (one websocket subscription each)."""
        self.streams = sorted({(s, tf) for s, tf in streams})
        self.symbols = sorted({s for s, _ in self.streams})  # funding and open interest are per symbol
        self.exchange = exchange
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
        self.subscribers: dict[str, list[str]] = defaultdict(list)  # stream "symbol|timeframe" -> runner keys
        self.runners: dict[str, Any] = {}  # runner key -> actor handle
        self.queues: dict[str, asyncio.Queue] = {}  # runner key -> batches of CandleMsg
        self.tasks: list[asyncio.Task] = []  # producers: websocket watchers, ticker, flusher, funding
        self.publishers: list[asyncio.Task] = []
        self.client: Any = None
        self.rest: Any = None
        self.published = 0
        self.undelivered = 0
        self.open_interest_polls = 0
        # Candle close detected -> the last subscribed runner's decision (CandleAck.decided_at: the executor had
        # recorded the candle's trade events): wall ms, and the events the candle's batch produced.
        # (symbol, timeframe, ts) -> [detected, runners left, events, last decision]: wall times (time.time())
        self._pending: dict[tuple[str, str, int], list[float]] = {}
        self.guard: Any = None
        self.history_requests: dict[str, dict[str, Any]] = {}  # API back-fill requests by id
        self.history_tasks: set[asyncio.Task] = set()
        self._guard_reports: list[Any] = []  # RunnerReports from the runners' answers, not sent yet
        self._all_answered = asyncio.Event()  # no candle waits for a runner's answer
        self._reports_ready = asyncio.Event()
        self.latency_ms: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        self.latency_events: deque[int] = deque(maxlen=LATENCY_SAMPLES)
        self.backoff = Backoff()
        self.running = False

    def subscribe(self, symbol: str, timeframe: str, runner: Any, key: str | None = None) -> None:
        """`runner` gets the closed candles of (`symbol`, `timeframe`) and that symbol's funding and open
        interest; `key` names the runner (its actor id by default)."""
        key = key or runner._actor_id.hex()
        self.runners.setdefault(key, runner)
        if key not in self.subscribers[_stream(symbol, timeframe)]:
            self.subscribers[_stream(symbol, timeframe)].append(key)
        if self.running and key not in self.queues:  # a runner added to a streaming feed
            self.queues[key] = asyncio.Queue()
            self.publishers.append(asyncio.create_task(self._publisher(key)))

    def report_to(self, guard: Any) -> None:
        """The portfolio guard that gets the runners' books after every candle (see `_reporter`)."""
        self.guard = guard

    async def start(self, last_closed: dict[str, int | None], last_seq: dict[str, int] | None = None) -> None:
        """Open the exchange connection and start streaming; `last_closed` (per stream "symbol|timeframe") is
        where the runners are: anything closed after it is back-filled through REST first. `last_seq` (per
        stream) continues the restored runners' message numbering: they drop a seq they have seen."""
        from radar.exchange.bitget import make_bitget_client

        self.client = make_bitget_client(self.exchange_url, async_=True, pro=True,
                                         ws_keepalive_ms=self.ws_keepalive_ms)
        self.rest = make_bitget_client(self.exchange_url, async_=True)
        await self.rest.load_markets()
        await self._sync_clock()
        for s, tf in self.streams:
            self.book.add_stream(s, tf, last_closed_ts=last_closed.get(_stream(s, tf)),
                                 seq=(last_seq or {}).get(_stream(s, tf), 0))
        self._start_publishers()
        self.running = True
        self._watch_frame_errors()
        loop_tasks = [self._ticker(), self._flusher(), self._funding(), self._open_interest()]
        for delay, batch in subscription_plan(self.streams):
            loop_tasks.extend(self._watch(s, tf, delay) for s, tf in batch)
        self.tasks.extend(asyncio.create_task(t) for t in loop_tasks)
        # catch up what closed while the runners were away
        for req in self.book.on_reconnect():
            await self._backfill(req)

    def _symbol_runners(self, symbol: str) -> list[str]:
        """The runners of any stream of `symbol`, each once."""
        keys = [k for tf_stream, ks in self.subscribers.items() if tf_stream.partition("|")[0] == symbol for k in ks]
        return list(dict.fromkeys(keys))

    def _start_publishers(self) -> None:
        for key in self.runners:
            self.queues[key] = asyncio.Queue()
            self.publishers.append(asyncio.create_task(self._publisher(key)))
        self.publishers.append(asyncio.create_task(self._reporter()))

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

    async def _watch(self, symbol: str, timeframe: str, delay: float) -> None:
        await asyncio.sleep(delay)
        disconnected, fresh = False, True
        while self.running:
            client = self.client
            try:
                # (Re)connecting and subscribing may take a while; after that, silence means a dead stream.
                timeout = CONNECT_TIMEOUT_S if fresh else self._silence_s(timeframe)
                rows = await asyncio.wait_for(client.watch_ohlcv(symbol, timeframe), timeout)
                fresh = False
                if disconnected:
                    disconnected = False
                    self.backoff.reset()
                    for req in self.book.on_reconnect():
                        await self._backfill(req)
                cache = (getattr(client, "ohlcvs", None) or {}).get(symbol, {}).get(timeframe) or ()
                self._queue(symbol, self.book.on_ohlcv(symbol, timeframe, rows, cache))
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

    def _silence_s(self, timeframe: str) -> float:
        """How long a stream may stay silent before its connection counts as dead: an exchange pushes a
        candle update every second or so, the emulator three per candle."""
        return max(SILENCE_MIN_S, min(SILENCE_MAX_S, 2 * timeframe_ms(timeframe) / 1000 / self.speed))

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
        now = time.time()
        by_runner: dict[str, list[CandleMsg]] = defaultdict(list)
        for m in update.candles:
            keys = self.subscribers.get(_stream(m.candle.symbol, m.candle.timeframe), ())
            if not keys:
                self.published += 1  # nobody trades this symbol: handed over to all (none) at once
                continue
            self._pending[_candle_key(m)] = [now, len(keys), 0, now]
            self._all_answered.clear()
            for key in keys:
                by_runner[key].append(m)
        for key, msgs in by_runner.items():
            self.queues[key].put_nowait(msgs)
        for req in update.backfills:
            asyncio.get_running_loop().create_task(self._backfill(req))

    async def _fetch_range(self, symbol: str, timeframe: str, start_ms: int, end_ms: int) -> list[list[Any]]:
        """REST candles with open time in [start_ms, end_ms), one exchange page after the other (a gap left half
        filled was a hole for good). Rate limits (429 / 30006) are retried with backoff (SPEC §9); the delays
        shrink with the replay speed like the reconnect backoff."""
        from radar.exchange.bitget import ohlcv_page_limit

        scale = max(1.0, self.speed / 3600.0)
        policy = RetryPolicy(initial_s=RetryPolicy.initial_s / scale, max_s=RetryPolicy.max_s / scale)
        tf = timeframe_ms(timeframe)
        rows: list[list[Any]] = []
        cursor = start_ms
        while cursor < end_ms:
            # A window of exactly one page of open times: Bitget fills a window from its END, so a wider one
            # (or no limit: ccxt asks for 100) silently lost its head.
            limit = ohlcv_page_limit(self.rest, timeframe, cursor, HISTORY_PAGE)
            window_end = min(cursor + limit * tf, end_ms)
            page = await policy.acall(lambda: self.rest.fetch_ohlcv(symbol, timeframe, since=cursor, limit=limit,
                                                                    params={"until": window_end - 1}))
            rows.extend(r for r in page if cursor <= r[0] < window_end)
            cursor = window_end  # an empty window is a hole in the exchange's history: step over it
        return rows

    async def _backfill(self, req: BackfillRequest) -> None:
        try:
            update = self.book.on_backfill(req, await self._fetch_range(req.symbol, req.timeframe, req.start_ms,
                                                                        req.end_ms))
        except Exception:
            update = self.book.abandon_backfill(req)
        self._queue(req.symbol, update)

    # -- history back-fill (API requests) ------------------------------------------------------------
    async def backfill_history(self, request_id: str, symbols: list[str], timeframe: str, start_ms: int,
                               end_ms: int | None = None) -> dict[str, Any]:
        """Fetch the closed candles of [start_ms, end_ms) (end None: up to now) of each symbol over REST into
        the store, in the background; the answer is the request's status (`history_requests` keeps it, failures
        with their reason). Unknown symbols or timeframes are refused at once, naming them."""
        from radar.errors import DataError

        if self.rest is None:
            raise DataError("history back-fill: the feed is not connected to the exchange yet")
        unknown = [s for s in symbols if s not in self.rest.markets]
        if unknown:
            raise DataError(f"history back-fill: unknown symbol(s) {', '.join(unknown)} on {self.exchange}")
        if timeframe not in (self.rest.timeframes or {}):
            raise DataError(f"history back-fill: {self.exchange} has no timeframe {timeframe!r}")
        self.history_requests[request_id] = {"request_id": request_id, "status": "running", "symbols": list(symbols),
                                             "timeframe": timeframe, "start_ms": start_ms, "end_ms": end_ms,
                                             "stored": 0, "error": None}
        task = asyncio.get_running_loop().create_task(self._history(request_id))
        self.history_tasks.add(task)
        task.add_done_callback(self.history_tasks.discard)
        return dict(self.history_requests[request_id])

    async def _history(self, request_id: str) -> None:
        from radar.data.fetch import rows_to_arrays
        from radar.data.validation import validate_candles

        req = self.history_requests[request_id]
        tf = req["timeframe"]
        try:
            for symbol in req["symbols"]:
                now = self.clock.now_ms()
                end = min(req["end_ms"] or now, now - now % timeframe_ms(tf))  # closed candles only
                rows = await self._fetch_range(symbol, tf, req["start_ms"], end)
                valid, _ = validate_candles(rows_to_arrays(rows), tf)
                if len(valid):
                    req["stored"] += await self.state_store.flush_candles.remote({(symbol, tf): valid}, self.exchange)
            req["status"] = "done"
        except Exception as exc:  # the exchange kept failing: say so, keep what was stored
            req["status"], req["error"] = "failed", f"{type(exc).__name__}: {exc}"[:300]

    async def _publisher(self, key: str) -> None:
        q, runner = self.queues[key], self.runners[key]
        n_symbols = sum(1 for keys in self.subscribers.values() if key in keys)
        sent: deque[CandleMsg] = deque(maxlen=BUFFER_CANDLES * max(1, n_symbols))
        while True:
            msgs = list(await q.get())
            batches = 1
            # The symbols closing at this instant arrive as separate frames, each waking its watcher in turn:
            # let the ones already woken queue theirs, so they go in this call instead of waiting behind it.
            for _ in range(COALESCE_YIELDS):
                await asyncio.sleep(0)
            while not q.empty():  # everything queued meanwhile goes in the same call, still in queue order
                msgs.extend(q.get_nowait())
                batches += 1
            try:
                ack = await self._deliver(runner, msgs, sent)
                sent.extend(msgs)
                self._delivered(msgs, ack)
            finally:
                # drain() joins the queues: a batch counts as handed over only once its delivery returned
                for _ in range(batches):
                    q.task_done()

    def _delivered(self, msgs: list[CandleMsg], ack: CandleAck) -> None:
        """Count what every subscribed runner has now; its latency ends at the last runner's decision."""
        if ack.reports:
            self._guard_reports.extend(ack.reports)
            self._reports_ready.set()
        for m in msgs:
            entry = self._pending.get(_candle_key(m))
            if entry is None:
                continue
            entry[1] -= 1
            entry[2] += ack.events
            entry[3] = max(entry[3], ack.decided_at)
            if entry[1] <= 0:
                del self._pending[_candle_key(m)]
                self.published += 1
                self.latency_ms.append((entry[3] - entry[0]) * 1000.0)
                self.latency_events.append(int(entry[2]))
        if not self._pending:
            self._all_answered.set()

    async def _reporter(self) -> None:
        """The runners' books to the guard: one call for all the runners that answered for a close instant
        (the guard's kill switch sums every runner's equity), at the latest REPORT_COALESCE_S after the first
        answer. A runner's own next check_entry carries its books itself, so no entry waits on this."""
        while True:
            await self._reports_ready.wait()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._all_answered.wait(), REPORT_COALESCE_S)
            self._reports_ready.clear()
            self._send_reports()

    def _send_reports(self) -> Any:
        batch, self._guard_reports = self._guard_reports, []
        if batch and self.guard is not None:
            return self.guard.report.remote(batch)
        return None

    async def _deliver(self, runner: Any, msgs: list[CandleMsg], sent: deque[CandleMsg]) -> CandleAck:
        """Hand `msgs` to one runner; the trade events they produced. A runner that died is restarted by Ray
        (max_restarts) from its last saved state, which may be behind what it had been sent (state is saved
        on trades and every minute, candles reach the DB every few seconds): resend every recent candle after
        its last processed one. Without this the publisher task died with the first failed call and no runner
        got a candle again."""
        try:
            return await runner.on_candles.remote(msgs)
        except ray.exceptions.RayActorError:
            pass
        deadline = time.monotonic() + RUNNER_RESTART_WAIT_S
        while time.monotonic() < deadline:
            try:
                last = await runner.last_processed.remote()
                return await runner.on_candles.remote(
                    [m for m in (*sent, *msgs) if last.get(m.candle.symbol) is None
                     or m.candle.timestamp > last[m.candle.symbol]])
            except ray.exceptions.RayActorError:
                await asyncio.sleep(0.1)
        self.undelivered += len(msgs)  # gone for good (restarts exhausted): the others still get theirs
        return CandleAck(0, time.time())

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
                        for key in self._symbol_runners(s):
                            await self.runners[key].on_funding.remote(msg)
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
                        for key in self._symbol_runners(s):
                            await self.runners[key].on_open_interest.remote(msg)
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
        await _cancel([*self.tasks, *self.history_tasks])
        await self.drain()
        await _cancel(self.publishers)
        pending = self._send_reports()  # the books of the last candles, before the guard's final save
        if pending is not None:
            with contextlib.suppress(Exception):
                await pending
        flushed = await self.flush()
        for c in (self.client, self.rest):
            with contextlib.suppress(Exception):
                if c is not None:
                    await c.close()
        return flushed

    def health(self) -> FeedHealth:
        return self.book.health()

    def stats(self) -> dict[str, Any]:
        """Counters, and the candle latency percentiles over the last LATENCY_SAMPLES candles."""
        lat = sorted(self.latency_ms)

        def pct(q: float) -> float | None:
            return lat[min(len(lat) - 1, int(q * len(lat)))] if lat else None

        return {"published": self.published, "undelivered": self.undelivered,
                "open_interest_polls": self.open_interest_polls,
                "latency_ms": {"samples": len(lat), "p50": pct(0.5), "p99": pct(0.99)}}

    def published_count(self) -> int:
        return self.published

    def latency_samples(self) -> list[tuple[float, int]]:
        """(ms from close detected to the last runner's call returned, trade events), oldest first."""
        return list(zip(self.latency_ms, self.latency_events))

    def ping(self) -> bool:
        return True


DataFeedActor = ray.remote(num_cpus=0, max_restarts=-1)(DataFeed)


async def _cancel(tasks: list[asyncio.Task]) -> None:
    for t in tasks:
        t.cancel()
    for t in tasks:
        with contextlib.suppress(BaseException):
            await t


def _stream(symbol: str, timeframe: str) -> str:
    return f"{symbol}|{timeframe}"


def _candle_key(m: CandleMsg) -> tuple[str, str, int]:
    return m.candle.symbol, m.candle.timeframe, m.candle.timestamp
