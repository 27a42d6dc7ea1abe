"""Batch indicator kernels: numba over float64 arrays, output has the input's length, warm-up is NaN.

Definitions follow TA-Lib (SPEC §4) including its order of floating-point operations, so results can
be checked against TA-Lib and so that the incremental classes in `incremental.py` (which replay the
same operation sequence) agree bit-for-bit. Deliberate deviations from TA-Lib, all on degenerate input:

- zero tests are exact (`== 0.0`) instead of TA-Lib 0.4's `|v| < 1e-8` band, which silently zeroes RSI,
  +DI/-DI and Bollinger width for coins quoted below ~1e-6 (e.g. altcoins priced in BTC);
- rolling window sums are Neumaier-compensated instead of TA-Lib's plain running total, so 17k+ candle
  series do not drift (results differ from TA-Lib only in the last bits);
- TR[0] = high - low (SPEC §3/§4; TA-Lib leaves TRANGE[0] undefined).

Inputs must be finite (validated candles are); a NaN inside a window poisons the running sums.
All kernels are callable from other numba code (the fast backtest engine).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit


def neumaier_add(s: float, c: float, x: float) -> tuple[float, float]:
    """One step of Neumaier compensated summation: the true sum is `s + c` after the step.

    Shared verbatim by the batch kernels (jitted below) and the incremental classes (pure Python), so
    both follow the same rounding sequence.
    """
    t = s + x
    if abs(s) >= abs(x):
        c += (s - t) + x
    else:
        c += (x - t) + s
    return t, c


_kadd = njit(cache=True)(neumaier_add)


@njit(cache=True)
def _check_period(n: int, minimum: int) -> None:
    if n < minimum:
        raise ValueError("indicator period is below its minimum (1, or 2 for RSI/ADX)")


@njit(cache=True)
def _check_same_length(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape[0] != b.shape[0]:
        raise ValueError("indicator input arrays have different lengths")


@njit(cache=True)
def sma(x: np.ndarray, n: int) -> np.ndarray:
    """Simple moving average of the last n values; first value at index n-1."""
    _check_period(n, 1)
    m = x.shape[0]
    out = np.full(m, np.nan)
    s = 0.0
    c = 0.0
    for i in range(m):
        if i >= n:
            s, c = _kadd(s, c, -x[i - n])
        s, c = _kadd(s, c, x[i])
        if i >= n - 1:
            out[i] = (s + c) / n
    return out


volume_sma = sma


@njit(cache=True)
def ema(x: np.ndarray, n: int) -> np.ndarray:
    """EMA with alpha 2/(n+1), seeded with the plain mean of x[0..n-1] at index n-1 (TA-Lib default)."""
    _check_period(n, 1)
    m = x.shape[0]
    out = np.full(m, np.nan)
    if m < n:
        return out
    k = 2.0 / (n + 1)
    s = 0.0
    for i in range(n):
        s += x[i]
    prev = s / n
    out[n - 1] = prev
    for i in range(n, m):
        prev = (x[i] - prev) * k + prev
        out[i] = prev
    return out


@njit(cache=True)
def true_range(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """TR[0] = high-low; TR[i] = max(h-l, |h - prev close|, |l - prev close|)."""
    _check_same_length(high, low)
    _check_same_length(high, close)
    m = high.shape[0]
    out = np.empty(m)
    for i in range(m):
        tr = high[i] - low[i]
        if i > 0:
            pc = close[i - 1]
            v = abs(pc - high[i])
            if v > tr:
                tr = v
            v = abs(pc - low[i])
            if v > tr:
                tr = v
        out[i] = tr
    return out


@njit(cache=True)
def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int) -> np.ndarray:
    """Wilder ATR (TA-Lib): first value at index n = mean(TR[1..n]) (TR[0] unused), then (prev*(n-1)+TR)/n."""
    _check_period(n, 1)
    tr = true_range(high, low, close)
    m = tr.shape[0]
    out = np.full(m, np.nan)
    if m <= n:
        return out
    s = 0.0
    for i in range(1, n + 1):
        s += tr[i]
    prev = s / n
    out[n] = prev
    for i in range(n + 1, m):
        prev = prev * (n - 1)
        prev = prev + tr[i]
        prev = prev / n
        out[i] = prev
    return out


@njit(cache=True)
def adx(high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Wilder ADX with +DI/-DI exactly as TA-Lib (ADX, PLUS_DI, MINUS_DI) computes them.

    Indices 1..n-1 sum +DM, -DM and TR; from index n each is smoothed `v - v/n + today` and the DIs are
    output (first at n; 0 when the smoothed TR is 0). DX = 100*|-DI - +DI|/(-DI + +DI); the first ADX
    (index 2n-1) is the mean of the n DX values at indices n..2n-1, then (prev*(n-1) + DX)/n. A DX that
    is undefined (smoothed TR or DI sum of 0) adds nothing to the seed and leaves the ADX unchanged.
    """
    _check_period(n, 2)
    _check_same_length(high, low)
    _check_same_length(high, close)
    m = high.shape[0]
    adx_out = np.full(m, np.nan)
    pdi_out = np.full(m, np.nan)
    mdi_out = np.full(m, np.nan)
    if m == 0:
        return adx_out, pdi_out, mdi_out
    prev_h = high[0]
    prev_l = low[0]
    prev_c = close[0]
    pdm = 0.0
    mdm = 0.0
    trs = 0.0
    sum_dx = 0.0
    prev_adx = 0.0
    for i in range(1, m):
        diff_p = high[i] - prev_h
        diff_m = prev_l - low[i]
        prev_h = high[i]
        prev_l = low[i]
        tr = prev_h - prev_l
        v = abs(prev_c - prev_h)
        if v > tr:
            tr = v
        v = abs(prev_c - prev_l)
        if v > tr:
            tr = v
        prev_c = close[i]
        if i < n:
            if diff_m > 0 and diff_p < diff_m:
                mdm += diff_m
            elif diff_p > 0 and diff_p > diff_m:
                pdm += diff_p
            trs += tr
            continue
        mdm -= mdm / n
        pdm -= pdm / n
        if diff_m > 0 and diff_p < diff_m:
            mdm += diff_m
        elif diff_p > 0 and diff_p > diff_m:
            pdm += diff_p
        trs = trs - (trs / n) + tr
        if trs != 0.0:
            mdi = 100.0 * (mdm / trs)
            pdi = 100.0 * (pdm / trs)
        else:
            mdi = 0.0
            pdi = 0.0
        pdi_out[i] = pdi
        mdi_out[i] = mdi
        di_sum = mdi + pdi
        has_dx = trs != 0.0 and di_sum != 0.0
        dx = 100.0 * (abs(mdi - pdi) / di_sum) if has_dx else 0.0
        if i < 2 * n - 1:
            if has_dx:
                sum_dx += dx
        elif i == 2 * n - 1:
            if has_dx:
                sum_dx += dx
            prev_adx = sum_dx / n
            adx_out[i] = prev_adx
        else:
            if has_dx:
                prev_adx = ((prev_adx * (n - 1)) + dx) / n
            adx_out[i] = prev_adx
    return adx_out, pdi_out, mdi_out


@njit(cache=True)
def bollinger(x: np.ndarray, n: int, k: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mid, upper, lower) = SMA(n) ± k * population std (ddof 0) of the last n values; first at n-1.

    var = mean(x²) - mean(x)², both means from compensated window sums; a var <= 0 (rounding on a flat
    window) gives std 0.
    """
    _check_period(n, 1)
    m = x.shape[0]
    mid = np.full(m, np.nan)
    upper = np.full(m, np.nan)
    lower = np.full(m, np.nan)
    s1 = 0.0
    c1 = 0.0
    s2 = 0.0
    c2 = 0.0
    for i in range(m):
        if i >= n:
            old = x[i - n]
            s1, c1 = _kadd(s1, c1, -old)
            s2, c2 = _kadd(s2, c2, -(old * old))
        xi = x[i]
        s1, c1 = _kadd(s1, c1, xi)
        s2, c2 = _kadd(s2, c2, xi * xi)
        if i >= n - 1:
            mean = (s1 + c1) / n
            var = (s2 + c2) / n - mean * mean
            std = math.sqrt(var) if var > 0.0 else 0.0
            band = k * std
            mid[i] = mean
            upper[i] = mean + band
            lower[i] = mean - band
    return mid, upper, lower


@njit(cache=True)
def supertrend(high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int, mult: float) -> tuple[np.ndarray, np.ndarray]:
    """(line, direction) of Supertrend(n, mult); first value at index n (the first ATR index).

    basic upper/lower = (h+l)/2 ± mult*ATR(n). Final bands ratchet:
      final_upper[i] = basic_upper[i] if basic_upper[i] < final_upper[i-1] or close[i-1] > final_upper[i-1]
                       else final_upper[i-1]
      final_lower[i] = basic_lower[i] if basic_lower[i] > final_lower[i-1] or close[i-1] < final_lower[i-1]
                       else final_lower[i-1]
    At index n the final bands are the basic bands and direction is +1 (long) whatever the close.
    After that, with the bands of candle i already ratcheted: a long flips to -1 when close[i] <
    final_lower[i]; a short flips to +1 when close[i] > final_upper[i]. line = final_lower when long,
    final_upper when short. direction is +1.0/-1.0 (NaN in warm-up).
    """
    atr_v = atr(high, low, close, n)
    m = high.shape[0]
    line = np.full(m, np.nan)
    direction = np.full(m, np.nan)
    fu = 0.0
    fl = 0.0
    d = 1.0
    for i in range(n, m):
        hl2 = (high[i] + low[i]) / 2.0
        band = mult * atr_v[i]
        bu = hl2 + band
        bl = hl2 - band
        if i == n:
            fu = bu
            fl = bl
            d = 1.0
        else:
            pc = close[i - 1]
            if not (bu < fu or pc > fu):
                bu = fu
            if not (bl > fl or pc < fl):
                bl = fl
            fu = bu
            fl = bl
            if d > 0.0:
                if close[i] < fl:
                    d = -1.0
            elif close[i] > fu:
                d = 1.0
        line[i] = fl if d > 0.0 else fu
        direction[i] = d
    return line, direction


@njit(cache=True)
def rsi(x: np.ndarray, n: int) -> np.ndarray:
    """Wilder RSI (TA-Lib): first value at index n from the mean gain/loss of changes 1..n, then
    avg = (avg*(n-1) + today)/n; RSI = 100*gain/(gain+loss), 0 when there was no change at all."""
    _check_period(n, 2)
    m = x.shape[0]
    out = np.full(m, np.nan)
    if m <= n:
        return out
    gain = 0.0
    loss = 0.0
    prev = x[0]
    for i in range(1, n + 1):
        d = x[i] - prev
        prev = x[i]
        if d < 0:
            loss -= d
        else:
            gain += d
    loss /= n
    gain /= n
    tot = gain + loss
    out[n] = 100.0 * (gain / tot) if tot != 0.0 else 0.0
    for i in range(n + 1, m):
        d = x[i] - prev
        prev = x[i]
        loss *= n - 1
        gain *= n - 1
        if d < 0:
            loss -= d
        else:
            gain += d
        loss /= n
        gain /= n
        tot = gain + loss
        out[i] = 100.0 * (gain / tot) if tot != 0.0 else 0.0
    return out


@njit(cache=True)
def rolling_vwap(high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, n: int) -> np.ndarray:
    """sum(tp*v)/sum(v) over the last n candles, tp = (h+l+c)/3; first value at n-1.

    NaN when every candle of the window has zero volume (VWAP undefined) — the sums restart from an
    exact 0 then, so no rounding residue survives an all-zero stretch — or when the compensated volume
    sum rounds to <= 0 (only with subnormal-scale volumes).
    """
    _check_period(n, 1)
    _check_same_length(high, low)
    _check_same_length(high, close)
    _check_same_length(high, volume)
    m = high.shape[0]
    out = np.full(m, np.nan)
    spv = 0.0
    cpv = 0.0
    sv = 0.0
    cv = 0.0
    nonzero = 0
    for i in range(m):
        if i >= n:
            j = i - n
            vo = volume[j]
            pvo = ((high[j] + low[j] + close[j]) / 3.0) * vo
            spv, cpv = _kadd(spv, cpv, -pvo)
            sv, cv = _kadd(sv, cv, -vo)
            if vo != 0.0:
                nonzero -= 1
        vi = volume[i]
        pvi = ((high[i] + low[i] + close[i]) / 3.0) * vi
        spv, cpv = _kadd(spv, cpv, pvi)
        sv, cv = _kadd(sv, cv, vi)
        if vi != 0.0:
            nonzero += 1
        if nonzero == 0:
            spv = 0.0
            cpv = 0.0
            sv = 0.0
            cv = 0.0
        den = sv + cv
        if i >= n - 1 and nonzero > 0 and den > 0.0:
            out[i] = (spv + cpv) / den
    return out


@njit(cache=True)
def rolling_max(x: np.ndarray, n: int) -> np.ndarray:
    """Max of the last n values including the current one (monotonic deque); first value at n-1."""
    _check_period(n, 1)
    m = x.shape[0]
    out = np.full(m, np.nan)
    q = np.empty(m, dtype=np.int64)
    head = 0
    tail = 0
    for i in range(m):
        while tail > head and x[q[tail - 1]] <= x[i]:
            tail -= 1
        q[tail] = i
        tail += 1
        if q[head] <= i - n:
            head += 1
        if i >= n - 1:
            out[i] = x[q[head]]
    return out


@njit(cache=True)
def rolling_min(x: np.ndarray, n: int) -> np.ndarray:
    """Min of the last n values including the current one (monotonic deque); first value at n-1."""
    _check_period(n, 1)
    m = x.shape[0]
    out = np.full(m, np.nan)
    q = np.empty(m, dtype=np.int64)
    head = 0
    tail = 0
    for i in range(m):
        while tail > head and x[q[tail - 1]] >= x[i]:
            tail -= 1
        q[tail] = i
        tail += 1
        if q[head] <= i - n:
            head += 1
        if i >= n - 1:
            out[i] = x[q[head]]
    return out


@njit(cache=True)
def shift(x: np.ndarray, k: int) -> np.ndarray:
    """x delayed by k >= 0 candles: out[i] = x[i-k], NaN for i < k (the value 'as of k candles ago')."""
    if k < 0:
        raise ValueError("shift must be >= 0 (a negative shift would look ahead)")
    m = x.shape[0]
    out = np.full(m, np.nan)
    for i in range(k, m):
        out[i] = x[i - k]
    return out


@njit(cache=True)
def donchian(high: np.ndarray, low: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(upper, lower) = max high / min low of the last n candles INCLUDING the current one (first at n-1).

    A breakout test needs the channel of the n candles BEFORE the current one (the current high is
    always <= upper): use `donchian_prev`, i.e. `shift(upper, 1)`.
    """
    _check_same_length(high, low)
    return rolling_max(high, n), rolling_min(low, n)


@njit(cache=True)
def donchian_prev(high: np.ndarray, low: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(upper, lower) of candles i-n..i-1 (excludes the current candle); first value at index n."""
    upper, lower = donchian(high, low, n)
    return shift(upper, 1), shift(lower, 1)
