"""TelegramNotifier with the real python-telegram-bot client against the fake Bot API: what reaches the server
for each message kind, cooldowns, 429 retry_after, 5xx retries and drops, bounds, close, and no token in logs."""
from __future__ import annotations

import logging
import time

import pytest

from radar.config.models import AlertCooldowns
from radar.events import EventKind, TradeEvent, TradeResult
from radar.live.clock import ManualClock
from radar.live.messages import Alert, FeedHealth
from radar.live.notifier import CooldownNotifier
from radar.live.watchdog import Watchdog
from radar.telegram import format as fmt
from radar.telegram.notifier import TelegramNotifier
from tests.telegram.bot_env import CHAT, TOKEN, make_settings

T0 = 1_717_243_200_000
# PTB itself warns about RetryAfter.retry_after becoming a timedelta when it builds the exception
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


def watchdog_alerts() -> list[Alert]:
    health = FeedHealth(connected=False, last_message_ms=T0 - 900_000, reconnects=3)
    alerts = Watchdog().check(T0, health, {"grid_atr": False, "supertrend": False}, True, ["BTC/USDT:USDT"],
                              disk_free=100 * 1024 * 1024)
    alerts += Watchdog().check(T0, None, {"grid_atr": False, "supertrend": True})  # runner_dead
    return alerts


def test_each_watchdog_alert_kind_reaches_the_chat_as_html(api, notifier):
    # Arrange
    alerts = watchdog_alerts()
    assert sorted(a.kind for a in alerts) == ["all_stopped", "data_stale", "disk", "feed_disconnected",
                                              "kill_switch", "missing_sl", "runner_dead"]

    # Act
    accepted = [notifier.send(a) for a in alerts]
    assert notifier.flush(5)

    # Assert: in order, one sendMessage each, to the configured chat, HTML parse mode
    calls = api.sent("sendMessage")
    assert accepted == [True] * 7
    assert [c.params["text"] for c in calls] == [fmt.alert_html(a) for a in alerts]
    assert {c.params["chat_id"] for c in calls} == {str(CHAT)}
    assert {c.params["parse_mode"] for c in calls} == {"HTML"}
    assert notifier.stats()["sent_by_kind"] == {a.kind: 1 for a in alerts}


def test_lifecycle_trade_kill_wfo_and_daily_messages_reach_the_chat_verbatim(api, notifier):
    # Arrange
    trade = TradeResult("grid_atr:BTC", "grid_atr", "BTC/USDT:USDT", 1, T0, T0 + 3_600_000, 64_012.5, 65_100.0, 0.03, 2,
                        32.6, 1.9, 0.6, 0.0, 30.1, 0.00301, "tp")
    messages = [
        ("startup", fmt.startup_html("paper", 12, 6, ["grid_atr"])),
        ("trade_open", fmt.trade_event_html(TradeEvent("grid_atr:BTC", 1, EventKind.OPEN, "grid_atr", "BTC/USDT:USDT",
                                                       T0, side=1, price=64_012.5, quantity=0.015, level=0))),
        ("trade_close", fmt.trade_closed_html(trade)),
        ("runner_kill", fmt.trade_event_html(TradeEvent("grid_atr:BTC", 2, EventKind.KILL_SWITCH, "grid_atr",
                                                        "BTC/USDT:USDT", T0, reason="kill_switch"))),
        ("wfo_finished", fmt.wfo_finished_html({"job_id": "j1", "strategy": "grid_atr", "status": "done",
                                                "summary": {"results": [{"symbol": "BTC/USDT:USDT", "grade": "B",
                                                                         "score": 71.0, "oos_sharpe": 1.2}]}})),
        ("daily_summary", fmt.daily_summary_html({"net": 38.5, "trades": 6, "wins": 4}, T0)),
        ("shutdown", fmt.shutdown_html("SIGTERM", 3600, 38.5)),
    ]

    # Act
    for kind, text in messages:
        assert notifier.send_html(text, kind)
    assert notifier.flush(5)

    # Assert
    assert api.texts(CHAT) == [text for _, text in messages]
    assert "PnL <b>+30.10</b>" in api.texts()[2] and "grade <b>B</b>" in api.texts()[4]


def test_a_photo_goes_out_as_multipart_with_its_caption(api, notifier):
    png = fmt.sparkline_png([10_000.0, 10_050.0, 9_980.0, 10_120.0])

    assert notifier.send_photo(png, "📊 <b>Weekly report</b>", "weekly_report")
    assert notifier.flush(5)

    (call,) = api.sent("sendPhoto")
    assert call.files["photo"] == png
    assert call.params["caption"] == "📊 <b>Weekly report</b>" and call.params["parse_mode"] == "HTML"


def test_an_oversized_caption_is_cut_to_telegrams_limit_as_plain_text(api, notifier):
    png = fmt.sparkline_png([1.0, 2.0])

    notifier.send_photo(png, "<b>" + "PnL & more " * 200 + "</b>", "weekly_report")
    assert notifier.flush(5)

    caption = api.sent("sendPhoto")[0].params["caption"]
    assert len(caption) <= 1024 and caption.startswith("PnL &amp; more") and "<b>" not in caption


def test_cooldown_throttles_the_message_but_every_alert_is_logged(api, notifier, caplog):
    # Arrange: missing SL has a 5 min cooldown (SPEC §9); the clock is moved by hand
    clock = ManualClock(T0)
    cooled = CooldownNotifier(notifier, clock, AlertCooldowns())
    caplog.set_level(logging.WARNING, logger="radar.alerts")

    # Act: t = 0, 60 s, 299 s (held back), 300 s (goes out, saying 2 were held back), 301 s (held back)
    results = []
    for offset_s in (0, 60, 299, 300, 301):
        clock.set(T0 + offset_s * 1000)
        results.append(cooled.send(Alert("missing_sl", f"1 position(s) without a stop-loss: BTC at +{offset_s}s",
                                         clock.now_ms(), "critical")))
    assert notifier.flush(5)

    # Assert
    assert results == [True, False, False, True, False]
    texts = api.texts()
    assert len(texts) == 2
    assert "BTC at +0s" in texts[0]
    assert "BTC at +300s (+2 similar alerts suppressed)" in texts[1]
    logged = [r.getMessage() for r in caplog.records if r.name == "radar.alerts"]
    assert len(logged) == 5 and all(m.startswith("[missing_sl] ") for m in logged)


def test_429_waits_retry_after_then_delivers(api, notifier):
    # Arrange
    api.fail_next("sendMessage", 429, retry_after=1)

    # Act
    t0 = time.monotonic()
    assert notifier.send_html("after the flood", "test")
    send_s = time.monotonic() - t0
    assert notifier.flush(5)

    # Assert: the second try came at least retry_after later; the caller did not wait for it
    calls = api.all_calls("sendMessage")
    assert [c.status for c in calls] == [429, 200]
    gap = calls[1].at - calls[0].at
    assert 1.0 <= gap < 1.5, gap
    assert send_s < 0.05
    assert notifier.stats() | {"drop_reasons": None} == {"sent": 1, "retried": 1, "dropped": 0, "drop_reasons": None,
                                                         "sent_by_kind": {"test": 1}, "queued": 0}


def test_a_429_asking_for_too_long_drops_the_message(api):
    n = TelegramNotifier(make_settings(api, max_retry_after_s=30)).start()
    api.fail_next("sendMessage", 429, retry_after=120)
    try:
        assert n.send_html("flooded", "test")
        assert n.flush(5)
    finally:
        n.close(2)

    assert n.drop_reasons == {"retry_after_too_long": 1} and len(api.all_calls("sendMessage")) == 1


def test_5xx_is_retried_with_backoff_then_dropped_and_counted(api, notifier):
    # Arrange: 3 attempts (settings), every one a 500; then a message that gets through
    api.fail_next("sendMessage", 500, count=3)

    # Act
    notifier.send_html("lost", "test")
    notifier.send_html("next one", "test")
    assert notifier.flush(5)

    # Assert
    calls = api.all_calls("sendMessage")
    assert [c.status for c in calls] == [500, 500, 500, 200]
    gaps = [calls[i + 1].at - calls[i].at for i in range(2)]
    assert 0.05 <= gaps[0] < 0.09 and 0.1 <= gaps[1] < 0.18, gaps  # backoff 0.05 s, then doubled
    assert calls[3].params["text"] == "next one"
    assert (notifier.dropped, notifier.drop_reasons, notifier.retried, notifier.sent) == (1, {"attempts": 1}, 2, 1)


def test_a_bad_request_is_not_retried(api, notifier):
    api.fail_next("sendMessage", 400)

    notifier.send_html("<b>broken", "test")
    assert notifier.flush(5)

    assert len(api.all_calls("sendMessage")) == 1
    assert notifier.drop_reasons == {"rejected": 1} and notifier.retried == 0


def test_a_full_queue_drops_and_counts_instead_of_blocking(api):
    # Arrange: not started yet, so nothing drains the queue of 3
    n = TelegramNotifier(make_settings(api, queue_size=3))

    # Act
    accepted = [n.send_html(f"m{i}", "test") for i in range(5)]
    n.start()
    assert n.flush(5)
    n.close(2)

    # Assert
    assert accepted == [True, True, True, False, False]
    assert api.texts() == ["m0", "m1", "m2"]
    assert (n.dropped, n.drop_reasons) == (2, {"queue_full": 2})


def test_close_delivers_what_is_queued(api):
    n = TelegramNotifier(make_settings(api)).start()
    for i in range(5):
        n.send_html(f"bye {i}", "test")

    assert n.close(3) is True
    assert api.texts() == [f"bye {i}" for i in range(5)]
    assert n.send_html("too late", "test") is False and n.drop_reasons == {"closed": 1}


def test_close_gives_up_after_its_timeout_and_counts_what_was_left(api):
    # Arrange: the first message waits 1 s for a 429; close allows 0.2 s
    n = TelegramNotifier(make_settings(api)).start()
    api.fail_next("sendMessage", 429, retry_after=1)
    for i in range(3):
        n.send_html(f"m{i}", "test")
    api.wait_for(lambda: api.all_calls("sendMessage"), what="the first attempt")

    # Act
    t0 = time.monotonic()
    clean = n.close(0.2)
    took = time.monotonic() - t0

    # Assert
    assert clean is False and took < 1.0
    assert n.drop_reasons == {"closed": 3} and n.sent == 0


def test_the_token_appears_in_no_log_line_or_message(api, caplog):
    # Arrange: everything at DEBUG (httpx logs each URL with the token in it, PTB its parameters)
    caplog.set_level(logging.DEBUG)
    n = TelegramNotifier(make_settings(api, max_attempts=2)).start()
    api.fail_next("sendMessage", 502, count=2)
    api.fail_next("sendMessage", 429, retry_after=1)

    # Act
    n.send(Alert("feed_disconnected", "data feed disconnected", T0, "critical"))  # 502 twice: dropped
    n.send(Alert("disk", "low disk space", T0))  # 429 then sent
    assert n.flush(5)
    n.close(2)

    # Assert
    assert [c.status for c in api.all_calls("sendMessage")] == [502, 502, 429, 200]
    assert any("HTTP Request: POST" in r.getMessage() for r in caplog.records)  # httpx did log the URLs
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records) + caplog.text
    assert TOKEN not in logged
    assert TOKEN.split(":")[1] not in logged
    assert all(TOKEN not in str(c.params) for c in api.all_calls())
