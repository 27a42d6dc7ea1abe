from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from radar.data.csv_io import read_candle_csv, read_funding_csv, timeframe_from_filename
from radar.errors import DataError

HEADER = "timestamp,open,high,low,close,volume\n"
H = 3_600_000
T0 = 1_600_000_000_000 // H * H


def parse_with_csv_module(path: Path) -> list[list[str]]:
    with path.open(newline="") as f:
        return list(csv.reader(f))[1:]


def test_btc_file_reads_all_rows_with_bitwise_identical_values(shared_data):
    path = shared_data / "BTC-USD_1h_bitfinex.csv"
    expected = parse_with_csv_module(path)

    candles, report = read_candle_csv(path)

    assert len(candles) == 17_583 == len(expected)
    assert report.accepted == 17_583 and report.rejected == {}
    assert candles.timestamp.tolist() == [int(r[0]) for r in expected]
    for k, name in enumerate(("open", "high", "low", "close", "volume"), start=1):
        reference = np.array([float(r[k]) for r in expected], dtype=np.float64)
        # Bitwise: compare the raw 64-bit patterns, not approximate floats
        assert np.array_equal(getattr(candles, name).view(np.uint64), reference.view(np.uint64)), name


def test_btc_file_gaps_agree_with_an_independent_scan(shared_data):
    path = shared_data / "BTC-USD_1h_bitfinex.csv"
    ts = [int(r[0]) for r in parse_with_csv_module(path)]
    expected_missing = (ts[-1] - ts[0]) // H + 1 - len(ts)
    expected_gaps = sum(1 for a, b in zip(ts, ts[1:]) if b - a > 1.5 * H)

    _, report = read_candle_csv(path)

    assert len(report.gaps) == expected_gaps
    assert report.missing_candles == expected_missing


def test_five_minute_file_reports_its_gaps_by_time(shared_data):
    path = shared_data / "DASH-BTC_5m.csv"
    ts = [int(r[0]) for r in parse_with_csv_module(path)]
    expected = [(a + 300_000, b) for a, b in zip(ts, ts[1:]) if b - a > 450_000]

    _, report = read_candle_csv(path)

    assert expected, "the DASH file is known to contain exchange gaps"
    assert [(g.start_ms, g.end_ms) for g in report.gaps] == expected


def test_corrupt_rows_are_reported_by_line_number_and_valid_rows_kept(tmp_path):
    path = tmp_path / "BAD_1h.csv"
    path.write_text(
        HEADER
        + f"{T0},10,11,9,10.5,1\n"            # line 2 ok
        + f"{T0 + H},10,abc,9,10.5,1\n"       # line 3 text in a number column
        + f"{T0 + 2 * H},10,9,11,10,1\n"      # line 4 high < low
        + f"{T0 + 3 * H},nan,11,9,10.5,1\n"   # line 5 NaN
        + f"{T0 + 4 * H},10,11,9\n"           # line 6 missing fields
        + "\n"                                # line 7 blank, ignored
        + f"{T0 + 5 * H},10,12,8,11,2\n"      # line 8 ok
    )

    candles, report = read_candle_csv(path)

    assert candles.timestamp.tolist() == [T0, T0 + 5 * H]
    assert candles.close.tolist() == [10.5, 11.0]
    assert report.rejected_rows == (
        (3, "unparseable"), (4, "low_above_high"), (5, "non_finite"), (6, "wrong_field_count"),
    )
    assert report.rejected == {"unparseable": 1, "low_above_high": 1, "non_finite": 1, "wrong_field_count": 1}
    assert report.accepted == 2


def test_nan_row_alone_keeps_the_fast_path_line_numbers(tmp_path):
    path = tmp_path / "X_1h.csv"
    path.write_text(HEADER + f"{T0},10,11,9,10.5,1\n{T0 + H},10,11,9,NaN,1\n{T0 + 2 * H},10,11,9,10.5,1\n")

    candles, report = read_candle_csv(path)

    assert len(candles) == 2
    assert report.rejected_rows == ((3, "non_finite"),)


def test_wrong_header_is_a_clear_error(tmp_path):
    path = tmp_path / "X_1h.csv"
    path.write_text("time,o,h,l,c,v\n1,2,3,4,5,6\n")

    with pytest.raises(DataError) as err:
        read_candle_csv(path)

    assert str(err.value) == f"{path}: expected header timestamp,open,high,low,close,volume, got time,o,h,l,c,v"


def test_timestamps_in_seconds_are_refused_with_a_hint(tmp_path):
    path = tmp_path / "X_1h.csv"
    path.write_text(HEADER + f"{T0 // 1000},10,11,9,10.5,1\n")

    with pytest.raises(DataError, match=f"timestamps look like seconds \\(line 2: {T0 // 1000}\\)"):
        read_candle_csv(path)


def test_empty_file_is_a_clear_error(tmp_path):
    path = tmp_path / "X_1h.csv"
    path.write_text("")

    with pytest.raises(DataError, match="got nothing"):
        read_candle_csv(path)


def test_missing_file_error_names_the_file(tmp_path):
    path = tmp_path / "nope_1h.csv"

    with pytest.raises(DataError, match="nope_1h.csv: file not found"):
        read_candle_csv(path)


def test_timeframe_comes_from_the_file_name_or_must_be_given(tmp_path):
    assert timeframe_from_filename(Path("XRP-USDT_1h_futures.csv")) == "1h"
    assert timeframe_from_filename(Path("ETH-BTC_5m.csv")) == "5m"
    path = tmp_path / "candles.csv"
    path.write_text(HEADER + f"{T0},10,11,9,10.5,1\n")

    with pytest.raises(DataError, match="cannot tell the timeframe"):
        read_candle_csv(path)
    candles, _ = read_candle_csv(path, timeframe="1h")
    assert len(candles) == 1


def test_funding_csv_reads_all_91_rates(shared_data):
    path = shared_data / "XRP-USDT_8h_funding_rate.csv"
    expected = parse_with_csv_module(path)

    ts, rates, report = read_funding_csv(path)

    assert len(ts) == 91 == len(expected)
    assert ts.tolist() == [int(r[0]) for r in expected]
    assert rates.tolist() == [float(r[1]) for r in expected]
    assert report.accepted == 91 and report.rejected == {}


def test_funding_csv_reports_bad_and_duplicate_rows(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("timestamp,funding_rate\n1000,0.0001\n2000,x\n3000,nan\n1000,0.5\n4000,-0.0002\n")

    ts, rates, report = read_funding_csv(path)

    assert ts.tolist() == [1000, 4000]
    assert rates.tolist() == [0.0001, -0.0002]
    assert report.rejected_rows == ((3, "unparseable"), (4, "non_finite"), (5, "duplicate_timestamp"))
