"""Telegram wired into the live system: the real python-telegram-bot client in the Telegram actor talks to a
fake Bot API on 127.0.0.1 while the paper system replays real candles. The startup notice, trade messages,
`/status` with the system's real numbers, `/kill` -> confirm -> the global guard refuses entries (and the
watchdog's kill-switch alert reaches the chat), `/resume`, and the shutdown notice."""
from __future__ import annotations

import pytest
import ray

from actors import live_system, system_control
from actors.live_system import LiveOptions, LiveSystem
from radar.exchange.emulator import BitgetEmulator, Clock, EmulatorThread, MarketData, load_csv_candles
from tests.conftest import SHARED_DATA
from tests.ray.test_live_paper import one_symbol_config  # noqa: F401 (fixture)
from tests.ray.test_live_portfolio_parity import PREROLL_H, wait_for_subscriptions
from tests.telegram.bot_env import CHAT, TOKEN, make_settings
from tests.telegram.fake_bot_api import FakeBotApi

pytestmark = [pytest.mark.ray, pytest.mark.slow, pytest.mark.timeout(240)]
H = 3_600_000
SPEED = 36_000.0  # 10 hourly candles per real second


def _reply(api: FakeBotApi, text: str, marker: str) -> str:
    """Send `text` and return the bot's first later message containing `marker` (trade messages interleave)."""
    before = len(api.texts(CHAT))
    api.command(text, CHAT)
    return api.wait_for(lambda: next((t for t in api.texts(CHAT)[before:] if marker in t), None), timeout=30,
                        what=f"a reply to {text}")


def test_control_reads_the_actor_names_of_the_live_system():
    assert (system_control.NAMESPACE, system_control.EXECUTOR, system_control.STATE_STORE, system_control.WATCHDOG,
            system_control.GUARD) == (live_system.NAMESPACE, live_system.EXECUTOR, live_system.STATE_STORE,
                                      live_system.WATCHDOG, live_system.GUARD)


def test_telegram_actor_reports_trades_answers_commands_and_kill_blocks_every_entry(
        ray_session, one_symbol_config, tmp_path):
    # Arrange
    candles = load_csv_candles(SHARED_DATA / "BTC-USD_1h_bitfinex.csv").slice(3000, 3600)
    start = int(candles.timestamp[0])
    clock = Clock.replay(start - PREROLL_H * H // 5, SPEED, running=True)
    emulator = BitgetEmulator(MarketData().add("BTCUSDT", "1h", candles), clock)
    with FakeBotApi(TOKEN) as api, EmulatorThread(emulator) as url:
        opts = LiveOptions(str(tmp_path / "data"), f"sqlite:///{tmp_path / 'radar.db'}", exchange_url=url,
                           speed=SPEED, flush_every_s=0.5, watchdog_interval_s=0.2, watchdog_ping_timeout_s=2.0,
                           telegram=make_settings(api))
        system = LiveSystem(one_symbol_config, opts).boot()
        try:
            wait_for_subscriptions(emulator, 1)
            clock.set(start + H)
            # Act 1: trades flow while the replay runs
            startup = api.wait_for(lambda: [t for t in api.texts(CHAT) if "started" in t.lower()], timeout=30,
                                   what="the startup notice")
            api.wait_for(lambda: [t for t in api.texts(CHAT) if "BTC/USDT:USDT" in t], timeout=60,
                         what="a trade message")
            status = _reply(api, "/status", "<b>Status</b>")
            # Act 2: /kill with its confirmation, then /resume
            _reply(api, "/kill", "Turn the global kill switch ON?")
            call = [c for c in api.sent("sendMessage", CHAT) if "reply_markup" in c.params][-1]
            buttons = {b["text"]: b["callback_data"] for row in call.params["reply_markup"]["inline_keyboard"]
                       for b in row}
            confirm = next(data for text, data in buttons.items() if "Confirm" in text)
            api.callback(confirm, CHAT, 101)
            api.wait_for(lambda: ray.get(system.guard.status.remote())["entries_blocked"], timeout=30,
                         what="the guard blocking entries")
            blocked = ray.get(system.guard.status.remote())
            alert = api.wait_for(lambda: [t for t in api.texts(CHAT) if "new entries blocked" in t], timeout=30,
                                 what="the watchdog's kill-switch alert")
            _reply(api, "/resume", "Global kill switch OFF")
            api.wait_for(lambda: not ray.get(system.guard.status.remote())["entries_blocked"], timeout=30,
                         what="the guard released")
            st = live_system.status()
        finally:
            system.shutdown()
        shutdown = api.wait_for(lambda: [t for t in api.texts(CHAT) if "stopp" in t.lower() or "shut" in t.lower()],
                                timeout=30, what="the shutdown notice")
    # Assert
    assert "paper" in startup[0].lower()
    runners = sum(len(s["runners"]) for s in st["runners"])
    assert runners == 1 and "(paper)" in status and "Runners active: <b>1/1</b>" in status
    assert alert[0].startswith("🛑")
    assert blocked["manual_kill"].startswith("telegram /kill")
    assert TOKEN not in "".join(api.texts(CHAT))
    assert shutdown
