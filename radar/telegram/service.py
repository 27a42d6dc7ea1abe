"""`TelegramService`: the notifier, the command poller and the scheduled reports on one loop thread, started
and stopped in the right order. What the live system's Telegram actor holds (one per system):

    service = TelegramService.from_env(control, clock)   # None: TELEGRAM_BOT_TOKEN not set
    if service:
        service.start()
        service.notifier.send_html(fmt.startup_html("paper", 12, 6, names), "startup")
    ...
    CooldownNotifier(service.notifier, clock, risk.alert_cooldowns).send(alert)   # watchdog alerts
    service.notifier.send_html(fmt.trade_event_html(event), event.kind.value)  # trade events
    ...
    service.stop("SIGTERM", session_pnl=...)   # shutdown notice, then everything closed
"""
from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Mapping
from typing import Any

from radar.live.clock import Clock
from radar.telegram import format as fmt
from radar.telegram.commands import TelegramCommands
from radar.telegram.control import SystemControl
from radar.telegram.heartbeat import Reports
from radar.telegram.loop import LoopThread
from radar.telegram.notifier import TelegramNotifier
from radar.telegram.settings import TelegramSettings, telegram_settings_from_env


class TelegramService:
    def __init__(self, settings: TelegramSettings, control: SystemControl, clock: Clock, *,
                 commands: bool = True, reports_poll_s: float = 30.0,
                 strategies: Callable[[], list[str]] | None = None) -> None:
        """`clock`: the system's clock (heartbeat and report times, uptime); `commands=False` for a send-only
        bot; `strategies`: the names /wfo accepts (default: the strategy registry)."""
        self.settings = settings
        self.control = control
        self.clock = clock
        self.started_ms = clock.now_ms()
        self.loop = LoopThread("radar-telegram")
        self.notifier = TelegramNotifier(settings, self.loop)
        self.commands = TelegramCommands(settings, control, self.notifier, self.loop, uptime_s=self.uptime_s,
                                         strategies=strategies) if commands else None
        self.reports = Reports.from_settings(self.notifier, control, self.started_ms, settings)
        self.reports_poll_s = reports_poll_s
        self._reports_future: concurrent.futures.Future[Any] | None = None

    @classmethod
    def from_env(cls, control: SystemControl, clock: Clock, env: Mapping[str, str] | None = None,
                 **kwargs: Any) -> TelegramService | None:
        """None when `TELEGRAM_BOT_TOKEN` is not set; `kwargs`: TelegramSettings overrides and the options of
        the constructor (`commands`, `reports_poll_s`, `strategies`)."""
        options = {k: kwargs.pop(k) for k in ("commands", "reports_poll_s", "strategies") if k in kwargs}
        settings = telegram_settings_from_env(env, **kwargs)
        return None if settings is None else cls(settings, control, clock, **options)

    def uptime_s(self) -> float:
        return (self.clock.now_ms() - self.started_ms) / 1000

    def start(self) -> TelegramService:
        self.notifier.start()
        if self.commands is not None:
            self.commands.start()
        if self._reports_future is None:
            self._reports_future = self.loop.submit(self.reports.run(self.clock, self.reports_poll_s))
        return self

    def stop(self, reason: str | None = None, session_pnl: float | None = None, timeout: float | None = None) -> bool:
        """Stop the reports and the commands, send the shutdown notice when `reason` is given, then deliver what
        is queued (up to `timeout`, default settings.close_timeout_s). True when nothing was left behind."""
        if self._reports_future is not None:
            self._reports_future.cancel()
            self._reports_future = None
        if self.commands is not None:
            self.commands.stop()
        if reason is not None:
            self.notifier.send_html(fmt.shutdown_html(reason, self.uptime_s(), session_pnl), "shutdown")
        clean = self.notifier.close(timeout)
        self.loop.stop()
        return clean

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {"notifier": self.notifier.stats(), "uptime_s": round(self.uptime_s(), 1),
                               "at": time.time()}
        if self.commands is not None:
            out["commands"] = {"ready": self.commands.ready.is_set(), "refused": self.commands.refused,
                               "handled": dict(self.commands.handled)}
        return out
