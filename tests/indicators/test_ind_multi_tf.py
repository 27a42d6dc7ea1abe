"""Higher-timeframe resampling: closed buckets only, batch == incremental, and no look-ahead."""
from __future__ import annotations

import numpy as np
import pytest

from radar.errors import DataError
from radar.indicators import batch
from radar.indicators import incremental as inc
from radar.indicators.multi_tf import HigherTimeframe, align_htf_to_ltf, resample_closed
from radar.models import CandleArrays

H1 = 3_600_000
H4 = 4 * H1
T0 = 1_500_000_000_000 // H4 * H4  # a UTC-aligned 4h boundary


def candles_at(hours: list[int]) -> CandleArrays:
    """1h candles opening T0 + hour*1h; prices encode the hour so aggregates are checkable by eye."""
    hrs = np.array(hours, dtype=np.int64)
    base = 100.0 + hrs.astype(np.float64)
    return CandleArrays(T0 + hrs * H1, base, base + 0.5, base - 0.5, base + 0.25, np.ones(len(hours)))


def feed(c: CandleArrays, agg: HigherTimeframe) -> list[list]:
    return [agg.update(int(c.timestamp[i]), c.open[i], c.high[i], c.low[i], c.close[i], c.volume[i]) for i in range(len(c))]


def test_resample_aggregates_ohlcv_and_drops_the_unclosed_last_bucket() -> None:
    c = candles_at([0, 1, 2, 3, 4, 5])  # bucket 0 complete, bucket 4h has only 2 of 4 candles
    out = resample_closed(c.timestamp, c.open, c.high, c.low, c.close, c.volume, H1, H4)
    assert out.timestamp.tolist() == [T0]
    assert (out.open[0], out.high[0], out.low[0], out.close[0], out.volume[0]) == (100.0, 103.5, 99.5, 103.25, 4.0)


def test_incremental_emits_a_bucket_exactly_when_its_last_hour_is_processed() -> None:
    emitted = feed(candles_at([0, 1, 2, 3, 4, 5, 6, 7]), HigherTimeframe(H1, H4))
    assert [len(e) for e in emitted] == [0, 0, 0, 1, 0, 0, 0, 1]
    assert emitted[3][0].timestamp == T0 and emitted[3][0].close == 103.25 and emitted[3][0].timeframe == "4h"
    assert emitted[7][0].timestamp == T0 + H4 and emitted[7][0].open == 104.0


def test_gap_closes_a_bucket_when_a_later_bucket_arrives() -> None:
    # hour 3 missing: bucket 0 closes on hour 4's arrival; hours 5..10 missing: hour 11 closes bucket 4h
    # (with only hour 4) AND its own bucket 8h (it is that bucket's last hour).
    c = candles_at([0, 1, 2, 4, 11])
    emitted = feed(c, HigherTimeframe(H1, H4))
    assert [[k.timestamp for k in e] for e in emitted] == [[], [], [], [T0], [T0 + H4, T0 + 2 * H4]]
    out = resample_closed(c.timestamp, c.open, c.high, c.low, c.close, c.volume, H1, H4)
    assert out.timestamp.tolist() == [T0, T0 + H4, T0 + 2 * H4]
    assert out.close.tolist() == [102.25, 104.25, 111.25]


def test_series_starting_mid_bucket_drops_that_partial_bucket_in_both_paths() -> None:
    c = candles_at([2, 3, 4, 5, 6, 7])
    out = resample_closed(c.timestamp, c.open, c.high, c.low, c.close, c.volume, H1, H4)
    emitted = [k for e in feed(c, HigherTimeframe(H1, H4)) for k in e]
    assert out.timestamp.tolist() == [k.timestamp for k in emitted] == [T0 + H4]


def test_batch_and_incremental_resampling_agree_on_btc_with_holes(btc: CandleArrays) -> None:
    keep = np.ones(len(btc), dtype=bool)
    keep[np.random.default_rng(7).choice(len(btc), 400, replace=False)] = False
    c = CandleArrays(*(a[keep] for a in (btc.timestamp, btc.open, btc.high, btc.low, btc.close, btc.volume)))
    for to_ms in (H4, 24 * H1):
        out = resample_closed(c.timestamp, c.open, c.high, c.low, c.close, c.volume, H1, to_ms)
        got = [k for e in feed(c, HigherTimeframe(H1, to_ms)) for k in e]
        assert len(got) == len(out) > 100
        for field in ("timestamp", "open", "high", "low", "close", "volume"):
            assert [getattr(k, field) for k in got] == getattr(out, field).tolist(), field


def test_aligned_value_becomes_visible_on_the_candle_that_closes_the_bucket() -> None:
    ltf_ts = T0 + np.arange(12, dtype=np.int64) * H1
    htf_ts = np.array([T0, T0 + H4], dtype=np.int64)
    aligned = align_htf_to_ltf(ltf_ts, htf_ts, np.array([10.0, 20.0]), H4)
    # candle at hour 3 closes at hour 4 = end of bucket 0; candle at hour 7 closes bucket 4h.
    assert np.isnan(aligned[:3]).all()
    assert aligned[3:7].tolist() == [10.0] * 4
    assert aligned[7:].tolist() == [20.0] * 5


def supertrend_4h_aligned(c: CandleArrays) -> np.ndarray:
    h4 = resample_closed(c.timestamp, c.open, c.high, c.low, c.close, c.volume, H1, H4)
    line, _ = batch.supertrend(h4.high, h4.low, h4.close, 10, 3.0)
    return align_htf_to_ltf(c.timestamp, h4.timestamp, line, H4, H1)


def test_changing_future_candles_never_changes_earlier_aligned_4h_values(btc: CandleArrays) -> None:
    base = supertrend_4h_aligned(btc)
    cut = 9_001  # any hour; candles after it get replaced by a crash
    crashed = CandleArrays(btc.timestamp, *(np.r_[a[:cut + 1], a[cut + 1:] * 0.5] for a in
                                            (btc.open, btc.high, btc.low, btc.close)), btc.volume)
    changed = supertrend_4h_aligned(crashed)
    np.testing.assert_array_equal(changed[:cut + 1], base[:cut + 1])
    assert not np.array_equal(changed[cut + 1:], base[cut + 1:], equal_nan=True)


def test_batch_alignment_equals_incremental_higher_timeframe_indicator(btc: CandleArrays) -> None:
    expected = supertrend_4h_aligned(btc)
    agg, st = HigherTimeframe(H1, H4), inc.Supertrend(10, 3.0)
    got = []
    for i in range(len(btc)):
        for k in agg.update(int(btc.timestamp[i]), btc.open[i], btc.high[i], btc.low[i], btc.close[i], btc.volume[i]):
            st.update(k.high, k.low, k.close)
        got.append(st.value[0])
    np.testing.assert_array_equal(np.array(got), expected)
    assert (~np.isnan(expected)).sum() > 17_000


def test_aggregator_state_round_trip_mid_bucket(btc: CandleArrays) -> None:
    import json
    a = HigherTimeframe(H1, H4)
    c = btc.slice(0, 200)
    for i in range(102):
        a.update(int(c.timestamp[i]), c.open[i], c.high[i], c.low[i], c.close[i], c.volume[i])
    b = HigherTimeframe.from_state(json.loads(json.dumps(a.to_state(), allow_nan=False)))
    assert b.last_closed == a.last_closed
    for i in range(102, 200):
        row = (int(c.timestamp[i]), c.open[i], c.high[i], c.low[i], c.close[i], c.volume[i])
        assert a.update(*row) == b.update(*row)


def test_bad_input_is_rejected_with_a_reason() -> None:
    agg = HigherTimeframe(H1, H4)
    agg.update(T0, 1, 1, 1, 1, 1)
    with pytest.raises(DataError, match="not after the previous one"):
        agg.update(T0, 1, 1, 1, 1, 1)
    with pytest.raises(DataError, match="multiple"):
        HigherTimeframe(H4, H1 * 6)
    ts = np.array([T0 + H1, T0], dtype=np.int64)
    with pytest.raises(DataError, match="strictly increasing; row 1"):
        resample_closed(ts, *(np.ones(2),) * 5, H1, H4)
