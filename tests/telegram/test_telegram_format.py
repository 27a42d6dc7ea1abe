"""The message builders: each kind's text with real numbers, escaping of outside text, caps, the sparkline PNG."""
from __future__ import annotations

import struct

import pytest

from radar.events import EventKind, TradeEvent, TradeResult
from radar.live.kill_switch import KillSwitchEvent
from radar.live.messages import Alert, FeedHealth
from radar.live.watchdog import Watchdog
from radar.telegram import format as fmt

T0 = 1_717_243_200_000  # 2024-06-01 12:00 UTC


def closed_trade(net: float, **kw: object) -> TradeResult:
    base = dict(runner_id="grid_atr:BTC", strategy="grid_atr", symbol="BTC/USDT:USDT", side=1, entry_ts=T0,
                exit_ts=T0 + 3_600_000, entry_price=64_012.5, exit_price=65_100.0, quantity=0.03, positions=2,
                gross=32.6, fees=1.9, slippage=0.6, funding=0.0, net=net, return_frac=net / 10_000, reason="tp")
    base.update(kw)
    return TradeResult(**base)  # type: ignore[arg-type]


def test_every_watchdog_alert_kind_gets_its_title_and_the_escaped_message():
    # Arrange: the real alerts of a watchdog round where everything is wrong
    health = FeedHealth(connected=False, last_message_ms=T0 - 900_000, reconnects=3)
    alerts = Watchdog().check(T0, health, {"grid_atr": False, "supertrend": False}, True,
                              ["BTC/USDT:USDT<x>"], disk_free=100 * 1024 * 1024)

    # Act
    texts = {a.kind: fmt.alert_html(a) for a in alerts}

    # Assert
    assert set(texts) == {"feed_disconnected", "data_stale", "all_stopped", "kill_switch", "missing_sl", "disk"}
    assert texts["feed_disconnected"].startswith("🔌 <b>Feed disconnected</b>\ndata feed disconnected (3 reconnects")
    assert "<b>Market data stale</b>\nmarket data stale: last message 900 s ago" in texts["data_stale"]
    assert "<b>All runners stopped</b>\nall 2 runners stopped" in texts["all_stopped"]
    assert "<b>Global kill switch</b>\nglobal kill switch active" in texts["kill_switch"]
    assert "<b>Position without stop-loss</b>" in texts["missing_sl"] and "BTC/USDT:USDT&lt;x&gt;" in texts["missing_sl"]
    assert "<b>Low disk space</b>\nlow disk space: 100 MB free (minimum 500 MB)" in texts["disk"]
    assert all(t.endswith("<i>2024-06-01 12:00 UTC</i>") for t in texts.values())


def test_an_unknown_alert_kind_is_titled_from_its_kind_and_severity():
    text = fmt.alert_html(Alert("order_rejected", "margin <too> low & more", T0, "critical"))

    assert text.startswith("🚨 <b>Order rejected</b>\nmargin &lt;too&gt; low &amp; more")


def test_trade_open_and_close_show_strategy_symbol_side_price_and_pnl():
    # Arrange
    opened = TradeEvent("grid_atr:BTC", 7, EventKind.OPEN, "grid_atr", "BTC/USDT:USDT", T0, side=1, price=64_012.5,
                        quantity=0.015, level=1)
    win, loss = closed_trade(30.1), closed_trade(-42.75, side=-1, reason="sl", exit_price=0.00012345)

    # Act
    o, w, lo = fmt.trade_event_html(opened), fmt.trade_closed_html(win), fmt.trade_closed_html(loss)

    # Assert
    assert o == "🟢 <b>Opened LONG</b> BTC/USDT:USDT (level 2)\n<code>grid_atr</code> @ 64,012.50 × 0.015"
    assert w == ("✅ <b>Closed LONG</b> BTC/USDT:USDT (tp)\n<code>grid_atr</code> 64,012.50 → 65,100.00\n"
                 "PnL <b>+30.10</b> (+0.30%)")
    assert lo.startswith("❌ <b>Closed SHORT</b> BTC/USDT:USDT (sl)") and "→ 0.0001234" in lo
    assert "PnL <b>-42.75</b> (-0.43%)" in lo


def test_a_close_event_carrying_its_trade_formats_like_the_trade():
    trade = closed_trade(12.0)
    event = TradeEvent("grid_atr:BTC", 8, EventKind.CLOSE, "grid_atr", "BTC/USDT:USDT", T0, side=1, price=65_100.0,
                       trade=trade)

    assert fmt.trade_event_html(event) == fmt.trade_closed_html(trade)


def test_runner_and_global_kill_switch_messages():
    runner = TradeEvent("supertrend:ETH", 3, EventKind.KILL_SWITCH, "supertrend", "ETH/USDT:USDT", T0,
                        reason="hard_drawdown")
    trip = KillSwitchEvent("trip", T0, 5_400.0, 10_000.0, 46.0, T0 + 24 * 3_600_000)
    release = KillSwitchEvent("release", T0, 6_000.0, 10_000.0, 40.0, None)

    r, t, rel = fmt.trade_event_html(runner), fmt.kill_switch_global_html(trip), fmt.kill_switch_global_html(release)

    assert r == ("⛔ <b>Runner kill switch</b>: hard_drawdown\n<code>supertrend</code> ETH/USDT:USDT stopped, "
                 "no new entries (runner supertrend:ETH)")
    assert t == ("🛑 <b>Global kill switch ON</b>\nDrawdown 46.00% from peak 10,000.00 (equity 5,400.00)\n"
                 "New entries blocked until 2024-06-02 12:00 UTC")
    assert rel.startswith("🟢 <b>Global kill switch released</b>")


def test_wfo_finished_lists_the_grade_of_each_symbol_capped_at_ten():
    results = [{"symbol": f"S{i}/USDT:USDT", "grade": "ABCDF"[i % 5], "score": 90.0 - i, "oos_sharpe": 2.0 - i / 10}
               for i in range(12)]
    job = {"job_id": "wfo-grid_atr-x", "strategy": "grid_atr", "status": "done", "summary": {"results": results}}

    text = fmt.wfo_finished_html(job)

    lines = text.split("\n")
    assert lines[0] == "✅ <b>WFO finished</b>: <code>grid_atr</code> (job <code>wfo-grid_atr-x</code>)"
    assert lines[1] == "S0/USDT:USDT: grade <b>A</b> (90/100), OOS Sharpe 2.00"
    assert lines[10] == "S9/USDT:USDT: grade <b>F</b> (81/100), OOS Sharpe 1.10"
    assert lines[11] == "<i>… and 2 more</i>"


def test_a_failed_wfo_shows_the_escaped_error():
    text = fmt.wfo_finished_html({"job_id": "j1", "strategy": "grid_atr", "status": "failed",
                                  "error": "no candles for <BTC>"})

    assert text == "❌ <b>WFO failed</b>: <code>grid_atr</code> (job <code>j1</code>)\nError: no candles for &lt;BTC&gt;"


def test_heartbeat_has_runners_positions_session_pnl_uptime_and_feed():
    status = {"mode": "paper", "runners_active": 5, "runners_total": 6, "open_positions": 3, "session_pnl": -8.5,
              "kill_switch": True, "feed": {"connected": False, "last_message_age_s": 75.0, "reconnects": 4}}

    text = fmt.heartbeat_html(status, uptime_s=2 * 86400 + 3 * 3600 + 125)

    assert text == ("💓 <b>Heartbeat</b> (paper), uptime 2d 3h 2m\nRunners active: <b>5/6</b>\nOpen positions: <b>3</b>\n"
                    "Session PnL: <b>-8.50</b>\n🛑 Global kill switch <b>ON</b>\n"
                    "Feed 🔴 disconnected, last message 75s ago, 4 reconnects")


def test_missing_status_values_print_as_not_available():
    assert fmt.heartbeat_html({}, 59) == ("💓 <b>Heartbeat</b>, uptime 0m 59s\nRunners active: <b>n/a</b>\n"
                                          "Open positions: <b>n/a</b>\nSession PnL: <b>n/a</b>\nFeed n/a")


def test_daily_and_weekly_reports_rank_strategies_and_name_best_and_worst_trades():
    report = {"days": 7, "net": 269.5, "trades": 42, "wins": 28,
              "by_strategy": {"supertrend": -80.5, "grid_atr": 350.0, "boltrend": 0.0},
              "best": {"strategy": "grid_atr", "symbol": "BTC/USDT:USDT", "side": 1, "net": 31.2, "exit_ts": T0},
              "worst": {"strategy": "supertrend", "symbol": "ETH/USDT:USDT", "side": -1, "net": -19.8, "exit_ts": T0}}

    weekly, daily = fmt.weekly_report_html(report), fmt.daily_summary_html(report, T0)

    assert weekly.split("\n") == [
        "📊 <b>Weekly report</b> (7 days): <b>+269.50</b>", "42 trades, 28 won",
        "🟩 <code>grid_atr</code> +350.00", "⚪ <code>boltrend</code> +0.00", "🟥 <code>supertrend</code> -80.50",
        "Best: <b>+31.20</b> LONG BTC/USDT:USDT <code>grid_atr</code> (2024-06-01 12:00 UTC)",
        "Worst: <b>-19.80</b> SHORT ETH/USDT:USDT <code>supertrend</code> (2024-06-01 12:00 UTC)"]
    assert daily.startswith("📅 <b>Daily summary</b> 2024-06-01\nPnL <b>+269.50</b> over 42 trades, 28 won")
    assert len(weekly) < 1024  # a photo caption's limit


def test_startup_and_shutdown():
    up = fmt.startup_html("paper", 12, 6, ["grid_atr", "supertrend"])
    down = fmt.shutdown_html("SIGTERM", 3 * 3600 + 60, 152.37)

    assert up == "🚀 <b>Scalp Radar started</b> (paper)\n12 runners on 6 symbols\nStrategies: grid_atr, supertrend"
    assert down == "🏁 <b>Scalp Radar stopped</b>: SIGTERM\nUptime 3h 1m\nSession PnL <b>+152.37</b>"


def test_an_oversized_message_is_cut_as_plain_text_so_no_tag_is_left_open():
    text = "<b>" + "x&amp;" * 3000 + "</b>"

    out = fmt.fit(text)

    assert len(out) <= fmt.MAX_MESSAGE
    assert "<b>" not in out and out.endswith("… (truncated)") and out.startswith("x&amp;x&amp;")


def test_sparkline_is_a_png_of_the_requested_size():
    equity = [10_000 + 40 * i - (600 if 30 < i < 40 else 0) for i in range(168)]

    png = fmt.sparkline_png(equity, width_px=480, height_px=140)

    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (480, 140)


@pytest.mark.parametrize("equity, reason", [([10_000.0], "at least 2"), ([1.0, float("nan")], "finite")])
def test_sparkline_rejects_what_cannot_be_drawn(equity, reason):
    with pytest.raises(ValueError, match=reason):
        fmt.sparkline_png(equity)
