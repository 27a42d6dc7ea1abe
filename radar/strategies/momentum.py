"""momentum (5m): breakout of the previous N-candle high/low on heavy volume, only while the 15m
ADX confirms a trend (SPEC §6). Fixed percent TP/SL."""
from __future__ import annotations

import math

from radar.strategies.base import IndicatorSpec, Signal, SingleStrategy, StrategyContext, finite
from radar.strategies.registry import register
from radar.strategies.supertrend import percent_stops


@register
class Momentum(SingleStrategy):
    name = "momentum"

    def indicator_specs(self) -> dict[str, IndicatorSpec]:
        p = self.params
        return {"range": IndicatorSpec("donchian", (p.breakout_period,)),
                "vol_sma": IndicatorSpec("sma", (p.vol_sma_period, "volume")),
                "adx_15m": IndicatorSpec("adx", (p.adx_period,), htf="15m")}

    def is_ready(self, ctx: StrategyContext) -> bool:
        # The channel after candle i includes candle i; the breakout level is the one after i-1.
        return finite(ctx.prev.get("range_upper", math.nan), ctx.prev.get("range_lower", math.nan),
                      ctx.cur.get("vol_sma", math.nan), ctx.cur.get("adx_15m", math.nan))

    def evaluate(self, ctx: StrategyContext) -> Signal | None:
        p, cur, close = self.params, ctx.cur, ctx.candle.close
        if cur["adx_15m"] < p.adx_15m_min or not ctx.candle.volume > cur["vol_sma"] * p.vol_mult:
            return None
        if close > ctx.prev["range_upper"]:
            side = 1
        elif close < ctx.prev["range_lower"]:
            side = -1
        else:
            return None
        tp, sl = percent_stops(close, side, p.tp_percent, p.sl_percent)
        return Signal(side, tp, sl, "breakout_high" if side > 0 else "breakout_low")
