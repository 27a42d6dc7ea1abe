"""bollinger_mr: fade a close outside the Bollinger band, exit when price crosses back over the SMA or
the regime turns from RANGING to TRENDING (SPEC §6)."""
from __future__ import annotations

import math
from collections.abc import Mapping

from radar.strategies.base import IndicatorSpec, Signal, SingleStrategy, StrategyContext, finite
from radar.strategies.registry import register

# ADX(14) / ATR(14) on the strategy's own timeframe; the runner reads it only to detect the change.
REGIME_SPEC = IndicatorSpec("regime", (14, 14))


@register
class BollingerMR(SingleStrategy):
    name = "bollinger_mr"
    # A market that starts trending stops reverting to its mean: leave on a RANGING -> TRENDING change.
    close_on_regime_change = True

    def indicator_specs(self) -> dict[str, IndicatorSpec]:
        p = self.params
        return {"bb": IndicatorSpec("bollinger", (p.bol_period, p.bol_std)), "regime": REGIME_SPEC}

    def is_ready(self, ctx: StrategyContext) -> bool:
        return finite(*(ctx.cur.get(k, math.nan) for k in ("bb_mid", "bb_upper", "bb_lower")))

    def evaluate(self, ctx: StrategyContext) -> Signal | None:
        close, sl = ctx.candle.close, self.params.sl_percent / 100
        if close < ctx.cur["bb_lower"]:
            return Signal(1, math.nan, close * (1 - sl), "below_lower_band")
        if close > ctx.cur["bb_upper"]:
            return Signal(-1, math.nan, close * (1 + sl), "above_upper_band")
        return None

    def exit_signal(self, ctx: StrategyContext, side: int, entry_price: float, memory: Mapping[str, float]) -> str | None:
        # The mean is the target: leave as soon as the close is back on the SMA or beyond it.
        if (ctx.candle.close - ctx.cur["bb_mid"]) * side >= 0:
            return "sma_cross"
        return None
