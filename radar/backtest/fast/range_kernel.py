"""numba simulation of grid_range_atr (SPEC §5, `exit_mode = "per_position"`): a second implementation of
GridStrategyRunner + GridRangeATR, kept equal to them by tests/backtest/test_fast_parity_range.py.

What differs from the grid family of grid_kernel.py, and why it has its own loop:
- LONG and SHORT levels rest at once (column j: SMA(i-1) - coef[j] * ATR(i-1) * atr_spacing, coef = side*(k+1));
- every position exits on its own (TP = SMA of candle i, or for tp_mode fixed_center the SMA its grid was built
  around = SMA(entry candle - 1); SL = entry * (1 - side * sl% / 100)) and is its own trade (positions = 1);
- after EACH exit the kill switch / hard drawdown look at capital + the margin still locked in the other open
  positions (RunnerBase._after_exit), and a later exit on the same candle may overwrite the stop reason;
- the end-of-data close is one trade over all legs, possibly of both sides (side of the first leg).

The open positions are kept in the runner's book order (fill order, closed ones removed in place), because every
sum below (used margin, end-of-data totals) must add in the runner's order to round identically. Every formula
repeats the runner's floating-point operations in the same order; change one side only together with the other.

Layouts: combo row C_* below (batch); trade buffer `trades[field, k]` with kernel_common's T_* fields, grown on
demand by re-running (a per-position grid can close up to 2*num_levels trades per candle).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from radar.backtest.fast.kernel_common import (
    FILL_SKIP, FILL_STOP, N_TRADE_FIELDS, REASON_END, REASON_SL, REASON_TP, STOP_NONE, add_leg, after_exit,
    charge_funding, leg_exit, level_fill, mark_to_market, metrics_into, record_trade, resolve_exit, settle_legs,
)

# combo row: SMA table row, ATR table row, atr_spacing, num_levels, sl_percent, fixed_center (0/1),
# sides code (1 long, -1 short, 2 long+short, -2 short+long, in `sides` order), leverage
C_SMA, C_ATR, C_SPACING, C_LEVELS, C_SL, C_FIXED, C_SIDES, C_LEVERAGE = range(8)
N_COMBO = 8

# trade buffer fields, exit reasons (tp, sl, end_of_data) and stop codes: kernel_common's
REASONS: dict[int, str] = {REASON_TP: "tp", REASON_SL: "sl", REASON_END: "end_of_data"}


@njit(cache=True)
def initial_trade_slots(n_candles: int) -> int:
    # a first guess; run_combo re-runs with a larger buffer when a run closes more trades
    return n_candles // 2 + 2


@njit(cache=True)
def columns(num_levels: int, sides_code: int) -> tuple[np.ndarray, np.ndarray]:
    """(coef, col_side) of the level columns in GridRangeATR.compute_grid order: for each side in `sides`
    order, k = 0..N-1 with coef = side * (k+1) (an exact integer, so coef * atr * spacing rounds like the
    strategy's `side * (k + 1) * atr * atr_spacing`)."""
    if sides_code == 1 or sides_code == -1:
        n_sides = 1
    else:
        n_sides = 2
    first = 1 if sides_code > 0 else -1
    nc = num_levels * n_sides
    coef = np.empty(nc)
    col_side = np.empty(nc, dtype=np.int64)
    for s_i in range(n_sides):
        s = first if s_i == 0 else -first
        for k in range(num_levels):
            coef[s_i * num_levels + k] = s * (k + 1)
            col_side[s_i * num_levels + k] = s
    return coef, col_side


@njit(cache=True)
def simulate_range(o: np.ndarray, h: np.ndarray, l: np.ndarray, c: np.ndarray, ts: np.ndarray, sma: np.ndarray,
                   atr: np.ndarray, coef: np.ndarray, col_side: np.ndarray, spacing: float, sl_pct: float,
                   fixed_center: bool, slots: float, leverage: float, fund_rate: np.ndarray,
                   fund_flag: np.ndarray, taker: float, slip: float, initial: float, max_margin_ratio: float,
                   kill_frac: float, hard_dd_frac: float, trades: np.ndarray, equity: np.ndarray,
                   record_equity: bool) -> tuple[int, float, int]:
    """One combo over the window. Returns (trades recorded incl. an end-of-data close, capital, stop code), or
    n = -1 when `trades` is too small: run again with a larger buffer (`run_combo` does). Growing the buffer in
    here instead would rebind an array inside the hot loop, which made numba ~15x slower. `hard_dd_frac` < 0 disables the hard drawdown stop;
    `kill_frac` is 1 - kill_switch_loss_pct/100."""
    n = c.shape[0]
    nc = col_side.shape[0]
    # the book, in the runner's order
    pos_col = np.empty(nc, dtype=np.int64)
    pos_side = np.empty(nc, dtype=np.int64)
    pos_ep = np.empty(nc)
    pos_q = np.empty(nc)
    pos_m = np.empty(nc)
    pos_fee = np.empty(nc)
    pos_fund = np.empty(nc)
    pos_ts = np.empty(nc)
    pos_center = np.empty(nc)
    filled = np.zeros(nc, dtype=np.bool_)
    n_open = 0
    capital = initial
    peak = initial
    n_tr = 0
    stop = STOP_NONE
    last_i = n - 1
    for i in range(n):
        if stop != 0:
            last_i = i - 1
            break
        sp = sma[i - 1] if i > 0 else np.nan
        ap = atr[i - 1] if i > 0 else np.nan
        # GridRangeATR.is_ready: SMA and ATR of i-1 known and ATR > 0, else the whole candle is skipped
        if not math.isnan(sp) and not math.isnan(ap) and ap > 0:
            exited = False
            if n_open > 0:
                tp_dyn = sma[i]
                w = 0
                for r in range(n_open):
                    side = pos_side[r]
                    ep = pos_ep[r]
                    tp = pos_center[r] if fixed_center else tp_dyn
                    sl = ep * (1 - side * sl_pct / 100)
                    reason, price = resolve_exit(side, tp, sl, True, o[i], h[i], l[i], c[i])
                    if reason == 0:
                        if w != r:
                            pos_col[w] = pos_col[r]
                            pos_side[w] = side
                            pos_ep[w] = ep
                            pos_q[w] = pos_q[r]
                            pos_m[w] = pos_m[r]
                            pos_fee[w] = pos_fee[r]
                            pos_fund[w] = pos_fund[r]
                            pos_ts[w] = pos_ts[r]
                            pos_center[w] = pos_center[r]
                        w += 1
                        continue
                    # close_legs([pos]) + _settle of one leg
                    q = pos_q[r]
                    gross, exit_fee, slip_cost = leg_exit(price, ep, q, side, taker, slip)
                    net = gross - pos_fee[r] - exit_fee - slip_cost
                    capital += pos_m[r]
                    ret = net / capital if capital > 0 else 0.0
                    capital += net
                    if n_tr >= trades.shape[1]:
                        return -1, capital, stop
                    record_trade(trades, n_tr, pos_ts[r], ts[i], side, (ep * q) / q, price, q, 1, gross,
                                 pos_fee[r] + exit_fee, slip_cost, pos_fund[r], net, ret, reason, False, capital)
                    n_tr += 1
                    filled[pos_col[r]] = False
                    exited = True
                    # _after_exit: margin still locked in the rest of the book (kept ones, then unvisited) counts
                    used = 0.0
                    for k in range(w):
                        used += pos_m[k]
                    for k in range(r + 1, n_open):
                        used += pos_m[k]
                    peak, leg_stop = after_exit(capital + used, peak, initial, kill_frac, hard_dd_frac)
                    if leg_stop != STOP_NONE:
                        stop = leg_stop
                n_open = w
                if not exited and fund_flag[i]:
                    rate = fund_rate[i]
                    if rate != 0.0:
                        capital -= charge_funding(rate, n_open, pos_ep, pos_q, pos_side, pos_fund)
            if not exited and stop == 0 and capital > 0:
                margin = capital / slots
                for j in range(nc):
                    if filled[j]:
                        continue
                    s = col_side[j]
                    fill_code, fill = level_fill(sp - coef[j] * ap * spacing, s, l[i], h[i], n_open, pos_m, capital,
                                                 margin, max_margin_ratio, slip)
                    if fill_code == FILL_STOP:
                        break
                    if fill_code == FILL_SKIP:
                        continue
                    pos_col[n_open] = j
                    add_leg(n_open, s, fill, margin, leverage, taker, ts[i], pos_side, pos_ep, pos_q, pos_m, pos_fee,
                            pos_fund, pos_ts)
                    # update_memory records the centre the levels of this candle were built from
                    pos_center[n_open] = sp
                    n_open += 1
                    capital -= margin
                    filled[j] = True
        if record_equity:
            equity[i] = mark_to_market(capital, n_open, pos_m, pos_ep, pos_q, pos_side, c[i])
    if record_equity and last_i < n - 1:
        equity[last_i + 1:] = capital
    if n_open > 0:
        # SPEC §5.5: one trade over every leg at the last close (sides may be mixed: the first leg's side)
        if n_tr >= trades.shape[1]:
            return -1, capital, stop
        capital = settle_legs(n_open, pos_side, c[last_i], pos_ep, pos_q, pos_m, pos_fee, pos_fund, pos_ts, taker,
                              slip, capital, ts[last_i], REASON_END, True, trades, n_tr)
        n_tr += 1
        if record_equity:
            equity[last_i] = capital
    return n_tr, capital, stop


@njit(cache=True)
def run_combo(o: np.ndarray, h: np.ndarray, l: np.ndarray, c: np.ndarray, ts: np.ndarray, sma: np.ndarray,
              atr: np.ndarray, coef: np.ndarray, col_side: np.ndarray, spacing: float, sl_pct: float,
              fixed_center: bool, slots: float, leverage: float, fund_rate: np.ndarray, fund_flag: np.ndarray,
              taker: float, slip: float, initial: float, max_margin_ratio: float, kill_frac: float,
              hard_dd_frac: float, trades: np.ndarray, equity: np.ndarray,
              record_equity: bool) -> tuple[int, float, int, np.ndarray]:
    """simulate_range, re-run with a doubled trade buffer until the trades fit (the run is deterministic).
    Returns (trades, capital, stop code, the buffer holding them: `trades` or a larger one)."""
    while True:
        n_tr, capital, stop = simulate_range(o, h, l, c, ts, sma, atr, coef, col_side, spacing, sl_pct, fixed_center,
                                             slots, leverage, fund_rate, fund_flag, taker, slip, initial,
                                             max_margin_ratio, kill_frac, hard_dd_frac, trades, equity,
                                             record_equity)
        if n_tr >= 0:
            return n_tr, capital, stop, trades
        trades = np.empty((N_TRADE_FIELDS, 2 * trades.shape[1]))


@njit(cache=True)
def run_range_batch_kernel(o: np.ndarray, h: np.ndarray, l: np.ndarray, c: np.ndarray, ts: np.ndarray,
                           sma_tab: np.ndarray, atr_tab: np.ndarray, combos: np.ndarray, fund_rate: np.ndarray,
                           fund_flag: np.ndarray, taker: float, slip: float, initial: float,
                           max_margin_ratio: float, kill_frac: float, hard_dd_frac: float,
                           out: np.ndarray) -> None:
    """Every combo row (C_* layout) on one core; out[j] = metrics (METRIC_NAMES) + stop code."""
    n = c.shape[0]
    trades = np.empty((N_TRADE_FIELDS, initial_trade_slots(n)))
    no_equity = np.empty(0)
    for j in range(combos.shape[0]):
        row = combos[j]
        nl = int(row[C_LEVELS])
        coef, col_side = columns(nl, int(row[C_SIDES]))
        n_tr, capital, stop, trades = run_combo(
            o, h, l, c, ts, sma_tab[int(row[C_SMA])], atr_tab[int(row[C_ATR])], coef, col_side, row[C_SPACING],
            row[C_SL], row[C_FIXED] != 0.0, float(col_side.shape[0]), row[C_LEVERAGE], fund_rate, fund_flag,
            taker, slip, initial, max_margin_ratio, kill_frac, hard_dd_frac, trades, no_equity, False)
        metrics_into(out, j, trades, n_tr, capital, stop, initial, ts[0], ts[n - 1])
