"""Backtest metrics of SPEC §5, computed from closed trades.

One implementation serves both paths: `metric_row` is plain Python over float arrays with explicit
loops (no numpy reductions, whose summation order differs from a loop), so the fast engine jits the
very same function (`numba.njit(metric_row)`) and a runner's trade list, converted to arrays, gives
bit-identical numbers.

Conventions (all over trades that count, i.e. end-of-data closes excluded, SPEC §5.5):
- net_return_pct = sum(trade net PnL) / initial * 100 (trade net excludes funding, which is charged to
  capital while the position is open; `funding` reports it);
- profit_factor = gross wins / gross losses of trade net PnL; inf without a loss, 0 without a win;
- win_rate = share of trades with net > 0, as a fraction in [0, 1];
- sharpe = mean/std (population) of per-trade returns * sqrt(trades per year), trades per year =
  trades / max(days spanned by the data, 1) * 365, days = (last candle ts - first candle ts) / 86.4e6;
  0 under 3 trades or when std == 0; clipped to [-100, 100];
- sortino = mean / downside deviation (sqrt(mean(min(r, 0)^2))) * sqrt(trades per year); 0 under 3 trades;
  with no losing trade it is 100 when the mean is positive; clipped to [-100, 100];
- max_drawdown_pct = largest fall from a running peak of the equity after each trade, starting at the
  initial capital, where equity moves by net - funding (so it tracks the runner's capital at its exits);
- calmar = annualised net return % / max_drawdown_pct (0 without a drawdown), clipped to [-100, 100];
- exposure = sum over trades of (exit ts - first entry ts) / data span, a fraction (0 for a one-candle span);
- expectancy = mean net PnL per trade.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields

import numpy as np

from radar.events import TradeResult

DAY_MS = 86_400_000
SHARPE_CAP = 100.0
MIN_TRADES_FOR_RATIOS = 3

METRIC_NAMES: tuple[str, ...] = (
    "net_return_pct", "profit_factor", "win_rate", "sharpe", "sortino", "calmar", "max_drawdown_pct",
    "n_trades", "fees", "funding", "slippage", "expectancy", "exposure", "final_capital",
)
N_METRICS = len(METRIC_NAMES)


@dataclass(frozen=True, slots=True)
class Metrics:
    net_return_pct: float
    profit_factor: float
    win_rate: float
    sharpe: float
    sortino: float
    calmar: float
    max_drawdown_pct: float
    n_trades: int
    fees: float
    funding: float
    slippage: float
    expectancy: float
    exposure: float
    final_capital: float

    @classmethod
    def from_row(cls, row: Sequence[float] | np.ndarray) -> "Metrics":
        """A Metrics from a row laid out as METRIC_NAMES (what the fast engine returns per combo)."""
        values = [float(v) for v in row[:N_METRICS]]
        values[METRIC_NAMES.index("n_trades")] = int(values[METRIC_NAMES.index("n_trades")])
        return cls(*values)

    def as_row(self) -> np.ndarray:
        return np.array(astuple(self), dtype=np.float64)

    def to_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def metric_row(net: np.ndarray, ret: np.ndarray, fees: np.ndarray, funding: np.ndarray, slippage: np.ndarray,
               entry_ts: np.ndarray, exit_ts: np.ndarray, n: int, initial_capital: float,
               first_ts: int, last_ts: int, final_capital: float) -> np.ndarray:
    """Metrics of the first `n` trades (arrays may be longer: the engine's reusable buffers), laid out as
    METRIC_NAMES. Plain loops on purpose: the fast engine jits this same function (see module doc)."""
    out = np.zeros(N_METRICS)
    span_ms = float(last_ts - first_ts)
    days = span_ms / DAY_MS
    if days < 1.0:
        days = 1.0
    total = 0.0
    wins = 0.0
    losses = 0.0
    n_win = 0
    fee_sum = 0.0
    fund_sum = 0.0
    slip_sum = 0.0
    held = 0.0
    ret_sum = 0.0
    equity = initial_capital
    peak = initial_capital
    max_dd = 0.0
    for k in range(n):
        x = net[k]
        total += x
        if x > 0:
            wins += x
            n_win += 1
        elif x < 0:
            losses -= x
        fee_sum += fees[k]
        fund_sum += funding[k]
        slip_sum += slippage[k]
        held += float(exit_ts[k] - entry_ts[k])
        ret_sum += ret[k]
        equity += x - funding[k]
        if equity > peak:
            peak = equity
        elif peak > 0:
            dd = (peak - equity) / peak * 100.0
            if dd > max_dd:
                max_dd = dd
    net_return_pct = total / initial_capital * 100.0
    if losses > 0:
        pf = wins / losses
    elif wins > 0:
        pf = math.inf
    else:
        pf = 0.0
    sharpe = 0.0
    sortino = 0.0
    if n >= MIN_TRADES_FOR_RATIOS:
        mean = ret_sum / n
        var = 0.0
        down = 0.0
        for k in range(n):
            d = ret[k] - mean
            var += d * d
            if ret[k] < 0:
                down += ret[k] * ret[k]
        std = math.sqrt(var / n)
        ddev = math.sqrt(down / n)
        annual = math.sqrt(n / days * 365.0)
        if std > 0:
            sharpe = max(-SHARPE_CAP, min(SHARPE_CAP, mean / std * annual))
        if ddev > 0:
            sortino = max(-SHARPE_CAP, min(SHARPE_CAP, mean / ddev * annual))
        elif mean > 0:
            sortino = SHARPE_CAP
    calmar = 0.0
    if max_dd > 0:
        calmar = max(-SHARPE_CAP, min(SHARPE_CAP, net_return_pct * 365.0 / days / max_dd))
    out[0] = net_return_pct
    out[1] = pf
    out[2] = n_win / n if n > 0 else 0.0
    out[3] = sharpe
    out[4] = sortino
    out[5] = calmar
    out[6] = max_dd
    out[7] = n
    out[8] = fee_sum
    out[9] = fund_sum
    out[10] = slip_sum
    out[11] = total / n if n > 0 else 0.0
    out[12] = held / span_ms if span_ms > 0 else 0.0
    out[13] = final_capital
    return out


def compute_metrics(trades: Sequence[TradeResult], initial_capital: float, first_ts: int, last_ts: int,
                    final_capital: float) -> Metrics:
    """Metrics of a runner's trades (end-of-data closes are excluded, SPEC §5.5)."""
    if initial_capital <= 0:
        raise ValueError(f"initial_capital must be > 0, got {initial_capital}")
    counted = [t for t in trades if not t.end_of_data]
    n = len(counted)
    row = metric_row(
        np.array([t.net for t in counted], dtype=np.float64),
        np.array([t.return_frac for t in counted], dtype=np.float64),
        np.array([t.fees for t in counted], dtype=np.float64),
        np.array([t.funding for t in counted], dtype=np.float64),
        np.array([t.slippage for t in counted], dtype=np.float64),
        np.array([t.entry_ts for t in counted], dtype=np.int64),
        np.array([t.exit_ts for t in counted], dtype=np.int64),
        n, float(initial_capital), int(first_ts), int(last_ts), float(final_capital),
    )
    return Metrics.from_row(row)
