"""numba simulation of the SMA-reverting grid family (SPEC §5): grid_atr, envelope_dca, envelope_dca_short
and grid_multi_tf — a second implementation of GridStrategyRunner + those strategies.

The strategies differ only in where their orders rest, so the work is split in two:
- `build_levels` turns one strategy's level rule into `levels[i, col]` (the price of resting order `col`
  during candle i, from the indicators of candle i-1; NaN = no order) and `ready[i]` (the strategy's
  `is_ready`: False skips the whole candle, exits included). Columns are the strategy's level list in its
  order, all `num_levels` levels of the first listed side then those of the second (`col_side[col]`);
- `simulate_grid` is the one hot loop: exits (TP at `sma[i]`, the SMA of candle i, SL on the average entry,
  optional min-profit gate, optional flip close when `flip_dir[i]` disagrees with the open side), funding,
  cooldown, the min-ATR entry filter and the level fills.

Kept equal to the runner by parity tests (tests/backtest/test_fast_parity_*.py): every formula below repeats
the runner's floating-point operations in the same order (sums over positions in fill order,
`(exit - entry) * qty * side`, `avg * (1 - side * sl / 100)`, `sma - side * eff_atr * (start + k*step)`,
`sma * (1 + offset)`, ...), so trades agree to ~1e-12 and in practice bit-for-bit. Change one side only
together with the other.

Layouts (named in engine.py / grid_family.py):
- grid_atr params row: PARAM_COLUMNS of engine.py (P_* below);
- rules row (per combo, the exit/entry knobs the hot loop reads): R_* below;
- level groups (batch): combos sharing one level matrix, `groups[g]` = G_* ints, `g_spacing[g]`,
  `g_coef[g, col]` (start + k*step for ATR levels, 1 + offset for envelopes), `g_side[g, col]`;
- trade buffer `trades[field, k]` with the T_* field indices below (field-major so each field is a
  contiguous row the jitted metrics can read).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from radar.backtest.metrics import N_METRICS, metric_row

# grid_atr params columns (same order as engine.PARAM_COLUMNS)
P_MA, P_ATR, P_START, P_STEP, P_LEVELS, P_SL, P_SPACING, P_MIN_PROFIT, P_MIN_ATR, P_COOLDOWN, P_SIDE, P_LEVERAGE = range(12)
N_PARAMS = 12

# rules row: margin slots (num_levels), sl_percent, min_profit_pct, min_atr_pct, cooldown_candles, leverage,
# flip (1 = close everything at the close when flip_dir disagrees with the open side)
R_SLOTS, R_SL, R_MIN_PROFIT, R_MIN_ATR, R_COOLDOWN, R_LEVERAGE, R_FLIP = range(7)
N_RULES = 7

# level kinds: ATR-spaced around the SMA (grid_atr), the same on the side of a direction series only
# (grid_multi_tf), percentage envelopes around the SMA (envelope_dca / envelope_dca_short)
KIND_ATR, KIND_ATR_DIRECTED, KIND_ENVELOPE = 0, 1, 2
# level group ints: kind, SMA table row, ATR table row (-1 none), direction table row (-1 none), columns
G_KIND, G_SMA, G_ATR, G_DIR, G_COLS = range(5)
N_GROUP_INTS = 5

# trade buffer fields
(T_ENTRY_TS, T_EXIT_TS, T_SIDE, T_ENTRY_PRICE, T_EXIT_PRICE, T_QTY, T_POSITIONS, T_GROSS, T_FEES, T_SLIPPAGE,
 T_FUNDING, T_NET, T_RETURN, T_REASON, T_END_OF_DATA, T_CAPITAL_AFTER) = range(16)
N_TRADE_FIELDS = 16

REASON_TP, REASON_SL, REASON_END, REASON_FLIP = 1, 2, 3, 4
STOP_NONE, STOP_KILL_SWITCH, STOP_HARD_DRAWDOWN = 0, 1, 2
# the grid_atr "side" column: 1 long, -1 short, 2 long then short levels, -2 short then long (sides order)
SIDE_LONG, SIDE_SHORT, SIDE_LONG_SHORT, SIDE_SHORT_LONG = 1, -1, 2, -2

# rows of a level matrix built at a time (see simulate_grid)
LEVEL_BLOCK = 512

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
def build_levels(kind: int, sma: np.ndarray, atr: np.ndarray, close: np.ndarray, direction: np.ndarray,
                 spacing: float, coef: np.ndarray, col_side: np.ndarray, levels: np.ndarray,
                 ready: np.ndarray, lo: int, hi: int) -> None:
    """Fill rows lo..hi-1 of `levels[:, :len(coef)]` and `ready` for one level rule (module docstring).

    KIND_ATR: level = SMA - side * eff_atr * coef, eff_atr = max(ATR, close * spacing/100), all of candle
    i-1; ready when SMA and ATR are known and ATR > 0 (GridATR.is_ready). KIND_ATR_DIRECTED: the same, but
    only the columns on the side of `direction[i-1]` rest (the others NaN) and ready also needs that
    direction (GridMultiTF). KIND_ENVELOPE: level = SMA * coef; ready when the SMA is known.
    """
    nc = coef.shape[0]
    if lo == 0 and hi > 0:
        ready[0] = False
    for i in range(max(lo, 1), hi):
        sp = sma[i - 1]
        if kind == KIND_ENVELOPE:
            ok = not math.isnan(sp)
            if ok:
                for j in range(nc):
                    levels[i, j] = sp * coef[j]
        else:
            ap = atr[i - 1]
            ok = not (math.isnan(sp) or math.isnan(ap) or not ap > 0)
            d = 0.0
            if ok and kind == KIND_ATR_DIRECTED:
                d = direction[i - 1]
                ok = not math.isnan(d)
            if ok:
                eff = ap
                floor = close[i - 1] * spacing / 100
                if floor > eff:
                    eff = floor
                for j in range(nc):
                    s = col_side[j]
                    if kind == KIND_ATR_DIRECTED and s != d:
                        levels[i, j] = np.nan
                    else:
                        levels[i, j] = sp - s * eff * coef[j]
        ready[i] = ok


@njit(cache=True)
def simulate_grid(o: np.ndarray, h: np.ndarray, l: np.ndarray, c: np.ndarray, ts: np.ndarray, kind: int,
                  sma: np.ndarray, atr: np.ndarray, direction: np.ndarray, spacing: float, coef: np.ndarray,
                  col_side: np.ndarray, levels: np.ndarray, ready: np.ndarray, built: np.ndarray,
                  rules: np.ndarray, fund_rate: np.ndarray, fund_flag: np.ndarray, taker: float, slip: float,
                  initial: float, max_margin_ratio: float, kill_frac: float, hard_dd_frac: float,
                  trades: np.ndarray, equity: np.ndarray, record_equity: bool) -> tuple[int, float, int]:
    """One combo over the window. Returns (trades recorded incl. an end-of-data close, capital, stop code).

    The level rule (kind, sma, atr, direction, spacing, coef, col_side) is build_levels'. `levels` / `ready`
    hold rows 0..built[0]-1 already built; further rows are built in blocks when the loop reaches them (and
    `built[0]` advances), so combos of one batch group share the rows and a combo stopped early never pays
    for the rest. TP = `sma[i]` (NaN none); `atr[i]` feeds the min-ATR filter (only read when
    rules[R_MIN_ATR] > 0); `direction[i]`, the direction seen at the close of candle i, the flip close (only
    read when rules[R_FLIP] != 0; NaN = no opinion). `hard_dd_frac` < 0 disables the hard drawdown stop;
    `kill_frac` is 1 - kill_switch_loss_pct/100.
    """
    n = c.shape[0]
    nc = col_side.shape[0]
    slots = rules[R_SLOTS]
    sl_pct = rules[R_SL]
    min_profit = rules[R_MIN_PROFIT]
    min_atr = rules[R_MIN_ATR]
    cooldown = int(rules[R_COOLDOWN])
    leverage = rules[R_LEVERAGE]
    flip = rules[R_FLIP] != 0.0

    pos_ep = np.empty(nc)
    pos_q = np.empty(nc)
    pos_m = np.empty(nc)
    pos_fee = np.empty(nc)
    pos_fund = np.empty(nc)
    pos_ts = np.empty(nc)
    filled = np.zeros(nc, dtype=np.bool_)
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
        if i >= built[0]:
            hi = min(n, i + LEVEL_BLOCK)
            build_levels(kind, sma, atr, c, direction, spacing, coef, col_side, levels, ready, built[0], hi)
            built[0] = hi
        # SPEC §5: indicators of i-1 not ready -> the whole candle is skipped, exits included
        if ready[i]:
            exited = False
            if n_open > 0:
                qty = 0.0
                cost = 0.0
                for k in range(n_open):
                    qty += pos_q[k]
                    cost += pos_ep[k] * pos_q[k]
                avg = cost / qty
                tpp = sma[i]
                sl = avg * (1 - side * sl_pct / 100)
                tp_ok = True
                if min_profit > 0:
                    if side > 0:
                        tp_ok = h[i] >= avg * (1 + min_profit / 100)
                    else:
                        tp_ok = l[i] <= avg * (1 - min_profit / 100)
                if side > 0:
                    sl_hit = l[i] <= sl
                    tp_hit = tp_ok and not math.isnan(tpp) and h[i] >= tpp
                    tp_first = c[i] > o[i]
                else:
                    sl_hit = h[i] >= sl
                    tp_hit = tp_ok and not math.isnan(tpp) and l[i] <= tpp
                    tp_first = c[i] < o[i]
                reason = 0
                price = 0.0
                if tp_hit and (tp_first or not sl_hit):
                    reason = REASON_TP
                    price = tpp
                elif sl_hit:
                    reason = REASON_SL
                    if side > 0:
                        price = sl - 0.5 * max(0.0, sl - l[i])
                    else:
                        price = sl + 0.5 * max(0.0, h[i] - sl)
                elif flip:
                    # should_close_all: the direction at this close disagrees with the grid -> close at the close
                    d = direction[i]
                    if not math.isnan(d) and int(d) != side:
                        reason = REASON_FLIP
                        price = c[i]
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
                    margin = capital / slots
                    for j in range(nc):
                        if filled[j]:
                            continue
                        level = levels[i, j]
                        if math.isnan(level) or level <= 0:
                            continue
                        s = col_side[j]
                        if side != 0 and s != side:
                            continue  # one side active at a time
                        touched = l[i] <= level if s > 0 else h[i] >= level
                        if not touched:
                            continue
                        used = 0.0
                        for q in range(n_open):
                            used += pos_m[q]
                        if used / (capital + used) >= max_margin_ratio:
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
                        filled[j] = True
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
def _metrics_into(out: np.ndarray, j: int, trades: np.ndarray, n_tr: int, capital: float, stop: int,
                  initial: float, ts: np.ndarray) -> None:
    counted = n_tr
    if n_tr > 0 and trades[T_END_OF_DATA, n_tr - 1] > 0:
        counted -= 1
    row = _metric_row(trades[T_NET], trades[T_RETURN], trades[T_FEES], trades[T_FUNDING], trades[T_SLIPPAGE],
                      trades[T_ENTRY_TS], trades[T_EXIT_TS], counted, initial, ts[0], ts[ts.shape[0] - 1], capital)
    for m in range(N_METRICS):
        out[j, m] = row[m]
    out[j, N_METRICS] = stop


@njit(cache=True)
def _table_row(tab: np.ndarray, row: int, missing: np.ndarray) -> np.ndarray:
    return tab[row] if row >= 0 else missing


@njit(cache=True)
def _run_group(g: int, o, h, l, c, ts, sma_tab, atr_tab, dir_tab, groups, g_spacing, g_coef, g_side, g_start,
               order, rules, fund_rate, fund_flag, taker, slip, initial, max_margin_ratio, kill_frac,
               hard_dd_frac, levels, ready, trades, missing, out):  # noqa: ANN001
    """Every combo of group g (rows order[g_start[g]:g_start[g+1]]) over one shared, lazily built level matrix."""
    nc = groups[g, G_COLS]
    sma = sma_tab[groups[g, G_SMA]]
    atr = _table_row(atr_tab, groups[g, G_ATR], missing)
    direction = _table_row(dir_tab, groups[g, G_DIR], missing)
    coef = g_coef[g, :nc]
    col_side = g_side[g, :nc]
    kind = groups[g, G_KIND]
    spacing = g_spacing[g]
    built = np.zeros(1, dtype=np.int64)
    no_equity = np.empty(0)
    for q in range(g_start[g], g_start[g + 1]):
        j = order[q]
        n_tr, capital, stop = simulate_grid(o, h, l, c, ts, kind, sma, atr, direction, spacing, coef, col_side,
                                            levels, ready, built, rules[j], fund_rate, fund_flag, taker, slip,
                                            initial, max_margin_ratio, kill_frac, hard_dd_frac, trades, no_equity,
                                            False)
        _metrics_into(out, j, trades, n_tr, capital, stop, initial, ts)


@njit(cache=True)
def run_batch_serial(o, h, l, c, ts, sma_tab, atr_tab, dir_tab, groups, g_spacing, g_coef, g_side, g_start, order,
                     rules, fund_rate, fund_flag, taker, slip, initial, max_margin_ratio, kill_frac, hard_dd_frac,
                     out):  # noqa: ANN001
    """All level groups on one core; the level matrix and trade buffer are reused (rows rewritten per use)."""
    n = c.shape[0]
    levels = np.empty((n, max(g_coef.shape[1], 1)))
    ready = np.empty(n, dtype=np.bool_)
    trades = np.empty((N_TRADE_FIELDS, max(n // 2 + 2, 2)))
    missing = np.full(n, np.nan)
    for g in range(groups.shape[0]):
        _run_group(g, o, h, l, c, ts, sma_tab, atr_tab, dir_tab, groups, g_spacing, g_coef, g_side, g_start, order,
                   rules, fund_rate, fund_flag, taker, slip, initial, max_margin_ratio, kill_frac, hard_dd_frac,
                   levels, ready, trades, missing, out)


@njit(cache=True, parallel=True)
def run_batch_parallel(o, h, l, c, ts, sma_tab, atr_tab, dir_tab, groups, g_spacing, g_coef, g_side, g_start, order,
                       rules, fund_rate, fund_flag, taker, slip, initial, max_margin_ratio, kill_frac, hard_dd_frac,
                       out):  # noqa: ANN001
    """Level groups over numba threads; each group gets its own level matrix and trade buffer."""
    n = c.shape[0]
    width = max(g_coef.shape[1], 1)
    size = max(n // 2 + 2, 2)
    missing = np.full(n, np.nan)
    for g in prange(groups.shape[0]):
        levels = np.empty((n, width))
        ready = np.empty(n, dtype=np.bool_)
        trades = np.empty((N_TRADE_FIELDS, size))
        _run_group(g, o, h, l, c, ts, sma_tab, atr_tab, dir_tab, groups, g_spacing, g_coef, g_side, g_start, order,
                   rules, fund_rate, fund_flag, taker, slip, initial, max_margin_ratio, kill_frac, hard_dd_frac,
                   levels, ready, trades, missing, out)
