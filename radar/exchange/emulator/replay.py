"""Candle replay: turn served candles into the timed stream of WebSocket updates a client would see.

Each candle produces three events at simulated times: its open (a partial candle: O=H=L=C=open, no
volume), half way (a partial: open, and a mid-way price (open + close) / 2 as the current close) and
its close (the exact final values). The close of candle i and the open of candle i+1 fall at the
same instant and are sent in that order, so a client sees candle i's final values and then learns it
has closed when candle i+1's first update arrives, exactly how Bitget/ccxt clients detect a close.

Time comes from the emulator `Clock` (run it at `speed` simulated seconds per real second), so the
REST history endpoints and the stream always agree on what has closed. A `Replayer` ticks on the
server's event loop, advances every subscribed stream to the clock and hands the due rows to the
WebSocket hub, applying the WebSocket faults from `Faults` on the way.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from radar.exchange.emulator.faults import Faults
from radar.exchange.emulator.market import Clock
from radar.models import CandleArrays, timeframe_ms

EVENTS_PER_CANDLE = 3  # open, mid-way, final
PHASE_OPEN, PHASE_MID, PHASE_FINAL = 0, 1, 2
# After a longer gap (a jump of the clock), the stream restarts at the present instead of replaying
# the backlog: a real exchange does not resend what a client missed; it back-fills through REST.
DEFAULT_MAX_CATCHUP_CANDLES = 100


@dataclass(frozen=True)
class CandleRow:
    """One pushed candle state: open time, OHLC, base volume; `final` marks the closing values."""

    timestamp: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    final: bool


def event_row(candles: CandleArrays, k: int) -> CandleRow:
    """The candle state of event `k` (candle k // 3, phase k % 3)."""
    i, phase = divmod(k, EVENTS_PER_CANDLE)
    ts = int(candles.timestamp[i])
    o, h, lo, c, v = (float(a[i]) for a in (candles.open, candles.high, candles.low, candles.close, candles.volume))
    if phase == PHASE_FINAL:
        return CandleRow(ts, o, h, lo, c, v, True)
    if phase == PHASE_OPEN:
        return CandleRow(ts, o, o, o, o, 0.0, False)
    mid = (o + c) / 2.0  # between open and close, hence inside [low, high]: a valid partial candle
    return CandleRow(ts, o, max(o, mid), min(o, mid), mid, v / 2.0, False)


def events_due(candles: CandleArrays, timeframe: str, now_ms: int) -> int:
    """How many events (in order) have happened by `now_ms`."""
    ts = candles.timestamp
    opened = int(np.searchsorted(ts, now_ms, side="right"))
    if opened == 0:
        return 0
    j = opened - 1
    tf = timeframe_ms(timeframe)
    start = int(ts[j])
    return EVENTS_PER_CANDLE * j + 1 + int(now_ms >= start + tf // 2) + int(now_ms >= start + tf)


class CandleStream:
    """The replay position of one channel (a symbol's candles of one timeframe)."""

    def __init__(self, candles: CandleArrays, timeframe: str, now_ms: int, faults: Faults | None = None,
                 *, max_catchup_candles: int = DEFAULT_MAX_CATCHUP_CANDLES) -> None:
        self.candles = candles
        self.timeframe = timeframe
        self.faults = faults
        self.max_catchup_events = EVENTS_PER_CANDLE * max(1, max_catchup_candles)
        self.cursor = events_due(candles, timeframe, now_ms)  # events already "sent" (the past)
        self._held: tuple[CandleRow, int] | None = None  # reorder: (final row, release after this candle's close)
        self._repeat: CandleRow | None = None  # repeat: re-send after the next candle's first update

    def current(self) -> CandleRow | None:
        """The latest state pushed so far (what a new subscriber's snapshot shows)."""
        return event_row(self.candles, self.cursor - 1) if self.cursor > 0 else None

    def advance(self, now_ms: int) -> list[CandleRow]:
        """The rows that fell due since the last call, in delivery order (faults applied)."""
        due = events_due(self.candles, self.timeframe, now_ms)
        if due < self.cursor:  # the clock jumped back: continue from there, send nothing stale
            self.cursor, self._held, self._repeat = due, None, None
            return []
        if due - self.cursor > self.max_catchup_events:
            self.cursor, self._held, self._repeat = due - 1, None, None
        out: list[CandleRow] = []
        for k in range(self.cursor, due):
            out.extend(self._deliver(k))
        self.cursor = due
        return out

    def _deliver(self, k: int) -> list[CandleRow]:
        i, phase = divmod(k, EVENTS_PER_CANDLE)
        row = event_row(self.candles, k)
        faults = self.faults
        if phase == PHASE_FINAL:
            if self._held is None and i + 1 < len(self.candles) and faults is not None and faults.take_ws_reorder():
                self._held = (row, i + 1)
                return []
            out = [row]
            if self._held is not None and self._held[1] == i:
                out.append(self._held[0])
                self._held = None
            if faults is not None and faults.take_ws_repeat():
                self._repeat = row
            return out
        out = [row]
        if phase == PHASE_OPEN and self._repeat is not None:
            out.append(self._repeat)
            self._repeat = None
        return out


class StreamSink(Protocol):
    """What the replayer drives (the public WebSocket hub)."""

    def channels(self) -> set[tuple[str, str]]: ...  # (channel, instId) with at least one subscriber

    def stream_source(self, channel: str, market_id: str) -> tuple[CandleArrays, str] | None: ...

    async def push_rows(self, channel: str, market_id: str, rows: list[CandleRow], now_ms: int) -> None: ...

    async def drop_all(self, abrupt: bool) -> None: ...

    async def send_malformed(self, kind: str, now_ms: int) -> None: ...


class Replayer:
    """Ticks every `tick_s` real seconds on the server loop: faults first, then due rows per channel."""

    def __init__(self, sink: StreamSink, clock: Clock, faults: Faults, *, tick_s: float = 0.02,
                 max_catchup_candles: int = DEFAULT_MAX_CATCHUP_CANDLES) -> None:
        self.sink = sink
        self.clock = clock
        self.faults = faults
        self.tick_s = tick_s
        self.max_catchup_candles = max_catchup_candles
        self.streams: dict[tuple[str, str], CandleStream] = {}
        # Called with the clock time on every tick, after the pushes (the trading account matches here).
        self.tick_hooks: list[Callable[[int], Awaitable[None]]] = []
        self._task: asyncio.Task[None] | None = None

    def stream(self, channel: str, market_id: str) -> CandleStream | None:
        """The channel's stream, created at the present on first use (None if nothing is served)."""
        key = (channel, market_id)
        stream = self.streams.get(key)
        if stream is None:
            source = self.sink.stream_source(channel, market_id)
            if source is None:
                return None
            candles, timeframe = source
            # Tickers follow the candles but carry no candle faults (repeat/reorder are candle faults).
            faults = self.faults if channel.startswith("candle") else None
            stream = CandleStream(candles, timeframe, self.clock.now_ms(), faults,
                                  max_catchup_candles=self.max_catchup_candles)
            self.streams[key] = stream
        return stream

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="bitget-emulator-replay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await self.tick()
            await asyncio.sleep(self.tick_s)

    async def tick(self) -> None:
        now = self.clock.now_ms()
        abrupt = self.faults.take_ws_drop()
        if abrupt is not None:
            await self.sink.drop_all(abrupt)
        for kind in self.faults.take_ws_malformed():
            await self.sink.send_malformed(kind, now)
        live = self.sink.channels()
        for key in [k for k in self.streams if k not in live]:
            del self.streams[key]  # nobody listens: a later subscriber starts at the present
        for channel, market_id in sorted(live):
            await self.flush(channel, market_id, now)
        for hook in self.tick_hooks:
            await hook(now)

    async def flush(self, channel: str, market_id: str, now_ms: int | None = None) -> CandleStream | None:
        """Bring one channel up to the clock, pushing what fell due to its current subscribers.

        Called before a new subscriber's snapshot too, so the snapshot never lags behind the clock.
        """
        stream = self.stream(channel, market_id)
        if stream is None or self.faults.ws_stalled():
            return stream
        now = self.clock.now_ms() if now_ms is None else now_ms
        rows = stream.advance(now)
        if rows:
            await self.sink.push_rows(channel, market_id, rows, now)
        return stream
