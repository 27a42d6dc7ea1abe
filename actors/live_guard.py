"""PortfolioGuard actor (sync, num_cpus=0): the one place every runner actor asks before an entry and reports
its book to after each candle — a thin shell over `radar.live.portfolio_guard.PortfolioGuard`.

A sync actor runs its calls one at a time, so two runners asking in the same instant are decided in turn,
each against the margin the other has just reserved. Its state (kill-switch window, freeze, manual kill)
goes to the state store when the switch changes and at least every `save_every_s`, and comes back on a
restart (max_restarts): a freeze survives a crash.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

import ray

from radar.live.kill_switch import GlobalKillSwitch
from radar.live.portfolio_guard import PortfolioGuard, RunnerReport
from radar.positions.portfolio_limits import MarginLimits

logger = logging.getLogger("radar.alerts")
SNAPSHOT_EVERY_MS = 300_000


class PortfolioGuardService:
    def __init__(self, symbol_of: dict[str, str], capital: float, risk: Any, state_store: Any,
                 save_every_s: float = 60.0, telegram: Any = None) -> None:
        """`symbol_of`: runner id -> symbol for every runner; `risk`: `RiskConfig` (margin limits, kill switch)."""
        self.state_store, self.save_every_s, self.telegram = state_store, save_every_s, telegram
        self.guard = PortfolioGuard(MarginLimits(capital, risk.max_margin_ratio, risk.max_asset_fraction),
                                    GlobalKillSwitch.from_config(risk.kill_switch), symbol_of)
        saved = ray.get(state_store.load_guard.remote())
        if saved is not None:
            self.guard.load_state(saved)
        self._last_save = time.monotonic()
        self._last_snapshot_bucket = -1

    def check_entry(self, runner_id: str, margin: float, used_margin: float | None = None,
                    reports: list[RunnerReport] | None = None) -> str | None:
        """`reports`: the asker's books after the candles it processed since its last report (applied first)."""
        if reports:
            self.report(reports)
        return self.guard.check_entry(runner_id, margin, used_margin)

    def report(self, reports: list[RunnerReport]) -> None:
        events = self.guard.report(reports)
        for e in events:
            logger.critical("[kill_switch] global kill switch %s at %d: equity %.2f, peak %.2f, drawdown %.1f%%",
                            e.kind, e.timestamp, e.equity, e.peak, e.drawdown_pct)
            if self.telegram is not None:
                self.telegram.kill_switch.remote(e)
        if events or time.monotonic() - self._last_save >= self.save_every_s:
            self.save()
        snap = self.guard.snapshot()
        if snap is not None and snap["now_ms"] // SNAPSHOT_EVERY_MS > self._last_snapshot_bucket:
            # the journal's 5-minute portfolio snapshots (SPEC §9), in candle time; not awaited
            self._last_snapshot_bucket = snap["now_ms"] // SNAPSHOT_EVERY_MS
            self.state_store.snapshot.remote("portfolio", snap["now_ms"], snap["equity"], snap["cash"],
                                             snap["unrealized_pnl"], snap["margin_used"], snap["payload"])

    def blocked(self, now_ms: int | None = None) -> bool:
        return self.guard.entries_blocked()

    def kill(self, reason: str = "manual") -> None:
        self.guard.kill(reason)
        self.save()

    def reset(self) -> None:
        self.guard.reset()
        self.save()

    def status(self) -> dict[str, Any]:
        return self.guard.status()

    def events(self) -> list[dict[str, Any]]:
        return [dataclasses.asdict(e) for e in self.guard.events]

    def save(self) -> None:
        ray.get(self.state_store.save_guard.remote(self.guard.to_state()))
        self._last_save = time.monotonic()

    def ping(self) -> bool:
        return True


PortfolioGuardActor = ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=-1)(PortfolioGuardService)
