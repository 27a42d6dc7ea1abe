"""Hand-computed fixtures: expected numbers are derived on paper from the SPEC §4 definitions (derivations in
the comments) or by a small exact-arithmetic (Fraction) loop written here, never by calling the implementation."""
from __future__ import annotations

import math
from fractions import Fraction as F

import numpy as np
import pytest

from radar.indicators import batch
from radar.indicators import incremental as inc

NAN = math.nan

# Shared OHLC fixture (h, l, c); true ranges worked out by hand (pc = previous close):
#   i0 h10   l8   c9     TR0 = h-l = 2 (not used by ATR)
#   i1 h11   l9   c10.5  pc 9:    h-l 2, |h-pc| 2,   |l-pc| 0   -> 2
#   i2 h12   l10  c11    pc 10.5: h-l 2, |h-pc| 1.5, |l-pc| 0.5 -> 2
#   i3 h14   l13  c13.5  pc 11:   h-l 1, |h-pc| 3,   |l-pc| 2   -> 3   (gap up)
#   i4 h13   l10  c10.5  pc 13.5: h-l 3, |h-pc| .5,  |l-pc| 3.5 -> 3.5
#   i5 h11   l9.5 c10    pc 10.5: h-l 1.5, .5, 1                -> 1.5
#   i6 h8    l7   c7.5   pc 10:   h-l 1, |h-pc| 2,   |l-pc| 3   -> 3   (gap down)
H = np.array([10, 11, 12, 14, 13, 11, 8], dtype=np.float64)
L = np.array([8, 9, 10, 13, 10, 9.5, 7], dtype=np.float64)
C = np.array([9, 10.5, 11, 13.5, 10.5, 10, 7.5], dtype=np.float64)


def assert_nan_close(got: np.ndarray, expected: list[float], rel: float = 1e-12) -> None:
    got = np.asarray(got, dtype=np.float64)
    exp = np.asarray(expected, dtype=np.float64)
    assert np.array_equal(np.isnan(got), np.isnan(exp)), f"NaN positions: got {got}, expected {exp}"
    np.testing.assert_allclose(got[~np.isnan(exp)], exp[~np.isnan(exp)], rtol=rel, atol=1e-12)


def test_true_range_uses_gaps_and_high_minus_low_on_the_first_candle() -> None:
    assert_nan_close(batch.true_range(H, L, C), [2, 2, 2, 3, 3.5, 1.5, 3])


def test_atr3_is_seeded_with_mean_of_tr1_to_tr3_then_wilder_smoothed() -> None:
    # ATR[3] = (2+2+3)/3 = 7/3 (TR0 ignored)
    # ATR[4] = (7/3*2 + 3.5)/3 = 49/18
    # ATR[5] = (49/18*2 + 1.5)/3 = 125/54
    # ATR[6] = (125/54*2 + 3)/3 = 206/81
    expected = [NAN, NAN, NAN, 7 / 3, 49 / 18, 125 / 54, 206 / 81]
    assert_nan_close(batch.atr(H, L, C, 3), expected)
    atr = inc.ATR(3)
    assert_nan_close(np.array([atr.update(h, l, c) for h, l, c in zip(H, L, C)]), expected)


def test_ema3_seeds_with_sma_then_applies_alpha_one_half() -> None:
    # alpha = 2/(3+1) = 0.5; seed at i2 = (2+4+6)/3 = 4
    # i3: 4 + 0.5*(8-4) = 6; i4: 6 + 0.5*(12-6) = 9; i5: 9 + 0.5*(10-9) = 9.5; i6: 9.5 + 0.5*(4-9.5) = 6.75
    x = np.array([2, 4, 6, 8, 12, 10, 4], dtype=np.float64)
    expected = [NAN, NAN, 4, 6, 9, 9.5, 6.75]
    assert_nan_close(batch.ema(x, 3), expected)
    ema = inc.EMA(3)
    assert_nan_close(np.array([ema.update(v) for v in x]), expected)


def test_sma3_first_value_at_index_two() -> None:
    x = np.array([3, 6, 9, 12, 0], dtype=np.float64)
    assert_nan_close(batch.sma(x, 3), [NAN, NAN, 6, 9, 7])


def test_bollinger3_uses_population_std() -> None:
    # windows of x = [1, 2, 3, 5, 5, 5, 2], k = 2:
    #   [1,2,3]: mean 2,    var (1+0+1)/3 = 2/3             -> std sqrt(2/3)
    #   [2,3,5]: mean 10/3, var (16+1+25)/9/3 = 14/9        -> std sqrt(14)/3
    #   [3,5,5]: mean 13/3, var (16+4+4)/9/3 = 8/9          -> std sqrt(8)/3
    #   [5,5,5]: mean 5,    var 0                           -> bands collapse on the mean
    #   [5,5,2]: mean 4,    var (1+1+4)/3 = 2               -> std sqrt(2)
    x = np.array([1, 2, 3, 5, 5, 5, 2], dtype=np.float64)
    means = [NAN, NAN, 2, 10 / 3, 13 / 3, 5, 4]
    stds = [NAN, NAN, math.sqrt(2 / 3), math.sqrt(14) / 3, math.sqrt(8) / 3, 0.0, math.sqrt(2)]
    mid, upper, lower = batch.bollinger(x, 3, 2.0)
    assert_nan_close(mid, means)
    assert_nan_close(upper, [m + 2 * s for m, s in zip(means, stds)])
    assert_nan_close(lower, [m - 2 * s for m, s in zip(means, stds)])
    assert upper[5] == lower[5] == 5.0


def test_rsi2_wilder_by_hand() -> None:
    # changes: +1, -0.5, +1.5, -1
    # i2: gain (1+0)/2 = 0.5, loss (0+0.5)/2 = 0.25          -> 100*0.5/0.75 = 66.666...
    # i3: gain (0.5*1+1.5)/2 = 1, loss (0.25*1+0)/2 = 0.125  -> 100*1/1.125 = 88.888...
    # i4: gain (1+0)/2 = 0.5, loss (0.125+1)/2 = 0.5625      -> 100*0.5/1.0625 = 47.0588...
    x = np.array([10, 11, 10.5, 12, 11], dtype=np.float64)
    expected = [NAN, NAN, 200 / 3, 800 / 9, 800 / 17]
    assert_nan_close(batch.rsi(x, 2), expected)
    assert batch.rsi(np.full(5, 7.0), 2)[2] == 0.0  # no change at all: TA-Lib convention, RSI 0


# ADX(2) fixture, derived by hand:
#   i  h   l  c   +DM -DM TR
#   0  10  8  9
#   1  12  9  11  2   0   3     (up 2, down -1; TR max(3, |12-9|, |9-9|))
#   2  13  10 12  1   0   3
#   3  12  8  9   0   2   4     (up -1, down 2)
#   4  11  7  8   0   1   4
#   5  14  8  13  3   0   6
# i1 (seed, n-1 = 1 value): +DM 2, -DM 0, TR 3
# i2: +DM 2-2/2+1 = 2,     -DM 0,           TR 3-1.5+3 = 4.5    -> +DI 44.44, -DI 0,  DX 100
# i3: +DM 2-1+0 = 1,       -DM 0-0+2 = 2,   TR 4.5-2.25+4 = 6.25 -> +DI 16, -DI 32,   DX 100*16/48 = 33.33
#     first ADX (index 2n-1 = 3) = (100 + 100/3)/2 = 200/3
# i4: +DM 0.5, -DM 2-1+1 = 2, TR 6.25-3.125+4 = 7.125 -> +DI 50/7.125, -DI 200/7.125, DX 100*1.5/2.5 = 60
#     ADX = (200/3 + 60)/2 = 190/3
# i5: +DM 0.5-0.25+3 = 3.25, -DM 1, TR 7.125-3.5625+6 = 9.5625 -> DX 100*2.25/4.25 = 900/17
#     ADX = (190/3 + 900/17)/2 = 2965/51
AH = np.array([10, 12, 13, 12, 11, 14], dtype=np.float64)
AL = np.array([8, 9, 10, 8, 7, 8], dtype=np.float64)
AC = np.array([9, 11, 12, 9, 8, 13], dtype=np.float64)


def test_adx2_by_hand() -> None:
    adx, pdi, mdi = batch.adx(AH, AL, AC, 2)
    assert_nan_close(adx, [NAN, NAN, NAN, 200 / 3, 190 / 3, 2965 / 51])
    assert_nan_close(pdi, [NAN, NAN, 400 / 9, 16, 50 / 7.125, 325 / 9.5625])
    assert_nan_close(mdi, [NAN, NAN, 0, 32, 200 / 7.125, 100 / 9.5625])


def _adx_reference(h: list[F], l: list[F], c: list[F], n: int) -> tuple[list, list, list]:
    """Exact-arithmetic ADX from the textbook stages (DM/TR arrays -> Wilder sums -> DI -> DX -> ADX)."""
    m = len(h)
    pdm, mdm, tr = [F(0)] * m, [F(0)] * m, [F(0)] * m
    for i in range(1, m):
        up, down = h[i] - h[i - 1], l[i - 1] - l[i]
        pdm[i] = up if up > down and up > 0 else F(0)
        mdm[i] = down if down > up and down > 0 else F(0)
        tr[i] = max(h[i] - l[i], abs(h[i] - c[i - 1]), abs(l[i] - c[i - 1]))
    sp, sm, st = sum(pdm[1:n]), sum(mdm[1:n]), sum(tr[1:n])
    pdi, mdi, dx = [None] * m, [None] * m, [None] * m
    for i in range(n, m):
        sp, sm, st = sp - sp / n + pdm[i], sm - sm / n + mdm[i], st - st / n + tr[i]
        pdi[i], mdi[i] = 100 * sp / st, 100 * sm / st
        dx[i] = 100 * abs(pdi[i] - mdi[i]) / (pdi[i] + mdi[i])
    adx = [None] * m
    adx[2 * n - 1] = sum(dx[n:2 * n]) / n
    for i in range(2 * n, m):
        adx[i] = (adx[i - 1] * (n - 1) + dx[i]) / n
    return adx, pdi, mdi


def test_adx3_matches_exact_fraction_reference_on_twelve_candles() -> None:
    h = [F(x) for x in ("10", "11.5", "12", "11", "13", "14.5", "14", "12.5", "12", "13.5", "15", "14")]
    l = [F(x) for x in ("9", "10", "10.5", "9.5", "11", "12.5", "12", "11", "10.5", "11.5", "13", "12.5")]
    c = [F(x) for x in ("9.5", "11", "11", "10", "12.5", "14", "12.5", "11.5", "11.5", "13", "14.5", "13")]
    ref = _adx_reference(h, l, c, 3)
    got = batch.adx(*(np.array([float(v) for v in s]) for s in (h, l, c)), 3)
    for k in range(3):
        expected = [NAN if v is None else float(v) for v in ref[k]]
        assert_nan_close(got[k], expected)


# Supertrend(2, 1.0) fixture, derived by hand (ATR(2) first at index 2):
#   i  h     l     c      TR   ATR       hl2   basic up / low       final up / low        dir line
#   0  10    9     9.5
#   1  11    10    10.5   1.5
#   2  12    11    11.5   1.5  1.5       11.5  13 / 10              13 / 10               +1  10
#   3  12.5  11.5  12     1    1.25      12    13.25 / 10.75        13 (13.25>13, pc 11.5 not > 13) / 10.75   +1  10.75
#   4  12    9     9.5    3    2.125     10.5  12.625 / 8.375       12.625 / 10.75 (pc 12 not < 10.75)
#                                                                   close 9.5 < 10.75 -> -1, line 12.625
#   5  10    8     8.5    2    2.0625    9     11.0625 / 6.9375     11.0625 / 6.9375 (pc 9.5 < 10.75) -1 11.0625
#   6  12    10    11.5   3.5  2.78125   11    13.78125 / 8.21875   11.0625 / 8.21875
#                                                                   close 11.5 > 11.0625 -> +1, line 8.21875
#   7  13    11    12.5   2    2.390625  12    14.390625 / 9.609375 14.390625 (pc 11.5 > 11.0625) / 9.609375  +1 9.609375
SH = np.array([10, 11, 12, 12.5, 12, 10, 12, 13], dtype=np.float64)
SL = np.array([9, 10, 11, 11.5, 9, 8, 10, 11], dtype=np.float64)
SC = np.array([9.5, 10.5, 11.5, 12, 9.5, 8.5, 11.5, 12.5], dtype=np.float64)


def test_supertrend_2_1_by_hand_with_both_flips_and_ratchets() -> None:
    line_expected = [NAN, NAN, 10, 10.75, 12.625, 11.0625, 8.21875, 9.609375]
    dir_expected = [NAN, NAN, 1, 1, -1, -1, 1, 1]
    line, direction = batch.supertrend(SH, SL, SC, 2, 1.0)
    assert_nan_close(line, line_expected)
    assert_nan_close(direction, dir_expected)
    st = inc.Supertrend(2, 1.0)
    got = [st.update(h, l, c) for h, l, c in zip(SH, SL, SC)]
    assert_nan_close(np.array([g[0] for g in got]), line_expected)
    assert st.final_bands == (14.390625, 9.609375)


def test_vwap_and_donchian_small_windows() -> None:
    h = np.array([3, 6, 9, 6], dtype=np.float64)
    l = np.array([0, 3, 3, 0], dtype=np.float64)
    c = np.array([3, 3, 6, 3], dtype=np.float64)
    v = np.array([1, 3, 0, 2], dtype=np.float64)
    # typical prices: 2, 4, 6, 3 ; window 2: (2*1+4*3)/4 = 3.5, (4*3+0)/3 = 4, (0+3*2)/2 = 3
    assert_nan_close(batch.rolling_vwap(h, l, c, v, 2), [NAN, 3.5, 4, 3])
    upper, lower = batch.donchian(h, l, 2)
    assert_nan_close(upper, [NAN, 6, 9, 9])
    assert_nan_close(lower, [NAN, 0, 3, 0])
    prev_upper, prev_lower = batch.donchian_prev(h, l, 2)
    assert_nan_close(prev_upper, [NAN, NAN, 6, 9])
    assert_nan_close(prev_lower, [NAN, NAN, 0, 3])


def test_vwap_is_nan_when_the_window_has_no_volume() -> None:
    ones = np.ones(4)
    assert_nan_close(batch.rolling_vwap(ones * 2, ones, ones, np.array([1.0, 0, 0, 5]), 2), [NAN, 1 + 1 / 3, NAN, 1 + 1 / 3])


@pytest.mark.parametrize("bad", [0, -3])
def test_periods_below_minimum_are_rejected(bad: int) -> None:
    with pytest.raises(ValueError):
        batch.sma(np.ones(5), bad)
    with pytest.raises(ValueError, match="period must be an integer >= 1"):
        inc.SMA(bad)
    with pytest.raises(ValueError):
        batch.rsi(np.ones(5), 1)
    with pytest.raises(ValueError, match=">= 2"):
        inc.ADX(1)
