"""TelegramService: notifier + commands + scheduled reports on one loop, on the system's clock, stopped in order."""
from __future__ import annotations

import threading

from radar.live.clock import ManualClock
from radar.telegram.service import TelegramService
from tests.telegram.bot_env import CHAT, TOKEN
from tests.telegram.fake_control import FakeControl

T0 = 1_717_372_800_000 + 3 * 3_600_000  # Monday 2024-06-03 03:00 UTC


def test_no_token_no_service():
    assert TelegramService.from_env(FakeControl(), ManualClock(T0), {"TELEGRAM_CHAT_ID": "42"}) is None


def test_service_answers_commands_sends_the_heartbeat_on_its_clock_and_says_goodbye_last(api):
    # Arrange
    clock = ManualClock(T0)
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_CHAT_ID": str(CHAT), "TELEGRAM_API_URL": api.url}
    service = TelegramService.from_env(FakeControl(), clock, env, reports_poll_s=0.02, poll_timeout_s=1.0,
                                       strategies=lambda: ["grid_atr"])
    assert service is not None
    service.start()
    assert service.commands is not None and service.commands.wait_ready(10)

    # Act: an hour passes on the system clock, then a /status, then the stop
    clock.advance(3_600_000)
    api.wait_for(lambda: api.texts(CHAT), what="the heartbeat")
    api.command("/status", CHAT)
    api.wait_for(lambda: len(api.texts(CHAT)) >= 2, what="the /status reply")
    clean = service.stop("SIGTERM", session_pnl=152.37)

    # Assert
    texts = api.texts(CHAT)
    assert texts[0].startswith("💓 <b>Heartbeat</b> (paper), uptime 1h 0m")
    assert texts[1].startswith("📟 <b>Status</b> (paper), uptime 1h 0m")
    assert texts[-1] == "🏁 <b>Scalp Radar stopped</b>: SIGTERM\nUptime 1h 0m\nSession PnL <b>+152.37</b>"
    assert clean is True and len(texts) == 3
    assert not any(t.name == "radar-telegram" for t in threading.enumerate())
