"""supertrend: enter in the new direction when the Supertrend flips, fixed percent TP/SL (SPEC §6)."""
from __future__ import annotations

import math

from radar.strategies.base import IndicatorSpec, Signal, SingleStrategy, StrategyContext, finite
from radar.strategies.registry import register


def percent_stops(close: float, side: int, tp_percent: float, sl_percent: float) -> tuple[float, float]:
    """(TP, SL) at fixed percent distances from the signal close, on the profitable/losing side of `side`."""
    return close * (1 + side * tp_percent / 100), close * (1 - side * sl_percent / 100)


@register
class SupertrendStrategy(SingleStrategy):
    name = "supertrend"

    def indicator_specs(self) -> dict[str, IndicatorSpec]:
        p = self.params
        return {"st": IndicatorSpec("supertrend", (p.atr_period, p.atr_multiplier))}

    def is_ready(self, ctx: StrategyContext) -> bool:
        return finite(ctx.cur.get("st_dir", math.nan), ctx.prev.get("st_dir", math.nan))

    def evaluate(self, ctx: StrategyContext) -> Signal | None:
        prev_dir, cur_dir = ctx.prev["st_dir"], ctx.cur["st_dir"]
        if prev_dir == cur_dir:
            return None
        side = 1 if cur_dir > 0 else -1
        tp, sl = percent_stops(ctx.candle.close, side, self.params.tp_percent, self.params.sl_percent)
        return Signal(side, tp, sl, "supertrend_flip_up" if side > 0 else "supertrend_flip_down")
