"""Seeded synthetic candles that look like a crypto perpetual: for demos, the emulator and tests.

The per-candle log return follows a GARCH(1,1) variance (volatility clusters) driven by Student-t
shocks plus rare jumps (fat tails). Inside each candle a Brownian bridge from open to close gives the
high and the low, so wicks come from a path rather than from noise glued on. Volume grows with the
candle's absolute return. The same seed always gives the same candles, and every candle passes
`radar.data.validation.validate_candles`.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from radar.data.validation import validate_candles
from radar.errors import DataError
from radar.models import CandleArrays, timeframe_ms

_HOUR_MS = 3_600_000


@dataclass(frozen=True)
class SynthParams:
    """Shape of the series. Volatilities are per 1h candle and scale with sqrt(timeframe)."""

    start_price: float = 30_000.0
    hourly_vol: float = 0.006  # long-run standard deviation of a 1h log return
    garch_alpha: float = 0.08  # weight of the last squared return in the next variance
    garch_beta: float = 0.90  # persistence of the variance (alpha + beta < 1)
    shock_df: float = 5.0  # Student-t degrees of freedom of the shocks (> 2)
    jump_prob: float = 0.004  # chance of a jump per candle
    jump_vol: float = 5.0  # jump size, in long-run standard deviations
    max_var_ratio: float = 25.0  # cap on variance / long-run variance (keeps a long series finite)
    intrabar_steps: int = 16  # points of the intrabar path that sets high and low
    base_volume: float = 100.0
    price_decimals: int = 2

    def check(self) -> None:
        problems = []
        if not self.start_price > 0:
            problems.append(f"start_price must be > 0, got {self.start_price}")
        if not self.hourly_vol > 0:
            problems.append(f"hourly_vol must be > 0, got {self.hourly_vol}")
        if not (self.garch_alpha >= 0 and self.garch_beta >= 0 and self.garch_alpha + self.garch_beta < 1):
            problems.append(f"garch_alpha + garch_beta must be in [0, 1), got {self.garch_alpha} + {self.garch_beta}")
        if not self.shock_df > 2:
            problems.append(f"shock_df must be > 2, got {self.shock_df}")
        if not 0 <= self.jump_prob <= 1:
            problems.append(f"jump_prob must be in [0, 1], got {self.jump_prob}")
        if self.intrabar_steps < 1:
            problems.append(f"intrabar_steps must be >= 1, got {self.intrabar_steps}")
        if problems:
            raise DataError("synthetic candles: " + "; ".join(problems))


def synth_candles(n: int, timeframe: str = "1h", *, seed: int = 0, start_ms: int = 1_704_067_200_000,
                  params: SynthParams | None = None) -> CandleArrays:
    """`n` consecutive candles from `start_ms` (a multiple of the timeframe, UTC); deterministic per seed."""
    p = params or SynthParams()
    p.check()
    tf = timeframe_ms(timeframe)
    if n < 0:
        raise DataError(f"synthetic candles: the number of candles must be >= 0, got {n}")
    if start_ms % tf:
        raise DataError(f"synthetic candles: start {start_ms} is not aligned to the {timeframe} timeframe (UTC)")
    if n == 0:
        return CandleArrays.empty()
    rng = np.random.default_rng(seed)
    long_var = (p.hourly_vol ** 2) * tf / _HOUR_MS
    omega = long_var * (1.0 - p.garch_alpha - p.garch_beta)

    shocks = rng.standard_t(p.shock_df, n) / math.sqrt(p.shock_df / (p.shock_df - 2.0))  # unit variance
    jumps = np.where(rng.random(n) < p.jump_prob, rng.normal(0.0, p.jump_vol * math.sqrt(long_var), n), 0.0)
    returns, variances = _garch_returns(shocks, jumps, omega, p.garch_alpha, p.garch_beta, long_var,
                                        long_var * p.max_var_ratio)

    # Intrabar path: a Brownian bridge pinned at 0 (open) and at the candle's return (close).
    k = p.intrabar_steps
    steps = rng.normal(0.0, 1.0, (n, k)) * np.sqrt(variances / k)[:, None]
    walk = np.cumsum(steps, axis=1)
    frac = np.arange(1, k + 1) / k
    bridge = walk - frac[None, :] * (walk[:, -1] - returns)[:, None]

    log_close = math.log(p.start_price) + np.cumsum(returns)
    log_open = np.concatenate(([math.log(p.start_price)], log_close[:-1]))
    high = np.exp(log_open + np.maximum(bridge.max(axis=1), 0.0))
    low = np.exp(log_open + np.minimum(bridge.min(axis=1), 0.0))

    decimals = p.price_decimals
    close = np.round(np.exp(log_close), decimals)
    open_ = np.concatenate(([round(p.start_price, decimals)], close[:-1]))
    high = np.maximum(np.round(high, decimals), np.maximum(open_, close))
    low = np.minimum(np.round(low, decimals), np.minimum(open_, close))
    tick = 10.0 ** -decimals
    if np.any(low <= 0):
        low = np.maximum(low, tick)  # a price path can not touch zero on an exchange
        open_, close = np.maximum(open_, tick), np.maximum(close, tick)

    activity = np.abs(returns) / math.sqrt(long_var)
    volume = np.round(p.base_volume * rng.lognormal(0.0, 0.35, n) * (0.4 + activity), 4)

    ts = start_ms + tf * np.arange(n, dtype=np.int64)
    candles = CandleArrays(ts, open_, high, low, close, volume)
    clean, report = validate_candles(candles, timeframe)
    if report.rejected_total:  # a bug here, never bad luck: fail loudly instead of returning holes
        raise DataError(f"synthetic candles failed validation: {report.summary()}")
    return clean


def _garch_returns(shocks: np.ndarray, jumps: np.ndarray, omega: float, alpha: float, beta: float,
                   start_var: float, max_var: float) -> tuple[np.ndarray, np.ndarray]:
    n = shocks.shape[0]
    returns = np.empty(n)
    variances = np.empty(n)
    var = start_var
    for t in range(n):  # sequential by nature: each variance needs the previous return
        variances[t] = var
        r = math.sqrt(var) * shocks[t] + jumps[t]
        returns[t] = r
        var = min(omega + alpha * r * r + beta * var, max_var)
    return returns, variances


def write_candle_csv(path: str | Path, candles: CandleArrays) -> None:
    """Write `timestamp,open,high,low,close,volume` (the format of ../shared/data and `radar data import`)."""
    path = Path(path)
    try:
        with path.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["timestamp", "open", "high", "low", "close", "volume"])
            for i in range(len(candles)):
                writer.writerow([int(candles.timestamp[i]), repr(float(candles.open[i])), repr(float(candles.high[i])),
                                 repr(float(candles.low[i])), repr(float(candles.close[i])),
                                 repr(float(candles.volume[i]))])
    except OSError as exc:
        raise DataError(f"{path}: cannot write ({exc.strerror})") from None
