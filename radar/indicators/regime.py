"""Market regime from ADX/DI and ATR% (SPEC §6): volatile beats trending beats ranging.

Rule, checked in this order (atr_pct = ATR / close * 100):
  1. atr_pct > atr_pct_high            -> HIGH_VOLATILITY
  2. adx >= adx_trend and +DI >= -DI   -> TRENDING_UP
     adx >= adx_trend and +DI <  -DI   -> TRENDING_DOWN
  3. otherwise                         -> RANGING
While any input is still NaN (warm-up) there is no regime: `regime_series` writes WARMUP (-1) and
`RegimeDetector.update` returns None.
"""
from __future__ import annotations

import math
from enum import IntEnum
from typing import Any, Self

import numpy as np

from radar.errors import DataError
from radar.indicators import batch
from radar.indicators.incremental import ADX, ATR

# About the top 3.5% of hourly ATR% on BTC 2017-2019; a per-timeframe tuning knob, not a law.
DEFAULT_ATR_PCT_HIGH = 3.0
DEFAULT_ADX_TREND = 25.0
WARMUP = -1


class Regime(IntEnum):
    RANGING = 0
    TRENDING_UP = 1
    TRENDING_DOWN = 2
    HIGH_VOLATILITY = 3

    @property
    def is_trending(self) -> bool:
        return self in (Regime.TRENDING_UP, Regime.TRENDING_DOWN)


def classify_regime(adx: float, plus_di: float, minus_di: float, atr_pct: float, *,
                    adx_trend: float = DEFAULT_ADX_TREND, atr_pct_high: float = DEFAULT_ATR_PCT_HIGH) -> Regime:
    """Regime of one candle from finite indicator values (see the module rule)."""
    if any(math.isnan(x) for x in (adx, plus_di, minus_di, atr_pct)):
        raise ValueError("classify_regime: indicator values are NaN (still warming up)")
    if atr_pct > atr_pct_high:
        return Regime.HIGH_VOLATILITY
    if adx >= adx_trend:
        return Regime.TRENDING_UP if plus_di >= minus_di else Regime.TRENDING_DOWN
    return Regime.RANGING


def regime_series(high: np.ndarray, low: np.ndarray, close: np.ndarray, *, adx_period: int = 14,
                  atr_period: int = 14, adx_trend: float = DEFAULT_ADX_TREND,
                  atr_pct_high: float = DEFAULT_ATR_PCT_HIGH) -> np.ndarray:
    """int8 array of Regime values per candle, WARMUP (-1) while ADX or ATR is NaN."""
    close = np.asarray(close, dtype=np.float64)
    adx_v, pdi, mdi = batch.adx(np.asarray(high, dtype=np.float64), np.asarray(low, dtype=np.float64), close, adx_period)
    atr_pct = batch.atr(np.asarray(high, dtype=np.float64), np.asarray(low, dtype=np.float64), close, atr_period) / close * 100.0
    out = np.full(close.shape[0], WARMUP, dtype=np.int8)
    ready = ~(np.isnan(adx_v) | np.isnan(atr_pct))
    trending = ready & (adx_v >= adx_trend)
    out[ready] = Regime.RANGING
    out[trending & (pdi >= mdi)] = Regime.TRENDING_UP
    out[trending & (pdi < mdi)] = Regime.TRENDING_DOWN
    out[ready & (atr_pct > atr_pct_high)] = Regime.HIGH_VOLATILITY
    return out


class RegimeDetector:
    """Incremental regime: composes the incremental ADX and ATR; same values as `regime_series`."""

    def __init__(self, *, adx_period: int = 14, atr_period: int = 14, adx_trend: float = DEFAULT_ADX_TREND,
                 atr_pct_high: float = DEFAULT_ATR_PCT_HIGH) -> None:
        self.adx_trend = float(adx_trend)
        self.atr_pct_high = float(atr_pct_high)
        self._adx = ADX(adx_period)
        self._atr = ATR(atr_period)
        self._value: Regime | None = None

    @property
    def value(self) -> Regime | None:
        return self._value

    def update(self, high: float, low: float, close: float) -> Regime | None:
        adx_v, pdi, mdi = self._adx.update(high, low, close)
        atr_pct = self._atr.update(high, low, close) / float(close) * 100.0
        if math.isnan(adx_v) or math.isnan(atr_pct):
            self._value = None
        else:
            self._value = classify_regime(adx_v, pdi, mdi, atr_pct, adx_trend=self.adx_trend,
                                          atr_pct_high=self.atr_pct_high)
        return self._value

    def to_state(self) -> dict[str, Any]:
        return {"kind": "RegimeDetector", "adx_trend": self.adx_trend, "atr_pct_high": self.atr_pct_high,
                "adx": self._adx.to_state(), "atr": self._atr.to_state(),
                "value": None if self._value is None else int(self._value)}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Self:
        if not isinstance(state, dict) or state.get("kind") != "RegimeDetector":
            raise DataError("RegimeDetector state: not a RegimeDetector state dict")
        try:
            obj = cls(adx_trend=state["adx_trend"], atr_pct_high=state["atr_pct_high"])
            obj._adx = ADX.from_state(state["adx"])
            obj._atr = ATR.from_state(state["atr"])
            obj._value = None if state["value"] is None else Regime(int(state["value"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"RegimeDetector state: missing or invalid field ({exc!r})") from None
        return obj
