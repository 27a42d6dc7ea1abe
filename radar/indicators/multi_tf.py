"""Higher-timeframe candles from lower-timeframe ones, with no look-ahead (SPEC §3).

Buckets are UTC-aligned: bucket = ts // tf * tf. A bucket [t, t+tf) is *closed* once the lower-tf
candle that opens at t+tf-from_ms has been processed, or once a candle of a later bucket arrives
(missing candles). A higher-tf value is visible to a lower-tf candle i only if its bucket END is
<= the close time of candle i (ts_i + ltf_ms): `align_htf_to_ltf`. The batch path
(`resample_closed` + `align_htf_to_ltf`) and the incremental `HigherTimeframe` agree candle for candle.
"""
from __future__ import annotations

from typing import Any, Self

import numpy as np
from numba import njit

from radar.errors import DataError
from radar.models import TIMEFRAME_MS, Candle, CandleArrays


def _tf_name(ms: int) -> str:
    for name, value in TIMEFRAME_MS.items():
        if value == ms:
            return name
    return f"{ms}ms"


def _check_tfs(from_ms: int, to_ms: int) -> None:
    if from_ms <= 0 or to_ms <= from_ms or to_ms % from_ms != 0:
        raise DataError(f"cannot resample {from_ms} ms candles to {to_ms} ms: the target must be a multiple of the source")


def resample_closed(ts: np.ndarray, o: np.ndarray, h: np.ndarray, l: np.ndarray, c: np.ndarray, v: np.ndarray,
                    from_ms: int, to_ms: int) -> CandleArrays:
    """Aggregate from_ms candles into the CLOSED to_ms buckets (open first, high max, low min, close last,
    volume sum; timestamp = bucket start). The last bucket is dropped unless its final candle is present, the
    first one unless the series starts at its start. Buckets with missing candles in between are kept."""
    _check_tfs(from_ms, to_ms)
    ts = np.asarray(ts, dtype=np.int64)
    if ts.shape[0] == 0:
        return CandleArrays.empty()
    if np.any(np.diff(ts) <= 0):
        bad = int(np.flatnonzero(np.diff(ts) <= 0)[0]) + 1
        raise DataError(f"resample: timestamps must be strictly increasing; row {bad} (ts={int(ts[bad])}) is not")
    bucket = ts // to_ms * to_ms
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:], ts.shape[0]] - 1
    closed = np.ones(starts.shape[0], dtype=bool)
    closed[-1] = ts[-1] + from_ms >= bucket[-1] + to_ms
    # A series that starts mid-bucket has not seen that bucket's open: drop it rather than invent a candle.
    closed[0] = closed[0] and ts[0] == bucket[0]
    s, e = starts[closed], ends[closed]
    f = np.float64
    hh, ll, vv = _aggregate(np.asarray(h, dtype=f), np.asarray(l, dtype=f), np.asarray(v, dtype=f), s, e)
    return CandleArrays(bucket[s].copy(), np.asarray(o, dtype=f)[s].copy(), hh, ll, np.asarray(c, dtype=f)[e].copy(), vv)


@njit(cache=True)
def _aggregate(h: np.ndarray, l: np.ndarray, v: np.ndarray, starts: np.ndarray, ends: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # Volume is summed left to right (not numpy's pairwise sum) to match HigherTimeframe bit for bit.
    k = starts.shape[0]
    hh = np.empty(k)
    ll = np.empty(k)
    vv = np.empty(k)
    for b in range(k):
        hi = h[starts[b]]
        lo = l[starts[b]]
        vol = v[starts[b]]
        for j in range(starts[b] + 1, ends[b] + 1):
            hi = max(hi, h[j])
            lo = min(lo, l[j])
            vol = vol + v[j]
        hh[b] = hi
        ll[b] = lo
        vv[b] = vol
    return hh, ll, vv


def align_htf_to_ltf(ltf_ts: np.ndarray, htf_ts: np.ndarray, htf_values: np.ndarray, htf_ms: int,
                     ltf_ms: int | None = None) -> np.ndarray:
    """For each lower-tf candle i, the value of the last higher-tf candle whose bucket end
    (htf_ts + htf_ms) <= ts_i + ltf_ms (the close of candle i); NaN before the first one.

    `ltf_ms` defaults to the smallest step between consecutive `ltf_ts` (pass it for a single candle).
    """
    ltf_ts = np.asarray(ltf_ts, dtype=np.int64)
    htf_ts = np.asarray(htf_ts, dtype=np.int64)
    values = np.asarray(htf_values, dtype=np.float64)
    if values.shape[0] != htf_ts.shape[0]:
        raise ValueError(f"align_htf_to_ltf: {values.shape[0]} values for {htf_ts.shape[0]} higher-tf timestamps")
    if ltf_ms is None:
        steps = np.diff(ltf_ts)
        if steps.shape[0] == 0 or steps.min() <= 0:
            raise ValueError("align_htf_to_ltf: cannot infer ltf_ms (need >= 2 increasing timestamps); pass ltf_ms")
        ltf_ms = int(steps.min())
    idx = np.searchsorted(htf_ts + htf_ms, ltf_ts + ltf_ms, side="right") - 1
    out = np.full(ltf_ts.shape[0], np.nan)
    ok = idx >= 0
    out[ok] = values[idx[ok]]
    return out


class HigherTimeframe:
    """Incremental aggregator: feed lower-tf candles oldest first; `update` returns the higher-tf candles
    that closed with this input (0, 1, or 2 when a gap closes the previous bucket and this candle also
    ends its own). Same buckets as `resample_closed`: a first bucket joined after its start is dropped."""

    def __init__(self, from_ms: int, to_ms: int) -> None:
        _check_tfs(from_ms, to_ms)
        self.from_ms = from_ms
        self.to_ms = to_ms
        self._bucket: int | None = None
        self._ohlcv: list[float] = []
        self._last_ts: int | None = None
        self._last_closed: Candle | None = None
        self._partial = False  # the current bucket is the first one and we joined it after its start

    @property
    def last_closed(self) -> Candle | None:
        """The most recent closed higher-tf candle (what a strategy may use now)."""
        return self._last_closed

    def _close(self, out: list[Candle]) -> None:
        assert self._bucket is not None
        if not self._partial:
            o, h, l, c, v = self._ohlcv
            self._last_closed = Candle(self._bucket, o, h, l, c, v, timeframe=_tf_name(self.to_ms))
            out.append(self._last_closed)
        self._bucket = None
        self._ohlcv = []
        self._partial = False

    def update(self, ts: int, o: float, h: float, l: float, c: float, v: float) -> list[Candle]:
        ts = int(ts)
        if self._last_ts is not None and ts <= self._last_ts:
            raise DataError(f"HigherTimeframe: candle ts={ts} is not after the previous one ({self._last_ts})")
        first = self._last_ts is None
        self._last_ts = ts
        bucket = ts // self.to_ms * self.to_ms
        closed: list[Candle] = []
        if self._bucket is not None and bucket != self._bucket:
            self._close(closed)
        if self._bucket is None:
            self._bucket = bucket
            self._partial = first and ts != bucket
            self._ohlcv = [float(o), float(h), float(l), float(c), float(v)]
        else:
            acc = self._ohlcv
            acc[1] = max(acc[1], float(h))
            acc[2] = min(acc[2], float(l))
            acc[3] = float(c)
            acc[4] = acc[4] + float(v)
        if ts + self.from_ms >= bucket + self.to_ms:
            self._close(closed)
        return closed

    def update_candle(self, candle: Candle) -> list[Candle]:
        return self.update(candle.timestamp, candle.open, candle.high, candle.low, candle.close, candle.volume)

    def to_state(self) -> dict[str, Any]:
        lc = self._last_closed
        return {
            "kind": "HigherTimeframe", "from_ms": self.from_ms, "to_ms": self.to_ms, "bucket": self._bucket,
            "ohlcv": list(self._ohlcv), "last_ts": self._last_ts, "partial": self._partial,
            "last_closed": None if lc is None else [lc.timestamp, lc.open, lc.high, lc.low, lc.close, lc.volume],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Self:
        if not isinstance(state, dict) or state.get("kind") != "HigherTimeframe":
            raise DataError("HigherTimeframe state: not a HigherTimeframe state dict")
        try:
            obj = cls(int(state["from_ms"]), int(state["to_ms"]))
            obj._bucket = None if state["bucket"] is None else int(state["bucket"])
            obj._ohlcv = [float(x) for x in state["ohlcv"]]
            obj._last_ts = None if state["last_ts"] is None else int(state["last_ts"])
            obj._partial = bool(state["partial"])
            lc = state["last_closed"]
            if lc is not None:
                obj._last_closed = Candle(int(lc[0]), *(float(x) for x in lc[1:6]), timeframe=_tf_name(obj.to_ms))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"HigherTimeframe state: missing or invalid field ({exc!r})") from None
        return obj
