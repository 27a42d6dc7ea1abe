"""Telegram actor (sync, num_cpus=0): hosts `radar.telegram.TelegramService` — the non-blocking notifier, the
command poller and the heartbeat / daily / weekly reports — for the whole live system.

Other actors reach it with fire-and-forget `.remote()` calls (runners: trade events; the portfolio guard:
kill-switch changes; the watchdog: alerts after its per-type cooldowns), so Telegram can never slow or
crash a trading actor; its sender runs in this process only. Commands see the system through
`RaySystemControl` (named actors). Created only when `TELEGRAM_BOT_TOKEN` is set.

The heartbeat and reports run on the wall clock: in an accelerated replay the exchange clock would make
an hourly heartbeat a message per second.
"""
from __future__ import annotations

from typing import Any

import ray

from actors.system_control import RaySystemControl
from radar.events import TradeEvent
from radar.live.clock import WallClock
from radar.live.kill_switch import KillSwitchEvent
from radar.live.messages import Alert
from radar.telegram import format as fmt
from radar.telegram.service import TelegramService
from radar.telegram.settings import TelegramSettings

TELEGRAM = "telegram"


class TelegramActorService:
    def __init__(self, settings: TelegramSettings, mode: str, initial_capital: float, runners: int,
                 symbols: int, strategies: list[str]) -> None:
        self.control = RaySystemControl(mode, initial_capital)
        self.service = TelegramService(settings, self.control, WallClock())
        self.service.start()
        self.service.notifier.send_html(fmt.startup_html(mode, runners, symbols, strategies), "startup")

    def alert(self, alert: Alert) -> bool:
        return self.service.notifier.send(alert)

    def trade_events(self, events: list[TradeEvent]) -> int:
        return sum(self.service.notifier.send_html(fmt.trade_event_html(e), e.kind.value) for e in events)

    def kill_switch(self, event: KillSwitchEvent) -> bool:
        return self.service.notifier.send_html(fmt.kill_switch_global_html(event), "kill_switch")

    def wfo_finished(self, job: dict[str, Any]) -> bool:
        """A sweep ended. Those launched by /wfo are reported by the command itself (it polls its job)."""
        if job.get("source") == "telegram":
            return False
        return self.service.notifier.send_html(fmt.wfo_finished_html(job), "wfo_finished")

    def stop(self, reason: str = "shutdown") -> bool:
        pnl = None
        try:
            pnl = self.control.status().get("session_pnl")
        except Exception:  # the other actors may be gone already; the notice still goes out
            pass
        return self.service.stop(reason, pnl)

    def stats(self) -> dict[str, Any]:
        return self.service.stats()

    def ping(self) -> bool:
        return True


class RemoteNotifier:
    """A `Notifier` for the watchdog's `CooldownNotifier`: hands the alert to the Telegram actor, never waits."""

    def __init__(self, telegram: Any) -> None:
        self.telegram = telegram

    def send(self, alert: Alert) -> bool:
        self.telegram.alert.remote(alert)
        return True


TelegramActor = ray.remote(num_cpus=0, max_restarts=3)(TelegramActorService)
