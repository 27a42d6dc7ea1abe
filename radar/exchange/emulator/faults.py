"""Injectable misbehaviour for the emulator: rate limits, stalls, 5xx, and dying half way (REST);
dropped connections, silent stalls, malformed frames, repeated and reordered candles (WebSocket).

Tests set faults on the Python object (thread-safe: the server may run in another thread) or through
`POST /_emulator/faults`. Every REST fault can be scoped to paths containing a substring (e.g. `candles`,
or `place-order` for a 5xx on order placement). WebSocket faults are consumed by the replay loop
(`radar.exchange.emulator.replay`) on its next tick.

Trading faults (consumed by the trading endpoints and the private WebSocket, `trading.py`): refuse
the next orders with a Bitget code (`reject_orders`), fail the next TP/SL placements
(`fail_tpsl`), drop the private WebSocket connections (`drop_private_ws`), hold every fill for a
while (`delay_fills`).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

FaultKind = Literal["none", "rate_limit", "server_error", "stall", "die"]
# invalid_json: a text frame that starts like JSON but does not parse; wrong_shape: valid JSON for a
# subscribed channel whose fields have the wrong types.
MalformedKind = Literal["invalid_json", "wrong_shape"]
MALFORMED_KINDS: tuple[str, ...] = ("invalid_json", "wrong_shape")
_CONFIG_KEYS = {"reset", "rate_limit", "server_error", "stall", "die_after_candle_requests", "match",
                "ws_drop", "ws_stall", "ws_malformed", "ws_repeat", "ws_reorder",
                "reject_orders", "fail_tpsl", "drop_private_ws", "delay_fills"}
# Bitget's wording of the codes a trading fault is most often asked for.
ERROR_MESSAGES = {
    "40762": "The order amount exceeds the balance",
    "43012": "Insufficient balance",
    "40015": "System is abnormal, please try again later",
    "40786": "Duplicate clientOid",
    "22002": "No position to close",
    "40757": "Not enough position is available.",
    "45110": "less than the minimum amount 5 USDT",
}


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
        self._ws_drops: list[bool] = []  # one entry per requested drop: abrupt?
        self._ws_stall_until = 0.0  # time.monotonic() until which no push is sent
        self._ws_malformed: list[str] = []
        self._ws_repeat = 0
        self._ws_reorder = 0
        self._order_rejects: list[tuple[str, str]] = []  # (code, msg) per refused order
        self._tpsl_failures: list[tuple[str, str]] = []
        self._private_ws_drops: list[bool] = []
        self._fills_held_until = 0.0  # time.monotonic() until which nothing fills

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

    # ---------------------------------------------------------------- WebSocket faults
    def ws_drop(self, *, abrupt: bool = False) -> Faults:
        """Close every open WebSocket (a close frame, or with `abrupt` the TCP connection without one)."""
        with self._lock:
            self._ws_drops.append(bool(abrupt))
        return self

    def ws_stall(self, seconds: float) -> Faults:
        """Push nothing for `seconds` (real time); the connection stays up and still answers `ping`.

        Events that fall due meanwhile are delivered afterwards, as a real exchange catching up would.
        """
        if not seconds > 0:
            raise ValueError(f"ws_stall: seconds must be > 0, got {seconds}")
        with self._lock:
            self._ws_stall_until = max(self._ws_stall_until, time.monotonic() + float(seconds))
        return self

    def ws_malformed(self, count: int = 1, *, kind: MalformedKind = "invalid_json") -> Faults:
        """Send `count` malformed frames to every subscribed connection on the next tick."""
        if count < 1:
            raise ValueError("ws_malformed: count must be >= 1")
        if kind not in MALFORMED_KINDS:
            raise ValueError(f"ws_malformed: kind must be one of {', '.join(MALFORMED_KINDS)}, got {kind!r}")
        with self._lock:
            self._ws_malformed.extend([kind] * int(count))
        return self

    def ws_repeat(self, count: int = 1) -> Faults:
        """The next `count` closed candles are delivered twice: again after the next candle's first update."""
        if count < 1:
            raise ValueError("ws_repeat: count must be >= 1")
        with self._lock:
            self._ws_repeat += int(count)
        return self

    def ws_reorder(self, count: int = 1) -> Faults:
        """The next `count` times a candle closes, its final update is held back and sent after the
        final update of the candle that follows it (so two closed candles arrive swapped)."""
        if count < 1:
            raise ValueError("ws_reorder: count must be >= 1")
        with self._lock:
            self._ws_reorder += int(count)
        return self

    # ---------------------------------------------------------------- trading faults
    def reject_orders(self, count: int = 1, *, code: str = "40762", msg: str | None = None) -> Faults:
        """Refuse the next `count` orders (place-order, close-positions) with Bitget error `code`."""
        if count < 1:
            raise ValueError("reject_orders: count must be >= 1")
        with self._lock:
            self._order_rejects.extend([_coded(code, msg)] * int(count))
        return self

    def fail_tpsl(self, count: int = 1, *, code: str = "40015", msg: str | None = None) -> Faults:
        """Fail the next `count` TP/SL placements (place-tpsl-order) with Bitget error `code`."""
        if count < 1:
            raise ValueError("fail_tpsl: count must be >= 1")
        with self._lock:
            self._tpsl_failures.extend([_coded(code, msg)] * int(count))
        return self

    def drop_private_ws(self, *, abrupt: bool = False) -> Faults:
        """Close every private WebSocket (a close frame, or with `abrupt` the TCP connection)."""
        with self._lock:
            self._private_ws_drops.append(bool(abrupt))
        return self

    def delay_fills(self, seconds: float) -> Faults:
        """For `seconds` (real time) nothing fills: orders are accepted and wait; what fell due fills after."""
        if not seconds > 0:
            raise ValueError(f"delay_fills: seconds must be > 0, got {seconds}")
        with self._lock:
            self._fills_held_until = max(self._fills_held_until, time.monotonic() + float(seconds))
        return self

    def take_order_reject(self) -> tuple[str, str] | None:
        with self._lock:
            return self._order_rejects.pop(0) if self._order_rejects else None

    def take_tpsl_failure(self) -> tuple[str, str] | None:
        with self._lock:
            return self._tpsl_failures.pop(0) if self._tpsl_failures else None

    def take_private_ws_drop(self) -> bool | None:
        with self._lock:
            return self._private_ws_drops.pop(0) if self._private_ws_drops else None

    def fills_delayed(self) -> bool:
        with self._lock:
            return time.monotonic() < self._fills_held_until

    def take_ws_drop(self) -> bool | None:
        """None if no drop is pending, else whether it is abrupt (consumes it)."""
        with self._lock:
            return self._ws_drops.pop(0) if self._ws_drops else None

    def ws_stalled(self) -> bool:
        with self._lock:
            return time.monotonic() < self._ws_stall_until

    def take_ws_malformed(self) -> list[str]:
        with self._lock:
            kinds, self._ws_malformed = self._ws_malformed, []
            return kinds

    def take_ws_repeat(self) -> bool:
        with self._lock:
            if self._ws_repeat <= 0:
                return False
            self._ws_repeat -= 1
            return True

    def take_ws_reorder(self) -> bool:
        with self._lock:
            if self._ws_reorder <= 0:
                return False
            self._ws_reorder -= 1
            return True

    def reset(self) -> Faults:
        with self._lock:
            self._pending.clear()
            self._die_after = None
            self.dead = False
            self._ws_drops.clear()
            self._ws_stall_until = 0.0
            self._ws_malformed.clear()
            self._ws_repeat = self._ws_reorder = 0
            self._order_rejects.clear()
            self._tpsl_failures.clear()
            self._private_ws_drops.clear()
            self._fills_held_until = 0.0
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
        seconds}), die_after_candle_requests (int), match (path substring applied to the new faults);
        WebSocket: ws_drop (true or {abrupt}), ws_stall (seconds), ws_malformed (int or {count, kind}),
        ws_repeat (int), ws_reorder (int); trading: reject_orders (int or {count, code, msg}), fail_tpsl
        (int or {count, code, msg}), drop_private_ws (true or {abrupt}), delay_fills (seconds).
        """
        unknown = set(spec) - _CONFIG_KEYS
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
        if spec.get("ws_drop"):
            drop = spec["ws_drop"]
            self.ws_drop(abrupt=bool(drop.get("abrupt", False)) if isinstance(drop, dict) else False)
        if "ws_stall" in spec:
            self.ws_stall(float(spec["ws_stall"]))
        if "ws_malformed" in spec:
            mf = spec["ws_malformed"]
            mf = mf if isinstance(mf, dict) else {"count": mf}
            self.ws_malformed(int(mf.get("count", 1)), kind=mf.get("kind", "invalid_json"))
        if "ws_repeat" in spec:
            self.ws_repeat(int(spec["ws_repeat"]))
        if "ws_reorder" in spec:
            self.ws_reorder(int(spec["ws_reorder"]))
        for key, method in (("reject_orders", self.reject_orders), ("fail_tpsl", self.fail_tpsl)):
            if key in spec:
                value = spec[key]
                value = value if isinstance(value, dict) else {"count": value}
                default_code = "40762" if key == "reject_orders" else "40015"
                method(int(value.get("count", 1)), code=str(value.get("code", default_code)), msg=value.get("msg"))
        if spec.get("drop_private_ws"):
            drop = spec["drop_private_ws"]
            self.drop_private_ws(abrupt=bool(drop.get("abrupt", False)) if isinstance(drop, dict) else False)
        if "delay_fills" in spec:
            self.delay_fills(float(spec["delay_fills"]))
        return self

    def _push(self, pending: _Pending) -> Faults:
        if pending.remaining < 1:
            raise ValueError(f"fault {pending.kind}: count must be >= 1")
        with self._lock:
            self._pending.append(pending)
        return self


def _coded(code: str, msg: str | None) -> tuple[str, str]:
    code = str(code)
    if not code.isdigit():
        raise ValueError(f"trading fault: code must be a Bitget numeric code like '40762', got {code!r}")
    return code, msg if msg is not None else ERROR_MESSAGES.get(code, f"emulator fault {code}")
