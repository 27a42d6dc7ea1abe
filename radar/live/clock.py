"""The one clock every time-based rule of the live system reads (freshness, cooldowns, snapshots,
kill-switch windows). Replaying against the emulator, it follows the exchange's server time, so an
accelerated replay behaves like real time."""
from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int: ...


class WallClock:
    def now_ms(self) -> int:
        return int(time.time() * 1000)


class ServerClock:
    """Exchange server time: the last server timestamp seen, advanced by local elapsed time scaled by
    the replay speed (1.0 for a real exchange)."""

    def __init__(self, speed: float = 1.0, *, detect_pause: bool = False) -> None:
        """`detect_pause`: the syncs are readings of the server's clock (not, e.g., the time of the last message
        seen, which stands still whenever nothing arrives), so two equal ones mean it is paused."""
        self.speed = speed
        self.detect_pause = detect_pause
        self._lock = threading.Lock()
        self._server_ms: int | None = None
        self._local = 0.0
        self._paused = False

    def sync(self, server_ms: int) -> None:
        """Follow the server's reading, also backwards: a clock synced to a replay that was still paused
        runs ahead by the pause (times the speed) and must come back, or candles close too early. Two equal
        readings in a row mean the server's clock stands still (a paused replay; never a real exchange):
        then do not extrapolate until it moves again."""
        with self._lock:
            server_ms = int(server_ms)
            self._paused = self.detect_pause and self._server_ms is not None and server_ms == self._server_ms
            self._server_ms, self._local = server_ms, time.monotonic()

    def now_ms_unlocked(self) -> int:
        if self._server_ms is None:
            return int(time.time() * 1000)
        if self._paused:
            return self._server_ms
        return self._server_ms + int((time.monotonic() - self._local) * 1000 * self.speed)

    def now_ms(self) -> int:
        with self._lock:
            return self.now_ms_unlocked()


class ManualClock:
    """Tests: time moves only when told."""

    def __init__(self, now_ms: int = 0) -> None:
        self._now = int(now_ms)

    def now_ms(self) -> int:
        return self._now

    def advance(self, ms: int) -> None:
        self._now += int(ms)

    def set(self, now_ms: int) -> None:
        self._now = int(now_ms)
