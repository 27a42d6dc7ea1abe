"""Data-feed bookkeeping (SPEC §3, §9) without any I/O: the actor does the websocket and REST calls, these
objects decide what a raw ccxt.pro `watch_ohlcv` update means.

`CandleTracker` (one per symbol/timeframe) turns raw rows `[ts, o, h, l, c, v]` (the last one usually in
progress) into closed, validated, sequence-numbered `CandleMsg`s, emitted in timestamp order and each
timestamp exactly once:

- a row is closed once a row with a later timestamp was seen, or once the clock passed its end (+ grace);
- duplicates (a closed timestamp seen again) and stale rows (older than anything still missing) are dropped
  and counted; invalid candles are dropped and counted per reason;
- a step > 1.5x the timeframe between closed candles opens a gap: a `BackfillRequest` is returned and the
  candles after it are held back until `backfill(request, rows)` merges the REST candles (or the actor
  gives up with `abandon`), so a runner still sees timestamps in order and nothing twice.

`FeedBook` aggregates the trackers of one exchange connection: pending DB flush (every 5 s), rolling
buffers, health, funding/OI sequence numbers. `Backoff`, `RetryPolicy` and `subscription_plan` are the
reconnect, rate-limit and subscription-stagger policies.
"""
from __future__ import annotations

import asyncio
import math
import random
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from radar.data.validation import GAP_FACTOR, MISALIGNED, validate_candle
from radar.live.clock import Clock
from radar.live.messages import CandleMsg, FeedHealth, FundingMsg, OpenInterestMsg
from radar.models import Candle, CandleArrays, timeframe_ms

T = TypeVar("T")

BUFFER_CANDLES = 500
FLUSH_INTERVAL_MS = 5_000
# A candle closed by the clock alone waits this long past its end, so the exchange's final update of it
# (which usually lands a moment after the boundary) is not dropped as a duplicate.
CLOSE_GRACE_MS = 2_000
MALFORMED = "malformed_row"
INVALID_JSON = "invalid_json"  # a websocket frame that is not JSON at all


@dataclass(frozen=True, slots=True)
class BackfillRequest:
    """Missing closed candles of one stream: open times in [start_ms, end_ms)."""

    symbol: str
    timeframe: str
    start_ms: int
    end_ms: int

    @property
    def missing(self) -> int:
        return (self.end_ms - self.start_ms) // timeframe_ms(self.timeframe)

    @property
    def stream(self) -> tuple[str, str]:
        return self.symbol, self.timeframe


@dataclass(frozen=True, slots=True)
class FeedUpdate:
    candles: tuple[CandleMsg, ...] = ()
    backfills: tuple[BackfillRequest, ...] = ()

    def __add__(self, other: FeedUpdate) -> FeedUpdate:
        return FeedUpdate(self.candles + other.candles, self.backfills + other.backfills)


class CandleTracker:
    def __init__(self, symbol: str, timeframe: str, exchange: str = "", *, buffer_size: int = BUFFER_CANDLES,
                 close_grace_ms: int = CLOSE_GRACE_MS, last_closed_ts: int | None = None, seq: int = 0) -> None:
        self.symbol, self.timeframe, self.exchange = symbol, timeframe, exchange
        self.tf_ms = timeframe_ms(timeframe)
        self.close_grace_ms = int(close_grace_ms)
        self.seq = int(seq)
        self.last_emitted_ts = last_closed_ts
        self._frontier = last_closed_ts  # newest closed candle accounted for (emitted, held or covered by a gap)
        self._open: dict[int, Candle] = {}  # rows after the frontier, latest values win
        self._max_seen: int | None = None
        self._held: dict[int, Candle] = {}  # closed, valid, waiting behind an open gap
        self._gaps: list[BackfillRequest] = []
        self.buffer: deque[Candle] = deque(maxlen=buffer_size)
        self._buffer_ts: set[int] = set()
        self.to_flush: list[Candle] = []
        self.duplicates = 0
        self.stale = 0
        self.rejected: dict[str, int] = {}
        self.gaps_detected = 0
        self.backfilled = 0
        self.unfilled = 0  # missing candles the back-fill could not supply (exchange outage) or abandoned

    # -- intake --------------------------------------------------------------------------------------
    def update(self, rows: Iterable[Sequence[Any]], now_ms: int, cache: Sequence[Sequence[Any]] = ()) -> FeedUpdate:
        """One `watch_ohlcv` result. Returns the candles that closed (in order) and any new back-fill requests.

        `cache` is the client's whole OHLCV cache for the stream: its rows after the frontier are read again,
        because ccxt.pro hands out only the newest `n` rows of the cache, and a malformed row appended after
        an open candle hides that candle's later in-place updates (its final values) until a new candle opens.
        """
        rows = list(rows)
        for row in rows:
            c = self._parse(row)
            if c is not None:
                self._ingest(c)
        for row in self._unseen_open_rows(rows, cache):
            self._ingest(row)
        return self.tick(now_ms)

    def _unseen_open_rows(self, returned: list[Sequence[Any]], cache: Sequence[Sequence[Any]]) -> list[Candle]:
        if self._frontier is None or not cache:
            return []
        handed_out = {id(r) for r in returned}
        out: list[Candle] = []
        for row in cache:
            if id(row) in handed_out or not row or not isinstance(row[0], int) or row[0] <= self._frontier:
                continue  # malformed cache rows were counted when they were handed out
            try:
                out.append(Candle(int(row[0]), *(float(x) for x in row[1:6]), self.symbol, self.timeframe,
                                  self.exchange))
            except (TypeError, ValueError, OverflowError):
                continue
        return out

    def tick(self, now_ms: int) -> FeedUpdate:
        """Close rows by the clock (no later row arrived) and release what can be released."""
        requests: list[BackfillRequest] = []
        ready = sorted(ts for ts in self._open
                       if (self._max_seen is not None and ts < self._max_seen) or now_ms >= ts + self.tf_ms + self.close_grace_ms)
        for ts in ready:
            self._accept_closed(self._open.pop(ts), requests)
        return FeedUpdate(self._release(now_ms), tuple(requests))

    def _reject(self, reason: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1

    def _parse(self, row: Sequence[Any]) -> Candle | None:
        try:
            ts, o, h, l, c, v = row[:6] if len(row) >= 6 else row  # type: ignore[misc]
            ts_i = int(ts)
            if ts_i != ts:
                raise ValueError
            return Candle(ts_i, float(o), float(h), float(l), float(c), float(v), self.symbol, self.timeframe, self.exchange)
        except (TypeError, ValueError, OverflowError):
            self._reject(MALFORMED)
            return None

    def _ingest(self, c: Candle) -> None:
        ts = c.timestamp
        if ts % self.tf_ms:
            self._reject(MISALIGNED)
            return
        if self.last_emitted_ts is not None and ts <= self.last_emitted_ts:
            if ts in self._buffer_ts:
                self.duplicates += 1
            else:
                self.stale += 1
            return
        if self._frontier is not None and ts <= self._frontier:
            # Behind the frontier but not emitted yet: held already (duplicate), or a late row for a gap.
            if ts in self._held:
                self.duplicates += 1
            elif self._gap_of(ts) is not None:
                self._hold_if_valid(c)  # a later row exists, so this one is closed
            else:
                self.stale += 1
            return
        self._open[ts] = c
        if self._max_seen is None or ts > self._max_seen:
            self._max_seen = ts

    def _hold_if_valid(self, c: Candle) -> bool:
        reason = validate_candle(c)
        if reason is not None:
            self._reject(reason)
            return False
        self._held[c.timestamp] = c
        return True

    def _accept_closed(self, c: Candle, requests: list[BackfillRequest]) -> None:
        if not self._hold_if_valid(c):
            return  # the frontier stays: the next valid candle opens a gap over this one and back-fills it
        if self._frontier is not None and c.timestamp - self._frontier > GAP_FACTOR * self.tf_ms:
            requests.append(self._open_gap(self._frontier + self.tf_ms, c.timestamp))
        self._frontier = c.timestamp

    def _open_gap(self, start_ms: int, end_ms: int) -> BackfillRequest:
        req = BackfillRequest(self.symbol, self.timeframe, start_ms, end_ms)
        self._gaps.append(req)
        self._gaps.sort(key=lambda g: g.start_ms)
        self.gaps_detected += 1
        return req

    def _gap_of(self, ts: int) -> BackfillRequest | None:
        for g in self._gaps:
            if g.start_ms <= ts < g.end_ms:
                return g
        return None

    def _release(self, now_ms: int) -> tuple[CandleMsg, ...]:
        blocker = self._gaps[0].start_ms if self._gaps else math.inf
        out: list[CandleMsg] = []
        for ts in sorted(t for t in self._held if t < blocker):
            c = self._held.pop(ts)
            self.seq += 1
            out.append(CandleMsg(self.seq, c, now_ms))
            if len(self.buffer) == self.buffer.maxlen:
                self._buffer_ts.discard(self.buffer[0].timestamp)
            self.buffer.append(c)
            self._buffer_ts.add(ts)
            self.last_emitted_ts = ts
            self.to_flush.append(c)
        return tuple(out)

    # -- gaps ----------------------------------------------------------------------------------------
    @property
    def open_gaps(self) -> tuple[BackfillRequest, ...]:
        return tuple(self._gaps)

    def backfill(self, request: BackfillRequest, rows: Iterable[Sequence[Any]], now_ms: int) -> FeedUpdate:
        """Merge REST candles for `request` and release everything that no longer waits. A request already
        resolved (a retried back-fill) changes nothing, so each missing candle is emitted at most once."""
        if request not in self._gaps:
            return FeedUpdate()
        for row in rows:
            c = self._parse(row)
            if c is None:
                continue
            ts = c.timestamp
            if not request.start_ms <= ts < request.end_ms:
                continue  # REST pages overlap the live stream; those candles come from the websocket
            if ts in self._held or (self.last_emitted_ts is not None and ts <= self.last_emitted_ts):
                self.duplicates += 1
            elif ts % self.tf_ms:
                self._reject(MISALIGNED)
            elif self._hold_if_valid(c):
                self.backfilled += 1
        return self._resolve(request, now_ms)

    def abandon(self, request: BackfillRequest, now_ms: int) -> FeedUpdate:
        """Give up on a back-fill (REST keeps failing): what is held is released, the hole stays counted."""
        if request not in self._gaps:
            return FeedUpdate()
        return self._resolve(request, now_ms)

    def _resolve(self, request: BackfillRequest, now_ms: int) -> FeedUpdate:
        self._gaps.remove(request)
        present = sum(1 for ts in range(request.start_ms, request.end_ms, self.tf_ms) if ts in self._held)
        self.unfilled += request.missing - present
        return FeedUpdate(self._release(now_ms))

    def reconnect_request(self, now_ms: int) -> BackfillRequest | None:
        """After a reconnect: the candles that closed while we were away, up to the one in progress now.
        Rows of that range the websocket still delivers fill it too; either way each is emitted once."""
        if self._frontier is None:
            return None
        current_open = now_ms - now_ms % self.tf_ms
        start = self._frontier + self.tf_ms
        if current_open <= start:
            return None
        # Drop in-progress rows the request covers: REST has their final values.
        for ts in [t for t in self._open if t < current_open]:
            self._held_or_drop(ts)
        self._frontier = current_open - self.tf_ms
        return self._open_gap(start, current_open)

    def _held_or_drop(self, ts: int) -> None:
        c = self._open.pop(ts)
        if self._max_seen is not None and ts < self._max_seen:
            self._hold_if_valid(c)  # closed for sure: a later row exists

    # -- persistence ---------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        # Held and in-progress rows are not saved: after a restart `reconnect_request` back-fills them.
        return {"seq": self.seq, "last_emitted_ts": self.last_emitted_ts}


def _stream_key(symbol: str, timeframe: str) -> str:
    return f"{symbol}|{timeframe}"


class FeedBook:
    """Every stream of one exchange connection, plus health, funding/OI seqs and the pending DB flush."""

    def __init__(self, clock: Clock, exchange: str = "", *, buffer_size: int = BUFFER_CANDLES,
                 close_grace_ms: int = CLOSE_GRACE_MS, flush_interval_ms: int = FLUSH_INTERVAL_MS) -> None:
        self.clock = clock
        self.exchange = exchange
        self.buffer_size = buffer_size
        self.close_grace_ms = close_grace_ms
        self.flush_interval_ms = flush_interval_ms
        self.trackers: dict[tuple[str, str], CandleTracker] = {}
        self.connected = False
        self.reconnects = 0
        self.last_message_ms: int | None = None
        self._last_flush_ms = clock.now_ms()
        self._requeued: list[Candle] = []
        self._funding: dict[str, tuple[int, int]] = {}  # symbol -> (seq, last ts)
        self._oi: dict[str, tuple[int, int]] = {}
        self.rejected_frames = 0  # frames the websocket client could not even decode (not valid JSON)

    def add_stream(self, symbol: str, timeframe: str, last_closed_ts: int | None = None, seq: int = 0) -> CandleTracker:
        key = (symbol, timeframe)
        if key not in self.trackers:
            self.trackers[key] = CandleTracker(symbol, timeframe, self.exchange, buffer_size=self.buffer_size,
                                               close_grace_ms=self.close_grace_ms, last_closed_ts=last_closed_ts, seq=seq)
        return self.trackers[key]

    def on_ohlcv(self, symbol: str, timeframe: str, rows: Iterable[Sequence[Any]],
                 cache: Sequence[Sequence[Any]] = ()) -> FeedUpdate:
        """A `watch_ohlcv` result, with the client's cache of the stream (see `CandleTracker.update`)."""
        now = self.clock.now_ms()
        self.last_message_ms = now
        self.connected = True
        return self.add_stream(symbol, timeframe).update(rows, now, cache)

    def tick(self) -> FeedUpdate:
        """Close candles by the clock. Not while disconnected: the last values seen may be minutes old, so
        those candles come from the reconnect back-fill instead."""
        if not self.connected:
            return FeedUpdate()
        now = self.clock.now_ms()
        out = FeedUpdate()
        for t in self.trackers.values():
            out = out + t.tick(now)
        return out

    def on_backfill(self, request: BackfillRequest, rows: Iterable[Sequence[Any]]) -> FeedUpdate:
        return self.trackers[request.stream].backfill(request, rows, self.clock.now_ms())

    def abandon_backfill(self, request: BackfillRequest) -> FeedUpdate:
        return self.trackers[request.stream].abandon(request, self.clock.now_ms())

    def on_disconnect(self) -> None:
        self.connected = False

    def on_undecodable_frame(self) -> None:
        """A frame that is not valid JSON: counted, and the connection is treated as lost (the client's
        receive loop stops on it, so nothing more would arrive over that socket)."""
        self.rejected_frames += 1

    def on_reconnect(self) -> list[BackfillRequest]:
        """Count the reconnect and return the back-fill of every stream's missed candles."""
        self.reconnects += 1
        self.connected = True
        now = self.clock.now_ms()
        return [r for t in self.trackers.values() if (r := t.reconnect_request(now)) is not None]

    def buffer(self, symbol: str, timeframe: str) -> list[Candle]:
        t = self.trackers.get((symbol, timeframe))
        return list(t.buffer) if t else []

    # -- funding / open interest -------------------------------------------------------------------------
    def funding(self, symbol: str, timestamp: int, rate: float) -> FundingMsg | None:
        """A message for a new funding reading, None for one already seen (polling repeats it) or a bad value."""
        seq, last = self._funding.get(symbol, (0, -1))
        if timestamp <= last or not math.isfinite(rate):
            return None
        self._funding[symbol] = (seq + 1, timestamp)
        return FundingMsg(seq + 1, symbol, int(timestamp), float(rate))

    def open_interest(self, symbol: str, timestamp: int, value: float) -> OpenInterestMsg | None:
        seq, last = self._oi.get(symbol, (0, -1))
        if timestamp <= last or not math.isfinite(value) or value < 0:
            return None
        self._oi[symbol] = (seq + 1, timestamp)
        return OpenInterestMsg(seq + 1, symbol, int(timestamp), float(value))

    # -- DB flush ------------------------------------------------------------------------------------------
    def flush_due(self) -> bool:
        return self.clock.now_ms() - self._last_flush_ms >= self.flush_interval_ms

    def take_flush(self) -> dict[tuple[str, str], CandleArrays]:
        """Candles closed since the last flush, per stream, oldest first. On a failed write the actor hands
        them back with `requeue` so nothing is lost."""
        self._last_flush_ms = self.clock.now_ms()
        pending: dict[tuple[str, str], dict[int, Candle]] = {}
        for c in self._requeued:
            pending.setdefault((c.symbol, c.timeframe), {})[c.timestamp] = c
        self._requeued = []
        for key, t in self.trackers.items():
            for c in t.to_flush:
                pending.setdefault(key, {})[c.timestamp] = c
            t.to_flush = []
        out: dict[tuple[str, str], CandleArrays] = {}
        for key, by_ts in pending.items():
            cs = [by_ts[ts] for ts in sorted(by_ts)]
            out[key] = CandleArrays(np.array([c.timestamp for c in cs], dtype=np.int64),
                                    *(np.array([getattr(c, f) for c in cs], dtype=np.float64)
                                      for f in ("open", "high", "low", "close", "volume")))
        return out

    def requeue(self, batch: dict[tuple[str, str], CandleArrays]) -> None:
        for (symbol, tf), arrays in batch.items():
            self._requeued.extend(arrays.candles(symbol, tf, self.exchange))

    # -- health and persistence ----------------------------------------------------------------------------
    def health(self) -> FeedHealth:
        rejected: dict[str, int] = {}
        for t in self.trackers.values():
            for reason, n in t.rejected.items():
                rejected[reason] = rejected.get(reason, 0) + n
            if t.stale:
                rejected["stale"] = rejected.get("stale", 0) + t.stale
        if self.rejected_frames:
            rejected[INVALID_JSON] = self.rejected_frames
        return FeedHealth(
            connected=self.connected, last_message_ms=self.last_message_ms,
            last_candle_ms={_stream_key(*k): t.last_emitted_ts for k, t in self.trackers.items() if t.last_emitted_ts is not None},
            reconnects=self.reconnects, rejected=rejected,
            duplicates=sum(t.duplicates for t in self.trackers.values()),
            backfilled=sum(t.backfilled for t in self.trackers.values()),
        )

    def state(self) -> dict[str, Any]:
        return {"streams": {_stream_key(*k): t.state() for k, t in self.trackers.items()},
                "funding": {s: list(v) for s, v in self._funding.items()},
                "open_interest": {s: list(v) for s, v in self._oi.items()}}

    def restore(self, state: dict[str, Any]) -> None:
        for key, st in state.get("streams", {}).items():
            symbol, _, tf = key.rpartition("|")
            self.trackers.pop((symbol, tf), None)
            self.add_stream(symbol, tf, st["last_emitted_ts"], st["seq"])
        self._funding = {s: (int(v[0]), int(v[1])) for s, v in state.get("funding", {}).items()}
        self._oi = {s: (int(v[0]), int(v[1])) for s, v in state.get("open_interest", {}).items()}


# -- policies ----------------------------------------------------------------------------------------------
@dataclass
class Backoff:
    """Reconnect delays: initial * factor**n, capped; optional jitter shortens each delay by up to
    `jitter` of itself (a seeded `rng` makes it deterministic)."""

    initial_s: float = 1.0
    max_s: float = 60.0
    factor: float = 2.0
    jitter: float = 0.0
    rng: random.Random = field(default_factory=random.Random)
    attempts: int = 0

    def next_delay(self) -> float:
        # Cap the exponent first: 2.0 ** 1100 overflows.
        base = self.initial_s * self.factor ** min(self.attempts, 64)
        delay = min(base, self.max_s)
        self.attempts += 1
        if self.jitter:
            delay *= 1.0 - self.jitter * self.rng.random()
        return delay

    def reset(self) -> None:
        self.attempts = 0

    @classmethod
    def from_config(cls, exchange: Any, jitter: float = 0.0, rng: random.Random | None = None) -> Backoff:
        """From exchanges.yaml (`reconnect_initial_s`, `reconnect_max_s`)."""
        return cls(exchange.reconnect_initial_s, exchange.reconnect_max_s, jitter=jitter, rng=rng or random.Random())


RATE_LIMIT_CODES = ("30006", "429")


def is_rate_limited(exc: BaseException, codes: Sequence[str] = RATE_LIMIT_CODES) -> bool:
    """ccxt's rate-limit classes, or an exchange error carrying one of the codes (Bitget 30006, HTTP 429)."""
    try:
        import ccxt

        if isinstance(exc, (ccxt.RateLimitExceeded, ccxt.DDoSProtection)):
            return True
    except ImportError:  # pragma: no cover - ccxt is a dependency
        pass
    text = str(exc)
    return any(re.search(rf"(?<!\d){re.escape(code)}(?!\d)", text) for code in codes)


class RateLimitGaveUp(Exception):
    """Still rate-limited after every retry."""


@dataclass
class RetryPolicy:
    """Retry a call refused for rate limiting `retries` times (after the first attempt), with exponential
    backoff; any other error propagates at once."""

    retries: int = 3
    initial_s: float = 1.0
    max_s: float = 60.0
    codes: tuple[str, ...] = RATE_LIMIT_CODES

    @classmethod
    def from_config(cls, exchange: Any) -> RetryPolicy:
        """From exchanges.yaml (`max_retries`, `retry_backoff_s`, `rate_limit_codes`)."""
        return cls(exchange.max_retries, exchange.retry_backoff_s, codes=tuple(exchange.rate_limit_codes))

    def delays(self) -> list[float]:
        return [min(self.initial_s * 2 ** k, self.max_s) for k in range(self.retries)]

    def call(self, fn: Callable[[], T], sleep: Callable[[float], None] = time.sleep) -> T:
        delays = self.delays()
        for attempt in range(self.retries + 1):
            try:
                return fn()
            except Exception as exc:
                if not is_rate_limited(exc, self.codes):
                    raise
                if attempt == self.retries:
                    raise RateLimitGaveUp(f"rate limited {self.retries + 1} times: {exc}") from exc
                sleep(delays[attempt])
        raise AssertionError("unreachable")

    async def acall(self, fn: Callable[[], Awaitable[T]], sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> T:
        delays = self.delays()
        for attempt in range(self.retries + 1):
            try:
                return await fn()
            except Exception as exc:
                if not is_rate_limited(exc, self.codes):
                    raise
                if attempt == self.retries:
                    raise RateLimitGaveUp(f"rate limited {self.retries + 1} times: {exc}") from exc
                await sleep(delays[attempt])
        raise AssertionError("unreachable")


def subscription_plan(streams: Sequence[T], batch: int = 10, interval_s: float = 0.5) -> list[tuple[float, tuple[T, ...]]]:
    """(delay from start in seconds, streams to subscribe) — batches of `batch` every `interval_s`, so a boot
    with 30 coins does not hit the exchange's subscription rate limit."""
    if batch < 1:
        raise ValueError(f"subscription batch must be >= 1, got {batch}")
    return [(k * interval_s, tuple(streams[i:i + batch])) for k, i in enumerate(range(0, len(streams), batch))]
