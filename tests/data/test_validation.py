from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from radar.data.validation import Gap, ValidationReport, find_gaps, validate_candle, validate_candles
from radar.models import Candle, CandleArrays

H = 3_600_000
T0 = 1_600_000_000_000 // H * H  # an hour-aligned timestamp


def make(rows: list[tuple[int, float, float, float, float, float]]) -> CandleArrays:
    cols = list(zip(*rows))
    return CandleArrays(np.array(cols[0], dtype=np.int64), *(np.array(c, dtype=np.float64) for c in cols[1:]))


GOOD = (100.0, 110.0, 90.0, 105.0, 7.0)

BAD_CANDLES = [
    ("non_finite", (math.nan, 110.0, 90.0, 105.0, 7.0)),
    ("non_finite", (100.0, math.inf, 90.0, 105.0, 7.0)),
    ("non_finite", (100.0, 110.0, 90.0, 105.0, math.nan)),
    ("non_positive_open", (0.0, 110.0, 0.0, 105.0, 7.0)),
    ("non_positive_close", (100.0, 110.0, -1.0, -1.0, 7.0)),
    ("negative_volume", (100.0, 110.0, 90.0, 105.0, -0.5)),
    ("low_above_high", (100.0, 100.0, 101.0, 100.0, 7.0)),
    ("low_above_open_close", (100.0, 110.0, 101.0, 105.0, 7.0)),
    ("high_below_open_close", (100.0, 104.0, 90.0, 105.0, 7.0)),
]


@pytest.mark.parametrize("reason, ohlcv", BAD_CANDLES)
def test_each_bad_candle_is_rejected_with_its_reason_and_the_good_ones_kept(reason, ohlcv):
    # Arrange: the bad candle sits between two good ones
    candles = make([(T0, *GOOD), (T0 + H, *ohlcv), (T0 + 2 * H, *GOOD)])

    # Act
    clean, report = validate_candles(candles, "1h")

    # Assert
    assert clean.timestamp.tolist() == [T0, T0 + 2 * H]
    assert report.accepted == 2
    assert report.rejected == {reason: 1}
    assert report.rejected_rows == ((1, reason),)


@pytest.mark.parametrize("reason, ohlcv", BAD_CANDLES)
def test_single_candle_check_gives_the_same_reason_as_the_batch(reason, ohlcv):
    candle = Candle(T0, *ohlcv, symbol="BTC/USDT:USDT", timeframe="1h")

    assert validate_candle(candle) == reason


def test_single_valid_candle_passes_and_a_misaligned_one_is_rejected():
    assert validate_candle(Candle(T0, *GOOD, timeframe="1h")) is None
    assert validate_candle(Candle(T0 + 60_000, *GOOD, timeframe="1h")) == "misaligned_timestamp"
    assert validate_candle(Candle(T0 + 60_000, *GOOD, timeframe="1m")) is None


def test_candle_equal_to_its_bounds_is_valid():
    # Doji with zero volume: low == high == open == close is a legal candle
    candles = make([(T0, 5.0, 5.0, 5.0, 5.0, 0.0)])

    clean, report = validate_candles(candles, "1h")

    assert len(clean) == 1
    assert report.rejected == {}


def test_duplicate_timestamp_keeps_the_first_occurrence():
    candles = make([(T0, *GOOD), (T0 + H, 1.0, 2.0, 0.5, 1.5, 3.0), (T0 + H, 9.0, 9.0, 9.0, 9.0, 9.0)])

    clean, report = validate_candles(candles, "1h")

    assert clean.timestamp.tolist() == [T0, T0 + H]
    assert clean.open.tolist() == [100.0, 1.0]
    assert report.rejected == {"duplicate_timestamp": 1}
    assert report.rejected_rows == ((2, "duplicate_timestamp"),)


def test_duplicate_of_an_invalid_candle_keeps_the_valid_one():
    # The first row at T0+H is broken, so the later valid row for that hour must survive
    candles = make([(T0 + H, math.nan, 1.0, 1.0, 1.0, 1.0), (T0 + H, 1.0, 2.0, 0.5, 1.5, 3.0)])

    clean, report = validate_candles(candles, "1h")

    assert clean.open.tolist() == [1.0]
    assert report.rejected == {"non_finite": 1}


def test_misaligned_timestamp_is_rejected():
    candles = make([(T0, *GOOD), (T0 + H + 1, *GOOD), (T0 + 2 * H, *GOOD)])

    clean, report = validate_candles(candles, "1h")

    assert clean.timestamp.tolist() == [T0, T0 + 2 * H]
    assert report.rejected == {"misaligned_timestamp": 1}


def test_unsorted_input_is_sorted_not_rejected_and_duplicates_keep_input_order():
    candles = make([
        (T0 + 2 * H, 3.0, 3.0, 3.0, 3.0, 1.0),
        (T0, 1.0, 1.0, 1.0, 1.0, 1.0),
        (T0 + H, 2.0, 2.0, 2.0, 2.0, 1.0),
        (T0, 4.0, 4.0, 4.0, 4.0, 1.0),
    ])

    clean, report = validate_candles(candles, "1h")

    assert clean.timestamp.tolist() == [T0, T0 + H, T0 + 2 * H]
    assert clean.close.tolist() == [1.0, 2.0, 3.0]
    assert report.unsorted is True
    assert report.rejected_rows == ((3, "duplicate_timestamp"),)


def test_row_numbers_label_the_rejections():
    candles = make([(T0, *GOOD), (T0 + H, -1.0, 1.0, 1.0, 1.0, 1.0)])

    _, report = validate_candles(candles, "1h", row_numbers=np.array([2, 7]))

    assert report.rejected_rows == ((7, "non_positive_open"),)


def test_first_broken_rule_wins_when_a_candle_breaks_several():
    # NaN open AND negative volume: reported once, as non_finite
    candles = make([(T0, math.nan, 1.0, 1.0, 1.0, -1.0)])

    _, report = validate_candles(candles, "1h")

    assert report.rejected == {"non_finite": 1}


def test_gap_is_a_step_larger_than_one_and_a_half_timeframes():
    ts = np.array([T0, T0 + H, T0 + 4 * H, T0 + 5 * H, T0 + 7 * H], dtype=np.int64)

    gaps = find_gaps(ts, "1h")

    assert gaps == (Gap(T0 + 2 * H, T0 + 4 * H, 2), Gap(T0 + 6 * H, T0 + 7 * H, 1))


def test_no_gaps_in_a_continuous_or_tiny_series():
    assert find_gaps(np.arange(T0, T0 + 10 * H, H), "1h") == ()
    assert find_gaps(np.array([T0]), "1h") == ()


def test_report_merge_adds_counts_and_summary_lists_reasons():
    a = ValidationReport(accepted=3, rejected={"non_finite": 1}, rejected_rows=((5, "non_finite"),))
    b = ValidationReport(accepted=2, rejected={"non_finite": 2, "unparseable": 1},
                         rejected_rows=((2, "unparseable"),), gaps=(Gap(T0, T0 + H, 1),))

    merged = a.merge(b)

    assert merged.accepted == 5
    assert merged.rejected == {"non_finite": 3, "unparseable": 1}
    assert merged.rejected_rows == ((2, "unparseable"), (5, "non_finite"))
    assert merged.summary() == "5 accepted, 4 rejected (non_finite: 3, unparseable: 1), 1 gaps (1 missing candles)"


def test_real_ada_file_gaps_match_an_independent_scan(shared_data):
    # Reference: plain-Python scan of the file with the csv module
    path = shared_data / "ADA-BTC_5m.csv"
    with path.open(newline="") as f:
        ts = [int(r[0]) for r in list(csv.reader(f))[1:]]
    step = 300_000
    expected = [(a + step, b, (b - a) // step - 1) for a, b in zip(ts, ts[1:]) if b - a > 1.5 * step]

    gaps = find_gaps(np.array(ts, dtype=np.int64), "5m")

    assert [(g.start_ms, g.end_ms, g.missing) for g in gaps] == expected
    # Plausibility: rows + missing candles cover the whole span exactly
    assert len(ts) + sum(g.missing for g in gaps) == (ts[-1] - ts[0]) // step + 1
    assert expected, "the ADA file is known to contain exchange gaps"
