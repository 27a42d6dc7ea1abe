"""Property tests on random valid OHLCV series: batch == incremental, and each indicator's range invariants."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from radar.indicators import batch
from radar.indicators import incremental as inc

moves = st.lists(
    st.tuples(
        st.floats(-0.08, 0.08),  # close-to-close log move
        st.floats(0, 0.05),  # wick above max(open, close), relative
        st.floats(0, 0.05),  # wick below min(open, close), relative
        st.floats(0, 1000),  # volume
        st.booleans(),  # True: flat candle (open = high = low = close), common on illiquid coins
    ),
    min_size=1,
    max_size=120,
)


def make_ohlcv(rows: list[tuple[float, float, float, float, bool]], start: float) -> tuple[np.ndarray, ...]:
    o, h, l, c, v = [], [], [], [], []
    prev = start
    for move, up, down, vol, flat in rows:
        close = prev if flat else prev * float(np.exp(move))
        o.append(prev)
        c.append(close)
        h.append(max(prev, close) * (1 + (0 if flat else up)))
        l.append(min(prev, close) * (1 - (0 if flat else down)))
        v.append(0.0 if flat else vol)
        prev = close
    return tuple(np.array(a, dtype=np.float64) for a in (o, h, l, c, v))


def agree(b: np.ndarray, i: list[float]) -> None:
    got = np.asarray(i, dtype=np.float64)
    assert np.array_equal(np.isnan(b), np.isnan(got))
    ok = ~np.isnan(b)
    np.testing.assert_allclose(got[ok], b[ok], rtol=1e-9, atol=0)


starts = st.sampled_from([2e-5, 0.5, 30_000.0])  # an altcoin priced in BTC, XRP, BTC
periods = st.integers(2, 12)


@settings(max_examples=60, deadline=None)
@given(rows=moves, start=starts, n=periods)
def test_single_series_indicators_batch_equal_incremental(rows: list, start: float, n: int) -> None:
    _, h, _, c, v = make_ohlcv(rows, start)
    for cls, fn in ((inc.SMA, batch.sma), (inc.EMA, batch.ema), (inc.RSI, batch.rsi),
                    (inc.RollingMax, batch.rolling_max), (inc.RollingMin, batch.rolling_min)):
        obj = cls(n)
        agree(fn(c, n), [obj.update(x) for x in c])
    bol = inc.Bollinger(n, 2.0)
    got = [bol.update(x) for x in c]
    for k, arr in enumerate(batch.bollinger(c, n, 2.0)):
        agree(arr, [g[k] for g in got])


@settings(max_examples=60, deadline=None)
@given(rows=moves, start=starts, n=periods)
def test_ohlc_indicators_batch_equal_incremental(rows: list, start: float, n: int) -> None:
    _, h, l, c, v = make_ohlcv(rows, start)
    atr = inc.ATR(n)
    agree(batch.atr(h, l, c, n), [atr.update(*r) for r in zip(h, l, c)])
    adx = inc.ADX(n)
    got = [adx.update(*r) for r in zip(h, l, c)]
    for k, arr in enumerate(batch.adx(h, l, c, n)):
        agree(arr, [g[k] for g in got])
    stt = inc.Supertrend(n, 3.0)
    got = [stt.update(*r) for r in zip(h, l, c)]
    for k, arr in enumerate(batch.supertrend(h, l, c, n, 3.0)):
        agree(arr, [g[k] for g in got])
    vw = inc.RollingVWAP(n)
    agree(batch.rolling_vwap(h, l, c, v, n), [vw.update(*r) for r in zip(h, l, c, v)])


@settings(max_examples=80, deadline=None)
@given(rows=moves, start=starts, n=periods)
def test_indicator_ranges_hold(rows: list, start: float, n: int) -> None:
    _, h, l, c, _ = make_ohlcv(rows, start)
    atr = batch.atr(h, l, c, n)
    assert np.all(atr[~np.isnan(atr)] >= 0)
    for arr in batch.adx(h, l, c, n):
        vals = arr[~np.isnan(arr)]
        assert np.all((vals >= 0) & (vals <= 100 + 1e-9))
    r = batch.rsi(c, n)
    r = r[~np.isnan(r)]
    assert np.all((r >= 0) & (r <= 100))
    mid, upper, lower = batch.bollinger(c, n, 2.0)
    ok = ~np.isnan(mid)
    assert np.all(upper[ok] >= mid[ok]) and np.all(mid[ok] >= lower[ok])
    du, dl = batch.donchian(h, l, n)
    ok = ~np.isnan(du)
    assert np.all(du[ok] >= dl[ok])
    line, direction = batch.supertrend(h, l, c, n, 3.0)
    assert set(np.unique(direction[~np.isnan(direction)])) <= {-1.0, 1.0}
    assert np.array_equal(np.isnan(line), np.isnan(atr))
