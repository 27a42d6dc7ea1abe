"""donchian_breakout: close beyond the previous N-candle channel, TP/SL in ATR multiples (SPEC §6)."""
from __future__ import annotations

import math

from radar.strategies.base import IndicatorSpec, Signal, SingleStrategy, StrategyContext, finite
from radar.strategies.registry import register


@register
class DonchianBreakout(SingleStrategy):
    name = "donchian_breakout"

    def indicator_specs(self) -> dict[str, IndicatorSpec]:
        p = self.params
        return {"dc": IndicatorSpec("donchian", (p.donchian_period,)), "atr": IndicatorSpec("atr", (p.atr_period,))}

    def is_ready(self, ctx: StrategyContext) -> bool:
        # The channel published after candle i includes candle i, so the breakout level is the previous one.
        atr = ctx.cur.get("atr", math.nan)
        return finite(atr, ctx.prev.get("dc_upper", math.nan), ctx.prev.get("dc_lower", math.nan)) and atr > 0

    def evaluate(self, ctx: StrategyContext) -> Signal | None:
        p, close, atr = self.params, ctx.candle.close, ctx.cur["atr"]
        if close > ctx.prev["dc_upper"]:
            return Signal(1, close + p.tp_atr_mult * atr, close - p.sl_atr_mult * atr, "donchian_high_breakout")
        if close < ctx.prev["dc_lower"]:
            return Signal(-1, close - p.tp_atr_mult * atr, close + p.sl_atr_mult * atr, "donchian_low_breakout")
        return None
