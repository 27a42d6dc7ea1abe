"""Fixtures: the fake Bot API on 127.0.0.1, settings pointing the real PTB client at it (short retry delays),
a started notifier and command poller, both closed after the test."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from radar.telegram.commands import TelegramCommands
from radar.telegram.notifier import TelegramNotifier
from radar.telegram.settings import TelegramSettings
from tests.telegram.fake_bot_api import FakeBotApi
from tests.telegram.fake_control import FakeControl

TOKEN = "7000000001:AAHtestTOKENsecret_do-not-log"
CHAT = 4242
STRANGER = 9999


def make_settings(api: FakeBotApi, **overrides: object) -> TelegramSettings:
    values: dict[str, object] = {"bot_token": TOKEN, "chat_id": CHAT, "api_url": api.url, "max_attempts": 3,
                                 "backoff_initial_s": 0.05, "backoff_max_s": 0.2, "request_timeout_s": 3.0,
                                 "close_timeout_s": 3.0, "poll_timeout_s": 1.0, "wfo_poll_s": 0.05}
    values.update(overrides)
    return TelegramSettings.model_validate(values)


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi(TOKEN) as server:
        yield server


@pytest.fixture
def settings(api: FakeBotApi) -> TelegramSettings:
    return make_settings(api)


@pytest.fixture
def notifier(settings: TelegramSettings) -> Iterator[TelegramNotifier]:
    n = TelegramNotifier(settings).start()
    yield n
    n.close(2.0)


@pytest.fixture
def control() -> FakeControl:
    return FakeControl()


@pytest.fixture
def commands(settings: TelegramSettings, control: FakeControl, notifier: TelegramNotifier,
             api: FakeBotApi) -> Iterator[TelegramCommands]:
    c = TelegramCommands(settings, control, notifier, strategies=lambda: ["grid_atr", "supertrend"]).start()
    assert c.wait_ready(10), "command poller did not start"
    api.wait_for(lambda: api.all_calls("getUpdates"), what="the first getUpdates")
    yield c
    c.stop()
