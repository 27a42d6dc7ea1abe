"""grid_atr: mean reversion to an SMA with entry levels spaced in ATRs (SPEC §5, the reference grid)."""
from __future__ import annotations

import math

from radar.strategies.base import GridLevel, GridState, GridStrategy, IndicatorSpec, StrategyContext
from radar.strategies.registry import register


def atr_grid_levels(sma: float, atr: float, close: float, min_spacing_pct: float, start: float, step: float,
                    num_levels: int, sides: tuple[int, ...]) -> list[GridLevel]:
    """Levels k = SMA -/+ eff_atr * (start + k*step), eff_atr = max(ATR, close * min_spacing_pct/100)."""
    eff_atr = max(atr, close * min_spacing_pct / 100)
    levels = []
    for side in sides:
        for k in range(num_levels):
            price = sma - side * eff_atr * (start + k * step)
            levels.append(GridLevel(k, price, side))
    return levels


def side_signs(sides: list[str] | tuple[str, ...]) -> tuple[int, ...]:
    return tuple(1 if s == "long" else -1 for s in sides)


@register
class GridATR(GridStrategy):
    name = "grid_atr"

    def indicator_specs(self) -> dict[str, IndicatorSpec]:
        p = self.params
        return {"sma": IndicatorSpec("sma", (p.ma_period,)), "atr": IndicatorSpec("atr", (p.atr_period,))}

    def is_ready(self, ctx: StrategyContext) -> bool:
        sma, atr = ctx.prev.get("sma", math.nan), ctx.prev.get("atr", math.nan)
        return not math.isnan(sma) and not math.isnan(atr) and atr > 0

    def compute_grid(self, ctx: StrategyContext, state: GridState) -> list[GridLevel]:
        p = self.params
        return atr_grid_levels(ctx.prev["sma"], ctx.prev["atr"], ctx.prev["close"], p.min_grid_spacing_pct,
                               p.atr_multiplier_start, p.atr_multiplier_step, p.num_levels, side_signs(p.sides))

    def get_tp_price(self, ctx: StrategyContext, state: GridState) -> float:
        return ctx.cur["sma"]

    def tp_condition(self, ctx: StrategyContext, state: GridState) -> bool:
        mpp = self.params.min_profit_pct
        if mpp <= 0:
            return True
        c = ctx.candle
        if state.side > 0:
            return c.high >= state.avg_entry * (1 + mpp / 100)
        return c.low <= state.avg_entry * (1 - mpp / 100)

    def get_sl_price(self, ctx: StrategyContext, state: GridState) -> float:
        return state.avg_entry * (1 - state.side * self.params.sl_percent / 100)

    def entries_allowed(self, ctx: StrategyContext, state: GridState) -> bool:
        m = self.params.min_atr_pct
        if m <= 0:
            return True
        atr = ctx.cur["atr"]
        return not math.isnan(atr) and atr / ctx.candle.close * 100 >= m
