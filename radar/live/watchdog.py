"""Watchdog (SPEC §9, every 30 s): feed connected, data fresh (< 5 min), runners alive, kill switch,
positions without a stop-loss, disk space. `check` is a pure function of its inputs and the time given;
the actor gathers the inputs and hands the alerts to a (cooldown) notifier."""
from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from radar.live.messages import Alert, FeedHealth
from radar.models import TIMEFRAME_MS

_MB = 1024 * 1024


def disk_free_bytes(path: str | Path) -> int:
    return shutil.disk_usage(path).free


class Watchdog:
    def __init__(self, stale_after_s: float = 300.0, min_free_disk_mb: float = 500.0) -> None:
        self.stale_after_ms = int(stale_after_s * 1000)
        self.min_free_disk_bytes = int(min_free_disk_mb * _MB)

    @classmethod
    def from_config(cls, watchdog: Any) -> Watchdog:
        """From `RiskConfig.watchdog`."""
        return cls(watchdog.stale_after_s, watchdog.min_free_disk_mb)

    def stale_streams(self, now_ms: int, health: FeedHealth) -> list[str]:
        """Streams whose next candle should have closed more than `stale_after` ago."""
        out = []
        for key, last_open in sorted(health.last_candle_ms.items()):
            tf = TIMEFRAME_MS.get(key.rpartition("|")[2])
            if tf is not None and now_ms - (last_open + 2 * tf) > self.stale_after_ms:
                out.append(key)
        return out

    def check(self, now_ms: int, feed_health: FeedHealth | None, runners_alive: Mapping[str, bool],
              kill_switch: Any = None, positions_without_sl: Sequence[str] = (),
              disk_free: int | None = None) -> list[Alert]:
        """`kill_switch`: a `GlobalKillSwitch` (asked `blocked(now)`) or a bool; `disk_free` in bytes."""
        alerts: list[Alert] = []
        if feed_health is not None:
            if not feed_health.connected:
                alerts.append(Alert("feed_disconnected", f"data feed disconnected ({feed_health.reconnects} reconnects so far)",
                                    now_ms, "critical"))
            last = feed_health.last_message_ms
            stale = self.stale_streams(now_ms, feed_health)
            if last is None or now_ms - last > self.stale_after_ms:
                age = "no message yet" if last is None else f"last message {(now_ms - last) // 1000} s ago"
                alerts.append(Alert("data_stale", f"market data stale: {age}", now_ms, "warning"))
            elif stale:
                alerts.append(Alert("data_stale", f"no closed candle in time for {len(stale)} stream(s): {', '.join(stale[:10])}",
                                    now_ms, "warning"))
        dead = sorted(rid for rid, alive in runners_alive.items() if not alive)
        if runners_alive and len(dead) == len(runners_alive):
            alerts.append(Alert("all_stopped", f"all {len(dead)} runners stopped", now_ms, "critical"))
        elif dead:
            alerts.append(Alert("runner_dead", f"{len(dead)} runner(s) not alive: {', '.join(dead[:10])}", now_ms, "warning"))
        if kill_switch is not None:
            blocked = kill_switch.blocked(now_ms) if hasattr(kill_switch, "blocked") else bool(kill_switch)
            if blocked:
                detail = ""
                if hasattr(kill_switch, "drawdown_pct"):
                    detail = f": drawdown {kill_switch.drawdown_pct:.1f}% from peak {kill_switch.peak:.2f}"
                alerts.append(Alert("kill_switch", f"global kill switch active{detail}, new entries blocked", now_ms, "critical"))
        if positions_without_sl:
            alerts.append(Alert("missing_sl", f"{len(positions_without_sl)} position(s) without a stop-loss: "
                                f"{', '.join(sorted(positions_without_sl)[:10])}", now_ms, "critical"))
        if disk_free is not None and disk_free < self.min_free_disk_bytes:
            alerts.append(Alert("disk", f"low disk space: {disk_free / _MB:.0f} MB free "
                                f"(minimum {self.min_free_disk_bytes / _MB:.0f} MB)", now_ms, "warning"))
        return alerts
