"""Batch kernels and incremental classes agree on the 17,583-candle BTC file (same NaN positions, values to
1e-9 relative — in practice bit-for-bit, since both replay the same operation sequence)."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest

from radar.indicators import batch
from radar.indicators import incremental as inc
from radar.models import CandleArrays

PERIODS = [2, 14, 50]


def assert_series_agree(name: str, batch_values: np.ndarray, incremental_values: Sequence[float]) -> None:
    got = np.asarray(incremental_values, dtype=np.float64)
    assert got.shape == batch_values.shape, name
    assert np.array_equal(np.isnan(batch_values), np.isnan(got)), f"{name}: NaN positions differ"
    ok = ~np.isnan(batch_values)
    assert ok.sum() > 0, f"{name}: no value left after warm-up"
    np.testing.assert_allclose(got[ok], batch_values[ok], rtol=1e-9, atol=0, err_msg=name)


def run(indicator: object, rows: Callable[[], list[tuple[float, ...]]]) -> list:
    return [indicator.update(*row) for row in rows()]  # type: ignore[attr-defined]


def closes(c: CandleArrays) -> Callable[[], list[tuple[float, ...]]]:
    return lambda: [(x,) for x in c.close.tolist()]


def hlc(c: CandleArrays) -> Callable[[], list[tuple[float, ...]]]:
    return lambda: list(zip(c.high.tolist(), c.low.tolist(), c.close.tolist()))


def test_btc_file_has_the_documented_length(btc: CandleArrays) -> None:
    assert len(btc) == 17_583


@pytest.mark.parametrize("n", PERIODS)
def test_sma_ema_rsi_batch_equal_incremental_on_btc(btc: CandleArrays, n: int) -> None:
    assert_series_agree(f"sma{n}", batch.sma(btc.close, n), run(inc.SMA(n), closes(btc)))
    assert_series_agree(f"ema{n}", batch.ema(btc.close, n), run(inc.EMA(n), closes(btc)))
    assert_series_agree(f"rsi{n}", batch.rsi(btc.close, n), run(inc.RSI(n), closes(btc)))
    vol = [(v,) for v in btc.volume.tolist()]
    assert_series_agree(f"volume_sma{n}", batch.volume_sma(btc.volume, n), run(inc.VolumeSMA(n), lambda: vol))


@pytest.mark.parametrize("n", PERIODS)
def test_atr_and_true_range_batch_equal_incremental_on_btc(btc: CandleArrays, n: int) -> None:
    assert_series_agree(f"atr{n}", batch.atr(btc.high, btc.low, btc.close, n), run(inc.ATR(n), hlc(btc)))
    assert_series_agree("tr", batch.true_range(btc.high, btc.low, btc.close), run(inc.TrueRange(), hlc(btc)))


@pytest.mark.parametrize("n", PERIODS)
def test_adx_and_directional_indices_batch_equal_incremental_on_btc(btc: CandleArrays, n: int) -> None:
    expected = batch.adx(btc.high, btc.low, btc.close, n)
    got = run(inc.ADX(n), hlc(btc))
    for k, name in enumerate(("adx", "plus_di", "minus_di")):
        assert_series_agree(f"{name}{n}", expected[k], [row[k] for row in got])
    assert np.flatnonzero(~np.isnan(expected[0]))[0] == 2 * n - 1
    assert np.flatnonzero(~np.isnan(expected[1]))[0] == n


@pytest.mark.parametrize(("n", "k"), [(2, 1.0), (20, 2.0), (100, 2.5)])
def test_bollinger_batch_equal_incremental_on_btc(btc: CandleArrays, n: int, k: float) -> None:
    expected = batch.bollinger(btc.close, n, k)
    got = run(inc.Bollinger(n, k), closes(btc))
    for j, name in enumerate(("mid", "upper", "lower")):
        assert_series_agree(f"bollinger_{name}{n}", expected[j], [row[j] for row in got])


@pytest.mark.parametrize(("n", "mult"), [(2, 1.0), (10, 3.0), (50, 2.0)])
def test_supertrend_batch_equal_incremental_on_btc(btc: CandleArrays, n: int, mult: float) -> None:
    line, direction = batch.supertrend(btc.high, btc.low, btc.close, n, mult)
    got = run(inc.Supertrend(n, mult), hlc(btc))
    assert_series_agree(f"supertrend_line{n}", line, [row[0] for row in got])
    assert_series_agree(f"supertrend_dir{n}", direction, [row[1] for row in got])
    flips = np.count_nonzero(np.diff(direction[n:]) != 0)
    assert flips > 10, "a two-year hourly series must flip the Supertrend many times"


@pytest.mark.parametrize("n", PERIODS)
def test_vwap_donchian_rolling_extremes_batch_equal_incremental_on_btc(btc: CandleArrays, n: int) -> None:
    rows = list(zip(btc.high.tolist(), btc.low.tolist(), btc.close.tolist(), btc.volume.tolist()))
    assert_series_agree(f"vwap{n}", batch.rolling_vwap(btc.high, btc.low, btc.close, btc.volume, n),
                        run(inc.RollingVWAP(n), lambda: rows))
    assert_series_agree(f"max{n}", batch.rolling_max(btc.high, n), run(inc.RollingMax(n), lambda: [(x,) for x in btc.high]))
    assert_series_agree(f"min{n}", batch.rolling_min(btc.low, n), run(inc.RollingMin(n), lambda: [(x,) for x in btc.low]))
    dc = inc.Donchian(n)
    now, before = [], []
    for h, l in zip(btc.high.tolist(), btc.low.tolist()):
        now.append(dc.update(h, l))
        before.append(dc.previous)
    upper, lower = batch.donchian(btc.high, btc.low, n)
    prev_upper, prev_lower = batch.donchian_prev(btc.high, btc.low, n)
    assert_series_agree("donchian_upper", upper, [u for u, _ in now])
    assert_series_agree("donchian_lower", lower, [lo for _, lo in now])
    assert_series_agree("donchian_prev_upper", prev_upper, [u for u, _ in before])
    assert_series_agree("donchian_prev_lower", prev_lower, [lo for _, lo in before])


def test_rolling_sums_do_not_drift_over_the_whole_file(btc: CandleArrays) -> None:
    # Compare the running-sum kernels with a fresh per-window computation at the END of the file, where a
    # plain running total would have accumulated 17k rounding errors.
    n = 20
    tail = btc.close[-n:]
    assert batch.sma(btc.close, n)[-1] == pytest.approx(float(np.sum(tail)) / n, rel=1e-14)
    mid, upper, _ = batch.bollinger(btc.close, n, 1.0)
    assert upper[-1] - mid[-1] == pytest.approx(float(np.std(tail)), rel=1e-9)
    w = btc.volume[-n:]
    tp = (btc.high[-n:] + btc.low[-n:] + btc.close[-n:]) / 3.0
    vwap = batch.rolling_vwap(btc.high, btc.low, btc.close, btc.volume, n)[-1]
    assert vwap == pytest.approx(float(np.sum(tp * w) / np.sum(w)), rel=1e-13)


def test_bollinger_std_matches_two_pass_numpy_std_on_every_window(btc: CandleArrays) -> None:
    n = 20
    windows = np.lib.stride_tricks.sliding_window_view(btc.close, n)
    mid, upper, lower = batch.bollinger(btc.close, n, 2.0)
    np.testing.assert_allclose(mid[n - 1:], windows.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose((upper - mid)[n - 1:], 2.0 * windows.std(axis=1), rtol=1e-8, atol=1e-9)
