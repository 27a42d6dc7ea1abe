"""Watchdog actor (SPEC §9, asyncio, num_cpus=0): every `interval_s` it gathers feed health, runner liveness
(a ping each, with a timeout), the kill switch and free disk, runs `radar.live.watchdog.Watchdog.check` and
sends the alerts through `CooldownNotifier(LogNotifier)` (per-type cooldowns; the log line is always written).
It also serves the Arena ranking of the runners for `status()`.

Booted last and stopped first (LiveSystem), so it never reports the system's own boot or shutdown as a fault.
A feed actor that does not answer counts as a disconnected feed; a runner that does not answer its ping in
time counts as dead.

Time: the watchdog's clock is the feed's (exchange server) clock, synced from the last message time the feed
reports and advanced at the replay `speed` — in a replay, freshness and cooldowns run in replayed time, as
the feed's own rules do. `interval_s` is real seconds between checks.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import ray

from radar.live.arena import entry_from_trades, rank
from radar.live.clock import ServerClock
from radar.live.messages import Alert, FeedHealth
from radar.live.notifier import CooldownNotifier, LogNotifier
from radar.live.watchdog import Watchdog, disk_free_bytes

def _remote_notifier(telegram: Any) -> Any:
    from actors.live_telegram import RemoteNotifier

    return RemoteNotifier(telegram)


STOP_WAIT_S = 5.0
ALERT_HISTORY = 200  # alerts kept for status(); bounded so a long outage cannot grow the actor


class WatchdogService:
    def __init__(self, feed: Any, runners: Mapping[str, Any], data_dir: str, *, initial_capital_per_runner: float,
                 interval_s: float = 30.0, ping_timeout_s: float = 5.0, stale_after_s: float = 300.0,
                 min_free_disk_mb: float = 500.0, cooldowns: Any = None, speed: float = 1.0,
                 kill_switch: Any = None, telegram: Any = None, sl_guard: Any = None) -> None:
        """`runners`: strategy name -> runner actor handle. `cooldowns`: risk.yaml `AlertCooldowns`, a callable
        kind -> seconds, or None (defaults). `kill_switch`: None (no global switch wired), a bool, or an actor
        handle with `blocked(now_ms) -> bool`. `sl_guard`: None (no exchange check), a
        `radar.live.sl_guard.StopLossGuard`, or a no-argument factory of one called on the actor's loop at the
        first round (its ccxt client must live on that loop); each round it reports the exchange positions
        without a stop-loss (`missing_sl`) and protects them; its own alerts go through this notifier."""
        if interval_s <= 0 or ping_timeout_s <= 0:
            raise ValueError(f"watchdog interval_s and ping_timeout_s must be > 0, got {interval_s}, {ping_timeout_s}")
        self.feed = feed
        self.runners = dict(runners)
        self.data_dir = data_dir
        self.initial_capital = float(initial_capital_per_runner)
        self.interval_s, self.ping_timeout_s = float(interval_s), float(ping_timeout_s)
        self.kill_switch = kill_switch
        self._sl_guard = sl_guard
        self.clock = ServerClock(speed)
        self.watchdog = Watchdog(stale_after_s, min_free_disk_mb)
        self.logger = logging.getLogger("radar.alerts")
        # The cooldown (and the log line) stay here; a Telegram actor, when there is one, gets what passes.
        channel = LogNotifier(self.logger) if telegram is None else _remote_notifier(telegram)
        self.notifier = CooldownNotifier(channel, self.clock, cooldowns, self.logger)
        self.history: deque[dict[str, Any]] = deque(maxlen=ALERT_HISTORY)
        self.checks = 0
        self._task: asyncio.Task | None = None

    # -- lifecycle -------------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            # A round stuck on an actor call that ignores the cancel (a Ray ref awaited inside wait_for) must
            # not hold the system's shutdown: the watchdog keeps no state, give it a few seconds at most.
            await asyncio.wait({self._task}, timeout=STOP_WAIT_S)
            self._task = None
        if self._sl_guard is not None and hasattr(self._sl_guard, "close"):
            with contextlib.suppress(Exception):  # its HTTP session; a failing close must not block shutdown
                await self._sl_guard.close()

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(Exception):  # one failed round must not end the watchdog
                await self.check_now()
            await asyncio.sleep(self.interval_s)

    # -- one round ---------------------------------------------------------------------------------------
    async def _call(self, ref: Any) -> Any:
        return await asyncio.wait_for(ref, timeout=self.ping_timeout_s)

    async def _feed_health(self) -> FeedHealth:
        try:
            health = await self._call(self.feed.health.remote())
        except Exception:  # dead, restarting or hung: the system has no market data either way
            return FeedHealth(connected=False, last_message_ms=None)
        if health.last_message_ms is not None:
            self.clock.sync(health.last_message_ms)
        return health

    async def _alive(self, handle: Any) -> bool:
        try:
            return bool(await self._call(handle.ping.remote()))
        except Exception:
            return False

    async def _kill_switch(self, now_ms: int) -> Any:
        if self.kill_switch is None or isinstance(self.kill_switch, bool):
            return self.kill_switch
        try:
            return bool(await self._call(self.kill_switch.blocked.remote(now_ms)))
        except Exception:
            return None

    async def check_now(self) -> list[Alert]:
        """Gather the inputs, check, send; returns this round's alerts (sent or held back by a cooldown)."""
        health = await self._feed_health()
        names = list(self.runners)
        alive = await asyncio.gather(*(self._alive(self.runners[n]) for n in names))
        now = self.clock.now_ms()
        try:
            disk = disk_free_bytes(self.data_dir)
        except OSError:
            disk = None
        missing_sl = await self._missing_sl()
        alerts = self.watchdog.check(now, health, dict(zip(names, alive)), await self._kill_switch(now), missing_sl,
                                     disk)
        for a in alerts:
            self._send(a)
        self.checks += 1
        return alerts

    def _send(self, alert: Alert) -> bool:
        sent = self.notifier.send(alert)
        self.history.append({**dataclasses.asdict(alert), "sent": sent})
        return sent

    def _guard(self) -> Any:
        guard = self._sl_guard
        if guard is not None and not hasattr(guard, "check_and_fix"):
            guard = self._sl_guard = guard()  # a factory: build the client on this loop
        if guard is not None and getattr(guard, "alert", None) is None:
            guard.alert = lambda kind, text: self._send(Alert(kind, text, self.clock.now_ms(), "critical"))
        return guard

    async def _missing_sl(self) -> list[str]:
        """Exchange positions without a stop-loss (fixed by the guard); [] without a guard or when the exchange
        cannot be read this round (logged; the next round asks again)."""
        if self._sl_guard is None:
            return []
        try:
            return list(await self._guard().check_and_fix())
        except Exception:
            self.logger.exception("stop-loss guard: reading the exchange positions failed")
            return []

    # -- views ---------------------------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        out = {"checks": self.checks, "sent": dict(self.notifier.sent), "suppressed": dict(self.notifier.suppressed),
               "failed": dict(self.notifier.failed), "interval_s": self.interval_s}
        if self._sl_guard is not None and hasattr(self._sl_guard, "fixes"):
            out["sl_fixes"] = len(self._sl_guard.fixes)
        return out

    def alerts(self) -> list[dict[str, Any]]:
        return list(self.history)

    async def ranking(self, by: str = "return") -> list[dict[str, Any]]:
        """The Arena: every runner of every strategy actor, best first (runners that do not answer are left out)."""
        entries = []
        for name, handle in self.runners.items():
            try:
                st, trades = await asyncio.gather(self._call(handle.status.remote()), self._call(handle.trades.remote()))
            except Exception:
                continue
            by_runner: dict[str, list[Any]] = {}
            for t in trades:
                by_runner.setdefault(t.runner_id, []).append(t)
            for r in st["runners"]:
                entries.append(entry_from_trades(r["runner_id"], name, r["symbol"], self.initial_capital, r["equity"],
                                                 by_runner.get(r["runner_id"], [])))
        return [dataclasses.asdict(e) | {"win_rate": e.win_rate} for e in rank(entries, by)]

    def ping(self) -> bool:
        return True


def cooldowns_from(seconds: Mapping[str, float], default: float = 600.0) -> Callable[[str], float]:
    """A cooldown table (cooldown key -> seconds) as the callable `CooldownNotifier` takes (tests, overrides)."""
    return lambda key: float(seconds.get(key, default))


WatchdogActor = ray.remote(num_cpus=0, max_restarts=-1)(WatchdogService)
