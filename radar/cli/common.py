"""Helpers shared by CLI commands: opening the store, parsing dates, printing."""
from __future__ import annotations

import os
from datetime import datetime, timezone

from radar.errors import RadarError


def open_store():  # -> CandleStore
    """The store named by DATABASE_URL, else the embedded SQLite file under $RADAR_DATA_DIR (./data)."""
    from radar.data.store import CandleStore

    url = os.environ.get("DATABASE_URL")
    if not url:
        data_dir = os.environ.get("RADAR_DATA_DIR", "data")
        os.makedirs(data_dir, exist_ok=True)
        url = f"sqlite:///{os.path.join(data_dir, 'radar.db')}"
    return CandleStore(url)


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
