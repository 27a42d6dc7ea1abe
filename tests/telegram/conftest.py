"""Fixtures: the fake Bot API on 127.0.0.1, settings pointing the real PTB client at it (short retry delays),
a started notifier and command poller, both closed after the test."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from radar.telegram.commands import TelegramCommands
from radar.telegram.notifier import TelegramNotifier
from radar.telegram.settings import TelegramSettings
from tests.telegram.bot_env import TOKEN, make_settings
from tests.telegram.fake_bot_api import FakeBotApi
from tests.telegram.fake_control import FakeControl


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
