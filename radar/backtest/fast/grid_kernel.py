"""numba simulation of grid_atr (SPEC §5), a second implementation of GridStrategyRunner + GridATR.

Kept equal to the runner by parity tests (tests/backtest/test_fast_parity_grid_atr.py): every formula
below repeats the runner's floating-point operations in the same order (sums over positions in fill
order, `(exit - entry) * qty * side`, `avg * (1 - side * sl / 100)`, ...), so trades agree to ~1e-12
and in practice bit-for-bit. Change one side only together with the other.

Layouts (documented here, named in engine.py):
- params row: PARAM_COLUMNS of engine.py (ma_period and atr_period are resolved to cache rows by the
  caller; the kernel reads the remaining columns);
- trade buffer `trades[field, k]` with the T_* field indices below (field-major so each field is a
  contiguous row the jitted metrics can read).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from radar.backtest.metrics import N_METRICS, metric_row

# params columns (same order as engine.PARAM_COLUMNS)
P_MA, P_ATR, P_START, P_STEP, P_LEVELS, P_SL, P_SPACING, P_MIN_PROFIT, P_MIN_ATR, P_COOLDOWN, P_SIDE, P_LEVERAGE = range(12)
N_PARAMS = 12

# trade buffer fields
(T_ENTRY_TS, T_EXIT_TS, T_SIDE, T_ENTRY_PRICE, T_EXIT_PRICE, T_QTY, T_POSITIONS, T_GROSS, T_FEES, T_SLIPPAGE,
 T_FUNDING, T_NET, T_RETURN, T_REASON, T_END_OF_DATA, T_CAPITAL_AFTER) = range(16)
N_TRADE_FIELDS = 16

REASON_TP, REASON_SL, REASON_END = 1, 2, 3
STOP_NONE, STOP_KILL_SWITCH, STOP_HARD_DRAWDOWN = 0, 1, 2
# the "side" column: 1 long, -1 short, 2 long then short levels, -2 short then long (sides order)
SIDE_LONG, SIDE_SHORT, SIDE_LONG_SHORT, SIDE_SHORT_LONG = 1, -1, 2, -2

_metric_row = njit(cache=True)(metric_row)


def max_trades(n_candles: int) -> int:
    """Trade buffer size: an exit candle never enters, so a cycle spans >= 2 candles (+ the end-of-data close)."""
    return n_candles // 2 + 2


@njit(cache=True)
def _close_all(n_open: int, side: int, exit_price: float, pos_ep: np.ndarray, pos_q: np.ndarray,
               pos_m: np.ndarray, pos_fee: np.ndarray, pos_fund: np.ndarray, pos_ts: np.ndarray,
               taker: float, slip: float, capital: float, ts: float, reason: int, eod: bool,
               trades: np.ndarray, k: int) -> float:
    """GridPositionManager.close_legs + GridStrategyRunner._settle; records trade k, returns the capital."""
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
        gross = (exit_price - ep) * q * side
        exit_fee = q * exit_price * taker
        sl_cost = q * exit_price * slip
        net += gross - pos_fee[p] - exit_fee - sl_cost
        margin += pos_m[p]
        qty += q
        gross_sum += gross
        fees += pos_fee[p] + exit_fee
        slip_sum += sl_cost
        fund += pos_fund[p]
        cost += ep * q
        if pos_ts[p] < entry_ts:
            entry_ts = pos_ts[p]
    capital += margin
    ret = net / capital if capital > 0 else 0.0
    capital += net
    trades[T_ENTRY_TS, k] = entry_ts
    trades[T_EXIT_TS, k] = ts
    trades[T_SIDE, k] = side
    trades[T_ENTRY_PRICE, k] = cost / qty
    trades[T_EXIT_PRICE, k] = exit_price
    trades[T_QTY, k] = qty
    trades[T_POSITIONS, k] = n_open
    trades[T_GROSS, k] = gross_sum
    trades[T_FEES, k] = fees
    trades[T_SLIPPAGE, k] = slip_sum
    trades[T_FUNDING, k] = fund
    trades[T_NET, k] = net
    trades[T_RETURN, k] = ret
    trades[T_REASON, k] = reason
    trades[T_END_OF_DATA, k] = 1.0 if eod else 0.0
    trades[T_CAPITAL_AFTER, k] = capital
    return capital


@njit(cache=True)
def simulate_grid_atr(o: np.ndarray, h: np.ndarray, l: np.ndarray, c: np.ndarray, ts: np.ndarray,
                      sma: np.ndarray, atr: np.ndarray, fund_rate: np.ndarray, fund_flag: np.ndarray,
                      p: np.ndarray, taker: float, slip: float, initial: float, max_margin_ratio: float,
                      kill_frac: float, hard_dd_frac: float, trades: np.ndarray, equity: np.ndarray,
                      record_equity: bool) -> tuple[int, float, int]:
    """One combo over the window. Returns (trades recorded incl. an end-of-data close, capital, stop code).

    `hard_dd_frac` < 0 disables the hard drawdown stop; `kill_frac` is 1 - kill_switch_loss_pct/100.
    """
    n = c.shape[0]
    start = p[P_START]
    step = p[P_STEP]
    nl = int(p[P_LEVELS])
    sl_pct = p[P_SL]
    spacing = p[P_SPACING]
    min_profit = p[P_MIN_PROFIT]
    min_atr = p[P_MIN_ATR]
    cooldown = int(p[P_COOLDOWN])
    side_code = int(p[P_SIDE])
    leverage = p[P_LEVERAGE]
    n_sides = 2 if (side_code == 2 or side_code == -2) else 1
    first_side = 1 if side_code > 0 else -1

    pos_ep = np.empty(nl)
    pos_q = np.empty(nl)
    pos_m = np.empty(nl)
    pos_fee = np.empty(nl)
    pos_fund = np.empty(nl)
    pos_ts = np.empty(nl)
    filled = np.zeros(nl, dtype=np.bool_)
    n_open = 0
    side = 0
    capital = initial
    peak = initial
    last_exit = -(10 ** 9)
    n_tr = 0
    stop = 0
    last_i = n - 1
    for i in range(n):
        if stop != 0:
            last_i = i - 1
            break
        if i > 0:
            sp = sma[i - 1]
            ap = atr[i - 1]
            # SPEC §5: indicators of i-1 not ready -> the whole candle is skipped, exits included
            if not (math.isnan(sp) or math.isnan(ap) or not ap > 0):
                exited = False
                if n_open > 0:
                    qty = 0.0
                    cost = 0.0
                    for k in range(n_open):
                        qty += pos_q[k]
                        cost += pos_ep[k] * pos_q[k]
                    avg = cost / qty
                    tp = sma[i]
                    sl = avg * (1 - side * sl_pct / 100)
                    tp_ok = True
                    if min_profit > 0:
                        if side > 0:
                            tp_ok = h[i] >= avg * (1 + min_profit / 100)
                        else:
                            tp_ok = l[i] <= avg * (1 - min_profit / 100)
                    if side > 0:
                        sl_hit = l[i] <= sl
                        tp_hit = tp_ok and not math.isnan(tp) and h[i] >= tp
                        tp_first = c[i] > o[i]
                    else:
                        sl_hit = h[i] >= sl
                        tp_hit = tp_ok and not math.isnan(tp) and l[i] <= tp
                        tp_first = c[i] < o[i]
                    reason = 0
                    price = 0.0
                    if tp_hit and (tp_first or not sl_hit):
                        reason = REASON_TP
                        price = tp
                    elif sl_hit:
                        reason = REASON_SL
                        if side > 0:
                            price = sl - 0.5 * max(0.0, sl - l[i])
                        else:
                            price = sl + 0.5 * max(0.0, h[i] - sl)
                    if reason != 0:
                        capital = _close_all(n_open, side, price, pos_ep, pos_q, pos_m, pos_fee, pos_fund, pos_ts,
                                             taker, slip, capital, ts[i], reason, False, trades, n_tr)
                        n_tr += 1
                        n_open = 0
                        side = 0
                        filled[:] = False
                        last_exit = i
                        exited = True
                        if capital > peak:
                            peak = capital
                        if hard_dd_frac >= 0 and peak > 0 and (peak - capital) / peak > hard_dd_frac:
                            stop = STOP_HARD_DRAWDOWN
                        elif capital < initial * kill_frac:
                            stop = STOP_KILL_SWITCH
                    elif fund_flag[i]:
                        rate = fund_rate[i]
                        if rate != 0.0:
                            total = 0.0
                            for k in range(n_open):
                                fc = rate * (pos_ep[k] * pos_q[k]) * side
                                total += fc
                                pos_fund[k] += fc
                            capital -= total
                if not exited and capital > 0 and not (n_open == 0 and i - last_exit < cooldown):
                    allowed = True
                    if min_atr > 0:
                        a = atr[i]
                        allowed = not math.isnan(a) and a / c[i] * 100 >= min_atr
                    if allowed:
                        eff = ap
                        floor = c[i - 1] * spacing / 100
                        if floor > eff:
                            eff = floor
                        margin = capital / nl
                        halted = False
                        for si in range(n_sides):
                            if halted:
                                break
                            s = first_side if si == 0 else -first_side
                            if side != 0 and s != side:
                                continue  # one side active at a time
                            for k in range(nl):
                                if filled[k]:
                                    continue
                                level = sp - s * eff * (start + k * step)
                                if math.isnan(level) or level <= 0:
                                    continue
                                touched = l[i] <= level if s > 0 else h[i] >= level
                                if not touched:
                                    continue
                                used = 0.0
                                for q in range(n_open):
                                    used += pos_m[q]
                                if used / (capital + used) >= max_margin_ratio:
                                    halted = True
                                    break
                                if capital < margin:
                                    continue
                                fill = level * (1.0 + slip) if s > 0 else level * (1.0 - slip)
                                notional = margin * leverage
                                pos_ep[n_open] = fill
                                pos_q[n_open] = notional / fill
                                pos_m[n_open] = margin
                                pos_fee[n_open] = notional * taker
                                pos_fund[n_open] = 0.0
                                pos_ts[n_open] = ts[i]
                                n_open += 1
                                capital -= margin
                                filled[k] = True
                                if side == 0:
                                    side = s
        if record_equity:
            e = capital
            if n_open > 0:
                used = 0.0
                unr = 0.0
                for k in range(n_open):
                    used += pos_m[k]
                    unr += (c[i] - pos_ep[k]) * pos_q[k] * side
                e = capital + used + unr
            equity[i] = e
    if record_equity and last_i < n - 1:
        equity[last_i + 1:] = capital
    if n_open > 0:
        # SPEC §5.5: close at the last close; capital reflects it, metrics exclude it
        capital = _close_all(n_open, side, c[last_i], pos_ep, pos_q, pos_m, pos_fee, pos_fund, pos_ts,
                             taker, slip, capital, ts[last_i], REASON_END, True, trades, n_tr)
        n_tr += 1
        if record_equity:
            equity[last_i] = capital
    return n_tr, capital, stop


@njit(cache=True)
def _combo_row(j: int, o: np.ndarray, h: np.ndarray, l: np.ndarray, c: np.ndarray, ts: np.ndarray,
               sma_tab: np.ndarray, atr_tab: np.ndarray, sma_rows: np.ndarray, atr_rows: np.ndarray,
               params: np.ndarray, fund_rate: np.ndarray, fund_flag: np.ndarray, taker: float, slip: float,
               initial: float, max_margin_ratio: float, kill_frac: float, hard_dd_frac: float,
               trades: np.ndarray, no_equity: np.ndarray, out: np.ndarray) -> None:
    n_tr, capital, stop = simulate_grid_atr(
        o, h, l, c, ts, sma_tab[sma_rows[j]], atr_tab[atr_rows[j]], fund_rate, fund_flag, params[j],
        taker, slip, initial, max_margin_ratio, kill_frac, hard_dd_frac, trades, no_equity, False)
    counted = n_tr
    if n_tr > 0 and trades[T_END_OF_DATA, n_tr - 1] > 0:
        counted -= 1
    row = _metric_row(trades[T_NET], trades[T_RETURN], trades[T_FEES], trades[T_FUNDING], trades[T_SLIPPAGE],
                      trades[T_ENTRY_TS], trades[T_EXIT_TS], counted, initial, ts[0], ts[ts.shape[0] - 1], capital)
    for m in range(N_METRICS):
        out[j, m] = row[m]
    out[j, N_METRICS] = stop


@njit(cache=True)
def run_batch_serial(o, h, l, c, ts, sma_tab, atr_tab, sma_rows, atr_rows, params, fund_rate, fund_flag,
                     taker, slip, initial, max_margin_ratio, kill_frac, hard_dd_frac, out):  # noqa: ANN001
    """All combos on one core; one trade buffer reused (its first rows are rewritten per combo)."""
    trades = np.empty((N_TRADE_FIELDS, max(c.shape[0] // 2 + 2, 2)))
    no_equity = np.empty(0)
    for j in range(params.shape[0]):
        _combo_row(j, o, h, l, c, ts, sma_tab, atr_tab, sma_rows, atr_rows, params, fund_rate, fund_flag,
                   taker, slip, initial, max_margin_ratio, kill_frac, hard_dd_frac, trades, no_equity, out)


@njit(cache=True, parallel=True)
def run_batch_parallel(o, h, l, c, ts, sma_tab, atr_tab, sma_rows, atr_rows, params, fund_rate, fund_flag,
                       taker, slip, initial, max_margin_ratio, kill_frac, hard_dd_frac, out):  # noqa: ANN001
    """All combos over numba threads; each combo gets its own trade buffer."""
    size = max(c.shape[0] // 2 + 2, 2)
    for j in prange(params.shape[0]):
        trades = np.empty((N_TRADE_FIELDS, size))
        no_equity = np.empty(0)
        _combo_row(j, o, h, l, c, ts, sma_tab, atr_tab, sma_rows, atr_rows, params, fund_rate, fund_flag,
                   taker, slip, initial, max_margin_ratio, kill_frac, hard_dd_frac, trades, no_equity, out)
