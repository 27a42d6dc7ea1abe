"""grid_multi_tf: grid_atr levels on one side at a time, the side chosen by a higher-timeframe Supertrend.

Direction = Supertrend direction of the last CLOSED `st_timeframe` bucket (4h by default), read from
`ctx.prev` like the levels (orders resting during candle i were placed on information up to i-1).
+1 -> LONG levels, -1 -> SHORT levels (only sides listed in `sides`). When the direction seen at
the close of candle i (`ctx.cur`) disagrees with the open grid's side, everything closes at that
close with reason "flip". TP/SL, min_profit_pct and min_atr_pct are grid_atr's.
"""
from __future__ import annotations

import math

from radar.strategies.base import GridLevel, GridState, IndicatorSpec, StrategyContext
from radar.strategies.grid_atr import GridATR, atr_grid_levels, side_signs
from radar.strategies.registry import register


@register
class GridMultiTF(GridATR):
    name = "grid_multi_tf"

    def indicator_specs(self) -> dict[str, IndicatorSpec]:
        p = self.params
        specs = super().indicator_specs()
        specs["st"] = IndicatorSpec("supertrend", (p.st_atr_period, p.st_atr_multiplier), htf=p.st_timeframe)
        return specs

    def is_ready(self, ctx: StrategyContext) -> bool:
        # Not ready until the higher-timeframe Supertrend has a direction.
        return super().is_ready(ctx) and not math.isnan(ctx.prev.get("st_dir", math.nan))

    def compute_grid(self, ctx: StrategyContext, state: GridState) -> list[GridLevel]:
        p = self.params
        direction = int(ctx.prev["st_dir"])
        if direction not in side_signs(p.sides):
            return []
        return atr_grid_levels(ctx.prev["sma"], ctx.prev["atr"], ctx.prev["close"], p.min_grid_spacing_pct,
                               p.atr_multiplier_start, p.atr_multiplier_step, p.num_levels, (direction,))

    def should_close_all(self, ctx: StrategyContext, state: GridState) -> str | None:
        direction = ctx.cur.get("st_dir", math.nan)
        if not math.isnan(direction) and int(direction) != state.side:
            return "flip"
        return None
