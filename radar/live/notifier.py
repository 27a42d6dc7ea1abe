"""Alert delivery: a `Notifier` protocol (Telegram, log, ...), `LogNotifier`, and `CooldownNotifier`, which
applies the per-type cooldowns of risk.yaml `alert_cooldowns_s` (SPEC §9: missing SL 5 min; disconnected /
stale data 30 min; kill switch / all stopped 1 h). The log line of every alert is always written; only
the send is throttled, and the next message that goes out says how many were held back."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from radar.live.clock import Clock
from radar.live.messages import Alert

# Watchdog alert kinds -> the key of their cooldown in risk.yaml `alert_cooldowns_s`.
COOLDOWN_KEYS = {"feed_disconnected": "disconnected", "data_stale": "stale_data"}
_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "critical": logging.CRITICAL}


class Notifier(Protocol):
    def send(self, alert: Alert) -> bool:
        """Deliver one alert; True when it went out."""
        ...


class LogNotifier:
    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger("radar.alerts")
        self.sent = 0

    def send(self, alert: Alert) -> bool:
        self.logger.log(_LEVELS.get(alert.severity, logging.WARNING), "[%s] %s", alert.kind, alert.message)
        self.sent += 1
        return True


class CooldownNotifier:
    def __init__(self, inner: Notifier, clock: Clock, cooldowns: Any = None,
                 logger: logging.Logger | None = None) -> None:
        """`cooldowns`: risk.yaml `AlertCooldowns` (its `for_type`), a callable kind -> seconds, or None (defaults)."""
        if cooldowns is None:
            from radar.config.models import AlertCooldowns

            cooldowns = AlertCooldowns()
        self._cooldown_s: Callable[[str], float] = cooldowns.for_type if hasattr(cooldowns, "for_type") else cooldowns
        self.inner = inner
        self.clock = clock
        self.logger = logger or logging.getLogger("radar.alerts")
        self._last_sent: dict[str, int] = {}
        self._held: dict[str, int] = {}  # suppressed since the last send, per kind
        self.sent: dict[str, int] = {}
        self.suppressed: dict[str, int] = {}
        self.failed: dict[str, int] = {}

    def cooldown_ms(self, kind: str) -> int:
        return int(self._cooldown_s(COOLDOWN_KEYS.get(kind, kind)) * 1000)

    def send(self, alert: Alert) -> bool:
        self.logger.log(_LEVELS.get(alert.severity, logging.WARNING), "[%s] %s", alert.kind, alert.message)
        kind, now = alert.kind, self.clock.now_ms()
        last = self._last_sent.get(kind)
        if last is not None and now - last < self.cooldown_ms(kind):
            self.suppressed[kind] = self.suppressed.get(kind, 0) + 1
            self._held[kind] = self._held.get(kind, 0) + 1
            return False
        held = self._held.get(kind, 0)
        out = replace(alert, message=f"{alert.message} (+{held} similar alerts suppressed)") if held else alert
        try:
            ok = self.inner.send(out)
        except Exception:  # a broken channel must not take the watchdog down; the log line is written
            self.logger.exception("alert delivery failed for %s", kind)
            ok = False
        if not ok:
            self.failed[kind] = self.failed.get(kind, 0) + 1
            return False
        self._last_sent[kind] = now
        self._held[kind] = 0
        self.sent[kind] = self.sent.get(kind, 0) + 1
        return True
