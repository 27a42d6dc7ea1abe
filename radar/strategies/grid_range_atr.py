"""grid_range_atr: a range grid with LONG and SHORT levels resting at once, each position with its own exit.

Levels (from `ctx.prev`): LONG k = SMA - (k+1)*ATR*atr_spacing with level index k (0..N-1), SHORT k =
SMA + (k+1)*ATR*atr_spacing with level index N+k (N..2N-1). Margin is split over `slots` = N * number
of sides. Each position exits on its own (`exit_mode = "per_position"`): TP = the SMA of candle i
(tp_mode "dynamic_sma") or the centre its grid was built around (tp_mode "fixed_center"); SL =
entry*(1 - sl%) for LONG, entry*(1 + sl%) for SHORT, entry = the position's fill price.

fixed_center bookkeeping (design choice): `update_memory` runs before the entries of every candle and
records `grid_center` = the SMA the levels of this candle are built from (prev SMA). At the next candle,
before overwriting it, every newly filled level gets `center_<level>` = that recorded centre, and
centres of levels no longer open are dropped. A position opened on candle j can first exit on candle
j+1, by which time its centre is stored.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

from radar.positions.grid import GridPosition
from radar.strategies.base import GridLevel, GridState, GridStrategy, IndicatorSpec, StrategyContext, finite
from radar.strategies.grid_atr import side_signs
from radar.strategies.registry import register


@register
class GridRangeATR(GridStrategy):
    name = "grid_range_atr"
    exit_mode = "per_position"

    @property
    def slots(self) -> int:
        return self.num_levels * len(self.params.sides)

    def indicator_specs(self) -> dict[str, IndicatorSpec]:
        p = self.params
        return {"sma": IndicatorSpec("sma", (p.ma_period,)), "atr": IndicatorSpec("atr", (p.atr_period,))}

    def is_ready(self, ctx: StrategyContext) -> bool:
        return super().is_ready(ctx) and ctx.prev["atr"] > 0

    def level_side(self, level: int) -> int:
        return 1 if level < self.num_levels else -1

    def compute_grid(self, ctx: StrategyContext, state: GridState) -> list[GridLevel]:
        p = self.params
        sma, atr = ctx.prev["sma"], ctx.prev["atr"]
        levels = []
        for side in side_signs(p.sides):
            base = 0 if side > 0 else p.num_levels
            for k in range(p.num_levels):
                levels.append(GridLevel(base + k, sma - side * (k + 1) * atr * p.atr_spacing, side))
        return levels

    def update_memory(self, ctx: StrategyContext, state: GridState) -> Mapping[str, float] | None:
        if self.params.tp_mode != "fixed_center":
            return None
        old = state.memory
        mem = {k: v for k, v in old.items() if k.startswith("center_") and int(k[7:]) in state.filled_levels}
        for level in state.filled_levels:
            key = f"center_{level}"
            if key not in mem and "grid_center" in old:
                mem[key] = old["grid_center"]
        mem["grid_center"] = ctx.prev["sma"]
        return mem

    def position_exit_prices(self, ctx: StrategyContext, state: GridState, position: GridPosition) -> tuple[float, float]:
        """(TP, SL) of one position at candle i."""
        p = self.params
        if p.tp_mode == "fixed_center":
            tp = state.memory.get(f"center_{position.level}", math.nan)
        else:
            tp = ctx.cur["sma"]
        sl = position.entry_price * (1 - position.side * p.sl_percent / 100)
        return (tp if finite(tp) else math.nan), sl

    def get_tp_price(self, ctx: StrategyContext, state: GridState) -> float:
        return ctx.cur["sma"]  # unused in per_position mode; kept for the GridStrategy contract

    def get_sl_price(self, ctx: StrategyContext, state: GridState) -> float:
        return state.avg_entry * (1 - state.side * self.params.sl_percent / 100)
