"""Telegram settings: the secrets and the chat from the environment (`TELEGRAM_BOT_TOKEN`, `TELEGRAM_CHAT_ID`,
`TELEGRAM_API_URL`, read through `radar.config.settings`), the tuning (heartbeat interval, retry bounds) with
defaults that an environment variable or the caller may override.

No token -> no Telegram (`telegram_settings_from_env` returns None): a paper system without a bot is normal.
A token without a chat id, or a malformed value, is a ConfigError naming the variable.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from radar.config.settings import ENV_VARS, get_settings
from radar.config.validation import describe_validation_error
from radar.errors import ConfigError

# Optional tuning variables -> TelegramSettings field.
TUNING_ENV_VARS: dict[str, str] = {
    "TELEGRAM_HEARTBEAT_S": "heartbeat_interval_s",
    "TELEGRAM_MAX_ATTEMPTS": "max_attempts",
    "TELEGRAM_QUEUE_SIZE": "queue_size",
}


class TelegramSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    bot_token: SecretStr
    chat_id: int  # the one chat alerts go to and commands are taken from
    api_url: str = "https://api.telegram.org"  # Bot API base, without the /bot<token> part
    heartbeat_interval_s: float = Field(3600.0, gt=0)
    weekly_report_weekday: int = Field(0, ge=0, le=6)  # Monday
    weekly_report_hour_utc: int = Field(8, ge=0, le=23)
    # delivery: a message is tried at most max_attempts times; backoff doubles from backoff_initial_s
    max_attempts: int = Field(5, ge=1)
    backoff_initial_s: float = Field(1.0, gt=0)
    backoff_max_s: float = Field(60.0, gt=0)
    max_retry_after_s: float = Field(300.0, gt=0)  # a longer 429 wait drops the message instead
    queue_size: int = Field(200, ge=1)
    request_timeout_s: float = Field(10.0, gt=0)
    close_timeout_s: float = Field(5.0, ge=0)
    # commands
    poll_timeout_s: float = Field(10.0, ge=0)  # getUpdates long-poll
    wfo_poll_s: float = Field(30.0, gt=0)  # how often a launched sweep is checked to report back
    wfo_report_timeout_s: float = Field(48 * 3600.0, gt=0)
    kill_confirm_s: float = Field(300.0, gt=0)  # an unanswered /kill confirmation expires

    @field_validator("api_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"must be an http(s) URL like https://api.telegram.org, got {value!r}")
        return value.rstrip("/")

    @field_validator("bot_token")
    @classmethod
    def _check_token(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        if not raw or any(c.isspace() or c == "/" for c in raw):
            raise ValueError("must be a non-empty bot token without spaces or '/'")  # the value is never echoed
        return value

    @property
    def base_url(self) -> str:
        """What `telegram.Bot(base_url=...)` takes: PTB appends the token to it."""
        return f"{self.api_url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.api_url}/file/bot"


def _parse_chat_id(raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise ConfigError(f"environment: {ENV_VARS['telegram_chat_id']}: expected a numeric chat id, got {raw!r}") from None


def telegram_settings_from_env(env: Mapping[str, str] | None = None, **overrides: Any) -> TelegramSettings | None:
    """TelegramSettings from `env` (default: os.environ), or None when `TELEGRAM_BOT_TOKEN` is unset or empty.
    `overrides`: TelegramSettings fields set by the caller (tests, the host actor), applied last."""
    source = os.environ if env is None else env
    base = get_settings(source)
    if base.telegram_bot_token is None:
        return None
    if base.telegram_chat_id is None:
        raise ConfigError(f"environment: {ENV_VARS['telegram_chat_id']} not set "
                          f"({ENV_VARS['telegram_bot_token']} is, so Telegram needs the chat to talk to)")
    values: dict[str, Any] = {"bot_token": base.telegram_bot_token, "chat_id": _parse_chat_id(base.telegram_chat_id),
                              "api_url": base.telegram_api_url}
    for var, field in TUNING_ENV_VARS.items():
        raw = source.get(var, "").strip()
        if raw:
            values[field] = raw
    values.update(overrides)
    try:
        return TelegramSettings.model_validate(values)
    except ValidationError as exc:
        names = {"bot_token": ENV_VARS["telegram_bot_token"], "api_url": ENV_VARS["telegram_api_url"],
                 **{f: v for v, f in TUNING_ENV_VARS.items()}}
        message = describe_validation_error(exc)
        for field, var in names.items():
            message = message.replace(f"{field}:", f"{var}:")
        raise ConfigError(f"environment: {message}") from None
