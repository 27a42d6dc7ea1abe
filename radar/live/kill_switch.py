"""Global kill switch of the live/paper system (SPEC §9, risk.yaml `kill_switch`): when total equity falls
`global_drawdown_percent` below its peak over the last `global_window_hours`, new entries are blocked for
`freeze_hours` (exits still run). It may only fire `grace_hours` after warm-up, when equity is real.

Same window maths as the portfolio backtester (a monotonic deque of (time, equity) keeps the window's
peak in O(1) amortised): a sample leaves the window once it is `window` old. All time is the caller's
clock; the state round-trips through JSON.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

_HOUR_MS = 3_600_000
KILL_SWITCH_STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class KillSwitchEvent:
    kind: str  # trip | release | reset
    timestamp: int
    equity: float
    peak: float
    drawdown_pct: float
    frozen_until: int | None


class GlobalKillSwitch:
    def __init__(self, drawdown_pct: float = 45.0, window_hours: float = 24.0, grace_hours: float = 1.0,
                 freeze_hours: float = 24.0) -> None:
        if not 0 < drawdown_pct <= 100:
            raise ValueError(f"kill switch drawdown must be in (0, 100] percent, got {drawdown_pct}")
        self.drawdown_limit = float(drawdown_pct)
        self.window_ms = int(window_hours * _HOUR_MS)
        self.grace_ms = int(grace_hours * _HOUR_MS)
        self.freeze_ms = int(freeze_hours * _HOUR_MS)
        self.armed_at: int | None = None
        self.frozen_until: int | None = None
        self.trips = 0
        self.drawdown_pct = 0.0
        self.peak = 0.0
        self._window: deque[tuple[int, float]] = deque()  # equity strictly decreasing from the left

    @classmethod
    def from_config(cls, kill_switch: Any) -> GlobalKillSwitch:
        """From `RiskConfig.kill_switch` (radar.config.models.KillSwitch)."""
        return cls(kill_switch.global_drawdown_percent, kill_switch.global_window_hours, kill_switch.grace_hours,
                   kill_switch.freeze_hours)

    def arm(self, now_ms: int) -> None:
        """Warm-up is over: equity samples count from now and the grace period starts."""
        self.armed_at = int(now_ms)

    def blocked(self, now_ms: int) -> bool:
        return self.frozen_until is not None and now_ms < self.frozen_until

    def in_grace(self, now_ms: int) -> bool:
        return self.armed_at is None or now_ms < self.armed_at + self.grace_ms

    def update(self, now_ms: int, equity: float) -> list[KillSwitchEvent]:
        """Feed the current total equity; returns what changed (a release of an expired freeze, a trip)."""
        if self.armed_at is None:
            return []
        events: list[KillSwitchEvent] = []
        if self.frozen_until is not None and now_ms >= self.frozen_until:
            events.append(KillSwitchEvent("release", now_ms, equity, self.peak, self.drawdown_pct, None))
            self.frozen_until = None
        while self._window and self._window[-1][1] <= equity:
            self._window.pop()
        self._window.append((int(now_ms), float(equity)))
        while self._window[0][0] <= now_ms - self.window_ms:
            self._window.popleft()
        self.peak = self._window[0][1]
        self.drawdown_pct = (self.peak - equity) / self.peak * 100.0 if self.peak > 0 else 0.0
        if self.frozen_until is None and not self.in_grace(now_ms) and self.drawdown_pct >= self.drawdown_limit:
            self.frozen_until = int(now_ms) + self.freeze_ms
            self.trips += 1
            events.append(KillSwitchEvent("trip", now_ms, equity, self.peak, self.drawdown_pct, self.frozen_until))
        return events

    def reset(self, now_ms: int, equity: float) -> KillSwitchEvent:
        """Operator reset: unfreeze and restart the window from the current equity (the old peak no longer counts)."""
        event = KillSwitchEvent("reset", now_ms, equity, self.peak, self.drawdown_pct, None)
        self.frozen_until = None
        self._window = deque([(int(now_ms), float(equity))])
        self.peak, self.drawdown_pct = float(equity), 0.0
        return event

    def to_state(self) -> dict[str, Any]:
        return {"version": KILL_SWITCH_STATE_VERSION, "armed_at": self.armed_at, "frozen_until": self.frozen_until,
                "trips": self.trips, "drawdown_pct": self.drawdown_pct, "peak": self.peak,
                "window": [list(s) for s in self._window]}

    def load_state(self, state: dict[str, Any]) -> None:
        if state.get("version") != KILL_SWITCH_STATE_VERSION:
            raise ValueError(f"kill switch state version {state.get('version')!r} is not supported")
        self.armed_at = state["armed_at"]
        self.frozen_until = state["frozen_until"]
        self.trips = int(state["trips"])
        self.drawdown_pct = float(state["drawdown_pct"])
        self.peak = float(state["peak"])
        self._window = deque((int(t), float(e)) for t, e in state["window"])
