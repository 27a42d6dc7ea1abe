"""Core immutable value types shared by every layer (data, strategies, runners, actors)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TIMEFRAME_MS: dict[str, int] = {
    "1m": 60_000,
    "5m": 300_000,
    "15m": 900_000,
    "1h": 3_600_000,
    "4h": 14_400_000,
    "1d": 86_400_000,
}


def timeframe_ms(timeframe: str) -> int:
    try:
        return TIMEFRAME_MS[timeframe]
    except KeyError:
        from radar.errors import DataError

        raise DataError(f"unknown timeframe {timeframe!r}; expected one of {', '.join(TIMEFRAME_MS)}") from None


@dataclass(frozen=True, slots=True)
class Candle:
    """One OHLCV candle; `timestamp` is the candle's open time in epoch ms (UTC)."""

    timestamp: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    symbol: str = ""
    timeframe: str = "1h"
    exchange: str = ""


@dataclass(frozen=True)
class CandleArrays:
    """Column-oriented candles for vectorised code (indicators, fast engine). Oldest first."""

    timestamp: np.ndarray  # int64 ms
    open: np.ndarray  # float64
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __len__(self) -> int:
        return int(self.timestamp.shape[0])

    @classmethod
    def empty(cls) -> "CandleArrays":
        f = np.empty(0, dtype=np.float64)
        return cls(np.empty(0, dtype=np.int64), f, f.copy(), f.copy(), f.copy(), f.copy())

    def slice(self, start: int, stop: int) -> "CandleArrays":
        return CandleArrays(*(a[start:stop] for a in (self.timestamp, self.open, self.high, self.low, self.close, self.volume)))

    def candle(self, i: int, symbol: str = "", timeframe: str = "1h", exchange: str = "") -> Candle:
        return Candle(
            int(self.timestamp[i]), float(self.open[i]), float(self.high[i]), float(self.low[i]),
            float(self.close[i]), float(self.volume[i]), symbol, timeframe, exchange,
        )

    def candles(self, symbol: str = "", timeframe: str = "1h", exchange: str = "") -> list[Candle]:
        return [self.candle(i, symbol, timeframe, exchange) for i in range(len(self))]
