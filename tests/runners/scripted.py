"""Test double for a runner's indicator bank: indicator values are scripted per candle, so each
rule of SPEC §5 can be exercised with round numbers."""
from __future__ import annotations

import math
from typing import Any

from radar.models import Candle

H = 3_600_000
T0 = 1_600_000_000_000 // H * H + 3 * H  # an hour that is not a funding hour


class ScriptedBank:
    def __init__(self, values: list[dict[str, float]]) -> None:
        self.values = values
        self.i = -1

    def update(self, candle: Candle) -> dict[str, float]:
        self.i += 1
        v = dict(self.values[self.i]) if self.i < len(self.values) else {}
        v.update(open=candle.open, high=candle.high, low=candle.low, close=candle.close, volume=candle.volume)
        return v

    def to_state(self) -> dict[str, Any]:
        return {"i": self.i}

    def load_state(self, state: dict[str, Any]) -> None:
        self.i = state["i"]


def candle(i: int, o: float, h: float, l: float, c: float, t0: int = T0) -> Candle:
    return Candle(t0 + i * H, o, h, l, c, 1.0, "BTC/USDT:USDT", "1h")


NAN = math.nan
