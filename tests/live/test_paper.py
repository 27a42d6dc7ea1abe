"""PaperExecutor: fills from trade events, positions per (runner, symbol), idempotent by (runner, seq)."""
from __future__ import annotations

import json

import pytest

from radar.events import EventKind, TradeEvent, TradeResult
from radar.live.paper import PaperExecutor
from radar.live.runner_host import build_runner_host
from radar.strategies.registry import create_strategy
from tests.runners.real_data import candles_for

SYM = "BTC/USDT:USDT"
RID = "grid_atr:BTC/USDT:USDT"


def open_ev(seq: int, price: float, qty: float, side: int = 1, ts: int = 0) -> TradeEvent:
    return TradeEvent(RID, seq, EventKind.OPEN, "grid_atr", SYM, ts, side=side, price=price, quantity=qty, level=seq - 1)


def close_ev(seq: int, price: float, qty: float, fees: float, net: float, side: int = 1) -> TradeEvent:
    t = TradeResult(RID, "grid_atr", SYM, side, 0, 7_200_000, 95.0, price, qty, 2, net + fees, fees, 0.0, 0.0, net,
                    net / 1000, "tp", seq=0)
    return TradeEvent(RID, seq, EventKind.CLOSE, "grid_atr", SYM, 7_200_000, side=side, price=price, quantity=qty,
                      reason="tp", trade=t)


def test_opens_average_into_one_position_and_the_close_books_the_exit_fee():
    # Arrange
    ex = PaperExecutor()  # taker 0.06%

    # Act
    f1 = ex.on_event(open_ev(1, 100.0, 2.0))
    f2 = ex.on_event(open_ev(2, 90.0, 2.0))
    pos = ex.open_positions()[0]
    f3 = ex.on_event(close_ev(3, 96.0, 4.0, fees=0.228 + 0.2304, net=3.5))

    # Assert
    assert (f1.fee, f2.fee) == (pytest.approx(0.12), pytest.approx(0.108))
    assert (pos.quantity, pos.avg_entry, pos.entry_fees) == (4.0, 95.0, pytest.approx(0.228))
    assert pos.unrealized(96.0) == pytest.approx(4.0)
    assert f3.kind == "close" and f3.fee == pytest.approx(0.2304) and f3.realized == 3.5
    assert ex.open_positions() == []
    assert ex.realized == {RID: 3.5} and ex.fees_paid == pytest.approx(0.4584)


def test_redelivered_events_are_ignored():
    ex = PaperExecutor()
    events = [open_ev(1, 100.0, 2.0), open_ev(2, 90.0, 2.0), close_ev(3, 96.0, 4.0, 0.4584, 3.5)]
    for e in events:
        ex.on_event(e)

    replay = [ex.on_event(e) for e in events]

    assert replay == [None, None, None]
    assert ex.duplicates == 3 and ex.fills_count == 3
    assert ex.realized == {RID: 3.5} and ex.open_positions() == []


def test_short_position_unrealized_pnl_and_partial_close():
    ex = PaperExecutor()
    ex.on_event(open_ev(1, 200.0, 1.0, side=-1))
    ex.on_event(open_ev(2, 210.0, 1.0, side=-1))

    ex.on_event(close_ev(3, 190.0, 1.0, fees=0.3, net=14.0, side=-1))

    [pos] = ex.open_positions()
    assert (pos.side, pos.quantity, pos.avg_entry) == (-1, 1.0, 205.0)
    assert pos.unrealized(200.0) == pytest.approx(5.0)
    assert pos.entry_fees == pytest.approx((0.12 + 0.126) / 2)


def test_paper_book_matches_the_runner_over_real_candles_even_with_every_event_delivered_twice():
    # Arrange
    host = build_runner_host("grid_atr", [SYM], lambda s: create_strategy("grid_atr", {}), capital=10_000.0,
                             n_runners=1, n_assets=4)
    runner = host.runners[SYM]
    events = [e for c in candles_for("1h", 3000)[:2500] for e in runner.on_candle(c)]
    ex = PaperExecutor(runner.config.costs)

    # Act: crash and restore from the saved executor state half-way, then everything is re-delivered
    for e in events[:100]:
        ex.on_event(e)
    restored = PaperExecutor(runner.config.costs)
    restored.restore(json.loads(json.dumps(ex.state())))
    for e in events + events:
        restored.on_event(e)

    # Assert
    closes = [e.trade for e in events if e.kind is EventKind.CLOSE]
    assert sum(restored.realized.values()) == pytest.approx(sum(t.net for t in closes), rel=1e-12)
    open_qty = sum(p.quantity for p in restored.open_positions())
    assert open_qty == pytest.approx(runner.book.total_quantity(), rel=1e-12)
    entry_fees_open = sum(p.entry_fees for p in restored.open_positions())
    assert restored.fees_paid == pytest.approx(sum(t.fees for t in closes) + entry_fees_open, rel=1e-9)
    assert restored.fills_count == len(events) and restored.mismatches == 0
