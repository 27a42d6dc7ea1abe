"""Settings from the environment: defaults, overrides, and secrets that never print."""
from __future__ import annotations

from pathlib import Path

import pytest

from radar.config.settings import get_settings
from radar.errors import ConfigError


def test_defaults_with_an_empty_environment() -> None:
    settings = get_settings({})

    assert settings.data_dir == Path("data")
    assert settings.database_url == "sqlite:///data/radar.db"
    assert settings.config_dir is None
    assert settings.live_trading is False
    assert settings.bitget_api_key is None
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert not settings.has_exchange_keys


def test_data_dir_moves_the_default_database() -> None:
    settings = get_settings({"RADAR_DATA_DIR": "/srv/radar"})

    assert settings.data_dir == Path("/srv/radar")
    assert settings.database_url == "sqlite:////srv/radar/radar.db"


def test_environment_overrides_every_field() -> None:
    env = {
        "DATABASE_URL": "postgresql+psycopg://radar@db/radar",
        "RADAR_CONFIG_DIR": "/etc/radar",
        "RADAR_LIVE_TRADING": "true",
        "TELEGRAM_CHAT_ID": "-1001",
        "TELEGRAM_API_URL": "http://127.0.0.1:9000",
    }

    settings = get_settings(env)

    assert settings.database_url == "postgresql+psycopg://radar@db/radar"
    assert settings.config_dir == Path("/etc/radar")
    assert settings.live_trading is True
    assert settings.telegram_chat_id == "-1001"
    assert settings.telegram_api_url == "http://127.0.0.1:9000"


def test_get_settings_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RADAR_DATA_DIR", "/tmp/radar-test-data")
    monkeypatch.setenv("RADAR_LIVE_TRADING", "0")
    monkeypatch.delenv("DATABASE_URL", raising=False)

    settings = get_settings()

    assert settings.data_dir == Path("/tmp/radar-test-data")
    assert settings.live_trading is False


def test_secrets_never_appear_in_repr_or_str() -> None:
    secrets = {
        "BITGET_API_KEY": "key-AAAA1111",
        "BITGET_SECRET": "secret-BBBB2222",
        "BITGET_PASSPHRASE": "pass-CCCC3333",
        "TELEGRAM_BOT_TOKEN": "tok-DDDD4444",
        "RADAR_API_KEY": "api-EEEE5555",
    }

    settings = get_settings(secrets)
    shown = repr(settings) + str(settings) + str(settings.model_dump()) + settings.model_dump_json()

    for value in secrets.values():
        assert value not in shown
    assert settings.bitget_secret is not None
    assert settings.bitget_secret.get_secret_value() == "secret-BBBB2222"
    assert settings.exchange_credentials() == {
        "apiKey": "key-AAAA1111", "secret": "secret-BBBB2222", "password": "pass-CCCC3333",
    }


def test_missing_exchange_keys_are_named() -> None:
    settings = get_settings({"BITGET_API_KEY": "k"})

    with pytest.raises(ConfigError) as info:
        settings.exchange_credentials()

    assert str(info.value) == "environment: BITGET_SECRET, BITGET_PASSPHRASE not set (needed for live trading)"


@pytest.mark.parametrize(("text", "expected"), [("1", True), ("YES", True), ("on", True), ("false", False), ("no", False)])
def test_live_trading_accepts_common_boolean_spellings(text: str, expected: bool) -> None:
    assert get_settings({"RADAR_LIVE_TRADING": text}).live_trading is expected


def test_invalid_live_trading_value_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        get_settings({"RADAR_LIVE_TRADING": "maybe"})

    assert str(info.value) == "environment: RADAR_LIVE_TRADING: expected true/false (or 1/0, yes/no, on/off), got 'maybe'"


def test_empty_variables_count_as_unset() -> None:
    settings = get_settings({"BITGET_API_KEY": "", "DATABASE_URL": "  "})

    assert settings.bitget_api_key is None
    assert settings.database_url == "sqlite:///data/radar.db"
