"""Injectable misbehaviour for the emulator: rate limits, stalls, 5xx, and dying half way.

Tests set faults on the Python object (thread-safe: the server may run in another thread) or through
`POST /_emulator/faults`. Every fault can be scoped to paths containing a substring (e.g. `candles`).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Literal

FaultKind = Literal["none", "rate_limit", "server_error", "stall", "die"]


@dataclass(frozen=True)
class FaultAction:
    kind: FaultKind = "none"
    status: int = 0
    seconds: float = 0.0


NO_FAULT = FaultAction()


@dataclass
class _Pending:
    kind: FaultKind
    remaining: int
    match: str | None
    status: int = 0
    seconds: float = 0.0


class Faults:
    """Queue of pending faults; `next_action(path)` consumes one matching fault per request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[_Pending] = []
        self._die_after: int | None = None
        self._candle_requests_served = 0
        self.dead = False

    def rate_limit(self, count: int = 1, *, match: str | None = None) -> Faults:
        """Answer the next `count` matching requests with HTTP 429 (Bitget code 429)."""
        return self._push(_Pending("rate_limit", count, match, status=429))

    def server_error(self, count: int = 1, *, status: int = 503, match: str | None = None) -> Faults:
        return self._push(_Pending("server_error", count, match, status=status))

    def stall(self, count: int = 1, *, seconds: float = 1.0, match: str | None = None) -> Faults:
        """Delay the next `count` matching requests by `seconds` before answering normally."""
        return self._push(_Pending("stall", count, match, seconds=seconds))

    def die_after_candle_requests(self, k: int) -> Faults:
        """After `k` candle requests have been answered, drop every later connection unanswered."""
        with self._lock:
            self._die_after = int(k)
            self.dead = self._candle_requests_served >= k
        return self

    def reset(self) -> Faults:
        with self._lock:
            self._pending.clear()
            self._die_after = None
            self.dead = False
        return self

    @property
    def candle_requests_served(self) -> int:
        with self._lock:
            return self._candle_requests_served

    def note_candle_request_served(self) -> None:
        with self._lock:
            self._candle_requests_served += 1
            if self._die_after is not None and self._candle_requests_served >= self._die_after:
                self.dead = True

    def next_action(self, path: str) -> FaultAction:
        with self._lock:
            if self.dead:
                return FaultAction("die")
            for pending in self._pending:
                if pending.match is None or pending.match in path:
                    pending.remaining -= 1
                    if pending.remaining <= 0:
                        self._pending.remove(pending)
                    return FaultAction(pending.kind, pending.status, pending.seconds)
            return NO_FAULT

    def configure(self, spec: dict[str, Any]) -> Faults:
        """Apply the JSON body of `POST /_emulator/faults`.

        Keys: reset (bool), rate_limit (int), server_error ({count, status} or int), stall ({count,
        seconds}), die_after_candle_requests (int), match (path substring applied to the new faults).
        """
        unknown = set(spec) - {"reset", "rate_limit", "server_error", "stall", "die_after_candle_requests", "match"}
        if unknown:
            raise ValueError(f"unknown fault keys: {', '.join(sorted(unknown))}")
        match = spec.get("match")
        if spec.get("reset"):
            self.reset()
        if "rate_limit" in spec:
            self.rate_limit(int(spec["rate_limit"]), match=match)
        if "server_error" in spec:
            se = spec["server_error"]
            se = se if isinstance(se, dict) else {"count": se}
            self.server_error(int(se.get("count", 1)), status=int(se.get("status", 503)), match=match)
        if "stall" in spec:
            st = spec["stall"]
            self.stall(int(st.get("count", 1)), seconds=float(st.get("seconds", 1.0)), match=match)
        if "die_after_candle_requests" in spec:
            self.die_after_candle_requests(int(spec["die_after_candle_requests"]))
        return self

    def _push(self, pending: _Pending) -> Faults:
        if pending.remaining < 1:
            raise ValueError(f"fault {pending.kind}: count must be >= 1")
        with self._lock:
            self._pending.append(pending)
        return self
