"""API server settings: frozen, validated, read from the environment by `ApiSettings.from_env`.

The server binds 127.0.0.1 unless told otherwise, CORS is off until origins are listed, and the write
key is a `SecretStr` (never shown by repr, str or a log line).
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from radar.config.validation import describe_validation_error
from radar.errors import ConfigError

DASHBOARD_DIST = Path(__file__).resolve().parent / "dashboard" / "dist"

# field -> environment variable (the key, database and config dir come from radar's own settings)
API_ENV_VARS: dict[str, str] = {
    "host": "RADAR_API_HOST",
    "port": "RADAR_API_PORT",
    "cors_origins": "RADAR_API_CORS_ORIGINS",
    "ws_update_interval_s": "RADAR_API_WS_INTERVAL_S",
}


class ApiSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)  # 0: any free port (tests, benchmarks)
    api_key: SecretStr | None = None  # RADAR_API_KEY; None: every write endpoint is refused
    cors_origins: tuple[str, ...] = ()  # empty: no CORS middleware at all
    ws_update_interval_s: float = Field(3.0, gt=0, le=3600)
    ws_queue_size: int = Field(8, ge=1, le=1000)  # messages a /ws/live client may lag behind before it is dropped
    ws_send_timeout_s: float = Field(5.0, gt=0, le=600)
    database_url: str | None = None  # read-only DB endpoints (trades, jobs, results, journal); None: 503 on them
    config_dir: Path | None = None  # strategies / param grids; None: $RADAR_CONFIG_DIR or ./config
    dashboard_dir: Path = DASHBOARD_DIST
    log_level: str = "info"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> ApiSettings:
        """Settings from `env` (default: os.environ) plus `overrides` (CLI flags win over the environment)."""
        from radar.config.settings import get_settings

        source = os.environ if env is None else env
        radar_settings = get_settings(source)
        values: dict[str, Any] = {
            "api_key": radar_settings.radar_api_key,
            "database_url": radar_settings.database_url,
            "config_dir": radar_settings.config_dir,
        }
        for field, var in API_ENV_VARS.items():
            raw = source.get(var, "").strip()
            if not raw:
                continue
            values[field] = tuple(o.strip() for o in raw.split(",") if o.strip()) if field == "cors_origins" else raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise ConfigError(f"API settings: {describe_validation_error(exc)} "
                              f"(environment: {', '.join(API_ENV_VARS.values())})") from None
