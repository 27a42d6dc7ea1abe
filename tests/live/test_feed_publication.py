"""The DataFeed actor's publication path without a cluster: one call per runner for the symbols closing at
the same instant, candle latency ending at the runner's decision, the runners' books to the guard in one
call per close instant, and the resend after a runner restart. Runner and guard handles are asyncio fakes
with the `method.remote(...)` shape of Ray actor handles."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest
import ray

from actors import live_feed
from actors.live_feed import DataFeed
from radar.live.feed import FeedUpdate
from radar.live.messages import CandleAck, CandleMsg
from radar.live.portfolio_guard import RunnerReport
from radar.models import Candle

H = 3_600_000
T0 = 1_700_002_800_000


class _Method:
    def __init__(self, fn: Any) -> None:
        self.fn = fn

    def remote(self, *args: Any) -> asyncio.Future:
        return asyncio.ensure_future(self.fn(*args))


class FakeRunner:
    """Answers each call after `delay_s`, deciding at `decided_at` (when given) with one book per symbol."""

    def __init__(self, name: str, delay_s: float = 0.0, die_on_call: int | None = None) -> None:
        self.name, self.delay_s, self.die_on_call = name, delay_s, die_on_call
        self.calls: list[list[tuple[str, int, int]]] = []  # per call: (symbol, seq, candle ts)
        self.last: dict[str, int] = {}
        self.decided_at: float | None = None
        self.on_candles = _Method(self._on_candles)
        self.last_processed = _Method(self._last_processed)

    async def _on_candles(self, msgs: list[CandleMsg]) -> CandleAck:
        await asyncio.sleep(self.delay_s)
        if self.die_on_call is not None and len(self.calls) + 1 == self.die_on_call:
            self.die_on_call = None
            raise ray.exceptions.RayActorError()
        self.calls.append([(m.candle.symbol, m.seq, m.candle.timestamp) for m in msgs])
        for m in msgs:
            self.last[m.candle.symbol] = m.candle.timestamp
        reports = tuple(RunnerReport(f"{self.name}:{m.candle.symbol}", m.candle.timestamp, 1000.0, 0.0, 1000.0)
                        for m in msgs)
        return CandleAck(0, self.decided_at if self.decided_at is not None else live_feed.time.time(), reports)

    async def _last_processed(self) -> dict[str, int]:
        return dict(self.last)


class FakeGuard:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.report = _Method(self._report)

    async def _report(self, reports: list[RunnerReport]) -> None:
        self.batches.append(sorted(f"{r.runner_id}@{(r.timestamp - T0) // H}" for r in reports))


def _msg(symbol: str, seq: int, k: int, timeframe: str = "1h") -> CandleMsg:
    return CandleMsg(seq, Candle(T0 + k * H, 100.0, 101.0, 99.0, 100.5, 5.0, symbol, timeframe, "bitget"),
                     T0 + (k + 1) * H)


def _feed(routes: dict[str, list[FakeRunner]], guard: FakeGuard | None = None) -> DataFeed:
    feed = DataFeed([(s, "1h") for s in routes], "bitget", state_store=None)
    for symbol, runners in routes.items():
        for r in runners:
            feed.subscribe(symbol, "1h", r, r.name)
    if guard is not None:
        feed.report_to(guard)
    feed._start_publishers()
    return feed


async def _close_instant(feed: DataFeed, symbols: list[str], seq: int, k: int) -> None:
    """The symbols' candles close one websocket frame after the other, as the watchers see them."""
    for s in symbols:
        feed._queue(s, FeedUpdate((_msg(s, seq, k),)))
        await asyncio.sleep(0)


async def _stop(feed: DataFeed) -> None:
    await feed.drain(5.0)
    await live_feed._cancel(feed.publishers)


def test_symbols_closing_together_reach_each_runner_in_one_call_in_seq_order():
    async def scenario() -> tuple[FakeRunner, FakeRunner, DataFeed]:
        # Arrange: runner a trades X and Y, runner b trades Z
        a, b = FakeRunner("a", delay_s=0.01), FakeRunner("b", delay_s=0.01)
        feed = _feed({"X": [a], "Y": [a], "Z": [b]})
        # Act: three close instants
        for k in range(3):
            await _close_instant(feed, ["X", "Y", "Z"], seq=k + 1, k=k)
            await asyncio.sleep(0.03)
        await _stop(feed)
        return a, b, feed

    a, b, feed = asyncio.run(scenario())

    # Assert: one call per runner per instant, each stream's seqs in order, every candle counted once
    assert a.calls == [[("X", k + 1, T0 + k * H), ("Y", k + 1, T0 + k * H)] for k in range(3)]
    assert b.calls == [[("Z", k + 1, T0 + k * H)] for k in range(3)]
    assert feed.published == 9


def test_two_timeframes_of_one_symbol_reach_their_own_runners_even_when_their_candles_share_a_timestamp():
    async def scenario() -> tuple[FakeRunner, FakeRunner, DataFeed]:
        # Arrange: runner h trades X 1h, runner f trades X 4h; their candles both open at T0
        h, f = FakeRunner("h", delay_s=0.01), FakeRunner("f", delay_s=0.02)
        feed = DataFeed([("X", "1h"), ("X", "4h")], "bitget", state_store=None)
        feed.subscribe("X", "1h", h, "h")
        feed.subscribe("X", "4h", f, "f")
        feed._start_publishers()
        # Act
        feed._queue("X", FeedUpdate((_msg("X", 1, 0, "1h"), _msg("X", 1, 0, "4h"))))
        await _stop(feed)
        return h, f, feed

    h, f, feed = asyncio.run(scenario())

    # Assert: each runner got its timeframe's candle; both counted, each with its own latency sample
    assert (h.calls, f.calls) == ([[("X", 1, T0)]], [[("X", 1, T0)]])
    assert feed.published == 2 and len(feed.latency_samples()) == 2


def test_candles_queued_while_a_call_is_in_flight_go_together_in_the_next_call():
    async def scenario() -> FakeRunner:
        a = FakeRunner("a", delay_s=0.05)
        feed = _feed({"X": [a]})
        await _close_instant(feed, ["X"], 1, 0)
        await asyncio.sleep(0.01)  # the first call is running
        for k in (1, 2, 3):
            await _close_instant(feed, ["X"], k + 1, k)
        await _stop(feed)
        return a

    a = asyncio.run(scenario())

    assert [[seq for _, seq, _ in call] for call in a.calls] == [[1], [2, 3, 4]]


def test_candle_latency_ends_at_the_last_subscribed_runners_decision(monkeypatch):
    # Arrange: a frozen wall clock at detection; the two runners of X decide 4.5 ms and 12.25 ms later
    async def scenario() -> DataFeed:
        a, b = FakeRunner("a"), FakeRunner("b")
        a.decided_at, b.decided_at = 1_000.0045, 1_000.01225
        feed = _feed({"X": [a, b], "Y": [a]})
        monkeypatch.setattr(live_feed.time, "time", lambda: 1_000.0)
        await _close_instant(feed, ["X", "Y"], 1, 0)
        await _stop(feed)
        return feed

    feed = asyncio.run(scenario())

    # Assert: X waits for both runners, Y only for a
    samples = sorted(round(ms, 6) for ms, _ in feed.latency_samples())
    assert samples == [4.5, 12.25]
    stats = feed.stats()
    assert stats["published"] == 2 and stats["latency_ms"]["samples"] == 2
    assert stats["latency_ms"]["p99"] == pytest.approx(12.25)


def test_runner_books_reach_the_guard_in_one_call_per_close_instant():
    async def scenario() -> FakeGuard:
        guard = FakeGuard()
        runners = [FakeRunner(n, delay_s=0.002 * (i + 1)) for i, n in enumerate("abc")]
        feed = _feed({"X": [runners[0]], "Y": [runners[1]], "Z": [runners[2]]}, guard)
        for k in range(2):
            await _close_instant(feed, ["X", "Y", "Z"], k + 1, k)
            await asyncio.sleep(0.1)  # far more than REPORT_COALESCE_S: each instant is sent on its own
        await _stop(feed)
        return guard

    guard = asyncio.run(scenario())

    assert guard.batches == [["a:X@0", "b:Y@0", "c:Z@0"], ["a:X@1", "b:Y@1", "c:Z@1"]]


def test_a_restarted_runner_gets_every_candle_after_its_last_processed_one_per_symbol(monkeypatch):
    async def scenario() -> tuple[FakeRunner, DataFeed]:
        # Arrange: the runner dies on its third call (the instant k=2) before touching its candles
        a = FakeRunner("a", die_on_call=3)
        feed = _feed({"X": [a], "Y": [a]})
        # Act
        for k in range(4):
            await _close_instant(feed, ["X", "Y"], k + 1, k)
            await asyncio.sleep(0.01)
        await _stop(feed)
        return a, feed

    a, feed = asyncio.run(scenario())

    # Assert: instant 2 is resent after the restart, nothing twice, nothing undelivered
    seen = [(s, seq) for call in a.calls for s, seq, _ in call]
    assert seen == [(s, k + 1) for k in range(4) for s in ("X", "Y")]
    assert feed.published == 8 and feed.undelivered == 0


class FakeRest:
    """An exchange that answers a candle request from the END of its window, at most `limit` rows (100 when
    no limit is given), as Bitget does."""

    id = "fake"

    def __init__(self, first_ts: int, n: int) -> None:
        self.candles = [[first_ts + i * H, 1.0, 2.0, 0.5, 1.5, 3.0] for i in range(n)]
        self.requests: list[tuple[int, int, int]] = []

    async def fetch_ohlcv(self, symbol: str, timeframe: str, since: int, limit: int | None = None,
                          params: dict | None = None) -> list[list[float]]:
        until = (params or {})["until"]
        self.requests.append((since, until, limit or 100))
        window = [c for c in self.candles if since <= c[0] <= until]
        return [list(c) for c in window[-(limit or 100):]]


def test_a_long_gap_is_fetched_page_by_page_without_losing_the_head_of_any_window():
    # Arrange: 2,500 hourly candles missing, far more than one page
    rest = FakeRest(T0, 2_500)
    feed = DataFeed([("X", "1h")], "bitget", state_store=None)
    feed.rest = rest

    # Act
    rows = asyncio.run(feed._fetch_range("X", "1h", T0, T0 + 2_500 * H))

    # Assert: every candle once, in order, from windows of exactly one page
    assert [r[0] for r in rows] == [T0 + i * H for i in range(2_500)]
    assert [(since - T0) // H for since, _, _ in rest.requests] == [0, 1_000, 2_000]
    assert all((until + 1 - since) // H <= limit for since, until, limit in rest.requests)
