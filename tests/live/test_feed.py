"""Feed bookkeeping driven by ccxt-like `watch_ohlcv` update sequences: closes, duplicates, reorders,
gaps and back-fill exactly once; FeedBook health/flush; reconnect, rate-limit and stagger policies."""
from __future__ import annotations

import asyncio

import ccxt
import pytest

from radar.live.clock import ManualClock
from radar.live.feed import (Backoff, BackfillRequest, CandleTracker, FeedBook, RateLimitGaveUp, RetryPolicy,
                             is_rate_limited, subscription_plan)

H = 3_600_000
T0 = 1_700_002_800_000  # 2023-11-14 23:00 UTC, an hour boundary
SYM = "BTC/USDT:USDT"
assert T0 % H == 0


def row(ts: int, close: float = 100.0, vol: float = 5.0) -> list[float]:
    return [ts, 100.0, max(100.0, close) + 1.0, min(100.0, close) - 1.0, close, vol]


def tracker(**kw) -> CandleTracker:
    return CandleTracker(SYM, "1h", "bitget", **kw)


def emitted(update) -> list[tuple[int, int]]:
    return [(m.seq, (m.candle.timestamp - T0) // H) for m in update.candles]


# -- closing -------------------------------------------------------------------------------------------------
def test_a_candle_closes_with_its_last_values_when_the_next_one_starts():
    # Arrange
    t = tracker()
    t.update([row(T0, 100.5, 10.0)], T0 + 600_000)
    t.update([row(T0, 101.0, 20.0)], T0 + 1_200_000)

    # Act
    up = t.update([row(T0, 101.5, 30.0), row(T0 + H, 101.6, 1.0)], T0 + H + 500)

    # Assert
    assert emitted(up) == [(1, 0)]
    c = up.candles[0].candle
    assert (c.close, c.high, c.low, c.volume) == (101.5, 102.5, 99.0, 30.0)
    assert (c.symbol, c.timeframe, c.exchange) == (SYM, "1h", "bitget")
    assert up.candles[0].received_ms == T0 + H + 500


def test_without_a_later_row_the_clock_closes_the_candle_after_the_grace():
    t = tracker(close_grace_ms=2_000)
    t.update([row(T0, 101.0)], T0 + 60_000)

    early = t.tick(T0 + H + 1_999)
    on_time = t.tick(T0 + H + 2_000)
    late_update = t.update([row(T0, 101.0)], T0 + H + 3_000)

    assert early.candles == ()
    assert emitted(on_time) == [(1, 0)]
    assert late_update.candles == () and t.duplicates == 1


def test_redelivered_closed_rows_are_dropped_and_counted_and_older_ones_are_stale():
    # Arrange: ccxt re-sends its cached rows with every update
    t = tracker(last_closed_ts=T0 - H, seq=7)
    first = t.update([row(T0), row(T0 + H)], T0 + H + 1)

    # Act
    again = t.update([row(T0), row(T0 + H), row(T0 + 2 * H)], T0 + 2 * H + 1)
    t.update([row(T0 - 5 * H)], T0 + 2 * H + 2)

    # Assert
    assert emitted(first) == [(8, 0)]
    assert emitted(again) == [(9, 1)]
    assert t.duplicates == 1  # T0 again
    assert t.stale == 1  # 5 h old, not in the buffer
    assert t.seq == 9 and t.last_emitted_ts == T0 + H


def test_reordered_rows_are_emitted_in_timestamp_order():
    t = tracker()

    up1 = t.update([row(T0 + 2 * H), row(T0), row(T0 + H)], T0 + 2 * H + 10)
    up2 = t.update([row(T0 + 3 * H)], T0 + 3 * H + 10)

    assert emitted(up1) == [(1, 0), (2, 1)]
    assert emitted(up2) == [(3, 2)]


def test_invalid_and_malformed_rows_are_rejected_per_reason():
    # Arrange
    t = tracker(last_closed_ts=T0 - H)
    bad = [T0, 100.0, 99.0, 98.0, 100.0, 5.0]  # high below close

    # Act
    up = t.update([bad, ["x", 1, 2, 3, 4, 5], [T0 + 1, 100, 101, 99, 100, 1], [T0 + H, 1, 2]], T0 + H + 10)
    up2 = t.update([row(T0 + H), row(T0 + 2 * H)], T0 + 2 * H + 10)

    # Assert
    assert up.candles == ()
    assert t.rejected == {"high_below_open_close": 1, "malformed_row": 2, "misaligned_timestamp": 1}
    # the rejected T0 leaves a hole: T0+H is held behind a back-fill request for T0
    assert up2.candles == ()
    assert up2.backfills == (BackfillRequest(SYM, "1h", T0, T0 + H),)


def test_a_malformed_row_in_ccxts_cache_does_not_hide_the_open_candles_final_values():
    # Arrange: ccxt.pro's own OHLCV cache, handed out the way watch_ohlcv does (the newest `getLimit` rows)
    from ccxt.async_support.base.ws.cache import ArrayCacheByTimestamp

    cache = ArrayCacheByTimestamp(1000)

    def watch(*rows: list) -> list:
        for r in rows:
            cache.append(r)
        n = cache.getLimit(SYM, None)
        return list(cache)[-n:]

    t = tracker(last_closed_ts=T0 - H)
    t.update(watch(row(T0, 100.0, 0.0)), T0 + 1_000, list(cache))  # the candle's opening push
    handed = watch([None, None, None, -1.0, None, None])  # a wrong-shape frame lands in the cache
    t.update(handed, T0 + 2_000, list(cache))

    # Act: the final update of T0 is an in-place change, so ccxt hands out the malformed row again instead
    hidden = watch(row(T0, 104.0, 42.0))
    t.update(hidden, T0 + H - 1, list(cache))
    up = t.update(watch(row(T0 + H, 104.0, 1.0)), T0 + H + 500, list(cache))

    # Assert: ccxt did hide it, the tracker still closed T0 with its final values
    assert [r[0] for r in hidden] == [None]
    assert emitted(up) == [(1, 0)]
    c = up.candles[0].candle
    assert (c.close, c.volume) == (104.0, 42.0)
    assert t.rejected == {"malformed_row": 2}  # counted when handed out, not again when read from the cache


# -- gaps and back-fill ---------------------------------------------------------------------------------------
def test_gap_is_back_filled_and_every_missing_candle_emitted_exactly_once():
    # Arrange: the DB ends at T0; the websocket resumes at T0+4h
    t = tracker(last_closed_ts=T0, seq=100)
    up = t.update([row(T0 + 4 * H, 104.0), row(T0 + 5 * H)], T0 + 5 * H + 30_000)
    [req] = up.backfills
    rest = [row(T0 + k * H, 100.0 + k) for k in range(0, 6)]  # REST overlaps both ends

    # Act
    filled = t.backfill(req, rest, T0 + 5 * H + 31_000)
    retried = t.backfill(req, rest, T0 + 5 * H + 32_000)
    live_resend = t.update([row(T0 + 2 * H), row(T0 + 4 * H), row(T0 + 5 * H)], T0 + 5 * H + 33_000)

    # Assert
    assert up.candles == ()  # T0+4h waits behind the gap
    assert (req.start_ms, req.end_ms, req.missing) == (T0 + H, T0 + 4 * H, 3)
    assert emitted(filled) == [(101, 1), (102, 2), (103, 3), (104, 4)]
    assert [m.candle.close for m in filled.candles] == [101.0, 102.0, 103.0, 104.0]  # 4h is the websocket's
    assert retried.candles == () and live_resend.candles == ()
    assert t.backfilled == 3 and t.unfilled == 0 and t.gaps_detected == 1
    assert t.duplicates == 2  # websocket 2h and 4h again (REST rows outside the gap are not the gap's business)


def test_a_late_websocket_row_inside_a_gap_and_the_rest_row_count_once():
    t = tracker(last_closed_ts=T0)
    [req] = t.update([row(T0 + 3 * H), row(T0 + 4 * H)], T0 + 4 * H + 10).backfills

    late = t.update([row(T0 + 2 * H, 150.0)], T0 + 4 * H + 20)
    filled = t.backfill(req, [row(T0 + H, 101.0), row(T0 + 2 * H, 102.0)], T0 + 4 * H + 30)

    assert late.candles == ()
    assert emitted(filled) == [(1, 1), (2, 2), (3, 3)]
    assert filled.candles[1].candle.close == 150.0  # first arrival kept
    assert t.backfilled == 1 and t.duplicates == 1


def test_rest_missing_candles_are_counted_unfilled_and_the_stream_continues():
    t = tracker(last_closed_ts=T0)
    [req] = t.update([row(T0 + 4 * H), row(T0 + 5 * H)], T0 + 5 * H + 10).backfills

    filled = t.backfill(req, [row(T0 + 2 * H)], T0 + 5 * H + 20)

    assert emitted(filled) == [(1, 2), (2, 4)]
    assert t.unfilled == 2


def test_abandoned_backfill_releases_the_held_candles():
    t = tracker(last_closed_ts=T0)
    [req] = t.update([row(T0 + 3 * H), row(T0 + 4 * H)], T0 + 4 * H + 10).backfills

    up = t.abandon(req, T0 + 4 * H + 99)

    assert emitted(up) == [(1, 3)]
    assert t.unfilled == 2 and t.open_gaps == ()
    assert t.backfill(req, [row(T0 + H)], T0 + 4 * H + 100).candles == ()


def test_second_gap_waits_for_the_first_one():
    t = tracker(last_closed_ts=T0)
    [g1] = t.update([row(T0 + 2 * H), row(T0 + 3 * H)], T0 + 3 * H + 1).backfills
    [g2] = t.update([row(T0 + 5 * H), row(T0 + 6 * H)], T0 + 6 * H + 1).backfills

    after_g2 = t.backfill(g2, [row(T0 + 4 * H)], T0 + 6 * H + 2)
    after_g1 = t.backfill(g1, [row(T0 + H)], T0 + 6 * H + 3)

    assert (g1.start_ms, g2.start_ms) == (T0 + H, T0 + 4 * H)
    assert after_g2.candles == ()
    assert emitted(after_g1) == [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5)]


def test_reconnect_requests_the_candles_closed_while_away():
    # Arrange: last candle T0 emitted, then 3 h 20 min offline
    t = tracker()
    t.update([row(T0), row(T0 + H)], T0 + H + 10)
    req = t.reconnect_request(T0 + 4 * H + 1_200_000)

    # Act: the websocket resumes mid-candle T0+4h, REST supplies T0+h..T0+3h
    live = t.update([row(T0 + 3 * H), row(T0 + 4 * H)], T0 + 4 * H + 1_300_000)
    filled = t.backfill(req, [row(T0 + k * H) for k in (1, 2, 3)], T0 + 4 * H + 1_400_000)
    nxt = t.update([row(T0 + 5 * H)], T0 + 5 * H + 10)

    # Assert
    assert (req.start_ms, req.end_ms) == (T0 + H, T0 + 4 * H)
    assert live.candles == ()
    assert emitted(filled) == [(2, 1), (3, 2), (4, 3)]
    assert emitted(nxt) == [(5, 4)]


def test_buffer_keeps_the_last_500_closed_candles():
    t = tracker()
    for k in range(600):
        t.update([row(T0 + k * H), row(T0 + (k + 1) * H)], T0 + (k + 1) * H + 1)

    assert len(t.buffer) == 500
    assert (t.buffer[0].timestamp - T0) // H == 100 and (t.buffer[-1].timestamp - T0) // H == 599
    t.update([row(T0 + 100 * H)], T0 + 600 * H)
    t.update([row(T0 + 99 * H)], T0 + 600 * H)
    assert (t.duplicates, t.stale) == (1, 1)


# -- FeedBook ------------------------------------------------------------------------------------------------
def test_feed_book_health_and_flush_every_five_seconds():
    # Arrange
    clock = ManualClock(T0 + H + 1)
    book = FeedBook(clock, "bitget")
    book.add_stream(SYM, "1h", last_closed_ts=T0 - H)
    book.on_ohlcv(SYM, "1h", [row(T0), row(T0 + H)])
    book.on_ohlcv("ETH/USDT:USDT", "1h", [row(T0), row(T0 + H), [T0, None]])
    book.on_ohlcv(SYM, "1h", [row(T0)])

    # Act
    clock.advance(4_999)
    due_early = book.flush_due()
    clock.advance(1)
    due = book.flush_due()
    batch = book.take_flush()

    # Assert
    h = book.health()
    assert h.connected and h.last_message_ms == T0 + H + 1
    assert h.last_candle_ms == {f"{SYM}|1h": T0, "ETH/USDT:USDT|1h": T0}
    assert h.duplicates == 1 and h.rejected == {"malformed_row": 1}
    assert (due_early, due) == (False, True)
    assert sorted(batch) == [(SYM, "1h"), ("ETH/USDT:USDT", "1h")]
    assert batch[(SYM, "1h")].timestamp.tolist() == [T0]
    assert book.flush_due() is False and book.take_flush() == {}


def test_failed_flush_is_requeued_not_lost():
    clock = ManualClock(T0 + 2 * H + 1)
    book = FeedBook(clock)
    book.on_ohlcv(SYM, "1h", [row(T0), row(T0 + H), row(T0 + 2 * H)])
    batch = book.take_flush()

    book.requeue(batch)
    again = book.take_flush()

    assert again[(SYM, "1h")].timestamp.tolist() == [T0, T0 + H]
    assert again[(SYM, "1h")].close.tolist() == [100.0, 100.0]


def test_feed_book_reconnect_counts_and_state_round_trip():
    clock = ManualClock(T0 + H + 1)
    book = FeedBook(clock)
    book.on_ohlcv(SYM, "1h", [row(T0), row(T0 + H)])
    book.on_disconnect()
    clock.set(T0 + 3 * H + 5)

    reqs = book.on_reconnect()
    restored = FeedBook(clock)
    restored.restore(book.state())

    assert [(r.start_ms, r.end_ms) for r in reqs] == [(T0 + H, T0 + 3 * H)]
    assert book.health().reconnects == 1 and book.health().connected
    t = restored.trackers[(SYM, "1h")]
    assert (t.seq, t.last_emitted_ts) == (1, T0)


def test_funding_and_open_interest_messages_are_sequenced_and_deduplicated():
    book = FeedBook(ManualClock(T0))

    a = book.funding(SYM, T0, 0.0001)
    b = book.funding(SYM, T0, 0.0001)  # the 5-minute poll repeats the same reading
    c = book.funding(SYM, T0 + 8 * H, -0.0002)
    oi = [book.open_interest(SYM, T0 + k * 60_000, 1_000.0 + k) for k in (0, 0, 1)]

    assert (a.seq, b, c.seq, c.rate) == (1, None, 2, -0.0002)
    assert [m.seq if m else None for m in oi] == [1, None, 2]


# -- policies ------------------------------------------------------------------------------------------------
def test_backoff_doubles_up_to_sixty_seconds_and_resets():
    b = Backoff(initial_s=1.0, max_s=60.0)

    delays = [b.next_delay() for _ in range(9)]
    b.reset()

    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]
    assert b.next_delay() == 1.0


def test_backoff_jitter_is_bounded_and_deterministic_with_a_seed():
    import random

    d1 = [Backoff(jitter=0.5, rng=random.Random(7)).next_delay() for _ in range(1)]
    b1, b2 = Backoff(jitter=0.5, rng=random.Random(7)), Backoff(jitter=0.5, rng=random.Random(7))
    s1 = [b1.next_delay() for _ in range(10)]
    s2 = [b2.next_delay() for _ in range(10)]

    assert s1 == s2 and d1[0] == s1[0]
    caps = [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]
    assert all(cap * 0.5 <= d <= cap for d, cap in zip(s1, caps))


def test_rate_limit_is_retried_three_times_with_backoff():
    # Arrange
    calls, sleeps = [], []

    def flaky():
        calls.append(1)
        if len(calls) <= 3:
            raise ccxt.ExchangeError('bitget {"code":"30006","msg":"request too many"}')
        return "ok"

    # Act
    result = RetryPolicy(retries=3, initial_s=1.0).call(flaky, sleeps.append)

    # Assert
    assert result == "ok" and len(calls) == 4 and sleeps == [1.0, 2.0, 4.0]


def test_rate_limit_gives_up_after_the_retries_and_other_errors_are_not_retried():
    sleeps = []

    def always_429():
        raise ccxt.RateLimitExceeded("429 Too Many Requests")

    def bad_symbol():
        raise ccxt.BadSymbol("bitget does not have market symbol FOO")

    with pytest.raises(RateLimitGaveUp, match="rate limited 4 times"):
        RetryPolicy().call(always_429, sleeps.append)
    with pytest.raises(ccxt.BadSymbol):
        RetryPolicy().call(bad_symbol, sleeps.append)
    assert sleeps == [1.0, 2.0, 4.0]
    assert not is_rate_limited(ccxt.ExchangeError("order 14290 rejected"))


def test_async_retry_uses_the_given_sleep():
    sleeps = []
    state = {"n": 0}

    async def fetch():
        state["n"] += 1
        if state["n"] == 1:
            raise ccxt.ExchangeError("code 429")
        return 42

    async def fake_sleep(s):
        sleeps.append(s)

    assert asyncio.run(RetryPolicy().acall(fetch, fake_sleep)) == 42
    assert sleeps == [1.0]


def test_subscriptions_are_staggered_in_batches_of_ten_every_half_second():
    streams = [f"S{i}" for i in range(25)]

    plan = subscription_plan(streams)

    assert [(d, len(b)) for d, b in plan] == [(0.0, 10), (0.5, 10), (1.0, 5)]
    assert [s for _, b in plan for s in b] == streams


def test_no_clock_close_while_disconnected_the_reconnect_backfill_supplies_the_candle():
    # Arrange: the in-progress T0 row was last seen 5 minutes into the hour, then the connection dropped
    clock = ManualClock(T0 + 300_000)
    book = FeedBook(clock)
    book.add_stream(SYM, "1h", last_closed_ts=T0 - H)
    book.on_ohlcv(SYM, "1h", [row(T0, 100.2)])
    book.on_disconnect()
    clock.set(T0 + 2 * H + 600_000)

    # Act
    while_down = book.tick()
    [req] = book.on_reconnect()
    filled = book.on_backfill(req, [row(T0, 107.0), row(T0 + H, 108.0)])

    # Assert
    assert while_down.candles == ()
    assert (req.start_ms, req.end_ms) == (T0, T0 + 2 * H)
    assert [(m.seq, m.candle.close) for m in filled.candles] == [(1, 107.0), (2, 108.0)]


def test_policies_read_exchanges_yaml_settings():
    from radar.config.models import ExchangeConfig

    cfg = ExchangeConfig(max_retries=2, retry_backoff_s=0.5, reconnect_initial_s=2.0, reconnect_max_s=10.0)

    policy = RetryPolicy.from_config(cfg)
    backoff = Backoff.from_config(cfg)

    assert policy.delays() == [0.5, 1.0] and policy.codes == ("30006", "429")
    assert [backoff.next_delay() for _ in range(4)] == [2.0, 4.0, 8.0, 10.0]
