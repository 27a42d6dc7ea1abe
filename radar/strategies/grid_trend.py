"""grid_trend: trend-following pull-back grid.

Direction (from `ctx.prev`, the information the resting orders were placed on): +1 when EMA_fast >
EMA_slow, -1 when below, and only while ADX > adx_threshold; otherwise the market is neutral and
`entries_allowed` is False (open grids are still managed). Levels: LONG k = EMA_fast - ATR*(pull_start
+ k*pull_step), SHORT mirrors with `+`. No TP (NaN). The stop folds an ATR trailing stop into the
fixed one: LONG stop = max(avg*(1 - sl%), extreme - trail_atr_mult*ATR), where extreme is the runner's
high-water mark since the first entry (it includes the current candle's high, the conservative
reading of an unknown intra-candle path) and ATR is that of candle i-1. SHORT mirrors with min and the
low-water mark. The grid is force-closed at the close of a candle whose EMAs (`ctx.cur`) cross against
it (reason "flip").
"""
from __future__ import annotations

import math
from collections.abc import Mapping

from radar.strategies.base import GridLevel, GridState, GridStrategy, IndicatorSpec, StrategyContext, finite
from radar.strategies.grid_atr import side_signs
from radar.strategies.registry import register


def trailing_stop(side: int, avg_entry: float, sl_percent: float, extreme: float, atr: float, trail_mult: float) -> float:
    """The tighter of the fixed stop on the average entry and the ATR trail from the extreme."""
    fixed = avg_entry * (1 - side * sl_percent / 100)
    if not finite(extreme, atr):
        return fixed
    trail = extreme - side * trail_mult * atr
    return max(fixed, trail) if side > 0 else min(fixed, trail)


@register
class GridTrend(GridStrategy):
    name = "grid_trend"

    def indicator_specs(self) -> dict[str, IndicatorSpec]:
        p = self.params
        return {
            "ema_fast": IndicatorSpec("ema", (p.ema_fast,)),
            "ema_slow": IndicatorSpec("ema", (p.ema_slow,)),
            "adx": IndicatorSpec("adx", (p.adx_period,)),
            "atr": IndicatorSpec("atr", (p.atr_period,)),
        }

    def is_ready(self, ctx: StrategyContext) -> bool:
        return super().is_ready(ctx) and ctx.prev["atr"] > 0

    def direction(self, values: Mapping[str, float]) -> int:
        """+1 / -1 from the EMAs when ADX > threshold, 0 when neutral (`values`: ctx.prev or ctx.cur)."""
        fast, slow, adx = values.get("ema_fast", math.nan), values.get("ema_slow", math.nan), values.get("adx", math.nan)
        if not finite(fast, slow, adx) or adx <= self.params.adx_threshold or fast == slow:
            return 0
        return 1 if fast > slow else -1

    def entries_allowed(self, ctx: StrategyContext, state: GridState) -> bool:
        d = self.direction(ctx.prev)
        return d != 0 and d in side_signs(self.params.sides)

    def compute_grid(self, ctx: StrategyContext, state: GridState) -> list[GridLevel]:
        p = self.params
        side = self.direction(ctx.prev)
        if side == 0 or side not in side_signs(p.sides):
            return []
        ema, atr = ctx.prev["ema_fast"], ctx.prev["atr"]
        return [GridLevel(k, ema - side * atr * (p.pull_start + k * p.pull_step), side) for k in range(p.num_levels)]

    def get_tp_price(self, ctx: StrategyContext, state: GridState) -> float:
        return math.nan

    def get_sl_price(self, ctx: StrategyContext, state: GridState) -> float:
        p = self.params
        return trailing_stop(state.side, state.avg_entry, p.sl_percent, state.extreme, ctx.prev["atr"], p.trail_atr_mult)

    def should_close_all(self, ctx: StrategyContext, state: GridState) -> str | None:
        fast, slow = ctx.cur["ema_fast"], ctx.cur["ema_slow"]
        if finite(fast, slow) and (fast - slow) * state.side < 0:
            return "flip"
        return None
