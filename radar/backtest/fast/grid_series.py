"""Per-candle series the trend / breakout grids read in the grid kernel, computed vectorised from batch indicators.

A series is named by a `SeriesKey` (a tuple: its kind, then the params it depends on), computed once per data
window by `compute_series` and stored in the IndicatorCache next to the SMA / ATR rows. Every value is the
candle-i reading of what the strategy module computes from `ctx.cur` (the kernel reads index i-1 where the
strategy reads `ctx.prev`). The indicators come from `SeriesCache` (batch kernels that equal the runner's
incremental IndicatorBank bit for bit) and every expression repeats the strategy's own floating-point
operations, so the kernel trades like GridStrategyRunner (tests/backtest/test_fast_parity_trend_family.py
checks each series against the strategy hooks candle by candle).

Kinds:
- ("ema", n): EMA(n) of the close (grid_trend's level center);
- ("trend_dir", fast, slow, adx_period, adx_threshold): GridTrend.direction of candle i's values: +1 / -1,
  0 when neutral (ADX <= threshold or EMAs equal), NaN until EMAs, ADX and both DIs are known (is_ready);
- ("ema_sign", fast, slow): sign(EMA_fast - EMA_slow), NaN while one is unknown (the flip close);
- ("bol_sign", period, std): sign(close - Bollinger middle), NaN while unknown (grid_boltrend's close back
  over the middle, and its failed-anchor rule read at i-1);
- ("boltrend_gate", period, std, long_ma, atr): 1 where GridBoltrend.is_ready holds for the next candle
  (middle, long SMA and ATR known, ATR > 0), else NaN;
- ("boltrend_signal", period, std, long_ma, atr, min_spread_pct, sides): bollinger_breakout at candle i,
  0 when none or when ATR_i is unknown or <= 0 (step_anchor records no pending anchor then);
- ("dc_sign", period): sign(close - Donchian middle) of candle i (grid_momentum's failed-anchor rule at i-1);
- ("momentum_gate", donchian, vol_sma, atr): 1 where GridMomentum.is_ready holds for the next candle;
- ("momentum_signal", donchian, vol_sma, vol_mult, atr, sides): donchian_volume_breakout at candle i,
  0 when none or when ATR_i is unknown or <= 0.
`sides` is a tuple of +1 / -1 in the strategy's `sides` order.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from radar.backtest.fast.single_signals import SeriesCache
from radar.indicators import batch
from radar.strategies.base import IndicatorSpec

SeriesKey = tuple[Any, ...]

SERIES_KINDS: tuple[str, ...] = ("ema", "trend_dir", "ema_sign", "bol_sign", "boltrend_gate", "boltrend_signal",
                                 "dc_sign", "momentum_gate", "momentum_signal")


def _finite(*arrays: np.ndarray) -> np.ndarray:
    ok = ~np.isnan(arrays[0])
    for a in arrays[1:]:
        ok &= ~np.isnan(a)
    return ok


def _prev(x: np.ndarray) -> np.ndarray:
    return batch.shift(np.ascontiguousarray(x, dtype=np.float64), 1)


def _one(sc: SeriesCache, kind: str, *args: Any) -> np.ndarray:
    return sc.series(IndicatorSpec(kind, tuple(args)))[""]


def _gate(ok: np.ndarray) -> np.ndarray:
    return np.where(ok, 1.0, np.nan)


def _atr_ok(atr: np.ndarray) -> np.ndarray:
    return ~np.isnan(atr) & (atr > 0)


def compute_series(key: SeriesKey, sc: SeriesCache) -> np.ndarray:
    """The per-candle values of `key` over the window of `sc` (module docstring)."""
    kind = key[0]
    close = sc.close
    with np.errstate(invalid="ignore"):
        if kind == "ema":
            return _one(sc, "ema", int(key[1]))
        if kind in ("trend_dir", "ema_sign"):
            fast, slow = _one(sc, "ema", int(key[1])), _one(sc, "ema", int(key[2]))
            if kind == "ema_sign":
                return np.sign(fast - slow)
            adx = sc.series(IndicatorSpec("adx", (int(key[3]),)))
            a, pdi, mdi = adx[""], adx["plus_di"], adx["minus_di"]
            trending = (a > float(key[4])) & (fast != slow)
            d = np.where(trending, np.where(fast > slow, 1.0, -1.0), 0.0)
            return np.where(_finite(fast, slow, a, pdi, mdi), d, np.nan)
        if kind in ("bol_sign", "boltrend_gate", "boltrend_signal"):
            bb = sc.series(IndicatorSpec("bollinger", (int(key[1]), float(key[2]))))
            mid, up, lo = bb["mid"], bb["upper"], bb["lower"]
            if kind == "bol_sign":
                return np.sign(close - mid)
            ma = _one(sc, "sma", int(key[3]))
            atr = _one(sc, "atr", int(key[4]))
            if kind == "boltrend_gate":
                return _gate(_finite(mid, ma, atr) & (atr > 0))
            spread, sides = float(key[5]), tuple(key[6])
            up0, lo0, close0 = _prev(up), _prev(lo), _prev(close)
            ok = _finite(up0, lo0, up, lo, mid, ma) & (mid > 0) & ((up - lo) / mid * 100 > spread)
            long_ = ok & (close0 <= up0) & (close > up) & (close > ma) if 1 in sides else np.zeros_like(ok)
            short = ok & (close0 >= lo0) & (close < lo) & (close < ma) if -1 in sides else np.zeros_like(ok)
            sig = np.where(long_, 1.0, np.where(short, -1.0, 0.0))
            return np.where(_atr_ok(atr), sig, 0.0)
        if kind == "dc_sign":
            dc = sc.series(IndicatorSpec("donchian", (int(key[1]),)))
            mid = (dc["upper"] + dc["lower"]) / 2
            return np.sign(close - mid)
        if kind in ("momentum_gate", "momentum_signal"):
            dc = sc.series(IndicatorSpec("donchian", (int(key[1]),)))
            vsma = _one(sc, "sma", int(key[2]), "volume")
            if kind == "momentum_gate":
                atr = _one(sc, "atr", int(key[3]))
                return _gate(_finite(dc["upper"], dc["lower"], vsma, atr) & (atr > 0))
            vol_mult, atr, sides = float(key[3]), _one(sc, "atr", int(key[4])), tuple(key[5])
            up, lo, vs = _prev(dc["upper"]), _prev(dc["lower"]), _prev(vsma)
            ok = _finite(up, lo, vs) & ~(sc.volume <= vs * vol_mult)
            long_ = ok & (close > up) if 1 in sides else np.zeros_like(ok)
            short = ok & (close < lo) if -1 in sides else np.zeros_like(ok)
            sig = np.where(long_, 1.0, np.where(short, -1.0, 0.0))
            return np.where(_atr_ok(atr), sig, 0.0)
    raise ValueError(f"grid series: unknown kind {kind!r} (known: {', '.join(SERIES_KINDS)})")


__all__ = ["SERIES_KINDS", "SeriesKey", "compute_series"]
