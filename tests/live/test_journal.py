"""TradeJournal: idempotent trade/event inserts (a replay after a crash never doubles a trade), snapshots
every 5 minutes of the clock, reads for status."""
from __future__ import annotations

from radar.data.store import CandleStore
from radar.events import EventKind, TradeEvent, TradeResult
from radar.live.clock import ManualClock
from radar.live.journal import TradeJournal

T0 = 1_700_000_000_000 - 1_700_000_000_000 % 300_000  # a 5-minute boundary


def trade(runner_id: str, seq: int, net: float, exit_ts: int = T0) -> TradeResult:
    return TradeResult(runner_id=runner_id, strategy="grid_atr", symbol="BTC/USDT:USDT", side=1, entry_ts=exit_ts - 3_600_000,
                       exit_ts=exit_ts, entry_price=100.0, exit_price=101.0, quantity=2.0, positions=2, gross=2.0,
                       fees=0.25, slippage=0.1, funding=0.0, net=net, return_frac=net / 1000, reason="tp", seq=seq)


def close_event(runner_id: str, seq: int, t: TradeResult) -> TradeEvent:
    return TradeEvent(runner_id, seq, EventKind.CLOSE, "grid_atr", "BTC/USDT:USDT", t.exit_ts, side=1, price=101.0,
                      quantity=2.0, reason="tp", trade=t)


def open_event(runner_id: str, seq: int, ts: int) -> TradeEvent:
    return TradeEvent(runner_id, seq, EventKind.OPEN, "grid_atr", "BTC/USDT:USDT", ts, side=1, price=100.0,
                      quantity=1.0, level=0, reason="level")


def make_journal(tmp_path, clock=None) -> TradeJournal:
    store = CandleStore(f"sqlite:///{tmp_path / 'radar.db'}")
    return TradeJournal(store.engine, clock or ManualClock(T0))


def test_replayed_events_do_not_double_trades_or_events(tmp_path):
    # Arrange
    journal = make_journal(tmp_path)
    t0, t1 = trade("grid_atr:BTC", 0, 1.65), trade("grid_atr:BTC", 1, -0.8, T0 + 3_600_000)
    events = [open_event("grid_atr:BTC", 1, T0 - 3_600_000), open_event("grid_atr:BTC", 2, T0 - 3_600_000),
              close_event("grid_atr:BTC", 3, t0), open_event("grid_atr:BTC", 4, T0), close_event("grid_atr:BTC", 5, t1)]

    # Act: the first run journals 3 events; after a crash the runner replays all 5
    first = journal.record_events(events[:3])
    replay = journal.record_events(events)
    again = journal.record_events(events)

    # Assert
    assert first == (3, 1)
    assert replay == (2, 1)
    assert again == (0, 0)
    assert journal.trade_count() == 2
    assert len(journal.position_events("grid_atr:BTC")) == 5
    rows = journal.trades("grid_atr:BTC")
    assert [r["trade_id"] for r in rows] == ["grid_atr:BTC#1", "grid_atr:BTC#0"]  # newest first
    assert rows[0]["net_pnl"] == -0.8 and rows[0]["side"] == "long" and rows[0]["qty"] == 2.0


def test_same_seq_of_two_runners_are_distinct_trades(tmp_path):
    journal = make_journal(tmp_path)

    n = journal.record_trades([trade("a", 0, 1.0), trade("b", 0, 2.0)])

    assert n == 2
    assert journal.summary() == {"a": {"trades": 1, "wins": 1, "net_pnl": 1.0, "fees": 0.25},
                                 "b": {"trades": 1, "wins": 1, "net_pnl": 2.0, "fees": 0.25}}


def test_snapshots_are_written_once_per_five_minutes_of_the_clock(tmp_path):
    # Arrange
    clock = ManualClock(T0 + 10_000)
    journal = make_journal(tmp_path, clock)
    written = []

    # Act: a call every 30 s for 12 minutes
    for _ in range(25):
        written.append(journal.maybe_snapshot("paper", equity=10_000.0, cash=9_000.0, margin_used=1_000.0))
        clock.advance(30_000)

    # Assert: buckets T0, T0+5m, T0+10m
    assert sum(written) == 3
    assert [r["timestamp"] - T0 for r in journal.snapshots("paper")] == [10_000, 310_000, 610_000]


def test_a_restart_inside_a_bucket_does_not_write_a_second_snapshot(tmp_path):
    clock = ManualClock(T0 + 60_000)
    assert make_journal(tmp_path, clock).maybe_snapshot("paper", 1.0, 1.0)
    clock.advance(120_000)

    restarted = make_journal(tmp_path, clock)

    assert restarted.maybe_snapshot("paper", 2.0, 2.0) is False
    clock.advance(120_000)  # T0 + 5 min: next bucket
    assert restarted.maybe_snapshot("paper", 3.0, 3.0) is True
    assert [r["equity"] for r in restarted.snapshots("paper")] == [1.0, 3.0]
