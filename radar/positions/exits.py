"""The OHLC exit heuristic of SPEC §5, shared by the grid and single-position managers."""
from __future__ import annotations

import math


def sl_gap_fill(sl_price: float, side: int, low: float, high: float) -> float:
    """A stop fills half-way from its price toward the candle's extreme beyond it (gap model)."""
    if side > 0:
        return sl_price - 0.5 * max(0.0, sl_price - low)
    return sl_price + 0.5 * max(0.0, high - sl_price)


def resolve_exit(
    side: int, open_: float, high: float, low: float, close: float, tp_price: float, sl_price: float,
    tp_ok: bool = True,
) -> tuple[str | None, float]:
    """Which of TP / SL a candle hits, and at what price.

    Returns (None, nan), ("tp", tp_price) or ("sl", gap-filled price). `tp_ok` carries extra TP
    conditions (min_profit_pct). When both are hit, a long takes TP on a green candle and a short on
    a red one; otherwise the stop wins (the conservative reading of an unknown intra-candle path).
    A NaN price means "no such exit".
    """
    if side > 0:
        sl_hit = not math.isnan(sl_price) and low <= sl_price
        tp_hit = tp_ok and not math.isnan(tp_price) and high >= tp_price
        tp_first = close > open_
    else:
        sl_hit = not math.isnan(sl_price) and high >= sl_price
        tp_hit = tp_ok and not math.isnan(tp_price) and low <= tp_price
        tp_first = close < open_
    if tp_hit and sl_hit:
        if tp_first:
            return "tp", tp_price
        return "sl", sl_gap_fill(sl_price, side, low, high)
    if sl_hit:
        return "sl", sl_gap_fill(sl_price, side, low, high)
    if tp_hit:
        return "tp", tp_price
    return None, math.nan
