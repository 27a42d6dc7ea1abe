"""Heartbeat, daily summary and weekly report on the caller's clock; what reaches the fake Bot API."""
from __future__ import annotations

import struct
import time

import pytest

from radar.live.clock import ManualClock
from radar.telegram import format as fmt
from radar.telegram.heartbeat import Heartbeat, Reports, WeeklyReport, next_daily_ms, next_weekly_ms
from tests.telegram.bot_env import CHAT
from tests.telegram.fake_control import FakeControl

H = 3_600_000
MON_2024_06_03 = 1_717_372_800_000  # Monday 2024-06-03 00:00 UTC


@pytest.mark.parametrize("after, expected", [
    (MON_2024_06_03 - 1, MON_2024_06_03 + 8 * H),  # Sunday 23:59:59.999 -> Monday 08:00
    (MON_2024_06_03 + 8 * H, MON_2024_06_03 + 7 * 24 * H + 8 * H),  # exactly at the slot -> next week
    (MON_2024_06_03 + 3 * 24 * H, MON_2024_06_03 + 7 * 24 * H + 8 * H),  # Thursday -> next Monday
])
def test_next_weekly_slot_is_the_next_monday_at_eight_utc(after, expected):
    assert next_weekly_ms(after, weekday=0, hour_utc=8) == expected


def test_next_daily_slot_is_the_next_midnight():
    assert next_daily_ms(MON_2024_06_03 + 5 * H, 0) == MON_2024_06_03 + 24 * H
    assert next_daily_ms(MON_2024_06_03 - 1, 0) == MON_2024_06_03


def test_heartbeat_comes_every_interval_once_even_after_missed_slots():
    # Arrange
    control = FakeControl()
    clock = ManualClock(MON_2024_06_03)
    hb = Heartbeat(control, clock.now_ms(), interval_s=3600)

    # Act: 59 min (nothing), 60 min (one), 3 h 30 later (one, not three), then 59 min after that (nothing)
    out = []
    for t in (59 * 60_000, H, H + 3 * H + 30 * 60_000, H + 3 * H + 30 * 60_000 + 59 * 60_000):
        out.append(hb.tick(MON_2024_06_03 + t))

    # Assert
    assert [o is not None for o in out] == [False, True, True, False]
    assert out[1] == ("💓 <b>Heartbeat</b> (paper), uptime 1h 0m\nRunners active: <b>5/6</b>\n"
                      "Open positions: <b>3</b>\nSession PnL: <b>+152.37</b>\nEquity: 10,152.37\n"
                      "Feed 🟢 connected, last message 4s ago, 2 reconnects")
    assert "uptime 4h 30m" in out[2]
    assert control.names() == ["status", "status"]


def test_weekly_report_has_the_strategy_pnl_and_an_equity_sparkline():
    control = FakeControl()
    weekly = WeeklyReport(control, MON_2024_06_03)

    caption, png = weekly.build()

    assert caption == fmt.weekly_report_html(control.pnl(7))
    assert "🟩 <code>grid_atr</code> +350.00" in caption and "🟥 <code>supertrend</code> -80.50" in caption
    assert png is not None and png[:8] == b"\x89PNG\r\n\x1a\n"


def test_reports_send_the_heartbeat_and_weekly_photo_through_the_notifier(api, notifier, control):
    # Arrange: started Sunday 20:00; heartbeat every 2 h, weekly Monday 08:00, daily at midnight
    start = MON_2024_06_03 - 4 * H
    reports = Reports(notifier, control, start, heartbeat_interval_s=7200)

    # Act: Sunday 21:00, 22:00, Monday 00:00, 08:00
    sent = [reports.tick(start + h * H) for h in (1, 2, 4, 12)]
    assert notifier.flush(5)

    # Assert
    assert sent == [[], ["heartbeat"], ["heartbeat", "daily_summary"], ["heartbeat", "weekly_report"]]
    texts = api.texts(CHAT)
    assert [t.split("\n")[0] for t in texts] == [
        "💓 <b>Heartbeat</b> (paper), uptime 2h 0m", "💓 <b>Heartbeat</b> (paper), uptime 4h 0m",
        "📅 <b>Daily summary</b> 2024-06-02", "💓 <b>Heartbeat</b> (paper), uptime 12h 0m"]
    assert texts[2].split("\n")[1] == "PnL <b>+38.50</b> over 6 trades, 4 won"
    (photo,) = api.sent("sendPhoto", CHAT)
    assert photo.params["caption"] == fmt.weekly_report_html(control.pnl(7))
    assert photo.files["photo"][:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", photo.files["photo"][16:24]) == (480, 140)


def test_a_failing_status_skips_the_heartbeat_and_keeps_the_schedule(notifier, control):
    def broken():
        raise RuntimeError("runner actors unreachable")

    control.status = broken  # type: ignore[method-assign]
    reports = Reports(notifier, control, MON_2024_06_03 + H, heartbeat_interval_s=60)

    assert reports.tick(MON_2024_06_03 + H + 60_000) == []
    assert reports.heartbeat.next_ms == MON_2024_06_03 + H + 120_000


def test_reports_run_on_the_loop_with_the_callers_clock(api, notifier, control):
    # Arrange: a manual clock already one interval past the start, polled every 20 ms on the notifier's loop
    clock = ManualClock(MON_2024_06_03 + 10 * H)
    reports = Reports(notifier, control, MON_2024_06_03 + 9 * H, heartbeat_interval_s=3600)

    # Act
    future = notifier.loop.submit(reports.run(clock, poll_s=0.02))
    api.wait_for(lambda: api.texts(CHAT), what="the heartbeat")
    time.sleep(0.1)
    future.cancel()

    # Assert: one heartbeat: the clock did not move, so the next one is not due
    assert len(api.texts(CHAT)) == 1 and api.texts(CHAT)[0].startswith("💓 <b>Heartbeat</b> (paper), uptime 1h 0m")
