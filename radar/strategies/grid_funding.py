"""grid_funding: buy when the funding rate is deeply negative (shorts pay longs), sell on normalisation.

Levels: LONG level k is active on candle i when the funding rate in force at candle i
(`ctx.funding_rate`, forward-filled by the caller) is <= -(funding_start + k*funding_step). Entry price
(design choice): an active level rests as a limit at the previous close (`ctx.prev["close"]`), so it fills
at that price (+ slippage) whenever candle i trades at or below it - nearly always, since a candle opens
at the previous close - and a gap up leaves it unfilled, as a real resting limit would be. No funding
rate known -> no levels.

Exits: SL on the average entry (sl_percent) at any time. The take-profit is a rule exit at the close of
candle i, once the grid has been held min_hold_candles candles (i - first entry index >= min_hold):
tp_mode "funding_positive" when the funding in force is > 0, "sma_cross" when close_i > SMA_i, "both"
when either happens (both rules armed; the reason names the one that fired, funding first).
"""
from __future__ import annotations

import math

from radar.strategies.base import GridLevel, GridState, GridStrategy, IndicatorSpec, StrategyContext, finite
from radar.strategies.registry import register


@register
class GridFunding(GridStrategy):
    name = "grid_funding"

    def indicator_specs(self) -> dict[str, IndicatorSpec]:
        return {"sma": IndicatorSpec("sma", (self.params.ma_period,))}

    def thresholds(self) -> list[float]:
        p = self.params
        return [-(p.funding_start + k * p.funding_step) for k in range(p.num_levels)]

    def compute_grid(self, ctx: StrategyContext, state: GridState) -> list[GridLevel]:
        rate = ctx.funding_rate
        if rate is None or not finite(rate):
            return []
        price = ctx.prev["close"]
        return [GridLevel(k, price, 1) for k, t in enumerate(self.thresholds()) if rate <= t]

    def get_tp_price(self, ctx: StrategyContext, state: GridState) -> float:
        return math.nan  # the take-profit is a rule exit (should_close_all)

    def get_sl_price(self, ctx: StrategyContext, state: GridState) -> float:
        return state.avg_entry * (1 - self.params.sl_percent / 100)

    def should_close_all(self, ctx: StrategyContext, state: GridState) -> str | None:
        p = self.params
        if ctx.index - state.first_entry_index < p.min_hold_candles:
            return None
        rate = ctx.funding_rate
        if p.tp_mode in ("funding_positive", "both") and rate is not None and finite(rate) and rate > 0:
            return "funding_positive"
        sma = ctx.cur.get("sma", math.nan)
        if p.tp_mode in ("sma_cross", "both") and finite(sma) and ctx.candle.close > sma:
            return "sma_cross"
        return None
