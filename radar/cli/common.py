"""Helpers shared by CLI commands: opening the store, parsing dates, printing."""
from __future__ import annotations

import os
from datetime import datetime, timezone

from radar.errors import RadarError


def open_store():  # -> CandleStore
    """The store named by DATABASE_URL, else the embedded SQLite file under $RADAR_DATA_DIR (./data)."""
    from radar.config.settings import get_settings
    from radar.data.store import CandleStore

    settings = get_settings()
    if settings.database_url.startswith("sqlite:///"):
        os.makedirs(os.path.dirname(settings.database_url[len("sqlite:///"):]) or ".", exist_ok=True)
    return CandleStore(settings.database_url)


def parse_date_ms(text: str, what: str = "date") -> int:
    """`2024-01-01`, `2024-01-01T12:00`, or epoch milliseconds -> epoch ms (UTC)."""
    t = text.strip()
    if t.isdigit():
        return int(t)
    try:
        dt = datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        raise RadarError(f"{what}: cannot read {text!r} as a date (use YYYY-MM-DD, an ISO time or epoch ms)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp() * 1000)


def fmt_ms(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")
