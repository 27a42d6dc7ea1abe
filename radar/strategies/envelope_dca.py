"""envelope_dca / envelope_dca_short: DCA levels on fixed percentage envelopes around a short SMA.

LONG level k = SMA*(1 - e_k) with e_k = envelope_start + k*envelope_step (SMA of candle i-1, i.e.
`ctx.prev`). The SHORT side uses the symmetric upward offset round(1/(1-e_k) - 1, 3), so a 5%
envelope below becomes +5.3% above (a drop of e and the rise that undoes it). TP = SMA of candle i,
SL on the average entry (sl_percent). One side per strategy: envelope_dca is LONG only,
envelope_dca_short SHORT only.
"""
from __future__ import annotations

from typing import ClassVar

from radar.strategies.base import GridLevel, GridState, GridStrategy, IndicatorSpec, StrategyContext
from radar.strategies.registry import register


def envelope_offsets(start: float, step: float, num_levels: int, side: int) -> list[float]:
    """Signed offsets from the SMA: -e_k for LONG, +round(1/(1-e_k) - 1, 3) for SHORT."""
    envelopes = [start + k * step for k in range(num_levels)]
    if side > 0:
        return [-e for e in envelopes]
    return [round(1 / (1 - e) - 1, 3) for e in envelopes]


def envelope_levels(sma: float, start: float, step: float, num_levels: int, side: int) -> list[GridLevel]:
    return [GridLevel(k, sma * (1 + off), side)
            for k, off in enumerate(envelope_offsets(start, step, num_levels, side))]


@register
class EnvelopeDCA(GridStrategy):
    name = "envelope_dca"
    side: ClassVar[int] = 1

    def indicator_specs(self) -> dict[str, IndicatorSpec]:
        return {"sma": IndicatorSpec("sma", (self.params.ma_period,))}

    def compute_grid(self, ctx: StrategyContext, state: GridState) -> list[GridLevel]:
        p = self.params
        return envelope_levels(ctx.prev["sma"], p.envelope_start, p.envelope_step, p.num_levels, self.side)

    def get_tp_price(self, ctx: StrategyContext, state: GridState) -> float:
        return ctx.cur["sma"]

    def get_sl_price(self, ctx: StrategyContext, state: GridState) -> float:
        return state.avg_entry * (1 - state.side * self.params.sl_percent / 100)


@register
class EnvelopeDCAShort(EnvelopeDCA):
    name = "envelope_dca_short"
    side: ClassVar[int] = -1
