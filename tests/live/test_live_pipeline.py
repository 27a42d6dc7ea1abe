"""The live objects composed as the actors will compose them (feed -> runner host -> paper executor ->
journal -> state files), driven by ccxt-like updates built from real BTC 1h candles, with a crash between
the journal write and the state save, 3 hours down, and a restart: no trade lost or counted twice, and
the same trades as a backtest of the same candles."""
from __future__ import annotations

import bisect

import pytest

from radar.data.store import CandleStore
from radar.live.clock import ManualClock
from radar.live.feed import FeedBook, FeedUpdate
from radar.live.journal import TradeJournal
from radar.live.paper import PaperExecutor
from radar.live.runner_host import build_runner_host
from radar.live.state import StateFiles
from radar.strategies.registry import create_strategy
from tests.runners.real_data import candles_for

SYM = "BTC/USDT:USDT"
H = 3_600_000
WARM = 300


def make_host():
    return build_runner_host("grid_atr", [SYM], lambda s: create_strategy("grid_atr", {}), capital=10_000.0,
                             n_runners=1, n_assets=4)


def final_row(c) -> list[float]:
    return [c.timestamp, c.open, c.high, c.low, c.close, c.volume]


def partial_row(c) -> list[float]:
    mid = (c.open + c.close) / 2
    return [c.timestamp, c.open, max(c.open, mid), min(c.open, mid), mid, c.volume / 2]


class Node:
    """Test glue standing in for the actors."""

    def __init__(self, tmp_path, clock, candles, crash_at_ts=None):
        self.clock, self.candles = clock, candles
        self.ts = [c.timestamp for c in candles]
        self.files = StateFiles(tmp_path, clock)
        self.journal = TradeJournal(CandleStore(f"sqlite:///{tmp_path / 'radar.db'}").engine, clock)
        self.book, self.host, self.paper = FeedBook(clock), make_host(), PaperExecutor()
        self.crash_at_ts = crash_at_ts

    def boot(self) -> None:
        sim, ex = self.files.load_simulator(), self.files.load_executor()
        if sim is None:
            self.host.warm_up({SYM: self.candles[:WARM]})
            self.book.add_stream(SYM, "1h", last_closed_ts=self.candles[WARM - 1].timestamp)
            return
        self.host.restore(sim.payload["host"])
        self.book.restore(sim.payload["feed"])
        if ex is not None:
            self.paper.restore(ex.payload)
        for req in self.book.on_reconnect():
            self.handle(FeedUpdate(backfills=(req,)))

    def rest(self, req) -> list[list[float]]:
        lo, hi = bisect.bisect_left(self.ts, req.start_ms), bisect.bisect_left(self.ts, req.end_ms)
        return [final_row(c) for c in self.candles[lo:hi]]

    def handle(self, update: FeedUpdate) -> None:
        for msg in update.candles:
            events = self.host.on_candle(msg)
            for e in events:
                self.paper.on_event(e)
            self.journal.record_events(events)
            if self.crash_at_ts is not None and msg.candle.timestamp >= self.crash_at_ts and events:
                raise SystemExit("kill -9")  # journal written, state not saved
            if events or msg.seq % 24 == 0:  # on every trade, and periodically
                self.files.save_executor(self.paper.state())  # executor first: a newer executor only dedups
                self.files.save_simulator({"host": self.host.state(), "feed": self.book.state()})
        for req in update.backfills:
            self.handle(self.book.on_backfill(req, self.rest(req)))

    def live(self, i: int) -> None:
        """Candle i's hour: a partial update 10 min in (which also closes candle i-1), the last update at 55 min."""
        c = self.candles[i]
        self.clock.set(c.timestamp + 600_000)
        rows = [final_row(self.candles[i - 1]), partial_row(c)] if i > 0 else [partial_row(c)]
        self.handle(self.book.on_ohlcv(SYM, "1h", rows))
        self.clock.set(c.timestamp + 3_300_000)
        self.handle(self.book.on_ohlcv(SYM, "1h", [final_row(c)]))


def test_crash_between_journal_and_state_save_then_restart_loses_and_doubles_nothing(tmp_path):
    # Arrange
    candles = list(candles_for("1h", 2400))
    reference = make_host().runners[SYM]
    reference.warm_up(candles[:WARM])
    ref_events = [e for c in candles[WARM:-1] for e in reference.on_candle(c)]  # the last candle is still open
    ref_trades = [e.trade for e in ref_events if e.trade is not None]
    crash_ts = candles[1500].timestamp
    clock = ManualClock(candles[WARM].timestamp)

    # Act: run until the crash
    first = Node(tmp_path, clock, candles, crash_at_ts=crash_ts)
    first.boot()
    crashed_at = None
    for i in range(WARM, len(candles)):
        try:
            first.live(i)
        except SystemExit:
            crashed_at = i
            break
    journaled_before = first.journal.trade_count()
    # 3 hours down, then a new process restores from the files and back-fills what closed meanwhile
    resume = crashed_at + 3
    clock.set(candles[resume].timestamp + 60_000)
    second = Node(tmp_path, clock, candles)
    second.boot()
    for i in range(resume, len(candles)):
        second.live(i)

    # Assert
    assert crashed_at is not None and len(ref_trades) > 50
    assert 0 < journaled_before < len(ref_trades)
    rows = second.journal.trades(limit=10_000)
    assert second.journal.trade_count() == len(ref_trades)
    assert sorted((r["trade_id"], r["net_pnl"]) for r in rows) == sorted((f"{t.runner_id}#{t.seq}", t.net) for t in ref_trades)
    assert len(second.journal.position_events(limit=100_000)) == len(ref_events)
    assert second.host.runners[SYM].capital == reference.capital
    assert sum(second.paper.realized.values()) == pytest.approx(sum(t.net for t in ref_trades), rel=1e-12, abs=1e-9)
    assert second.files.load_simulator().save_count > 100
    assert second.book.health().backfilled >= 3  # the crash candle (replayed) and the hours down
