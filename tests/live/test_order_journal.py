"""OrderJournal over SQLite: rows written before sending, updated on ack/fills/cancel, idempotent by client
order id and by fill id, refusals kept with their reason."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from radar.events import EventKind, TradeEvent
from radar.live.clock import ManualClock
from radar.live.order_journal import OrderJournal
from radar.live.orders import ContractRules, entry_intent

SYM = "BTC/USDT:USDT"
RUNNER = f"grid_atr:{SYM}"
TS = 1_506_470_400_000
RULES = ContractRules(SYM, qty_step=0.001, min_qty=0.001, price_tick=0.1)


@pytest.fixture()
def journal(tmp_path) -> OrderJournal:
    return OrderJournal(create_engine(f"sqlite:///{tmp_path / 'orders.db'}"), clock=ManualClock(TS + 5))


def _intent(seq: int = 1, qty: float = 0.1, price: float = 3900.0):
    event = TradeEvent(RUNNER, seq, EventKind.OPEN, "grid_atr", SYM, TS, side=1, price=price, quantity=qty, level=0)
    return entry_intent(event, RULES)


def test_an_order_is_journalled_once_with_status_new_before_it_is_sent(journal):
    intent = _intent()

    first = journal.record(intent)
    again = journal.record(intent)

    row = journal.get(intent.client_oid)
    assert (first, again) == (True, False)
    assert (row["status"], row["symbol"], row["runner_id"], row["side"], row["order_type"], row["qty"], row["price"]) == (
        "new", SYM, RUNNER, "buy", "market", 0.1, 3900.0)
    assert (row["exchange"], row["filled_qty"], row["fills"], row["created_at"]) == ("bitget", 0.0, [], TS + 5)
    assert len(journal.orders()) == 1


def test_ack_then_fills_update_the_row_and_a_repeated_fill_is_kept_once(journal):
    intent = _intent(qty=0.3)
    journal.record(intent)
    fill_a = {"fill_id": "t-1", "price": 3900.0, "qty": 0.1, "fee": 0.234, "ts": TS + 10}
    fill_b = {"fill_id": "t-2", "price": 3910.0, "qty": 0.2, "fee": 0.4692, "ts": TS + 20}

    journal.update(intent.client_oid, status="open", exchange_order_id="1200000000000000001")
    journal.update(intent.client_oid, status="partially_filled", filled_qty=0.1, avg_fill_price=3900.0, fill=fill_a)
    journal.update(intent.client_oid, filled_qty=0.1, fill=fill_a)  # the same fill through REST after the push
    journal.update(intent.client_oid, status="filled", filled_qty=0.3, avg_fill_price=3906.6666666667, fill=fill_b)

    row = journal.get(intent.client_oid)
    assert (row["status"], row["exchange_order_id"], row["filled_qty"]) == ("filled", "1200000000000000001", 0.3)
    assert [f["fill_id"] for f in row["fills"]] == ["t-1", "t-2"]
    assert journal.by_exchange_id("1200000000000000001")["client_oid"] == intent.client_oid
    fills = journal.fills(SYM)
    assert [(f["qty"], f["price"], f["side"], f["reduce_only"]) for f in fills] == [(0.1, 3900.0, "buy", False),
                                                                                      (0.2, 3910.0, "buy", False)]
    assert sum(f["qty"] * f["price"] for f in fills) == pytest.approx(0.3 * 3906.6666666667, abs=1e-6)


def test_a_refused_entry_is_a_row_with_the_reason_that_never_had_an_exchange_id(journal):
    intent = _intent(seq=4)

    journal.record(intent, status="refused", error="symbol_busy: BTC/USDT:USDT already holds a position of runner x")

    [row] = journal.orders(statuses=["refused"])
    assert (row["client_oid"], row["exchange_order_id"]) == (intent.client_oid, None)
    assert row["error"].startswith("symbol_busy: ")


def test_orders_come_newest_first_and_filter_by_symbol_runner_and_status(journal):
    for seq in (1, 2, 3):
        journal.record(_intent(seq=seq))
    journal.update(_intent(seq=2).client_oid, status="filled")
    journal.record_external("ex-99", symbol="ETH/USDT:USDT", side="sell", order_type="market", qty=1.0,
                            reduce_only=True, runner_id=None, exchange_order_id="99", status="filled")

    assert [r["client_oid"] for r in journal.orders(symbol=SYM)] == [_intent(seq=s).client_oid for s in (3, 2, 1)]
    assert [r["client_oid"] for r in journal.orders(statuses=["filled"])] == ["ex-99", _intent(seq=2).client_oid]
    assert [r["client_oid"] for r in journal.orders(runner_id=RUNNER, limit=1)] == [_intent(seq=3).client_oid]


def test_unknown_status_and_unknown_order_are_reported(journal):
    intent = _intent()
    journal.record(intent)

    with pytest.raises(ValueError, match="unknown status 'done'"):
        journal.update(intent.client_oid, status="done")
    assert journal.update("rs-00000000-1-x-e", status="filled") is False
    assert journal.get("rs-00000000-1-x-e") is None
