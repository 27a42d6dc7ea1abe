"""What the three numba kernels (grid_kernel, range_kernel, single_kernel) share: the trade buffer layout, the
exit-reason and stop codes, and the small pieces of the runner they all repeat (resolve_exit + sl_gap_fill,
a leg's close, settling a set of legs, funding on open legs, the RunnerBase._after_exit stops, the metrics row).

Every helper repeats the runner's floating-point operations in the runner's order, like the kernels around it,
so the parity tests' bit-for-bit agreement does not depend on which kernel calls it. How each is inlined was
measured (grid_atr benchmark's full-length batch and a grid_range_atr / supertrend batch, best of 10-20 runs,
interleaved with the code written out in the kernels): the helpers of the fill and exit paths (level_fill,
add_leg, leg_exit, record_trade, after_exit) use numba's IR-level `inline="always"` — left to LLVM they cost
the range kernel ~8% and the grid kernel ~3%; the others are plain `@njit(cache=True)` (IR-inlining
resolve_exit, called per open leg per candle, cost the grid kernel ~3%).

numba's on-disk cache keys a kernel on its own file only: after editing this module, delete the kernels'
cache files (radar/backtest/fast/__pycache__/*.nbi, *.nbc) or a stale compiled copy keeps running.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from radar.backtest.metrics import N_METRICS, metric_row

# trade buffer `trades[field, k]`: field-major so each field is a contiguous row the jitted metrics can read
(T_ENTRY_TS, T_EXIT_TS, T_SIDE, T_ENTRY_PRICE, T_EXIT_PRICE, T_QTY, T_POSITIONS, T_GROSS, T_FEES, T_SLIPPAGE,
 T_FUNDING, T_NET, T_RETURN, T_REASON, T_END_OF_DATA, T_CAPITAL_AFTER) = range(16)
N_TRADE_FIELDS = 16

# exit reasons every kernel records; kernel-specific ones are numbered from 4 in their own module
REASON_TP, REASON_SL, REASON_END = 1, 2, 3
STOP_NONE, STOP_KILL_SWITCH, STOP_HARD_DRAWDOWN = 0, 1, 2
STOP_REASONS: dict[int, str] = {STOP_NONE: "", STOP_KILL_SWITCH: "kill_switch", STOP_HARD_DRAWDOWN: "hard_drawdown"}
# level_fill outcomes: skip this level, stop filling levels this candle (margin cap), fill it
FILL_SKIP, FILL_STOP, FILL_OK = 0, 1, 2

_metric_row = njit(cache=True)(metric_row)


def max_trades(n_candles: int) -> int:
    """Trade buffer size: an exit candle never enters, so a trade spans >= 2 candles (+ the end-of-data close)."""
    return n_candles // 2 + 2


@njit(cache=True, inline="always")
def record_trade(trades: np.ndarray, k: int, entry_ts: float, exit_ts: float, side: int, entry_price: float,
                 exit_price: float, qty: float, positions: int, gross: float, fees: float, slippage: float,
                 funding: float, net: float, ret: float, reason: int, eod: bool, capital: float) -> None:
    trades[T_ENTRY_TS, k] = entry_ts
    trades[T_EXIT_TS, k] = exit_ts
    trades[T_SIDE, k] = side
    trades[T_ENTRY_PRICE, k] = entry_price
    trades[T_EXIT_PRICE, k] = exit_price
    trades[T_QTY, k] = qty
    trades[T_POSITIONS, k] = positions
    trades[T_GROSS, k] = gross
    trades[T_FEES, k] = fees
    trades[T_SLIPPAGE, k] = slippage
    trades[T_FUNDING, k] = funding
    trades[T_NET, k] = net
    trades[T_RETURN, k] = ret
    trades[T_REASON, k] = reason
    trades[T_END_OF_DATA, k] = 1.0 if eod else 0.0
    trades[T_CAPITAL_AFTER, k] = capital


@njit(cache=True)
def resolve_exit(side: int, tp: float, sl: float, tp_ok: bool, o: float, h: float, l: float,
                 c: float) -> tuple[int, float]:
    """resolve_exit + sl_gap_fill on one candle: (REASON_TP, tp), (REASON_SL, gap-filled stop) or (0, 0.0).

    A NaN tp or sl never hits (every comparison with NaN is False); `tp_ok` False vetoes the TP (grid
    min-profit gate). Both hit: the candle's colour decides (a green candle went up first, so a long's TP came
    first)."""
    if side > 0:
        sl_hit = l <= sl
        tp_hit = tp_ok and not math.isnan(tp) and h >= tp
        tp_first = c > o
    else:
        sl_hit = h >= sl
        tp_hit = tp_ok and not math.isnan(tp) and l <= tp
        tp_first = c < o
    if tp_hit and (tp_first or not sl_hit):
        return REASON_TP, tp
    if sl_hit:
        if side > 0:
            return REASON_SL, sl - 0.5 * max(0.0, sl - l)
        return REASON_SL, sl + 0.5 * max(0.0, h - sl)
    return 0, 0.0


@njit(cache=True, inline="always")
def level_fill(level: float, s: int, low: float, high: float, n_open: int, pos_m: np.ndarray, capital: float,
               margin: float, max_margin_ratio: float, slip: float) -> tuple[int, float]:
    """GridStrategyRunner's check of one resting level of side `s`: (FILL_OK, fill price with slippage),
    (FILL_SKIP, 0.0) when there is no valid level, the candle does not touch it or capital < margin, or
    (FILL_STOP, 0.0) when the margin already used reaches max_margin_ratio (no further level this candle)."""
    if math.isnan(level) or level <= 0:
        return FILL_SKIP, 0.0
    touched = low <= level if s > 0 else high >= level
    if not touched:
        return FILL_SKIP, 0.0
    used = 0.0
    for k in range(n_open):
        used += pos_m[k]
    if used / (capital + used) >= max_margin_ratio:
        return FILL_STOP, 0.0
    if capital < margin:
        return FILL_SKIP, 0.0
    return FILL_OK, level * (1.0 + slip) if s > 0 else level * (1.0 - slip)


@njit(cache=True, inline="always")
def add_leg(k: int, s: int, fill: float, margin: float, leverage: float, taker: float, ts: float,
            pos_side: np.ndarray, pos_ep: np.ndarray, pos_q: np.ndarray, pos_m: np.ndarray, pos_fee: np.ndarray,
            pos_fund: np.ndarray, pos_ts: np.ndarray) -> None:
    """Book leg k: `margin` at `leverage`, filled at `fill`, the taker fee on the notional paid at entry."""
    notional = margin * leverage
    pos_side[k] = s
    pos_ep[k] = fill
    pos_q[k] = notional / fill
    pos_m[k] = margin
    pos_fee[k] = notional * taker
    pos_fund[k] = 0.0
    pos_ts[k] = ts


@njit(cache=True, inline="always")
def leg_exit(price: float, ep: float, q: float, side: int, fee_rate: float,
             slip: float) -> tuple[float, float, float]:
    """(gross, exit fee, slippage cost) of closing one leg at `price` (PositionManager close of one position)."""
    gross = (price - ep) * q * side
    return gross, q * price * fee_rate, q * price * slip


@njit(cache=True)
def settle_legs(n_open: int, pos_side: np.ndarray, price: float, pos_ep: np.ndarray, pos_q: np.ndarray,
                pos_m: np.ndarray, pos_fee: np.ndarray, pos_fund: np.ndarray, pos_ts: np.ndarray, taker: float,
                slip: float, capital: float, exit_ts: float, reason: int, eod: bool, trades: np.ndarray,
                k: int) -> float:
    """close_legs + _settle of legs 0..n_open-1 as ONE trade (side of the first leg); records trade k and
    returns the capital. Sums run in book order, as the runner's do."""
    margin = 0.0
    net = 0.0
    qty = 0.0
    gross_sum = 0.0
    fees = 0.0
    slip_sum = 0.0
    fund = 0.0
    cost = 0.0
    entry_ts = pos_ts[0]
    for p in range(n_open):
        q = pos_q[p]
        ep = pos_ep[p]
        gross, exit_fee, slip_cost = leg_exit(price, ep, q, pos_side[p], taker, slip)
        net += gross - pos_fee[p] - exit_fee - slip_cost
        margin += pos_m[p]
        qty += q
        gross_sum += gross
        fees += pos_fee[p] + exit_fee
        slip_sum += slip_cost
        fund += pos_fund[p]
        cost += ep * q
        if pos_ts[p] < entry_ts:
            entry_ts = pos_ts[p]
    capital += margin
    ret = net / capital if capital > 0 else 0.0
    capital += net
    record_trade(trades, k, entry_ts, exit_ts, pos_side[0], cost / qty, price, qty, n_open, gross_sum, fees,
                 slip_sum, fund, net, ret, reason, eod, capital)
    return capital


@njit(cache=True)
def charge_funding(rate: float, n_open: int, pos_ep: np.ndarray, pos_q: np.ndarray, pos_side: np.ndarray,
                   pos_fund: np.ndarray) -> float:
    """Funding of every open leg at `rate` (notional at entry * side), booked per leg; returns the total."""
    total = 0.0
    for k in range(n_open):
        fc = rate * (pos_ep[k] * pos_q[k]) * pos_side[k]
        total += fc
        pos_fund[k] += fc
    return total


@njit(cache=True)
def mark_to_market(capital: float, n_open: int, pos_m: np.ndarray, pos_ep: np.ndarray, pos_q: np.ndarray,
                   pos_side: np.ndarray, close: float) -> float:
    """Equity at a close: free capital + locked margin + unrealised PnL of the open legs."""
    if n_open == 0:
        return capital
    used = 0.0
    unr = 0.0
    for k in range(n_open):
        used += pos_m[k]
        unr += (close - pos_ep[k]) * pos_q[k] * pos_side[k]
    return capital + used + unr


@njit(cache=True, inline="always")
def after_exit(booked: float, peak: float, initial: float, kill_frac: float,
               hard_dd_frac: float) -> tuple[float, int]:
    """RunnerBase._after_exit on the booked capital: (new peak, stop code or STOP_NONE).
    `hard_dd_frac` < 0 disables the hard drawdown stop; `kill_frac` is 1 - kill_switch_loss_pct/100."""
    if booked > peak:
        peak = booked
    if hard_dd_frac >= 0 and peak > 0 and (peak - booked) / peak > hard_dd_frac:
        return peak, STOP_HARD_DRAWDOWN
    if booked < initial * kill_frac:
        return peak, STOP_KILL_SWITCH
    return peak, STOP_NONE


@njit(cache=True)
def metrics_into(out: np.ndarray, r: int, trades: np.ndarray, n_tr: int, capital: float, stop: int,
                 initial: float, first_ts: float, last_ts: float) -> None:
    """out[r] = metric_row of the recorded trades (the end-of-data close excluded) + the stop code."""
    counted = n_tr
    if n_tr > 0 and trades[T_END_OF_DATA, n_tr - 1] > 0:
        counted -= 1
    row = _metric_row(trades[T_NET], trades[T_RETURN], trades[T_FEES], trades[T_FUNDING], trades[T_SLIPPAGE],
                      trades[T_ENTRY_TS], trades[T_EXIT_TS], counted, initial, first_ts, last_ts, capital)
    for m in range(N_METRICS):
        out[r, m] = row[m]
    out[r, N_METRICS] = stop
