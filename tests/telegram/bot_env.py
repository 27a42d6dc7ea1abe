"""The test bot's identity and settings pointing the real PTB client at a fake Bot API (short retry delays)."""
from __future__ import annotations

from radar.telegram.settings import TelegramSettings
from tests.telegram.fake_bot_api import FakeBotApi

TOKEN = "7000000001:AAHtestTOKENsecret_do-not-log"
CHAT = 4242
STRANGER = 9999


def make_settings(api: FakeBotApi, **overrides: object) -> TelegramSettings:
    values: dict[str, object] = {"bot_token": TOKEN, "chat_id": CHAT, "api_url": api.url, "max_attempts": 3,
                                 "backoff_initial_s": 0.05, "backoff_max_s": 0.2, "request_timeout_s": 3.0,
                                 "close_timeout_s": 3.0, "poll_timeout_s": 1.0, "wfo_poll_s": 0.05}
    values.update(overrides)
    return TelegramSettings.model_validate(values)
