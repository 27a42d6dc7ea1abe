"""funding (live/paper only): contrarian entry when the funding rate is extreme — crowded longs pay
a very positive rate, so go short; very negative, go long — and leave when funding normalises
(back inside the threshold), after `max_hold_candles`, or at the percent TP/SL (SPEC §6).

`extreme_funding_pct` is in percent per funding period (0.1 -> a rate of 0.001).
"""
from __future__ import annotations

from collections.abc import Mapping

from radar.strategies.base import IndicatorSpec, Signal, SingleStrategy, StrategyContext
from radar.strategies.registry import register
from radar.strategies.supertrend import percent_stops


@register
class FundingContrarian(SingleStrategy):
    name = "funding"
    live_only = True

    def indicator_specs(self) -> dict[str, IndicatorSpec]:
        return {}

    @property
    def threshold(self) -> float:
        return self.params.extreme_funding_pct / 100

    def is_ready(self, ctx: StrategyContext) -> bool:
        # Needs no indicator; a missing rate only blocks entries (exits on TP/SL must still run).
        return True

    def evaluate(self, ctx: StrategyContext) -> Signal | None:
        rate = ctx.funding_rate
        if rate is None:
            return None
        if rate >= self.threshold:
            side = -1
        elif rate <= -self.threshold:
            side = 1
        else:
            return None
        tp, sl = percent_stops(ctx.candle.close, side, self.params.tp_percent, self.params.sl_percent)
        return Signal(side, tp, sl, "extreme_positive_funding" if side < 0 else "extreme_negative_funding")

    def exit_signal(self, ctx: StrategyContext, side: int, entry_price: float, memory: Mapping[str, float]) -> str | None:
        # `held` counts the candles after the entry candle already processed (see update_stops).
        if memory.get("held", 0.0) + 1 >= self.params.max_hold_candles:
            return "max_hold"
        rate = ctx.funding_rate
        if rate is not None and abs(rate) < self.threshold:
            return "funding_normalised"
        return None

    def update_stops(self, ctx: StrategyContext, side: int, entry_price: float, tp: float, sl: float,
                     memory: Mapping[str, float]) -> tuple[float, float, Mapping[str, float]]:
        return tp, sl, {**memory, "held": memory.get("held", 0.0) + 1}
