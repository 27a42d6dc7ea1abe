"""Technical indicators (SPEC §4): numba batch kernels and O(1) incremental twins that agree bit-for-bit.

- `batch`: functions over float64 arrays (callable from numba code), NaN warm-up.
- `incremental`: one class per indicator with `update(...)`, `value`, `to_state()` / `from_state()`.
- `multi_tf`: closed higher-timeframe candles and no-look-ahead alignment.
- `regime`: RANGING / TRENDING_UP / TRENDING_DOWN / HIGH_VOLATILITY from ADX and ATR%.
"""
from radar.indicators.batch import (
    adx,
    atr,
    bollinger,
    donchian,
    donchian_prev,
    ema,
    rolling_max,
    rolling_min,
    rolling_vwap,
    rsi,
    shift,
    sma,
    supertrend,
    true_range,
    volume_sma,
)
from radar.indicators.incremental import (
    ADX,
    ATR,
    EMA,
    RSI,
    SMA,
    Bollinger,
    Donchian,
    Indicator,
    RollingMax,
    RollingMin,
    RollingVWAP,
    Supertrend,
    TrueRange,
    VolumeSMA,
)
from radar.indicators.multi_tf import HigherTimeframe, align_htf_to_ltf, resample_closed
from radar.indicators.regime import Regime, RegimeDetector, classify_regime, regime_series

__all__ = [
    "adx", "atr", "bollinger", "donchian", "donchian_prev", "ema", "rolling_max", "rolling_min", "rolling_vwap",
    "rsi", "shift", "sma", "supertrend", "true_range", "volume_sma",
    "ADX", "ATR", "EMA", "RSI", "SMA", "Bollinger", "Donchian", "Indicator", "RollingMax", "RollingMin",
    "RollingVWAP", "Supertrend", "TrueRange", "VolumeSMA",
    "HigherTimeframe", "align_htf_to_ltf", "resample_closed",
    "Regime", "RegimeDetector", "classify_regime", "regime_series",
]
