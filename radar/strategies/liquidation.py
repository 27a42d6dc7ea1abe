"""liquidation (live/paper only): fade a sharp price move made while open interest jumps — leverage
piling in at once leaves a zone of liquidations that tends to snap the price back (SPEC §6).

Entry at the close of candle i when open interest is more than `oi_jump_pct` percent above its mean
over the previous `oi_lookback_candles` samples and the close moved at least `zone_pct` percent from
the previous close: short after an up move, long after a down move. Percent TP/SL.

A strategy keeps no state, so the caller supplies the open interest in `ctx.extra`:
`open_interest` (the latest sample) and `open_interest_mean` (the mean of the `oi_lookback_candles`
samples before it); `open_interest_extras` builds both from a series.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from radar.strategies.base import IndicatorSpec, Signal, SingleStrategy, StrategyContext, finite
from radar.strategies.registry import register
from radar.strategies.supertrend import percent_stops


def open_interest_extras(open_interest: Sequence[float], lookback: int) -> list[dict[str, float]]:
    """Per sample i: {"open_interest": oi[i], "open_interest_mean": mean(oi[i-lookback:i])} (NaN mean
    until `lookback` earlier samples exist)."""
    if lookback < 1:
        raise ValueError(f"open_interest_extras: lookback must be >= 1, got {lookback}")
    out: list[dict[str, float]] = []
    window = 0.0
    for i, oi in enumerate(open_interest):
        mean = window / lookback if i >= lookback else math.nan
        out.append({"open_interest": float(oi), "open_interest_mean": mean})
        window += oi
        if i >= lookback:
            window -= open_interest[i - lookback]
    return out


@register
class Liquidation(SingleStrategy):
    name = "liquidation"
    live_only = True

    def indicator_specs(self) -> dict[str, IndicatorSpec]:
        return {}

    def is_ready(self, ctx: StrategyContext) -> bool:
        # No indicators: missing open interest or a first candle only blocks entries, never exits.
        return True

    def evaluate(self, ctx: StrategyContext) -> Signal | None:
        p = self.params
        oi, mean = ctx.extra.get("open_interest", math.nan), ctx.extra.get("open_interest_mean", math.nan)
        prev_close = ctx.prev.get("close", math.nan)
        if not finite(oi, mean, prev_close) or mean <= 0 or prev_close <= 0:
            return None
        if (oi / mean - 1) * 100 <= p.oi_jump_pct:
            return None
        close = ctx.candle.close
        move_pct = (close / prev_close - 1) * 100
        if move_pct >= p.zone_pct:
            side = -1
        elif move_pct <= -p.zone_pct:
            side = 1
        else:
            return None
        tp, sl = percent_stops(close, side, p.tp_percent, p.sl_percent)
        return Signal(side, tp, sl, "oi_jump_fade_up_move" if side < 0 else "oi_jump_fade_down_move")
