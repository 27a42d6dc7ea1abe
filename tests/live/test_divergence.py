"""Paper vs live divergence on hand-made journals: the runners' events written by the real TradeJournal,
exchange orders as `live_orders` rows the way the executor journals them (deterministic client order ids,
a fills list), then `radar live report --json` on the same SQLite file."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine

from radar.data.schema import Base, LiveOrderRow
from radar.events import EventKind, TradeEvent
from radar.live.divergence import divergence_report
from radar.live.journal import TradeJournal
from radar.live.orders import Purpose, client_order_id

H = 3_600_000
T0 = 1_700_002_800_000
GRID, SINGLE = "grid_atr:BTC/USDT:USDT", "bollinger_mr:BTC/USDT:USDT"
BTC = "BTC/USDT:USDT"
TAKER = 0.0006
REPO = Path(__file__).resolve().parents[2]


def event(runner: str, seq: int, kind: EventKind, ts: int, side: int, price: float, qty: float, reason: str = "") -> TradeEvent:
    return TradeEvent(runner, seq, kind, runner.split(":")[0], BTC, ts, side, price, qty, reason=reason)


def order(cid: str, runner: str | None, side: str, price: float | None, qty: float, fill_ts: int | None, *,
          reduce_only: bool = False, status: str = "filled", order_type: str = "market", error: str | None = None) -> dict:
    filled = qty if fill_ts is not None else 0.0
    fills = [] if fill_ts is None else [{"fill_id": f"t-{cid}", "price": price, "qty": qty,
                                         "fee": round(price * qty * TAKER, 8), "timestamp": fill_ts}]
    return {"client_oid": cid, "exchange_order_id": f"x-{cid}", "exchange": "bitget", "symbol": BTC, "runner_id": runner,
            "side": side, "order_type": order_type, "reduce_only": reduce_only, "qty": qty, "price": None,
            "status": status, "filled_qty": filled, "avg_fill_price": price if fill_ts is not None else None,
            "fills": fills, "created_at": (fill_ts or T0) - 300, "updated_at": fill_ts or T0, "error": error}


# The runners' model fills (what paper trading books) ...
PAPER = [
    event(GRID, 1, EventKind.OPEN, T0, 1, 3938.33, 0.05),
    event(GRID, 2, EventKind.OPEN, T0 + H, 1, 3900.00, 0.05),
    event(GRID, 3, EventKind.CLOSE, T0 + 3 * H, 1, 3990.00, 0.10, "tp"),
    event(GRID, 4, EventKind.OPEN, T0 + 5 * H, 1, 3950.00, 0.05),
    event(SINGLE, 1, EventKind.OPEN, T0 + H, -1, 3941.00, 0.03),
    event(SINGLE, 2, EventKind.CLOSE, T0 + 2 * H, -1, 3980.00, 0.03, "sl"),
]


def cid(runner: str, seq: int, ts: int, purpose: Purpose) -> str:
    return client_order_id(runner, seq, ts, purpose)


# ... and what the exchange filled for them (the runner decides at its 1h candle's close).
LIVE = [
    order(cid(GRID, 1, T0, Purpose.ENTRY), GRID, "buy", 3941.20, 0.05, T0 + H + 850),
    order(cid(GRID, 2, T0 + H, Purpose.ENTRY), GRID, "buy", 3899.10, 0.05, T0 + 2 * H + 1200),
    order(cid(GRID, 3, T0 + 3 * H, Purpose.CLOSE), GRID, "sell", 3987.00, 0.10, T0 + 4 * H + 640, reduce_only=True),
    order(cid(GRID, 4, T0 + 5 * H, Purpose.ENTRY), GRID, "buy", None, 0.05, None, status="refused", error="symbol_busy"),
    order(cid(SINGLE, 1, T0 + H, Purpose.ENTRY), SINGLE, "sell", 3940.00, 0.03, T0 + 2 * H + 900),
    # the short's stop fired on the exchange half-way through the candle the runner closed it on
    order("sl-fired-8812", SINGLE, "buy", 3975.50, 0.03, T0 + 2 * H + 1_800_000, reduce_only=True),
    order("rc-sl-plan", SINGLE, "buy", 3975.50, 0.03, T0 + 2 * H + 1_800_000, reduce_only=True,
          status="executed", order_type="stop_loss"),  # the plan row itself: not a fill
    order("manual-1", None, "buy", 3960.00, 0.02, T0 + 6 * H),  # adopted / manual: no runner
]


@pytest.fixture()
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'radar.db'}"
    engine = create_engine(url)
    TradeJournal(engine).record_events(PAPER)
    Base.metadata.create_all(engine, tables=[LiveOrderRow.__table__])
    with engine.begin() as conn:
        conn.execute(LiveOrderRow.__table__.insert(), LIVE)
    engine.dispose()
    return url


def bps(paper: float, live: float, buy: bool) -> float:
    return (1 if buy else -1) * (live - paper) / paper * 10_000


def test_fills_pair_by_client_order_id_and_by_time_with_slippage_delay_and_fees(db):
    report = divergence_report(create_engine(db), decision_delay_ms=H, taker_fee=TAKER)

    got = [(p.paper.ref, p.live.ref, p.matched_by) for p in report.pairs]
    assert got == [(f"{GRID}#1", LIVE[0]["client_oid"], "client_oid"),
                   (f"{SINGLE}#1", LIVE[4]["client_oid"], "client_oid"),  # same decision time: by seq
                   (f"{GRID}#2", LIVE[1]["client_oid"], "client_oid"),
                   (f"{SINGLE}#2", "sl-fired-8812", "time"),
                   (f"{GRID}#3", LIVE[2]["client_oid"], "client_oid")]
    by_ref = {p.paper.ref: p for p in report.pairs}
    assert by_ref[f"{GRID}#1"].slippage_bps == pytest.approx(bps(3938.33, 3941.20, True))  # +7.29: paid more
    assert by_ref[f"{GRID}#2"].slippage_bps == pytest.approx(bps(3900.00, 3899.10, True))  # -2.31: better
    assert by_ref[f"{GRID}#3"].slippage_bps == pytest.approx(bps(3990.00, 3987.00, False))  # sold lower: worse
    assert by_ref[f"{SINGLE}#2"].slippage_bps == pytest.approx(bps(3980.00, 3975.50, True))
    assert [by_ref[r].delay_ms for r in (f"{GRID}#1", f"{GRID}#3", f"{SINGLE}#2")] == [850, 640, -1_800_000]
    assert by_ref[f"{GRID}#1"].fee_diff == pytest.approx(round(3941.20 * 0.05 * TAKER, 8) - 3938.33 * 0.05 * TAKER)
    assert [f.ref for f in report.paper_only] == [f"{GRID}#4"]
    assert report.unfilled == {f"{GRID}#4": "refused: symbol_busy"}
    assert [f.ref for f in report.live_only] == ["manual-1"]


def test_the_summary_has_mean_median_and_p95_slippage_and_delay(db):
    report = divergence_report(create_engine(db), decision_delay_ms=H, taker_fee=TAKER)

    s = report.summary()

    slips = np.array([p.slippage_bps for p in report.pairs])
    delays = np.array([p.delay_ms for p in report.pairs])
    assert (s["pairs"], s["matched_by_client_oid"], s["paper_only"], s["live_only"]) == (5, 4, 1, 1)
    assert s["slippage_bps"]["mean"] == pytest.approx(slips.mean())
    assert s["slippage_bps"]["p50"] == pytest.approx(bps(3941.00, 3940.00, False))  # the middle of the five
    assert s["slippage_bps"]["p95"] == pytest.approx(np.percentile(slips, 95))
    assert s["delay_ms"]["mean"] == pytest.approx(delays.mean())
    assert s["by_runner"][GRID]["pairs"] == 3 and s["by_runner"][SINGLE]["pairs"] == 2


def test_since_runner_and_a_short_delay_window_narrow_the_report(db):
    engine = create_engine(db)

    later = divergence_report(engine, since_ms=T0 + 2 * H, decision_delay_ms=H)
    one = divergence_report(engine, runner_id=SINGLE, decision_delay_ms=H)
    no_time_pairing = divergence_report(engine, runner_id=SINGLE, decision_delay_ms=H, max_delay_ms=0)

    assert [p.paper.ref for p in later.pairs] == [f"{SINGLE}#2", f"{GRID}#3"]
    assert [p.paper.ref for p in one.pairs] == [f"{SINGLE}#1", f"{SINGLE}#2"]
    # a 0 s window still accepts a fill inside the deciding candle (the exchange stop fired before the close)
    assert [p.matched_by for p in no_time_pairing.pairs] == ["client_oid", "time"]


def test_an_empty_database_reports_nothing(tmp_path):
    report = divergence_report(create_engine(f"sqlite:///{tmp_path / 'empty.db'}"))

    assert report.pairs == [] and report.summary()["slippage_bps"]["mean"] is None


def _run_cli(argv: list[str]) -> int:
    from radar.cli import live_report_cmd

    parser = argparse.ArgumentParser(prog="radar")
    parser.add_argument("--config")
    sub = parser.add_subparsers(dest="command")
    live_report_cmd.register(sub)
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_json_output_takes_the_timeframe_from_the_configuration(db, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", db)

    code = _run_cli(["--config", str(REPO / "config"), "live", "report", "--json"])

    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["summary"]["pairs"] == 5 and out["summary"]["paper_only"] == 1
    first = out["pairs"][0]
    assert (first["paper_ref"], first["delay_ms"], first["matched_by"]) == (f"{GRID}#1", 850, "client_oid")
    assert first["slippage_bps"] == pytest.approx(bps(3938.33, 3941.20, True))
    assert out["paper_only"][0]["live_status"] == "refused: symbol_busy"
    assert out["live_only"][0]["ref"] == "manual-1"


def test_cli_table_and_bad_arguments(db, monkeypatch, capsys):
    from radar.errors import RadarError

    monkeypatch.setenv("DATABASE_URL", db)
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps at 80 columns when not on a terminal

    code = _run_cli(["live", "report", "--timeframe", "1h", "--since", "2023-11-14"])
    text = capsys.readouterr().out

    assert code == 0
    assert "5 paired fill(s) (4 by client order id), 1 paper only, 1 live only" in text
    assert "refused: symbol_busy" in text
    with pytest.raises(RadarError, match="--since"):
        _run_cli(["live", "report", "--since", "yesterday"])
    with pytest.raises(RadarError, match="--timeframe"):
        _run_cli(["live", "report", "--timeframe", "7x"])
