"""The seeded synthetic candle generator: deterministic, always valid, with crypto-like stylised facts."""
from __future__ import annotations

import numpy as np
import pytest

from radar.data.csv_io import read_candle_csv
from radar.data.synth import SynthParams, synth_candles, write_candle_csv
from radar.data.validation import validate_candles
from radar.errors import DataError

H = 3_600_000
START = 1_704_067_200_000  # 2024-01-01 00:00 UTC


def _log_returns(n: int = 20_000, seed: int = 11) -> np.ndarray:
    return np.diff(np.log(synth_candles(n, "1h", seed=seed, start_ms=START).close))


def test_same_seed_gives_identical_candles_and_another_seed_differs():
    a = synth_candles(500, "1h", seed=42, start_ms=START)
    b = synth_candles(500, "1h", seed=42, start_ms=START)
    c = synth_candles(500, "1h", seed=43, start_ms=START)

    for col in ("timestamp", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(a, col), getattr(b, col))
    assert not np.array_equal(a.close, c.close)


def test_every_candle_is_valid_consecutive_and_opens_at_the_previous_close():
    candles = synth_candles(5_000, "15m", seed=3, start_ms=START)

    clean, report = validate_candles(candles, "15m")

    assert report.accepted == 5_000 and report.rejected_total == 0 and report.gaps == ()
    assert candles.timestamp[0] == START and np.all(np.diff(candles.timestamp) == 15 * 60_000)
    np.testing.assert_array_equal(candles.open[1:], candles.close[:-1])
    assert np.all(candles.high >= np.maximum(candles.open, candles.close))
    assert np.all(candles.low <= np.minimum(candles.open, candles.close))
    assert np.all(candles.volume > 0) and np.all(candles.low > 0)
    # Wicks come from the intrabar path: most candles reach beyond their body on each side (a body-only
    # generator would give 0).
    assert np.mean(candles.high > np.maximum(candles.open, candles.close)) > 0.6
    assert np.mean(candles.low < np.minimum(candles.open, candles.close)) > 0.6


def test_absolute_returns_cluster():
    r = np.abs(_log_returns())

    lag1 = np.corrcoef(r[:-1], r[1:])[0, 1]

    assert lag1 > 0.1  # an i.i.d. series would be ~0 (standard error ~0.007 for 20k samples)


def test_returns_have_fat_tails():
    r = _log_returns()

    kurtosis = float(np.mean((r - r.mean()) ** 4) / r.var() ** 2)

    assert kurtosis > 4.0  # normal returns would give 3


def test_volume_rises_with_the_size_of_the_move():
    candles = synth_candles(10_000, "1h", seed=5, start_ms=START)
    moves = np.abs(np.log(candles.close / candles.open))

    big, small = moves > np.quantile(moves, 0.9), moves < np.quantile(moves, 0.1)

    assert candles.volume[big].mean() > 2 * candles.volume[small].mean()


def test_hourly_volatility_matches_the_requested_level_and_scales_with_the_timeframe():
    params = SynthParams(hourly_vol=0.004, jump_prob=0.0)
    hourly = np.diff(np.log(synth_candles(20_000, "1h", seed=9, start_ms=START, params=params).close))
    daily = np.diff(np.log(synth_candles(5_000, "1d", seed=9, start_ms=START, params=params).close))

    assert 0.0032 < hourly.std() < 0.0048
    assert 0.004 * np.sqrt(24) * 0.8 < daily.std() < 0.004 * np.sqrt(24) * 1.2


def test_csv_round_trip_keeps_the_exact_values(tmp_path):
    candles = synth_candles(300, "1h", seed=1, start_ms=START)
    path = tmp_path / "SYN_1h.csv"

    write_candle_csv(path, candles)
    back, report = read_candle_csv(path, "1h")

    assert report.accepted == 300 and report.rejected_total == 0
    for col in ("timestamp", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(back, col), getattr(candles, col))


def test_bad_arguments_are_refused_with_the_reason():
    with pytest.raises(DataError, match="not aligned to the 1h"):
        synth_candles(10, "1h", start_ms=START + 1)
    with pytest.raises(DataError, match="garch_alpha"):
        synth_candles(10, "1h", start_ms=START, params=SynthParams(garch_alpha=0.2, garch_beta=0.85))
    with pytest.raises(DataError, match=">= 0"):
        synth_candles(-1, "1h", start_ms=START)


def test_cli_data_synth_writes_the_same_candles_as_the_library(tmp_path, capsys):
    from radar.cli.main import main

    out = tmp_path / "syn.csv"

    code = main(["data", "synth", "--symbol", "SYN/USDT:USDT", "--timeframe", "4h", "--candles", "120",
                 "--seed", "8", "--start", "2024-03-01", "--out", str(out)])

    assert code == 0 and "120 synthetic 4h candles" in capsys.readouterr().out
    back, _ = read_candle_csv(out, "4h")
    expected = synth_candles(120, "4h", seed=8, start_ms=1_709_251_200_000)
    np.testing.assert_array_equal(back.close, expected.close)
    assert back.timestamp[0] == 1_709_251_200_000
