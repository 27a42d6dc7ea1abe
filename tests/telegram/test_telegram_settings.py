"""Telegram settings from the environment: disabled without a token, clear errors naming the variable, the
token never shown."""
from __future__ import annotations

import pytest

from radar.errors import ConfigError
from radar.telegram.notifier import TelegramNotifier
from radar.telegram.settings import telegram_settings_from_env

TOKEN = "7000000001:AAHsettingsSECRET"


@pytest.mark.parametrize("env", [{}, {"TELEGRAM_BOT_TOKEN": "  "}, {"TELEGRAM_CHAT_ID": "42"}])
def test_no_token_means_telegram_is_disabled(env):
    assert telegram_settings_from_env(env) is None
    assert TelegramNotifier.from_env(env) is None


def test_token_chat_url_and_tuning_come_from_the_environment():
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_CHAT_ID": "-1001234567", "TELEGRAM_API_URL": "http://127.0.0.1:8081/",
           "TELEGRAM_HEARTBEAT_S": "900", "TELEGRAM_MAX_ATTEMPTS": "7"}

    s = telegram_settings_from_env(env)

    assert s is not None
    assert s.bot_token.get_secret_value() == TOKEN
    assert (s.chat_id, s.api_url, s.heartbeat_interval_s, s.max_attempts) == (-1001234567, "http://127.0.0.1:8081",
                                                                                900.0, 7)
    assert s.base_url == "http://127.0.0.1:8081/bot"  # PTB appends the token
    assert TOKEN not in repr(s) and TOKEN not in str(s.model_dump())


def test_a_token_without_a_chat_is_an_error_naming_the_variable():
    with pytest.raises(ConfigError, match="TELEGRAM_CHAT_ID not set"):
        telegram_settings_from_env({"TELEGRAM_BOT_TOKEN": TOKEN})


@pytest.mark.parametrize("extra, message", [
    ({"TELEGRAM_CHAT_ID": "@radar"}, "TELEGRAM_CHAT_ID: expected a numeric chat id, got '@radar'"),
    ({"TELEGRAM_CHAT_ID": "42", "TELEGRAM_API_URL": "api.telegram.org"}, "TELEGRAM_API_URL: must be an http"),
    ({"TELEGRAM_CHAT_ID": "42", "TELEGRAM_HEARTBEAT_S": "0"}, "TELEGRAM_HEARTBEAT_S: must be > 0, got '0'"),
])
def test_bad_values_name_the_variable_and_the_reason(extra, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        telegram_settings_from_env({"TELEGRAM_BOT_TOKEN": TOKEN, **extra})


def test_a_malformed_token_is_refused_without_echoing_it():
    bad = "12345:has space"

    with pytest.raises(ConfigError) as err:
        telegram_settings_from_env({"TELEGRAM_BOT_TOKEN": bad, "TELEGRAM_CHAT_ID": "42"})

    assert "TELEGRAM_BOT_TOKEN" in str(err.value) and "has space" not in str(err.value)
