"""Scheduled messages: the heartbeat (every `interval_s`, default 1 h: active runners, open positions, session
PnL, uptime, feed health), the daily summary (after midnight UTC) and the weekly report (PnL per strategy,
best/worst trade, equity sparkline sent as a photo). All of them read the system through `SystemControl`
and run on the caller's clock: `tick(now_ms)` sends what is due, so a replay or a test moves time itself.

A message that was due several times while the process was busy or asleep goes out once, not once per
missed slot.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from radar.live.clock import Clock
from radar.telegram import format as fmt
from radar.telegram import redact
from radar.telegram.control import SystemControl

_HOUR_MS = 3_600_000
_DAY_MS = 24 * _HOUR_MS
_WEEK_MS = 7 * _DAY_MS
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)


def next_daily_ms(after_ms: int, hour_utc: int) -> int:
    """The first `hour_utc`:00 UTC strictly after `after_ms`."""
    t = after_ms - after_ms % _DAY_MS + hour_utc * _HOUR_MS
    return t if t > after_ms else t + _DAY_MS


def next_weekly_ms(after_ms: int, weekday: int, hour_utc: int) -> int:
    """The first `weekday` (Monday = 0) at `hour_utc`:00 UTC strictly after `after_ms`."""
    if not 0 <= weekday <= 6 or not 0 <= hour_utc <= 23:
        raise ValueError(f"weekly schedule: weekday must be 0..6 and hour 0..23, got {weekday}, {hour_utc}")
    midnight = after_ms - after_ms % _DAY_MS
    days_ahead = (weekday - (midnight // _DAY_MS + _EPOCH_WEEKDAY) % 7) % 7
    t = midnight + days_ahead * _DAY_MS + hour_utc * _HOUR_MS
    return t if t > after_ms else t + _WEEK_MS


class Heartbeat:
    def __init__(self, control: SystemControl, started_ms: int, interval_s: float = 3600.0) -> None:
        if interval_s <= 0:
            raise ValueError(f"heartbeat interval must be > 0 seconds, got {interval_s}")
        self.control = control
        self.started_ms = int(started_ms)
        self.interval_ms = int(interval_s * 1000)
        self.next_ms = self.started_ms + self.interval_ms

    def message(self, now_ms: int) -> str:
        return fmt.heartbeat_html(self.control.status(), (now_ms - self.started_ms) / 1000)

    def tick(self, now_ms: int) -> str | None:
        """The heartbeat HTML when one is due (the next is then one interval after now), else None."""
        if now_ms < self.next_ms:
            return None
        self.next_ms = now_ms + self.interval_ms
        return self.message(now_ms)


class DailySummary:
    def __init__(self, control: SystemControl, started_ms: int, hour_utc: int = 0) -> None:
        self.control = control
        self.hour_utc = hour_utc
        self.next_ms = next_daily_ms(int(started_ms), hour_utc)

    def message(self, now_ms: int) -> str:
        return fmt.daily_summary_html(self.control.pnl(1), now_ms - _DAY_MS)  # the day that just ended

    def tick(self, now_ms: int) -> str | None:
        if now_ms < self.next_ms:
            return None
        self.next_ms = next_daily_ms(now_ms, self.hour_utc)
        return self.message(now_ms)


class WeeklyReport:
    def __init__(self, control: SystemControl, started_ms: int, weekday: int = 0, hour_utc: int = 8,
                 days: int = 7) -> None:
        self.control = control
        self.weekday, self.hour_utc, self.days = weekday, hour_utc, days
        self.next_ms = next_weekly_ms(int(started_ms), weekday, hour_utc)

    def build(self) -> tuple[str, bytes | None]:
        """(caption HTML, sparkline PNG or None when the period has fewer than 2 equity points)."""
        report = self.control.pnl(self.days)
        equity = list(report.get("equity") or [])
        png = fmt.sparkline_png(equity) if len(equity) >= 2 else None
        return fmt.weekly_report_html(report), png

    def tick(self, now_ms: int) -> tuple[str, bytes | None] | None:
        if now_ms < self.next_ms:
            return None
        self.next_ms = next_weekly_ms(now_ms, self.weekday, self.hour_utc)
        return self.build()


class Reports:
    """Heartbeat + daily summary + weekly report through one notifier (anything with `send_html` and
    `send_photo`, e.g. `TelegramNotifier`)."""

    def __init__(self, notifier: Any, control: SystemControl, started_ms: int, heartbeat_interval_s: float = 3600.0,
                 weekly_weekday: int = 0, weekly_hour_utc: int = 8, daily_hour_utc: int = 0,
                 logger: logging.Logger | None = None) -> None:
        self.notifier = notifier
        self.heartbeat = Heartbeat(control, started_ms, heartbeat_interval_s)
        self.daily = DailySummary(control, started_ms, daily_hour_utc)
        self.weekly = WeeklyReport(control, started_ms, weekly_weekday, weekly_hour_utc)
        self.logger = logger or logging.getLogger("radar.telegram")
        self._task: asyncio.Task[Any] | None = None

    @classmethod
    def from_settings(cls, notifier: Any, control: SystemControl, started_ms: int, settings: Any) -> Reports:
        """With the schedule of a `TelegramSettings`."""
        return cls(notifier, control, started_ms, settings.heartbeat_interval_s, settings.weekly_report_weekday,
                   settings.weekly_report_hour_utc)

    def tick(self, now_ms: int) -> list[str]:
        """Send what is due at `now_ms`; returns the kinds sent. A failing `SystemControl` call skips that
        message (logged) and leaves the others alone."""
        out: list[str] = []
        for kind, source in (("heartbeat", self.heartbeat), ("daily_summary", self.daily)):
            try:
                text = source.tick(now_ms)
            except Exception as exc:
                self.logger.warning("telegram: %s skipped: %s", kind, redact.redact(repr(exc)))
                continue
            if text is not None:
                self.notifier.send_html(text, kind)
                out.append(kind)
        try:
            weekly = self.weekly.tick(now_ms)
        except Exception as exc:
            self.logger.warning("telegram: weekly report skipped: %s", redact.redact(repr(exc)))
            weekly = None
        if weekly is not None:
            caption, png = weekly
            if png is not None:
                self.notifier.send_photo(png, caption, "weekly_report")
            else:
                self.notifier.send_html(caption, "weekly_report")
            out.append("weekly_report")
        return out

    async def run(self, clock: Clock, poll_s: float = 30.0) -> None:
        """`tick` every `poll_s` real seconds on the running loop (the control calls go to a worker thread)."""
        while True:
            try:
                await asyncio.to_thread(self.tick, clock.now_ms())
            except Exception as exc:  # one bad round must not end the schedule
                self.logger.error("telegram: scheduled reports failed: %s", redact.redact(repr(exc)))
            await asyncio.sleep(poll_s)
