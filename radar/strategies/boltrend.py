"""boltrend: the single-position form of grid_boltrend's Bollinger breakout (SPEC §6).

Entry when the previous close was inside its band and this close is outside this band, the band is
wide enough (spread = (upper - lower) / mid, in percent) and the close is on the trend side of the
long SMA. Exit when the close crosses back over the Bollinger SMA, or at the percent stop.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

from radar.strategies.base import IndicatorSpec, Signal, SingleStrategy, StrategyContext, finite
from radar.strategies.registry import register

_BAND = ("bb_mid", "bb_upper", "bb_lower")


def bollinger_breakout(prev: Mapping[str, float], cur: Mapping[str, float], min_spread_pct: float) -> int:
    """+1 / -1 on an upward / downward breakout confirmed by the long SMA, else 0."""
    prev_close, close = prev["close"], cur["close"]
    if not prev["bb_lower"] <= prev_close <= prev["bb_upper"]:
        return 0
    spread_pct = (cur["bb_upper"] - cur["bb_lower"]) / cur["bb_mid"] * 100
    if spread_pct <= min_spread_pct:
        return 0
    if close > cur["bb_upper"] and close > cur["long_ma"]:
        return 1
    if close < cur["bb_lower"] and close < cur["long_ma"]:
        return -1
    return 0


@register
class Boltrend(SingleStrategy):
    name = "boltrend"

    def indicator_specs(self) -> dict[str, IndicatorSpec]:
        p = self.params
        return {"bb": IndicatorSpec("bollinger", (p.bol_period, p.bol_std)),
                "long_ma": IndicatorSpec("sma", (p.long_ma_period,))}

    def is_ready(self, ctx: StrategyContext) -> bool:
        cur = (ctx.cur.get(k, math.nan) for k in (*_BAND, "long_ma"))
        prev = (ctx.prev.get(k, math.nan) for k in (*_BAND, "close"))
        return finite(*cur, *prev)

    def evaluate(self, ctx: StrategyContext) -> Signal | None:
        side = bollinger_breakout(ctx.prev, ctx.cur, self.params.min_bol_spread_pct)
        if side == 0:
            return None
        close = ctx.candle.close
        return Signal(side, math.nan, close * (1 - side * self.params.sl_percent / 100),
                      "bollinger_breakout_up" if side > 0 else "bollinger_breakout_down")

    def exit_signal(self, ctx: StrategyContext, side: int, entry_price: float, memory: Mapping[str, float]) -> str | None:
        if (ctx.candle.close - ctx.cur["bb_mid"]) * side < 0:
            return "sma_cross"
        return None
