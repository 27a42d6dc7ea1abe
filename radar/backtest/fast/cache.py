"""Indicator cache of one data window: each distinct SMA / ATR period (and higher-timeframe Supertrend) is
computed once, shared by every combo.

The batch kernels of `radar.indicators.batch` replay the incremental indicators' operations, so the cached
values equal what a GridStrategyRunner sees candle by candle bit-for-bit (checked on the BTC file by
tests/backtest/test_fast_parity_grid_atr.py) — which is what makes exact trade parity possible. The higher-
timeframe Supertrend direction is built the batch way of `radar.indicators.multi_tf` (closed buckets only,
aligned to the bucket END), which equals what the runner's IndicatorBank publishes candle by candle
(tests/backtest/test_fast_parity_multi_tf.py). The trend / breakout grids add strategy series (grid_series.py:
EMA, direction, breakout signals, readiness gates) keyed by a SeriesKey, built the same batch way.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from radar.backtest.fast.grid_series import SeriesKey, compute_series
from radar.backtest.fast.single_signals import SeriesCache
from radar.errors import DataError
from radar.indicators import batch
from radar.indicators.multi_tf import align_htf_to_ltf, resample_closed
from radar.models import CandleArrays, timeframe_ms

# (atr_period, multiplier, timeframe) of a higher-timeframe Supertrend
SupertrendKey = tuple[int, float, str]

_HOUR_MS = 3_600_000
FUNDING_HOURS = (0, 8, 16)


def htf_supertrend_direction(candles: CandleArrays, period: int, multiplier: float, htf: str,
                             timeframe: str = "1h") -> np.ndarray:
    """Per `timeframe` candle, the Supertrend(period, multiplier) direction (+1/-1, NaN while warming up) of
    the last `htf` bucket CLOSED by the end of that candle: what `ctx.cur["<name>_dir"]` holds in a runner whose
    spec has `htf=htf` (read index i-1 for `ctx.prev`)."""
    ltf_ms, htf_ms = timeframe_ms(timeframe), timeframe_ms(htf)
    ts = np.asarray(candles.timestamp, dtype=np.int64)
    big = resample_closed(ts, candles.open, candles.high, candles.low, candles.close, candles.volume, ltf_ms, htf_ms)
    if len(big.timestamp) == 0:
        return np.full(ts.shape[0], np.nan)
    _, direction = batch.supertrend(np.ascontiguousarray(big.high, dtype=np.float64),
                                    np.ascontiguousarray(big.low, dtype=np.float64),
                                    np.ascontiguousarray(big.close, dtype=np.float64), int(period), float(multiplier))
    return align_htf_to_ltf(ts, big.timestamp, direction, htf_ms, ltf_ms)


def funding_candles(timestamp: np.ndarray) -> np.ndarray:
    """True where a candle opens at 00:00, 08:00 or 16:00 UTC (the runner's `is_funding_candle`)."""
    ts = np.asarray(timestamp, dtype=np.int64)
    hour = (ts // _HOUR_MS) % 24
    return (ts % _HOUR_MS == 0) & np.isin(hour, FUNDING_HOURS)


def funding_inputs(n: int, funding_rates: np.ndarray | None, default: float) -> tuple[np.ndarray, np.ndarray]:
    """(rate the strategy sees — NaN where none is known, like a runner's `ctx.funding_rate` None —, rate charged
    at the funding candles — `default` where none is known) from one optional rate per candle."""
    if funding_rates is None:
        return np.full(n, np.nan), np.full(n, float(default))
    rates = np.ascontiguousarray(funding_rates, dtype=np.float64)
    if rates.shape != (n,):
        raise ValueError(f"funding_rates: expected one rate per candle ({n}), got shape {rates.shape}")
    return rates, np.where(np.isnan(rates), float(default), rates)


@dataclass(frozen=True, eq=False)
class IndicatorCache:
    """Candles of one window plus SMA/ATR tables: `sma[row]` is the SMA of `ma_periods[row]` (same for ATR)."""

    timestamp: np.ndarray  # int64 ms
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    ma_periods: tuple[int, ...]
    atr_periods: tuple[int, ...]
    sma: np.ndarray  # [len(ma_periods), n]
    atr: np.ndarray  # [len(atr_periods), n]
    funding_flag: np.ndarray  # bool per candle
    timeframe: str = "1h"
    st_keys: tuple[SupertrendKey, ...] = ()
    st_dir: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))  # [len(st_keys), n] aligned directions
    series_keys: tuple[SeriesKey, ...] = ()
    series: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))  # [len(series_keys), n] (grid_series)

    def __len__(self) -> int:
        return int(self.close.shape[0])

    @property
    def first_ts(self) -> int:
        return int(self.timestamp[0])

    @property
    def last_ts(self) -> int:
        return int(self.timestamp[-1])

    def sma_row(self, period: int) -> int:
        return _row(self.ma_periods, period, "SMA (ma_period)")

    def atr_row(self, period: int) -> int:
        return _row(self.atr_periods, period, "ATR (atr_period)")

    def st_row(self, key: SupertrendKey) -> int:
        k = _st_key(key)
        try:
            return self.st_keys.index(k)
        except ValueError:
            raise KeyError(f"indicator cache has no {k[2]} Supertrend({k[0]}, {k[1]:g}) "
                           f"(cached: {list(self.st_keys)})") from None

    def series_row(self, key: SeriesKey) -> int:
        try:
            return self.series_keys.index(tuple(key))
        except ValueError:
            raise KeyError(f"indicator cache has no series {tuple(key)!r} (cached: {list(self.series_keys)})") from None

    @classmethod
    def build(cls, candles: CandleArrays, ma_periods: Iterable[int], atr_periods: Iterable[int],
              supertrends: Iterable[SupertrendKey] = (), timeframe: str = "1h",
              series: Iterable[SeriesKey] = ()) -> "IndicatorCache":
        """Compute every distinct period once for this window of `timeframe` candles; `supertrends` are
        (atr_period, multiplier, higher timeframe) directions aligned with no look-ahead; `series` are
        strategy series of grid_series.py."""
        ts = np.ascontiguousarray(candles.timestamp, dtype=np.int64)
        cols = [np.ascontiguousarray(getattr(candles, f), dtype=np.float64) for f in ("open", "high", "low", "close", "volume")]
        n = ts.shape[0]
        if n == 0:
            raise DataError("indicator cache: the candle window is empty")
        if any(col.shape[0] != n for col in cols):
            raise DataError("indicator cache: candle arrays have different lengths")
        if n > 1 and not np.all(np.diff(ts) > 0):
            bad = int(np.argmax(np.diff(ts) <= 0)) + 1
            raise DataError(f"indicator cache: timestamps must increase strictly (row {bad}: {int(ts[bad])})")
        for name, col in zip(("open", "high", "low", "close", "volume"), cols):
            if not np.all(np.isfinite(col)):
                raise DataError(f"indicator cache: {name} has a non-finite value at row {int(np.argmin(np.isfinite(col)))}")
        o, h, l, c, v = cols
        mas = tuple(sorted({_period(p, "ma_period") for p in ma_periods}))
        atrs = tuple(sorted({_period(p, "atr_period") for p in atr_periods}))
        sma_tab = np.empty((len(mas), n))
        for r, p in enumerate(mas):
            sma_tab[r] = batch.sma(c, p)
        atr_tab = np.empty((len(atrs), n))
        for r, p in enumerate(atrs):
            atr_tab[r] = batch.atr(h, l, c, p)
        sts = tuple(sorted({_st_key(k) for k in supertrends}))
        if sts and n > 1 and int(np.diff(ts).min()) < timeframe_ms(timeframe):
            # higher-tf buckets are closed by the candle length: candles shorter than `timeframe` would look ahead
            raise DataError(f"indicator cache: candles are {int(np.diff(ts).min())} ms apart, shorter than the "
                            f"timeframe {timeframe!r} the higher-timeframe Supertrend is aligned with")
        st_tab = np.empty((len(sts), n))
        for r, (period, mult, htf) in enumerate(sts):
            st_tab[r] = htf_supertrend_direction(candles, period, mult, htf, timeframe)
        keys = tuple(dict.fromkeys(tuple(k) for k in series))
        ser_tab = np.empty((len(keys), n))
        if keys:
            sc = SeriesCache.build(CandleArrays(ts, o, h, l, c, v), timeframe)
            for r, key in enumerate(keys):
                ser_tab[r] = compute_series(key, sc)
        return cls(ts, o, h, l, c, v, mas, atrs, sma_tab, atr_tab, funding_candles(ts), timeframe, sts, st_tab, keys,
                   ser_tab)

    @classmethod
    def for_params(cls, candles: CandleArrays, params: np.ndarray) -> "IndicatorCache":
        """A cache holding exactly the periods a params array (engine.PARAM_COLUMNS layout) needs."""
        params = np.asarray(params, dtype=np.float64)
        return cls.build(candles, params[:, 0].tolist(), params[:, 1].tolist())


def _period(p: float, name: str) -> int:
    if float(p) != int(p) or int(p) < 1:
        raise ValueError(f"indicator cache: {name} must be an integer >= 1, got {p!r}")
    return int(p)


def _st_key(key: SupertrendKey) -> SupertrendKey:
    period, mult, htf = key
    timeframe_ms(str(htf))  # an unknown timeframe fails here, naming it
    if not float(mult) > 0:
        raise ValueError(f"indicator cache: st_atr_multiplier must be > 0, got {mult!r}")
    return _period(period, "st_atr_period"), float(mult), str(htf)


def _row(periods: tuple[int, ...], period: float, what: str) -> int:
    shown = int(period) if float(period).is_integer() else float(period)
    try:
        return periods.index(shown)  # type: ignore[arg-type]
    except ValueError:
        raise KeyError(f"indicator cache has no {what} {shown} (cached: {list(periods)})") from None
