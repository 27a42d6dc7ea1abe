"""LiveRiskManager (SPEC §8-§9): the pre-trade checks of the live executor and the two account-wide kill switches.

`check_entry` runs before every entry, in this order, and the first rule that fails is the refusal:
global kill switch (drawdown freeze or manual kill), session kill switch, adaptive selector, unknown symbol,
symbol held by another runner, max concurrent positions, correlation-group limit, free margin after the
entry. Adding to a position the same runner already holds is not a new position, so the two count limits
do not apply to it. Exits are never refused: a kill switch must never trap a position.

- Global kill switch: `GlobalKillSwitch` fed with the account equity every 5 minutes (`snapshot_due` /
  `on_balance_snapshot`); it trips on `global_drawdown_percent` from the 24h peak, only after the grace
  period that `arm` starts, and freezes entries for `freeze_hours`. `kill(reason)` trips it by hand; a manual
  kill holds until `reset_kill_switch()`.
- Session kill switch: a session is a UTC day. Its starting equity is the first one seen that day; a loss of
  `max_session_loss_percent` of it blocks entries until 00:00 UTC, when a new session starts from the
  equity seen then.

All time is the clock's; the state round-trips through JSON (it lives in `executor_state.json`).
"""
from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from radar.config.models import AssetConfig, RiskConfig
from radar.live.clock import Clock
from radar.live.kill_switch import GlobalKillSwitch
from radar.live.selector import AdaptiveSelector

RISK_STATE_VERSION = 1
SNAPSHOT_INTERVAL_MS = 5 * 60_000
DAY_MS = 86_400_000
RECENT_REFUSALS = 100


class RefusalReason(str, Enum):
    GLOBAL_KILL_SWITCH = "global_kill_switch"
    SESSION_KILL_SWITCH = "session_kill_switch"
    NOT_SELECTED = "not_selected"
    UNKNOWN_SYMBOL = "unknown_symbol"
    SYMBOL_BUSY = "symbol_busy"
    MAX_CONCURRENT_POSITIONS = "max_concurrent_positions"
    CORRELATION_GROUP_LIMIT = "correlation_group_limit"
    INSUFFICIENT_FREE_MARGIN = "insufficient_free_margin"


def _finite(owner: str, name: str, value: float, minimum: float | None = None, strict: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{owner}: {name} must be a finite number, got {value!r}")
    if minimum is not None and (value <= minimum if strict else value < minimum):
        raise ValueError(f"{owner}: {name} must be {'>' if strict else '>='} {minimum:g}, got {value}")


@dataclass(frozen=True, slots=True)
class EntryRequest:
    """One entry order about to be sent (a new position or another grid level of one)."""

    runner_id: str
    strategy: str
    symbol: str
    side: int  # +1 long, -1 short
    notional: float  # USDT
    margin: float  # USDT the entry will lock

    def __post_init__(self) -> None:
        owner = f"entry request of {self.runner_id} on {self.symbol}"
        if self.side not in (1, -1):
            raise ValueError(f"{owner}: side must be +1 (long) or -1 (short), got {self.side!r}")
        _finite(owner, "notional", self.notional, 0.0, strict=True)
        _finite(owner, "margin", self.margin, 0.0, strict=True)


@dataclass(frozen=True, slots=True)
class AccountView:
    """A snapshot of the account the executor builds from the exchange (or the paper book) before a check.

    `free_margin` is what the exchange reports as available (paper: equity - used margin); `positions` maps
    each symbol with an open position to the runner that holds it (one-way mode: one position per symbol).
    """

    equity: float
    used_margin: float
    free_margin: float
    positions: Mapping[str, str]

    def __post_init__(self) -> None:
        _finite("account view", "equity", self.equity)
        _finite("account view", "used margin", self.used_margin, 0.0)
        _finite("account view", "free margin", self.free_margin)


@dataclass(frozen=True, slots=True)
class RiskDecision:
    allowed: bool
    reason: RefusalReason | None
    detail: str
    timestamp: int = 0
    request: EntryRequest | None = None

    def to_record(self) -> dict[str, Any]:
        """JSON-safe row for the journal and the API."""
        record: dict[str, Any] = {"timestamp": self.timestamp, "allowed": self.allowed,
                                  "reason": self.reason.value if self.reason is not None else None,
                                  "detail": self.detail}
        if self.request is not None:
            record.update(asdict(self.request))
        return record


@dataclass(frozen=True, slots=True)
class RiskEvent:
    """A kill-switch change for the journal and the notifier."""

    kind: str  # global_trip | global_release | manual_kill | reset | session_trip | session_release
    timestamp: int
    equity: float | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _groups(assets: Mapping[str, AssetConfig] | Mapping[str, str]) -> dict[str, str]:
    out = {}
    for symbol, asset in assets.items():
        group = asset.correlation_group if isinstance(asset, AssetConfig) else asset
        if not isinstance(group, str) or not group:
            raise ValueError(f"risk manager: correlation group of {symbol} must be a non-empty string, got {group!r}")
        out[symbol] = group
    return out


class LiveRiskManager:
    def __init__(self, risk: RiskConfig, assets: Mapping[str, AssetConfig] | Mapping[str, str], clock: Clock,
                 selector: AdaptiveSelector | None = None, snapshot_interval_ms: int = SNAPSHOT_INTERVAL_MS) -> None:
        """`assets`: assets.yaml (symbol -> AssetConfig) or a plain symbol -> correlation group map.
        `selector`: when given, a pair it does not allow gets no entry (`not_selected`)."""
        self.live = risk.live
        self.session_limit_pct = float(risk.kill_switch.max_session_loss_percent)
        self.groups = _groups(assets)
        self.clock = clock
        self.selector = selector
        self.snapshot_interval_ms = int(snapshot_interval_ms)
        self.global_switch = GlobalKillSwitch.from_config(risk.kill_switch)
        self.manual_kill: dict[str, Any] | None = None  # {"reason", "timestamp"} until an operator reset
        self.last_trip: dict[str, Any] | None = None  # the last global trip (KillSwitchEvent fields)
        self.last_snapshot_ms: int | None = None
        self.last_equity: float | None = None
        self.session_day: int | None = None  # UTC day number (epoch ms // DAY_MS)
        self.session_start_equity = 0.0
        self.session_trip: dict[str, Any] | None = None  # {"timestamp", "equity", "loss_pct"} of this session
        self.refusals: dict[str, int] = {}
        self.recent_refusals: deque[dict[str, Any]] = deque(maxlen=RECENT_REFUSALS)
        self._pending: list[RiskEvent] = []

    # -- kill switches ---------------------------------------------------------------------------------
    def arm(self, now_ms: int | None = None) -> None:
        """Warm-up is over: the global switch counts snapshots from now, after its grace period."""
        self.global_switch.arm(self.clock.now_ms() if now_ms is None else now_ms)

    @property
    def armed(self) -> bool:
        return self.global_switch.armed_at is not None

    def snapshot_due(self, now_ms: int) -> bool:
        return self.last_snapshot_ms is None or now_ms - self.last_snapshot_ms >= self.snapshot_interval_ms

    def on_balance_snapshot(self, ts: int, equity: float) -> list[RiskEvent]:
        """The account equity every 5 minutes; returns the kill-switch changes since the last call (including
        a session trip that an entry check caused)."""
        _finite("balance snapshot", "equity", equity, 0.0)
        if self.last_snapshot_ms is not None and ts <= self.last_snapshot_ms:
            raise ValueError(f"balance snapshot at {ts} is not after the previous one at {self.last_snapshot_ms}")
        self.last_snapshot_ms, self.last_equity = int(ts), float(equity)
        self._observe_session(int(ts), float(equity))
        for e in self.global_switch.update(int(ts), float(equity)):
            if e.kind == "trip":
                self.last_trip = asdict(e)
                detail = (f"drawdown {e.drawdown_pct:.2f}% from the {self._window_h()} peak {e.peak:,.2f} USDT "
                          f"(limit {self.global_switch.drawdown_limit:g}%); entries frozen until {_utc(e.frozen_until or 0)}")
                self._pending.append(RiskEvent("global_trip", e.timestamp, e.equity, detail))
            else:
                self._pending.append(RiskEvent("global_release", e.timestamp, e.equity, "global freeze expired"))
        return self.drain_events()

    def drain_events(self) -> list[RiskEvent]:
        events, self._pending = self._pending, []
        return events

    def kill(self, reason: str) -> RiskEvent:
        """Manual trip (API / Telegram): entries stay blocked until `reset_kill_switch`. The event is returned to
        the caller to journal, not queued for `drain_events`."""
        now = self.clock.now_ms()
        self.manual_kill = {"reason": str(reason), "timestamp": now}
        return RiskEvent("manual_kill", now, self.last_equity, f"manual kill: {reason}")

    def reset_kill_switch(self, equity: float | None = None) -> RiskEvent:
        """Operator reset of every switch: the manual kill and the global freeze end, the drawdown window and
        the session restart from `equity` (default: the last snapshot), so the same loss does not trip again.
        Like `kill`, the event is returned, not queued."""
        now = self.clock.now_ms()
        level = self.last_equity if equity is None else equity
        if level is not None:
            _finite("kill switch reset", "equity", level, 0.0)
            self.global_switch.reset(now, float(level))
            self.session_day, self.session_start_equity = now // DAY_MS, float(level)
        else:
            self.global_switch.frozen_until = None  # nothing measured yet: there is no window to restart
        self.manual_kill = None
        self.session_trip = None
        return RiskEvent("reset", now, level, "operator reset of the kill switches")

    def _window_h(self) -> str:
        return f"{self.global_switch.window_ms / 3_600_000:g}h"

    def _observe_session(self, now_ms: int, equity: float) -> None:
        day = now_ms // DAY_MS
        if day != self.session_day:
            if self.session_trip is not None:
                self._pending.append(RiskEvent("session_release", day * DAY_MS, equity,
                                               f"daily reset: new session from equity {equity:,.2f} USDT"))
            self.session_day, self.session_start_equity, self.session_trip = day, equity, None
            return
        if self.session_trip is None and self.session_start_equity > 0:
            loss_pct = (self.session_start_equity - equity) / self.session_start_equity * 100.0
            if loss_pct >= self.session_limit_pct:
                self.session_trip = {"timestamp": now_ms, "equity": equity, "loss_pct": loss_pct}
                self._pending.append(RiskEvent("session_trip", now_ms, equity, self._session_detail()))

    def _session_detail(self) -> str:
        trip = self.session_trip or {}
        end = ((self.session_day or 0) + 1) * DAY_MS
        return (f"session loss {trip.get('loss_pct', 0.0):.2f}% of the session's starting equity "
                f"{self.session_start_equity:,.2f} USDT (limit {self.session_limit_pct:g}%); entries blocked until "
                f"the daily reset at {_utc(end)}")

    # -- pre-trade checks ------------------------------------------------------------------------------
    def check_entry(self, request: EntryRequest, account: AccountView) -> RiskDecision:
        now = self.clock.now_ms()
        self._observe_session(now, account.equity)
        refusal = self._first_refusal(now, request, account)
        if refusal is None:
            return RiskDecision(True, None, "", now, request)
        decision = RiskDecision(False, refusal[0], refusal[1], now, request)
        self.refusals[refusal[0].value] = self.refusals.get(refusal[0].value, 0) + 1
        self.recent_refusals.append(decision.to_record())
        return decision

    def check_exit(self, runner_id: str, symbol: str) -> RiskDecision:
        """Exits are always allowed, whatever the switches say."""
        return RiskDecision(True, None, "", self.clock.now_ms())

    def _first_refusal(self, now: int, r: EntryRequest, a: AccountView) -> tuple[RefusalReason, str] | None:
        if self.manual_kill is not None:
            return (RefusalReason.GLOBAL_KILL_SWITCH,
                    f"manual kill at {_utc(self.manual_kill['timestamp'])}: {self.manual_kill['reason']}; "
                    f"entries blocked until an operator reset")
        if self.global_switch.blocked(now):
            trip = self.last_trip or {}
            return (RefusalReason.GLOBAL_KILL_SWITCH,
                    f"drawdown {trip.get('drawdown_pct', self.global_switch.drawdown_pct):.2f}% from the "
                    f"{self._window_h()} peak {trip.get('peak', self.global_switch.peak):,.2f} USDT "
                    f"(limit {self.global_switch.drawdown_limit:g}%); entries frozen until "
                    f"{_utc(self.global_switch.frozen_until or 0)}")
        if self.session_trip is not None:
            return RefusalReason.SESSION_KILL_SWITCH, self._session_detail()
        if self.selector is not None and not self.selector.is_allowed(r.strategy, r.symbol):
            return (RefusalReason.NOT_SELECTED,
                    f"{r.strategy} on {r.symbol} gets no capital: {self.selector.why_not(r.strategy, r.symbol)}")
        group = self.groups.get(r.symbol)
        if group is None:
            return RefusalReason.UNKNOWN_SYMBOL, f"{r.symbol} has no correlation group (not in assets.yaml)"
        holder = a.positions.get(r.symbol)
        if holder is not None and holder != r.runner_id:
            return RefusalReason.SYMBOL_BUSY, f"{r.symbol} already holds a position of runner {holder}"
        if holder is None:
            limit = self.live.max_concurrent_positions
            if len(a.positions) >= limit:
                return (RefusalReason.MAX_CONCURRENT_POSITIONS,
                        f"{len(a.positions)} positions open, the limit is {limit}")
            peers = sorted(s for s in a.positions if self.groups.get(s) == group)
            limit = self.live.max_positions_per_correlation_group
            if len(peers) >= limit:
                return (RefusalReason.CORRELATION_GROUP_LIMIT,
                        f"{len(peers)} positions open in correlation group {group} ({', '.join(peers)}), "
                        f"the limit is {limit}")
        free_after = a.free_margin - r.margin
        pct = free_after / a.equity * 100.0 if a.equity > 0 else 0.0
        if a.equity <= 0 or pct < self.live.min_free_margin_percent:
            return (RefusalReason.INSUFFICIENT_FREE_MARGIN,
                    f"free margin after this entry {free_after:,.2f} USDT = {pct:.2f}% of equity {a.equity:,.2f} "
                    f"USDT, needs >= {self.live.min_free_margin_percent:g}%")
        return None

    # -- views and state -------------------------------------------------------------------------------
    def status(self, now_ms: int | None = None) -> dict[str, Any]:
        """For the API and Telegram: switch states, refusal counts per reason and the recent refusals."""
        now = self.clock.now_ms() if now_ms is None else now_ms
        ks = self.global_switch
        return {
            "global": {"blocked": self.manual_kill is not None or ks.blocked(now), "manual_kill": self.manual_kill,
                       "frozen_until": ks.frozen_until, "in_grace": ks.in_grace(now), "armed_at": ks.armed_at,
                       "peak": ks.peak, "drawdown_pct": ks.drawdown_pct, "trips": ks.trips, "last_trip": self.last_trip},
            "session": {"day_start": (self.session_day * DAY_MS) if self.session_day is not None else None,
                        "start_equity": self.session_start_equity, "limit_pct": self.session_limit_pct,
                        "tripped": self.session_trip},
            "last_snapshot_ms": self.last_snapshot_ms, "last_equity": self.last_equity,
            "refusals": dict(self.refusals), "recent_refusals": list(self.recent_refusals),
        }

    def to_state(self) -> dict[str, Any]:
        return {"version": RISK_STATE_VERSION, "global_switch": self.global_switch.to_state(),
                "manual_kill": self.manual_kill, "last_trip": self.last_trip,
                "last_snapshot_ms": self.last_snapshot_ms, "last_equity": self.last_equity,
                "session_day": self.session_day, "session_start_equity": self.session_start_equity,
                "session_trip": self.session_trip, "refusals": dict(self.refusals),
                "recent_refusals": list(self.recent_refusals)}

    @classmethod
    def from_state(cls, state: Mapping[str, Any], risk: RiskConfig,
                   assets: Mapping[str, AssetConfig] | Mapping[str, str], clock: Clock,
                   selector: AdaptiveSelector | None = None,
                   snapshot_interval_ms: int = SNAPSHOT_INTERVAL_MS) -> LiveRiskManager:
        if state.get("version") != RISK_STATE_VERSION:
            raise ValueError(f"risk manager state version {state.get('version')!r} is not supported "
                             f"(expected {RISK_STATE_VERSION})")
        m = cls(risk, assets, clock, selector, snapshot_interval_ms)
        try:
            m.global_switch.load_state(dict(state["global_switch"]))
            m.manual_kill = state["manual_kill"]
            m.last_trip = state["last_trip"]
            m.last_snapshot_ms = state["last_snapshot_ms"]
            m.last_equity = state["last_equity"]
            m.session_day = state["session_day"]
            m.session_start_equity = float(state["session_start_equity"])
            m.session_trip = state["session_trip"]
            m.refusals = {str(k): int(v) for k, v in state["refusals"].items()}
            m.recent_refusals.extend(state["recent_refusals"])
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"risk manager state is incomplete or malformed: {exc!r}") from exc
        return m
