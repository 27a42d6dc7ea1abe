"""Real candles for runner tests, chosen by the strategy's timeframe."""
from __future__ import annotations

from functools import lru_cache

from radar.data.csv_io import read_candle_csv
from radar.data.resample import resample
from radar.models import Candle
from tests.conftest import SHARED_DATA


@lru_cache(maxsize=None)
def candles_for(timeframe: str, limit: int = 6000) -> tuple[Candle, ...]:
    if timeframe == "5m":
        arr, _ = read_candle_csv(SHARED_DATA / "ETH-BTC_5m.csv", "5m")
        return tuple(arr.slice(0, limit).candles("ETH/BTC", "5m"))
    arr, _ = read_candle_csv(SHARED_DATA / "BTC-USD_1h_bitfinex.csv", "1h")
    if timeframe == "1h":
        return tuple(arr.slice(0, limit).candles("BTC/USDT:USDT", "1h"))
    if timeframe in ("4h", "1d"):
        return tuple(resample(arr, "1h", timeframe).candles("BTC/USDT:USDT", timeframe))
    raise ValueError(timeframe)
