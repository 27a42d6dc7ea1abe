"""Resampling candles to a higher timeframe in UTC-aligned buckets (SPEC §3), vectorised with numpy.

Bucket of a candle: `timestamp // to_ms * to_ms` (epoch-aligned, so 4h buckets start at 00/04/08... UTC
and 1d buckets at 00:00 UTC). Open = first, high = max, low = min, close = last, volume = sum.

Completeness rule (`complete_only=True`), which is what keeps a higher-timeframe value from being seen
before its bucket has closed (no look-ahead):
- a bucket is complete once the data reaches its end: either a later candle exists, or the bucket's last
  sub-candle closes exactly at the bucket end;
- so only the LAST bucket can be dropped, when the data stops inside it;
- interior buckets with missing sub-candles (exchange gaps) are kept, built from the candles present.
"""
from __future__ import annotations

import numpy as np

from radar.errors import DataError
from radar.models import CandleArrays, timeframe_ms


def resample(candles: CandleArrays, from_tf: str, to_tf: str, complete_only: bool = True) -> CandleArrays:
    from_ms, to_ms = timeframe_ms(from_tf), timeframe_ms(to_tf)
    if to_ms < from_ms or to_ms % from_ms != 0:
        raise DataError(f"cannot resample {from_tf} to {to_tf}: {to_tf} is not a multiple of {from_tf}")
    ts = np.asarray(candles.timestamp, dtype=np.int64)
    if len(candles) == 0:
        return CandleArrays.empty()
    if np.any(np.diff(ts) <= 0):
        raise DataError(f"cannot resample {from_tf} candles: timestamps are not strictly increasing (validate them first)")
    if to_ms == from_ms:
        return CandleArrays(ts.copy(), *(np.array(a, dtype=np.float64) for a in _values(candles)))

    buckets = ts // to_ms * to_ms
    # ts is sorted, so buckets are sorted and each bucket's candles are one contiguous run.
    starts = np.flatnonzero(np.concatenate(([True], buckets[1:] != buckets[:-1])))
    ends = np.concatenate((starts[1:], [ts.shape[0]])) - 1
    o, h, l, c, v = (np.asarray(a, dtype=np.float64) for a in _values(candles))
    out = CandleArrays(
        buckets[starts],
        o[starts],
        np.maximum.reduceat(h, starts),
        np.minimum.reduceat(l, starts),
        c[ends],
        np.add.reduceat(v, starts),
    )
    if complete_only and ts[-1] + from_ms < buckets[-1] + to_ms:
        out = out.slice(0, len(out) - 1)
    return out


def _values(candles: CandleArrays) -> tuple[np.ndarray, ...]:
    return candles.open, candles.high, candles.low, candles.close, candles.volume
