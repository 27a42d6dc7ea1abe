"""grid_momentum: a Donchian breakout confirmed by volume, DCA levels on pull-backs, ATR trailing stop.

Breakout at candle i: LONG when close_i > the Donchian upper of candle i-1 (the highest high of the
`donchian_period` candles before i; `ctx.prev["dc_upper"]`) and volume_i > volume SMA of candle i-1
* vol_mult (a spike against the recent average, which does not include the spike itself). SHORT
mirrors with the Donchian lower.

Anchoring (same design as grid_boltrend, see there): the breakout of candle i is recorded as pending
(`pending_anchor` = close_i, ATR_i) and armed from candle i+1: level k = anchor ∓ anchor_atr *
(pullback_atr_start + k*pullback_atr_step). While flat an armed anchor is dropped once a candle has
closed back through the middle of its Donchian channel (momentum failed; judged on `ctx.prev`) or is
replaced by a newer breakout; while a grid is open the memory is frozen.

Exit: no TP; stop = max(avg*(1 - sl%), extreme - trail_atr_mult*ATR_{i-1}) for LONG (min / low-water
mark for SHORT), the same trailing stop as grid_trend.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

from radar.strategies.base import GridLevel, GridState, GridStrategy, IndicatorSpec, StrategyContext, finite
from radar.strategies.grid_atr import side_signs
from radar.strategies.grid_boltrend import armed_anchor, step_anchor
from radar.strategies.grid_trend import trailing_stop
from radar.strategies.registry import register


def donchian_volume_breakout(ctx: StrategyContext, vol_mult: float, sides: tuple[int, ...]) -> int:
    """+1 / -1 for a volume-confirmed breakout of the previous channel at the close of candle i, else 0."""
    up, lo, vsma = ctx.prev["dc_upper"], ctx.prev["dc_lower"], ctx.prev["vol_sma"]
    c = ctx.candle
    if not finite(up, lo, vsma) or c.volume <= vsma * vol_mult:
        return 0
    if 1 in sides and c.close > up:
        return 1
    if -1 in sides and c.close < lo:
        return -1
    return 0


@register
class GridMomentum(GridStrategy):
    name = "grid_momentum"

    def indicator_specs(self) -> dict[str, IndicatorSpec]:
        p = self.params
        return {
            "dc": IndicatorSpec("donchian", (p.donchian_period,)),
            "vol_sma": IndicatorSpec("sma", (p.vol_sma_period, "volume")),
            "atr": IndicatorSpec("atr", (p.atr_period,)),
        }

    def is_ready(self, ctx: StrategyContext) -> bool:
        p = ctx.prev
        atr = p.get("atr", math.nan)
        return finite(p.get("dc_upper", math.nan), p.get("dc_lower", math.nan), p.get("vol_sma", math.nan), atr) \
            and atr > 0

    def update_memory(self, ctx: StrategyContext, state: GridState) -> Mapping[str, float] | None:
        if state.side != 0:
            return None  # the anchor is frozen while the grid is open
        p = self.params
        signal = donchian_volume_breakout(ctx, p.vol_mult, side_signs(p.sides))
        prev = ctx.prev
        mid = (prev["dc_upper"] + prev["dc_lower"]) / 2
        return step_anchor(state.memory, lambda side: (prev["close"] - mid) * side < 0, signal,
                           ctx.candle.close, ctx.cur["atr"])

    def compute_grid(self, ctx: StrategyContext, state: GridState) -> list[GridLevel]:
        armed = armed_anchor(state.memory)
        if armed is None:
            return []
        anchor, atr, side = armed
        p = self.params
        return [GridLevel(k, anchor - side * atr * (p.pullback_atr_start + k * p.pullback_atr_step), side)
                for k in range(p.num_levels)]

    def get_tp_price(self, ctx: StrategyContext, state: GridState) -> float:
        return math.nan

    def get_sl_price(self, ctx: StrategyContext, state: GridState) -> float:
        p = self.params
        return trailing_stop(state.side, state.avg_entry, p.sl_percent, state.extreme, ctx.prev["atr"], p.trail_atr_mult)
