"""Per-candle entry/exit decisions of the single-position strategies, computed vectorised from batch indicators.

`SeriesCache` holds one window of candles and computes each distinct indicator (an `IndicatorSpec`, possibly
on a higher timeframe) once, with the batch kernels of `radar.indicators` — bit-identical to the incremental
indicators a SingleStrategyRunner's IndicatorBank updates candle by candle. `cur` values are the arrays
themselves (index i = after candle i), `prev` values are the same arrays read at i-1.

One function per strategy turns a validated params model into `SingleSignals`: readiness (`is_ready`), the
entry side/TP/SL `evaluate` would return at each candle, and the side-dependent `exit_signal` as two boolean
arrays. The expressions are the strategy modules' own (same operations in the same order, their pure helpers
imported where they exist), so the numba kernel (`single_kernel.py`) trades exactly like the runner.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel

from radar.errors import DataError, StrategyError
from radar.indicators import batch
from radar.indicators.multi_tf import align_htf_to_ltf, resample_closed
from radar.indicators.regime import WARMUP, Regime, regime_series
from radar.models import CandleArrays, timeframe_ms
from radar.strategies.base import INDICATOR_OUTPUTS, IndicatorSpec
from radar.strategies.bollinger_mr import REGIME_SPEC
from radar.strategies.boltrend import bollinger_breakout
from radar.strategies.supertrend import percent_stops

_RAW = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True, eq=False)
class SeriesCache:
    """Candles of one window (of `timeframe`) and a memo of batch indicator series keyed by IndicatorSpec."""

    timeframe: str
    timestamp: np.ndarray  # int64 ms
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    _memo: dict[IndicatorSpec, dict[str, np.ndarray]] = field(default_factory=dict, repr=False)
    _htf: dict[str, CandleArrays] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return int(self.close.shape[0])

    @property
    def first_ts(self) -> int:
        return int(self.timestamp[0])

    @property
    def last_ts(self) -> int:
        return int(self.timestamp[-1])

    @classmethod
    def build(cls, candles: Any, timeframe: str) -> "SeriesCache":
        """From CandleArrays (or anything with timestamp/open/high/low/close/volume arrays, e.g. an
        IndicatorCache) of `timeframe` candles, validated like the grid engine's cache."""
        timeframe_ms(timeframe)  # unknown timeframe -> clear error
        ts = np.ascontiguousarray(candles.timestamp, dtype=np.int64)
        cols = [np.ascontiguousarray(getattr(candles, f), dtype=np.float64) for f in _RAW]
        n = ts.shape[0]
        if n == 0:
            raise DataError("series cache: the candle window is empty")
        if any(col.shape[0] != n for col in cols):
            raise DataError("series cache: candle arrays have different lengths")
        if n > 1 and not np.all(np.diff(ts) > 0):
            bad = int(np.argmax(np.diff(ts) <= 0)) + 1
            raise DataError(f"series cache: timestamps must increase strictly (row {bad}: {int(ts[bad])})")
        for name, col in zip(_RAW, cols):
            if not np.all(np.isfinite(col)):
                raise DataError(f"series cache: {name} has a non-finite value at row {int(np.argmin(np.isfinite(col)))}")
        return cls(timeframe, ts, *cols)

    def raw(self, name: str) -> np.ndarray:
        return getattr(self, name)

    def series(self, spec: IndicatorSpec) -> dict[str, np.ndarray]:
        """The spec's outputs per candle, keyed like INDICATOR_OUTPUTS ("" for single-output kinds);
        a higher-timeframe spec is computed on closed `htf` buckets and aligned with no look-ahead."""
        got = self._memo.get(spec)
        if got is None:
            got = self._compute(spec)
            self._memo[spec] = got
        return got

    def _compute(self, spec: IndicatorSpec) -> dict[str, np.ndarray]:
        outputs = INDICATOR_OUTPUTS.get(spec.kind, ("",))
        if spec.htf is None:
            values = _indicator(spec, self.open, self.high, self.low, self.close, self.volume)
        else:
            big = self.htf_candles(spec.htf)
            htf_ms, ltf_ms = timeframe_ms(spec.htf), timeframe_ms(self.timeframe)
            raw = _indicator(spec, *(np.ascontiguousarray(getattr(big, f), dtype=np.float64) for f in _RAW))
            values = tuple(align_htf_to_ltf(self.timestamp, big.timestamp, v, htf_ms, ltf_ms) for v in raw)
        return dict(zip(outputs, values))

    def htf_candles(self, htf: str) -> CandleArrays:
        """The closed `htf` candles of this window (what the runner's HigherTimeframe aggregator emits)."""
        big = self._htf.get(htf)
        if big is None:
            big = resample_closed(self.timestamp, self.open, self.high, self.low, self.close, self.volume,
                                  timeframe_ms(self.timeframe), timeframe_ms(htf))
            self._htf[htf] = big
        return big


def _indicator(spec: IndicatorSpec, o: np.ndarray, h: np.ndarray, l: np.ndarray, c: np.ndarray,
               v: np.ndarray) -> tuple[np.ndarray, ...]:
    """The batch twin of IndicatorBank._make/_feed for one spec, outputs in INDICATOR_OUTPUTS order."""
    k, a = spec.kind, spec.args
    n = len(c)
    if n == 0:
        return tuple(np.empty(0) for _ in INDICATOR_OUTPUTS.get(k, ("",)))
    if k in ("sma", "ema", "rsi", "max", "min", "bollinger"):
        source = a[-1] if a and isinstance(a[-1], str) else "close"
        x = {"open": o, "high": h, "low": l, "close": c, "volume": v}[source]
        fn = {"sma": batch.sma, "ema": batch.ema, "rsi": batch.rsi, "max": batch.rolling_max, "min": batch.rolling_min}
        if k == "bollinger":
            return batch.bollinger(x, int(a[0]), float(a[1]))
        return (fn[k](x, int(a[0])),)
    if k == "atr":
        return (batch.atr(h, l, c, int(a[0])),)
    if k == "adx":
        return batch.adx(h, l, c, int(a[0]))
    if k == "supertrend":
        return batch.supertrend(h, l, c, int(a[0]), float(a[1]))
    if k == "vwap":
        return (batch.rolling_vwap(h, l, c, v, int(a[0])),)
    if k == "donchian":
        return batch.donchian(h, l, int(a[0]))
    if k == "regime":
        reg = regime_series(h, l, c, adx_period=int(a[0]) if a else 14, atr_period=int(a[1]) if len(a) > 1 else 14)
        return (np.where(reg == WARMUP, np.nan, reg.astype(np.float64)),)
    raise StrategyError(f"series cache: unknown indicator kind {k!r}")


@dataclass(frozen=True, eq=False)
class SingleSignals:
    """What the kernel reads per candle for one strategy's signal params.

    - ready: `is_ready` (False skips the candle, exits included);
    - side/tp/sl: the Signal `evaluate` returns (side 0: none; NaN tp/sl: no such order);
    - exit_long/exit_short: `exit_signal` for an open long/short at this close (reason `exit_reason`);
    - regime_exit: RANGING -> TRENDING change at this candle for strategies that close on it;
    - trail_atr: the ATR a trailing stop reads (`trail_stop`), empty when the strategy has none.
    """

    ready: np.ndarray
    side: np.ndarray
    tp: np.ndarray
    sl: np.ndarray
    exit_long: np.ndarray
    exit_short: np.ndarray
    regime_exit: np.ndarray
    trail_atr: np.ndarray
    exit_reason: str = "signal"


def _prev(x: np.ndarray) -> np.ndarray:
    """`ctx.prev` view of a `cur` series: the value after candle i-1 (NaN at the first candle)."""
    return batch.shift(x, 1)


def _finite(*arrays: np.ndarray) -> np.ndarray:
    ok = ~np.isnan(arrays[0])
    for a in arrays[1:]:
        ok &= ~np.isnan(a)
    return ok


def _no_exit(n: int) -> np.ndarray:
    return np.zeros(n, dtype=np.bool_)


def regime_change(regime: np.ndarray) -> np.ndarray:
    """SingleStrategyRunner._track_regime: True where the regime turns RANGING -> TRENDING_UP/DOWN, compared
    with the last non-NaN regime before this candle (a NaN regime is not tracked)."""
    r = np.asarray(regime, dtype=np.float64)
    n = r.shape[0]
    known = ~np.isnan(r)
    last = np.where(known, np.arange(n), -1)
    last = np.maximum.accumulate(last) if n else last
    before = np.full(n, -1, dtype=np.int64)
    before[1:] = last[:-1]
    prev_r = np.where(before >= 0, r[np.maximum(before, 0)], np.nan)
    trending = (r == float(Regime.TRENDING_UP)) | (r == float(Regime.TRENDING_DOWN))
    return known & (prev_r == float(Regime.RANGING)) & trending


def _regime_exit(cache: SeriesCache) -> np.ndarray:
    return regime_change(cache.series(REGIME_SPEC)[""])


def _sides_where(long_mask: np.ndarray, short_mask: np.ndarray) -> np.ndarray:
    """First-match side like `evaluate`'s if/elif: long wins when both hold."""
    return np.where(long_mask, 1, np.where(short_mask, -1, 0)).astype(np.int8)


def _signals(ready: np.ndarray, side: np.ndarray, tp: np.ndarray, sl: np.ndarray, **kw: Any) -> SingleSignals:
    n = ready.shape[0]
    side = np.where(ready, side, 0).astype(np.int8)
    return SingleSignals(
        ready=np.ascontiguousarray(ready, dtype=np.bool_), side=np.ascontiguousarray(side),
        tp=np.ascontiguousarray(tp, dtype=np.float64), sl=np.ascontiguousarray(sl, dtype=np.float64),
        exit_long=np.ascontiguousarray(kw.get("exit_long", _no_exit(n)), dtype=np.bool_),
        exit_short=np.ascontiguousarray(kw.get("exit_short", _no_exit(n)), dtype=np.bool_),
        regime_exit=np.ascontiguousarray(kw.get("regime_exit", _no_exit(n)), dtype=np.bool_),
        trail_atr=np.ascontiguousarray(kw.get("trail_atr", np.empty(0)), dtype=np.float64),
        exit_reason=kw.get("exit_reason", "signal"),
    )


def _percent(close: np.ndarray, side: np.ndarray, tp_percent: float, sl_percent: float) -> tuple[np.ndarray, np.ndarray]:
    # supertrend.percent_stops on arrays: `side * tp / 100` is int*float in Python and float*float here — equal.
    return percent_stops(close, side.astype(np.float64), tp_percent, sl_percent)  # type: ignore[arg-type]


def bollinger_mr_signals(cache: SeriesCache, p: Any) -> SingleSignals:
    bb = cache.series(IndicatorSpec("bollinger", (p.bol_period, p.bol_std)))
    mid, upper, lower, close = bb["mid"], bb["upper"], bb["lower"], cache.close
    ready = _finite(mid, upper, lower)
    side = _sides_where(close < lower, close > upper)
    sl = p.sl_percent / 100
    sl_price = np.where(side > 0, close * (1 - sl), close * (1 + sl))
    nan = np.full(len(cache), np.nan)
    return _signals(ready, side, nan, sl_price, exit_long=(close - mid) * 1 >= 0, exit_short=(close - mid) * -1 >= 0,
                    regime_exit=_regime_exit(cache), exit_reason="sma_cross")


def donchian_breakout_signals(cache: SeriesCache, p: Any) -> SingleSignals:
    dc = cache.series(IndicatorSpec("donchian", (p.donchian_period,)))
    atr = cache.series(IndicatorSpec("atr", (p.atr_period,)))[""]
    up_prev, lo_prev, close = _prev(dc["upper"]), _prev(dc["lower"]), cache.close
    ready = _finite(atr, up_prev, lo_prev) & (atr > 0)
    side = _sides_where(close > up_prev, close < lo_prev)
    tp = np.where(side > 0, close + p.tp_atr_mult * atr, close - p.tp_atr_mult * atr)
    sl = np.where(side > 0, close - p.sl_atr_mult * atr, close + p.sl_atr_mult * atr)
    return _signals(ready, side, tp, sl)


def supertrend_signals(cache: SeriesCache, p: Any) -> SingleSignals:
    d = cache.series(IndicatorSpec("supertrend", (p.atr_period, p.atr_multiplier)))["dir"]
    d_prev = _prev(d)
    ready = _finite(d, d_prev)
    flip = ready & (d_prev != d)
    side = np.where(flip, np.where(d > 0, 1, -1), 0).astype(np.int8)
    tp, sl = _percent(cache.close, side, p.tp_percent, p.sl_percent)
    return _signals(ready, side, tp, sl)


def boltrend_signals(cache: SeriesCache, p: Any) -> SingleSignals:
    bb = cache.series(IndicatorSpec("bollinger", (p.bol_period, p.bol_std)))
    long_ma = cache.series(IndicatorSpec("sma", (p.long_ma_period,)))[""]
    mid, upper, lower, close = bb["mid"], bb["upper"], bb["lower"], cache.close
    pmid, pup, plo, pclose = _prev(mid), _prev(upper), _prev(lower), _prev(close)
    ready = _finite(mid, upper, lower, long_ma, pmid, pup, plo, pclose)
    side = np.zeros(len(cache), dtype=np.int8)
    # bollinger_breakout needs the close outside this candle's band: only those candles can fire, so the
    # strategy's own helper is called on them (a handful per thousand candles) instead of re-deriving it.
    for i in np.flatnonzero(ready & ((close > upper) | (close < lower))).tolist():
        prev = {"close": float(pclose[i]), "bb_lower": float(plo[i]), "bb_upper": float(pup[i])}
        cur = {"close": float(close[i]), "bb_upper": float(upper[i]), "bb_lower": float(lower[i]),
               "bb_mid": float(mid[i]), "long_ma": float(long_ma[i])}
        side[i] = bollinger_breakout(prev, cur, p.min_bol_spread_pct)
    sl = close * (1 - side.astype(np.float64) * p.sl_percent / 100)
    nan = np.full(len(cache), np.nan)
    return _signals(ready, side, nan, sl, exit_long=(close - mid) * 1 < 0, exit_short=(close - mid) * -1 < 0,
                    exit_reason="sma_cross")


def vwap_rsi_signals(cache: SeriesCache, p: Any) -> SingleSignals:
    rsi = cache.series(IndicatorSpec("rsi", (p.rsi_period,)))[""]
    vwap = cache.series(IndicatorSpec("vwap", (p.vwap_period,)))[""]
    vol_sma = cache.series(IndicatorSpec("sma", (p.vol_sma_period, "volume")))[""]
    adx = cache.series(IndicatorSpec("adx", (p.adx_period,), htf="15m"))[""]
    close = cache.close
    ready = _finite(rsi, vwap, vol_sma, adx)
    gate = ~(adx >= p.adx_15m_max) & (cache.volume > vol_sma * p.vol_spike_mult)
    dev = p.vwap_dev_pct / 100
    long_ = (rsi < p.rsi_long) & (close < vwap * (1 - dev))
    short = (rsi > p.rsi_short) & (close > vwap * (1 + dev))
    side = np.where(gate, _sides_where(long_, short), 0).astype(np.int8)
    tp, sl = _percent(close, side, p.tp_percent, p.sl_percent)
    return _signals(ready, side, tp, sl, regime_exit=_regime_exit(cache))


def momentum_signals(cache: SeriesCache, p: Any) -> SingleSignals:
    rng = cache.series(IndicatorSpec("donchian", (p.breakout_period,)))
    vol_sma = cache.series(IndicatorSpec("sma", (p.vol_sma_period, "volume")))[""]
    adx = cache.series(IndicatorSpec("adx", (p.adx_period,), htf="15m"))[""]
    up_prev, lo_prev, close = _prev(rng["upper"]), _prev(rng["lower"]), cache.close
    ready = _finite(up_prev, lo_prev, vol_sma, adx)
    gate = ~(adx < p.adx_15m_min) & (cache.volume > vol_sma * p.vol_mult)
    side = np.where(gate, _sides_where(close > up_prev, close < lo_prev), 0).astype(np.int8)
    tp, sl = _percent(close, side, p.tp_percent, p.sl_percent)
    return _signals(ready, side, tp, sl)


def trend_follow_daily_signals(cache: SeriesCache, p: Any) -> SingleSignals:
    fast = cache.series(IndicatorSpec("ema", (p.ema_fast,)))[""]
    slow = cache.series(IndicatorSpec("ema", (p.ema_slow,)))[""]
    adx = cache.series(IndicatorSpec("adx", (p.adx_period,)))[""]
    atr = cache.series(IndicatorSpec("atr", (p.atr_period,)))[""]
    pf, ps, close = _prev(fast), _prev(slow), cache.close
    ready = _finite(fast, slow, adx, atr, pf, ps)
    up = (pf <= ps) & (fast > slow)
    down = (pf >= ps) & (fast < slow)
    side = np.where(~(adx < p.adx_threshold), _sides_where(up, down), 0).astype(np.int8)
    sl = close * (1 - side.astype(np.float64) * p.sl_percent / 100)
    nan = np.full(len(cache), np.nan)
    return _signals(ready, side, nan, sl, exit_long=(fast - slow) * 1 < 0, exit_short=(fast - slow) * -1 < 0,
                    trail_atr=atr, exit_reason="ema_cross")


SIGNAL_FUNCTIONS: dict[str, Callable[[SeriesCache, Any], SingleSignals]] = {
    "bollinger_mr": bollinger_mr_signals,
    "donchian_breakout": donchian_breakout_signals,
    "supertrend": supertrend_signals,
    "boltrend": boltrend_signals,
    "vwap_rsi": vwap_rsi_signals,
    "momentum": momentum_signals,
    "trend_follow_daily": trend_follow_daily_signals,
}
# Params read by the kernel, not by the signals: combos differing only in these share one SingleSignals.
KERNEL_PARAMS = frozenset({"timeframe", "leverage", "sides", "cooldown_candles", "trail_atr_mult"})


def signals_for(strategy: str, cache: SeriesCache, params: BaseModel) -> SingleSignals:
    """The SingleSignals of `strategy` with validated `params` on the cache's window."""
    try:
        fn = SIGNAL_FUNCTIONS[strategy]
    except KeyError:
        raise StrategyError(f"fast single engine: no signal function for {strategy!r} "
                            f"(supported: {', '.join(SIGNAL_FUNCTIONS)})") from None
    return fn(cache, params)


def signal_key(params: BaseModel) -> tuple[tuple[str, Any], ...]:
    """The params that change the signals (everything but KERNEL_PARAMS), hashable."""
    return tuple((k, v) for k, v in params.model_dump().items() if k not in KERNEL_PARAMS)


__all__ = [
    "KERNEL_PARAMS", "SIGNAL_FUNCTIONS", "SeriesCache", "SingleSignals", "boltrend_signals", "bollinger_mr_signals",
    "donchian_breakout_signals", "momentum_signals", "regime_change", "signal_key", "signals_for",
    "supertrend_signals", "trend_follow_daily_signals", "vwap_rsi_signals",
]
