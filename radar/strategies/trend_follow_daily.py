"""trend_follow_daily (1d): EMA fast/slow cross confirmed by ADX, ATR trailing stop, exit on the
opposite cross (SPEC §6).

The stop starts at `sl_percent` from the signal close and then trails `trail_atr_mult` ATRs behind
the best price since entry; it only ever moves in the trade's favour (ratchet).
"""
from __future__ import annotations

import math
from collections.abc import Mapping

from radar.strategies.base import IndicatorSpec, Signal, SingleStrategy, StrategyContext, finite
from radar.strategies.registry import register


def trail_stop(side: int, sl: float, extreme: float, atr: float, mult: float) -> float:
    """The ratcheted stop: `extreme ∓ mult*ATR`, never looser than the current `sl` (NaN sl: none yet)."""
    candidate = extreme - side * mult * atr
    if math.isnan(sl):
        return candidate
    return max(sl, candidate) if side > 0 else min(sl, candidate)


@register
class TrendFollowDaily(SingleStrategy):
    name = "trend_follow_daily"

    def indicator_specs(self) -> dict[str, IndicatorSpec]:
        p = self.params
        return {"ema_fast": IndicatorSpec("ema", (p.ema_fast,)), "ema_slow": IndicatorSpec("ema", (p.ema_slow,)),
                "adx": IndicatorSpec("adx", (p.adx_period,)), "atr": IndicatorSpec("atr", (p.atr_period,))}

    def is_ready(self, ctx: StrategyContext) -> bool:
        return finite(*(ctx.cur.get(k, math.nan) for k in ("ema_fast", "ema_slow", "adx", "atr")),
                      ctx.prev.get("ema_fast", math.nan), ctx.prev.get("ema_slow", math.nan))

    def evaluate(self, ctx: StrategyContext) -> Signal | None:
        p, prev, cur = self.params, ctx.prev, ctx.cur
        if cur["adx"] < p.adx_threshold:
            return None
        if prev["ema_fast"] <= prev["ema_slow"] and cur["ema_fast"] > cur["ema_slow"]:
            side = 1
        elif prev["ema_fast"] >= prev["ema_slow"] and cur["ema_fast"] < cur["ema_slow"]:
            side = -1
        else:
            return None
        close = ctx.candle.close
        return Signal(side, math.nan, close * (1 - side * p.sl_percent / 100),
                      "ema_cross_up" if side > 0 else "ema_cross_down")

    def exit_signal(self, ctx: StrategyContext, side: int, entry_price: float, memory: Mapping[str, float]) -> str | None:
        if (ctx.cur["ema_fast"] - ctx.cur["ema_slow"]) * side < 0:
            return "ema_cross"
        return None

    def update_stops(self, ctx: StrategyContext, side: int, entry_price: float, tp: float, sl: float,
                     memory: Mapping[str, float]) -> tuple[float, float, Mapping[str, float]]:
        c = ctx.candle
        best = c.high if side > 0 else c.low
        extreme = memory.get("extreme", best)
        extreme = max(extreme, best) if side > 0 else min(extreme, best)
        new_sl = trail_stop(side, sl, extreme, ctx.cur["atr"], self.params.trail_atr_mult)
        return tp, new_sl, {**memory, "extreme": extreme}
