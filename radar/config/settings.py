"""Process settings from the environment: database, directories, secrets, live-trading switch.

Secrets are `SecretStr`, so neither `repr(settings)` nor `str(settings)` nor a log line shows them; call
`.get_secret_value()` only where the secret is handed to the client that needs it.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from radar.config.validation import describe_validation_error
from radar.errors import ConfigError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

# field name -> environment variable
ENV_VARS: dict[str, str] = {
    "database_url": "DATABASE_URL",
    "data_dir": "RADAR_DATA_DIR",
    "config_dir": "RADAR_CONFIG_DIR",
    "bitget_api_key": "BITGET_API_KEY",
    "bitget_secret": "BITGET_SECRET",
    "bitget_passphrase": "BITGET_PASSPHRASE",
    "telegram_bot_token": "TELEGRAM_BOT_TOKEN",
    "telegram_chat_id": "TELEGRAM_CHAT_ID",
    "telegram_api_url": "TELEGRAM_API_URL",
    "radar_api_key": "RADAR_API_KEY",
    "live_trading": "RADAR_LIVE_TRADING",
}


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    database_url: str
    data_dir: Path = Path("data")
    config_dir: Path | None = None
    bitget_api_key: SecretStr | None = None
    bitget_secret: SecretStr | None = None
    bitget_passphrase: SecretStr | None = None
    telegram_bot_token: SecretStr | None = None
    telegram_chat_id: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    radar_api_key: SecretStr | None = None
    live_trading: bool = False

    @property
    def has_exchange_keys(self) -> bool:
        return all((self.bitget_api_key, self.bitget_secret, self.bitget_passphrase))

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_bot_token is not None and self.telegram_chat_id is not None

    def exchange_credentials(self) -> dict[str, str]:
        """ccxt credentials (`apiKey`, `secret`, `password`); ConfigError naming every missing variable."""
        missing = [ENV_VARS[f] for f in ("bitget_api_key", "bitget_secret", "bitget_passphrase") if getattr(self, f) is None]
        if missing:
            raise ConfigError(f"environment: {', '.join(missing)} not set (needed for live trading)")
        assert self.bitget_api_key and self.bitget_secret and self.bitget_passphrase
        return {
            "apiKey": self.bitget_api_key.get_secret_value(),
            "secret": self.bitget_secret.get_secret_value(),
            "password": self.bitget_passphrase.get_secret_value(),
        }


def _parse_bool(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"environment: {name}: expected true/false (or 1/0, yes/no, on/off), got {text!r}")


def get_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from `env` (default: os.environ); empty variables count as unset."""
    source = os.environ if env is None else env
    values: dict[str, Any] = {}
    for field, var in ENV_VARS.items():
        raw = source.get(var, "")
        if raw.strip() == "":
            continue
        values[field] = _parse_bool(var, raw) if field == "live_trading" else raw.strip()
    data_dir = Path(values.get("data_dir", "data"))
    values.setdefault("database_url", f"sqlite:///{data_dir / 'radar.db'}")
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(f"environment: {describe_validation_error(exc)}") from None
