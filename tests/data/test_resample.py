from __future__ import annotations

import csv

import numpy as np
import pytest

from radar.data.csv_io import read_candle_csv
from radar.data.resample import resample
from radar.errors import DataError
from radar.models import CandleArrays

M5 = 300_000
H = 3_600_000
D = 86_400_000


def reference_resample(rows: list[tuple[int, float, float, float, float, float]], bucket_ms: int) -> dict:
    """Plain-Python OHLCV aggregation per UTC bucket."""
    out: dict[int, list[float]] = {}
    for ts, o, h, l, c, v in rows:
        b = ts - ts % bucket_ms
        if b not in out:
            out[b] = [o, h, l, c, v]
        else:
            agg = out[b]
            agg[1] = max(agg[1], h)
            agg[2] = min(agg[2], l)
            agg[3] = c
            agg[4] += v
    return out


def make(ts: list[int], close: list[float] | None = None) -> CandleArrays:
    n = len(ts)
    c = np.array(close if close is not None else np.arange(1.0, n + 1.0))
    return CandleArrays(np.array(ts, dtype=np.int64), c.copy(), c + 1.0, c - 0.5, c.copy(), np.ones(n))


def test_eth_5m_to_1h_matches_a_pure_python_reference(shared_data):
    path = shared_data / "ETH-BTC_5m.csv"
    with path.open(newline="") as f:
        rows = [(int(r[0]), *map(float, r[1:])) for r in list(csv.reader(f))[1:]]
    expected = reference_resample(rows, H)
    candles, _ = read_candle_csv(path)

    hourly = resample(candles, "5m", "1h")

    # The file ends at 04:50, so the 04:00 bucket lacks its 04:55 candle and is dropped.
    last_bucket = rows[-1][0] // H * H
    assert rows[-1][0] + M5 < last_bucket + H
    assert hourly.timestamp.tolist() == sorted(b for b in expected if b != last_bucket)
    for i in (0, 1, 100, len(hourly) - 1):
        b = int(hourly.timestamp[i])
        o, h, l, c, v = expected[b]
        assert (hourly.open[i], hourly.high[i], hourly.low[i], hourly.close[i]) == (o, h, l, c)
        assert hourly.volume[i] == pytest.approx(v, rel=1e-12)


def test_buckets_are_utc_aligned_for_4h_and_1d():
    start = 1_600_000_000_000 // D * D + 2 * H  # 02:00 UTC
    candles = make([start + k * H for k in range(30)])

    four = resample(candles, "1h", "4h", complete_only=False)
    day = resample(candles, "1h", "1d", complete_only=False)

    assert [(t - start + 2 * H) % D // H for t in four.timestamp.tolist()] == [0, 4, 8, 12, 16, 20, 0, 4]
    assert day.timestamp.tolist() == [start - 2 * H, start - 2 * H + D]


def test_ohlcv_aggregation_of_one_bucket():
    t = 1_600_000_000_000 // (4 * H) * (4 * H)
    candles = CandleArrays(
        np.array([t, t + H, t + 2 * H, t + 3 * H], dtype=np.int64),
        np.array([10.0, 11.0, 12.0, 13.0]), np.array([11.0, 15.0, 12.5, 13.5]),
        np.array([9.0, 10.5, 8.0, 12.0]), np.array([11.0, 12.0, 13.0, 12.5]), np.array([1.0, 2.0, 3.0, 4.0]),
    )

    out = resample(candles, "1h", "4h")

    assert len(out) == 1
    assert (out.open[0], out.high[0], out.low[0], out.close[0], out.volume[0]) == (10.0, 15.0, 8.0, 12.5, 10.0)


def test_last_bucket_is_emitted_only_once_its_last_sub_candle_has_closed():
    t = 1_600_000_000_000 // (4 * H) * (4 * H)
    three = make([t, t + H, t + 2 * H])
    four = make([t, t + H, t + 2 * H, t + 3 * H])

    assert len(resample(three, "1h", "4h")) == 0
    assert len(resample(three, "1h", "4h", complete_only=False)) == 1
    assert resample(four, "1h", "4h").timestamp.tolist() == [t]


def test_interior_bucket_with_a_gap_is_kept():
    t = 1_600_000_000_000 // (4 * H) * (4 * H)
    # First bucket misses its 01:00 candle; data continues into the next bucket
    candles = make([t, t + 2 * H, t + 3 * H, t + 4 * H], close=[1.0, 2.0, 3.0, 4.0])

    out = resample(candles, "1h", "4h")

    assert out.timestamp.tolist() == [t]
    assert out.close.tolist() == [3.0]
    assert out.volume.tolist() == [3.0]


def test_invalid_resample_requests_are_clear_errors():
    candles = make([0, H])

    with pytest.raises(DataError, match="not a multiple"):
        resample(candles, "4h", "1h")
    with pytest.raises(DataError, match="not strictly increasing"):
        resample(make([H, 0]), "1h", "4h")
    assert len(resample(CandleArrays.empty(), "1h", "4h")) == 0
    assert resample(candles, "1h", "1h").close.tolist() == [1.0, 2.0]
