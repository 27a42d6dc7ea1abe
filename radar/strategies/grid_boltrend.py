"""grid_boltrend: a Bollinger breakout in the direction of a long SMA, then DCA levels below (long) or
above (short) the breakout close; exit when the close crosses back over the Bollinger middle, or SL.

Breakout at candle i (all on values after i-1 = `ctx.prev` and after i = `ctx.cur`): LONG when the
previous close was inside the band (close_{i-1} <= upper_{i-1}), close_i > upper_i, the band spread
(upper-lower)/mid*100 of candle i is above `min_bol_spread_pct`, and close_i > long SMA_i. SHORT mirrors.

Anchoring (design choice): the breakout is only known when candle i closes, so no order can rest
during candle i, and nothing decided at the close of candle i may change the orders that rested during
it. `update_memory` (called by the runner on every ready candle, flat or not, before exits and entries)
therefore works in two steps: at candle i it records the breakout of candle i as *pending*
(`pending_anchor` = close_i, `pending_anchor_atr` = ATR_i, `pending_anchor_side`); at candle i+1 it
promotes the pending breakout to the *armed* anchor (`anchor`, `anchor_atr`, `anchor_side`), and
`compute_grid` rests level k = anchor ∓ k * anchor_atr * atr_multiplier. Level 0 thus fills at candle
i+1 or later if price trades back to the breakout close (a limit at that close). Storing the anchor rather
than re-deriving it from `ctx.prev` keeps the levels fixed for the whole cycle and lets them rest past
candle i+1. While flat, an armed anchor is dropped once a candle has closed back over the Bollinger middle
(judged on the previous candle, `ctx.prev`, for the same no-look-ahead reason) or replaced by a newer
breakout; while a grid is open the memory is frozen (the runner clears it when the grid closes).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from radar.strategies.base import GridLevel, GridState, GridStrategy, IndicatorSpec, StrategyContext, finite
from radar.strategies.grid_atr import side_signs
from radar.strategies.registry import register


ANCHOR_KEYS = ("anchor", "anchor_atr", "anchor_side")


def step_anchor(memory: Mapping[str, float], failed: Callable[[int], bool], signal: int, close: float,
                atr: float) -> dict[str, float]:
    """The flat-grid anchor memory after this candle's `update_memory` (see the module docstring).

    Promotes the previous candle's pending breakout, else drops an armed anchor whose breakout
    `failed(side)` on the previous candle, then records this candle's breakout `signal` as pending.
    """
    mem = dict(memory)
    if "pending_anchor" in mem:
        for key in ANCHOR_KEYS:
            mem[key] = mem.pop(f"pending_{key}")
    elif "anchor" in mem and failed(int(mem["anchor_side"])):
        for key in ANCHOR_KEYS:
            del mem[key]
    if signal != 0 and finite(atr) and atr > 0:
        mem.update(pending_anchor=close, pending_anchor_atr=atr, pending_anchor_side=float(signal))
    return mem


def armed_anchor(memory: Mapping[str, float]) -> tuple[float, float, int] | None:
    """(anchor, anchor_atr, side) of the armed breakout, else None."""
    if "anchor" not in memory:
        return None
    return memory["anchor"], memory["anchor_atr"], int(memory["anchor_side"])


def bollinger_breakout(ctx: StrategyContext, min_spread_pct: float, sides: tuple[int, ...]) -> int:
    """+1 / -1 for a breakout at the close of candle i (see the module docstring), else 0."""
    p, c = ctx.prev, ctx.cur
    up0, lo0, close0 = p.get("bb_upper", math.nan), p.get("bb_lower", math.nan), p["close"]
    up, lo, mid, ma, close = c["bb_upper"], c["bb_lower"], c["bb_mid"], c["long_ma"], c["close"]
    if not finite(up0, lo0, up, lo, mid, ma) or mid <= 0:
        return 0
    if (up - lo) / mid * 100 <= min_spread_pct:
        return 0
    if 1 in sides and close0 <= up0 and close > up and close > ma:
        return 1
    if -1 in sides and close0 >= lo0 and close < lo and close < ma:
        return -1
    return 0


@register
class GridBoltrend(GridStrategy):
    name = "grid_boltrend"

    def indicator_specs(self) -> dict[str, IndicatorSpec]:
        p = self.params
        return {
            "bb": IndicatorSpec("bollinger", (p.bol_period, p.bol_std)),
            "long_ma": IndicatorSpec("sma", (p.long_ma_period,)),
            "atr": IndicatorSpec("atr", (p.atr_period,)),
        }

    def is_ready(self, ctx: StrategyContext) -> bool:
        p = ctx.prev
        atr = p.get("atr", math.nan)
        return finite(p.get("bb_mid", math.nan), p.get("long_ma", math.nan), atr) and atr > 0

    def update_memory(self, ctx: StrategyContext, state: GridState) -> Mapping[str, float] | None:
        if state.side != 0:
            return None  # the anchor is frozen while the grid is open
        p = self.params
        signal = bollinger_breakout(ctx, p.min_bol_spread_pct, side_signs(p.sides))
        return step_anchor(state.memory, lambda side: self._back_over_mid(ctx.prev, side), signal,
                           ctx.candle.close, ctx.cur["atr"])

    def compute_grid(self, ctx: StrategyContext, state: GridState) -> list[GridLevel]:
        armed = armed_anchor(state.memory)
        if armed is None:
            return []
        anchor, atr, side = armed
        step = atr * self.params.atr_multiplier
        return [GridLevel(k, anchor - side * k * step, side) for k in range(self.params.num_levels)]

    def get_tp_price(self, ctx: StrategyContext, state: GridState) -> float:
        return math.nan  # the exit is the close back over the Bollinger middle (should_close_all)

    def get_sl_price(self, ctx: StrategyContext, state: GridState) -> float:
        return state.avg_entry * (1 - state.side * self.params.sl_percent / 100)

    def should_close_all(self, ctx: StrategyContext, state: GridState) -> str | None:
        return "bol_mid" if self._back_over_mid(ctx.cur, state.side) else None

    @staticmethod
    def _back_over_mid(values: Mapping[str, float], side: int) -> bool:
        """The close of `values`' candle is on the far side of the Bollinger middle for a `side` grid."""
        mid = values.get("bb_mid", math.nan)
        return finite(mid) and (values["close"] - mid) * side < 0
