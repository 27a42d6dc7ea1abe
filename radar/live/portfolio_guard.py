"""PortfolioGuard: the system-wide rules of the live/paper system that no runner can apply alone (SPEC §8, §9).

Every runner actor asks it before an entry (through the runners' `margin_guard` hook, as in the portfolio
backtester) and reports its equity and used margin after each candle:
- the global margin limit and the per-asset cap (`MarginLimits`, the backtester's own rules);
- the global kill switch (`GlobalKillSwitch`): when the summed equity of all runners falls
  `global_drawdown_percent` below its peak over the sliding window, entries are refused everywhere for
  `freeze_hours` (exits still run); armed by the first live candle, it may fire only after the grace hour;
- a manual kill / reset (API, Telegram) on top.

An allowed entry reserves its margin at once, so two runners asking in the same instant cannot both pass
a limit only one of them fits under; the runner's next report replaces the reservation by the real margin.
Time is the candles' time (the latest candle reported), so an accelerated replay behaves like real time.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from radar.live.kill_switch import GlobalKillSwitch, KillSwitchEvent
from radar.positions.portfolio_limits import MarginLimits

GUARD_STATE_VERSION = 1
GLOBAL_KILL_SWITCH = "global_kill_switch"
MANUAL_KILL = "manual_kill"


@dataclass(frozen=True, slots=True)
class RunnerReport:
    """A runner's book after one candle: what the guard sums."""

    runner_id: str
    timestamp: int  # the candle's open time
    equity: float
    used_margin: float
    capital: float | None = None  # free cash (equity = capital + used margin + unrealised PnL); None: unknown


class PortfolioGuard:
    def __init__(self, limits: MarginLimits, kill_switch: GlobalKillSwitch, symbol_of: Mapping[str, str]) -> None:
        """`symbol_of`: runner id -> symbol, for every runner of the system (the per-asset cap sums a symbol's)."""
        self.limits = limits
        self.kill_switch = kill_switch
        self.symbol_of = dict(symbol_of)
        self.margins: dict[str, float] = {rid: 0.0 for rid in self.symbol_of}
        self.equities: dict[str, float] = {}
        self.capitals: dict[str, float] = {}
        self.now_ms: int | None = None
        self.manual_kill: str | None = None
        self.refusals: dict[str, int] = {}
        self.events: list[KillSwitchEvent] = []

    # -- entries --------------------------------------------------------------------------------------
    def check_entry(self, runner_id: str, margin: float, used_margin: float | None = None) -> str | None:
        """None when the entry may go ahead (its margin is reserved), else the reason it is refused.

        `used_margin`: the asking runner's margin right now. Its last report is a candle old, and within a
        candle a runner may close a grid and open the next one: without this the guard counted the closed
        grid's margin and refused what the backtester allows."""
        if used_margin is not None:
            if runner_id not in self.symbol_of:
                raise KeyError(f"portfolio guard: unknown runner {runner_id!r} (known: {sorted(self.symbol_of)})")
            self.margins[runner_id] = float(used_margin)
        reason = self._refusal(runner_id, margin)
        if reason is None:
            self.margins[runner_id] = self.margins.get(runner_id, 0.0) + margin
        else:
            self.refusals[reason] = self.refusals.get(reason, 0) + 1
        return reason

    def _refusal(self, runner_id: str, margin: float) -> str | None:
        if self.manual_kill is not None:
            return MANUAL_KILL
        if self.now_ms is not None and self.kill_switch.blocked(self.now_ms):
            return GLOBAL_KILL_SWITCH
        symbol = self.symbol_of.get(runner_id)
        if symbol is None:
            raise KeyError(f"portfolio guard: unknown runner {runner_id!r} (known: {sorted(self.symbol_of)})")
        asset = sum(m for rid, m in self.margins.items() if self.symbol_of[rid] == symbol)
        return self.limits.refusal(sum(self.margins.values()), asset, margin)

    def entries_blocked(self) -> bool:
        return self.manual_kill is not None or (self.now_ms is not None and self.kill_switch.blocked(self.now_ms))

    # -- reports --------------------------------------------------------------------------------------
    def report(self, reports: list[RunnerReport]) -> list[KillSwitchEvent]:
        """Runners' books after a candle. Once every runner has reported, the summed equity feeds the kill
        switch at the newest candle time (reports of different symbols interleave; time never goes back)."""
        for r in reports:
            if r.runner_id not in self.symbol_of:
                raise KeyError(f"portfolio guard: report from unknown runner {r.runner_id!r}")
            self.margins[r.runner_id] = r.used_margin
            self.equities[r.runner_id] = r.equity
            if r.capital is not None:
                self.capitals[r.runner_id] = r.capital
            self.now_ms = r.timestamp if self.now_ms is None else max(self.now_ms, r.timestamp)
        if self.now_ms is None or len(self.equities) < len(self.symbol_of):
            return []
        if self.kill_switch.armed_at is None:
            self.kill_switch.arm(self.now_ms)  # the first candle every runner traded live: warm-up is over
        events = self.kill_switch.update(self.now_ms, self.total_equity)
        self.events.extend(events)
        return events

    @property
    def total_equity(self) -> float:
        return sum(self.equities.values())

    def snapshot(self) -> dict[str, Any] | None:
        """The portfolio as a journal snapshot row (equity, cash, unrealised PnL, margin, per-runner equity), or
        None until every runner has reported."""
        if self.now_ms is None or len(self.equities) < len(self.symbol_of):
            return None
        margin = sum(self.margins.values())
        cash = sum(self.capitals.values()) if len(self.capitals) == len(self.symbol_of) else self.total_equity - margin
        return {"now_ms": self.now_ms, "equity": self.total_equity, "cash": cash, "margin_used": margin,
                "unrealized_pnl": self.total_equity - cash - margin,
                "payload": {"runners": dict(sorted(self.equities.items())), "drawdown_pct": self.kill_switch.drawdown_pct,
                            "entries_blocked": self.entries_blocked()}}

    # -- manual control -------------------------------------------------------------------------------
    def kill(self, reason: str) -> None:
        self.manual_kill = reason or "manual"

    def reset(self) -> KillSwitchEvent | None:
        """Lift a manual kill and an active freeze (the operator has looked at it); the drawdown window restarts
        from the current equity, so the old peak cannot trip the switch again at once."""
        self.manual_kill = None
        if self.now_ms is None:
            return None
        event = self.kill_switch.reset(self.now_ms, self.total_equity)
        self.events.append(event)
        return event

    # -- views and persistence ------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        ks = self.kill_switch
        return {"entries_blocked": self.entries_blocked(), "manual_kill": self.manual_kill,
                "frozen_until": ks.frozen_until, "trips": ks.trips, "drawdown_pct": ks.drawdown_pct,
                "peak_equity": ks.peak, "total_equity": self.total_equity, "used_margin": sum(self.margins.values()),
                "margin_limit": self.limits.margin_limit, "armed_at": ks.armed_at,
                "in_grace": self.now_ms is None or ks.in_grace(self.now_ms), "now_ms": self.now_ms,
                "refusals": dict(self.refusals)}

    def to_state(self) -> dict[str, Any]:
        return {"version": GUARD_STATE_VERSION, "kill_switch": self.kill_switch.to_state(),
                "manual_kill": self.manual_kill, "refusals": dict(self.refusals), "now_ms": self.now_ms}

    def load_state(self, state: Mapping[str, Any]) -> None:
        if state.get("version") != GUARD_STATE_VERSION:
            raise ValueError(f"portfolio guard state: version {state.get('version')!r}, expected {GUARD_STATE_VERSION}")
        self.kill_switch.load_state(state["kill_switch"])
        self.manual_kill = state.get("manual_kill")
        self.refusals = {k: int(v) for k, v in state.get("refusals", {}).items()}
        self.now_ms = state.get("now_ms")
