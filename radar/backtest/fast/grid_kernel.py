"""numba simulation of the grid family (SPEC §5): grid_atr, envelope_dca, envelope_dca_short, grid_multi_tf,
grid_trend, grid_boltrend, grid_momentum and grid_funding — a second implementation of GridStrategyRunner +
those strategies.

The strategies differ in where their orders rest and in a few exit rules, so the work is split in two:
- `build_levels` turns one strategy's level rule into `levels[i, col]` (the price of resting order `col`
  during candle i, from the indicators of candle i-1; NaN = no order) and `ready[i]` (the strategy's
  `is_ready`: False skips the whole candle, exits included). Columns are the strategy's level list in its
  order, all `num_levels` levels of the first listed side then those of the second (`col_side[col]`).
  Breakout grids (KIND_ANCHORED) rest their levels around an anchor armed by the path (see below): build_levels
  only fills `ready`, and each combo writes its armed anchor's levels into row i at candle i, just before
  reading it (so the fill loop is the same for every kind);
- `simulate_grid` is the one hot loop: the breakout anchor memory, exits (TP at `tp[i]`, SL on the average
  entry with an optional ATR trailing stop from the high/low-water mark, optional min-profit gate, then a
  close-all rule at the close: a series turning against the open side, or grid_funding's take-profit after
  min_hold), funding, cooldown, the min-ATR entry filter and the level fills.

Per-candle inputs are rows of one float table (engine.py stacks the cache's SMA, ATR, Supertrend and
strategy-series rows); a group names its rows with the G_* ints (-1 = none, read as all-NaN):
- center: the level basis read at i-1 (SMA; grid_trend's fast EMA; grid_funding's SMA, also its sma_cross);
- atr: ATR (levels and trailing stop at i-1, min-ATR filter and anchor ATR at i);
- direction: read at i-1 — the side whose levels rest (KIND_ATR_DIRECTED: NaN = not ready, 0 = none), or
  a readiness gate (KIND_ANCHORED: NaN = not ready);
- tp: the take-profit at candle i (NaN none);
- close (CLOSE_AGAINST): a sign at the close of candle i; the grid closes when it is minus the open side;
- signal / fail (KIND_ANCHORED): the breakout side at candle i (0 none) and a sign read at i-1 (an armed
  anchor of side s is dropped while flat when it equals -s).

The anchor memory replays strategies.grid_boltrend.step_anchor: on every ready candle while flat (before
exits), a pending breakout is armed, else an armed anchor whose `fail` turned against it is dropped; then
this candle's breakout becomes pending. While a grid is open it is frozen; a full exit clears it.

Kept equal to the runner by parity tests (tests/backtest/test_fast_parity_*.py): every formula below repeats
the runner's floating-point operations in the same order (sums over positions in fill order,
`(exit - entry) * qty * side`, `avg * (1 - side * sl / 100)`, `sma - side * eff_atr * (start + k*step)`,
`sma * (1 + offset)`, `extreme - side * trail * atr`, ...), so trades agree to ~1e-12 and in practice
bit-for-bit. Change one side only together with the other.

Layouts (named in engine.py / levels.py):
- grid_atr params row: PARAM_COLUMNS of engine.py (P_* below);
- rules row (per combo, the exit/entry knobs the hot loop reads): R_* below;
- level groups (batch): combos sharing one level matrix, `groups[g]` = G_* ints, `g_spacing[g]`,
  `g_coef[g, col]` (start + k*step for ATR levels, 1 + offset for envelopes, k or start + k*step for
  anchored levels, the funding threshold for grid_funding), `g_side[g, col]`;
- trade buffer `trades[field, k]`: the T_* fields of kernel_common, shared by every kernel.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from radar.backtest.fast.kernel_common import (
    FILL_SKIP, FILL_STOP, N_TRADE_FIELDS, REASON_END, STOP_NONE, add_leg, after_exit, charge_funding, level_fill,
    mark_to_market, metrics_into, resolve_exit, settle_legs,
)

# grid_atr params columns (same order as engine.PARAM_COLUMNS)
P_MA, P_ATR, P_START, P_STEP, P_LEVELS, P_SL, P_SPACING, P_MIN_PROFIT, P_MIN_ATR, P_COOLDOWN, P_SIDE, P_LEVERAGE = range(12)
N_PARAMS = 12

# rules row: margin slots (num_levels), sl_percent, min_profit_pct, min_atr_pct, cooldown_candles, leverage,
# trail_atr_mult (0 = no trailing stop), min_hold_candles (before a CLOSE_FUNDING take-profit), tp_mode bits
# of grid_funding (TP_FUNDING_POSITIVE | TP_SMA_CROSS)
R_SLOTS, R_SL, R_MIN_PROFIT, R_MIN_ATR, R_COOLDOWN, R_LEVERAGE, R_TRAIL, R_MIN_HOLD, R_TP_MODE = range(9)
N_RULES = 9
TP_FUNDING_POSITIVE, TP_SMA_CROSS = 1, 2

# level kinds: ATR-spaced around the center (grid_atr), the same on the side of a direction series only
# (grid_multi_tf, grid_trend), percentage envelopes around the SMA (envelope_dca / envelope_dca_short),
# around a path-dependent breakout anchor (grid_boltrend, grid_momentum: anchor - side * anchor_atr *
# spacing * coef), at the previous close while the funding rate is at or below a threshold (grid_funding)
KIND_ATR, KIND_ATR_DIRECTED, KIND_ENVELOPE, KIND_ANCHORED, KIND_FUNDING = 0, 1, 2, 3, 4
# close-all rules at the close of candle i (after TP/SL): none, the close series against the open side,
# grid_funding's take-profit (funding in force > 0 / close > SMA, per R_TP_MODE, once held R_MIN_HOLD candles)
CLOSE_NONE, CLOSE_AGAINST, CLOSE_FUNDING = 0, 1, 2
# level group ints: kind, table rows of center / ATR / direction / TP / close / signal / fail (-1 none),
# columns, close rule, reason code of a CLOSE_AGAINST close
(G_KIND, G_CENTER, G_ATR, G_DIR, G_COLS, G_TP, G_CLOSE, G_SIGNAL, G_FAIL, G_CLOSE_KIND,
 G_CLOSE_REASON) = range(11)
N_GROUP_INTS = 11

# trade buffer fields T_*, REASON_TP/SL/END and STOP_* live in kernel_common (one layout for every kernel);
# the grid family's own close-all reasons follow them
REASON_FLIP, REASON_BOL_MID, REASON_FUNDING_POSITIVE, REASON_SMA_CROSS = range(4, 8)
# the grid_atr "side" column: 1 long, -1 short, 2 long then short levels, -2 short then long (sides order)
SIDE_LONG, SIDE_SHORT, SIDE_LONG_SHORT, SIDE_SHORT_LONG = 1, -1, 2, -2

# rows of a level matrix built at a time (see simulate_grid)
LEVEL_BLOCK = 512


@njit(cache=True)
def build_levels(kind: int, center: np.ndarray, atr: np.ndarray, close: np.ndarray, direction: np.ndarray,
                 fund_view: np.ndarray, spacing: float, coef: np.ndarray, col_side: np.ndarray, levels: np.ndarray,
                 ready: np.ndarray, lo: int, hi: int) -> None:
    """Fill rows lo..hi-1 of `levels[:, :len(coef)]` and `ready` for one level rule (module docstring).

    KIND_ATR: level = center - side * eff_atr * coef, eff_atr = max(ATR, close * spacing/100), all of candle
    i-1; ready when center and ATR are known and ATR > 0 (GridATR.is_ready). KIND_ATR_DIRECTED: the same, but
    only the columns on the side of `direction[i-1]` rest (the others NaN) and ready also needs that
    direction (GridMultiTF; GridTrend with spacing 0, whose direction is NaN until all its indicators are
    known and 0 when neutral). KIND_ENVELOPE: level = center * coef; ready when the center is known.
    KIND_ANCHORED: ready when `direction[i-1]` (a gate) is known; rows are left to the hot loop (the armed
    anchor's levels). KIND_FUNDING: level = close[i-1] while the funding rate in force at i is <= coef (its threshold);
    ready when the center (the SMA) is known.
    """
    nc = coef.shape[0]
    if lo == 0 and hi > 0:
        ready[0] = False
    for i in range(max(lo, 1), hi):
        sp = center[i - 1]
        if kind == KIND_ENVELOPE:
            ok = not math.isnan(sp)
            if ok:
                for j in range(nc):
                    levels[i, j] = sp * coef[j]
        elif kind == KIND_ANCHORED:
            ok = not math.isnan(direction[i - 1])
        elif kind == KIND_FUNDING:
            ok = not math.isnan(sp)
            if ok:
                prev_close = close[i - 1]
                rate = fund_view[i]  # NaN (no rate known) compares False: no level
                for j in range(nc):
                    levels[i, j] = prev_close if rate <= coef[j] else np.nan
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
                  center: np.ndarray, atr: np.ndarray, direction: np.ndarray, tp: np.ndarray, close_ser: np.ndarray,
                  signal: np.ndarray | None, fail: np.ndarray, close_kind: int, close_reason: int, spacing: float,
                  coef: np.ndarray, col_side: np.ndarray, levels: np.ndarray, ready: np.ndarray, built: np.ndarray,
                  rules: np.ndarray, fund_view: np.ndarray, fund_rate: np.ndarray, fund_flag: np.ndarray,
                  taker: float, slip: float, initial: float, max_margin_ratio: float, kill_frac: float,
                  hard_dd_frac: float, trades: np.ndarray, equity: np.ndarray,
                  record_equity: bool) -> tuple[int, float, int]:
    """One combo over the window. Returns (trades recorded incl. an end-of-data close, capital, stop code).

    The level rule (kind, center, atr, direction, fund_view, spacing, coef, col_side) is build_levels'.
    `levels` / `ready` hold rows 0..built[0]-1 already built; further rows are built in blocks when the loop
    reaches them (and `built[0]` advances), so combos of one batch group share the rows and a combo stopped
    early never pays for the rest. TP = `tp[i]` (NaN none); `atr[i]` feeds the min-ATR filter (only read
    when rules[R_MIN_ATR] > 0) and the anchor ATR, `atr[i-1]` the trailing stop; `close_ser`, `signal`,
    `fail`: module docstring. `signal` is None for every kind but KIND_ANCHORED: numba then compiles a
    specialisation without the anchor memory (it cost the other grids ~7% even unexecuted), from this one source. `fund_view` is the funding rate the strategy sees (NaN: none known),
    `fund_rate` the one charged at the funding candles (`fund_flag`). `hard_dd_frac` < 0 disables the hard
    drawdown stop; `kill_frac` is 1 - kill_switch_loss_pct/100.
    """
    n = c.shape[0]
    nc = col_side.shape[0]
    slots = rules[R_SLOTS]
    sl_pct = rules[R_SL]
    min_profit = rules[R_MIN_PROFIT]
    min_atr = rules[R_MIN_ATR]
    cooldown = int(rules[R_COOLDOWN])
    leverage = rules[R_LEVERAGE]
    trail = rules[R_TRAIL]
    min_hold = int(rules[R_MIN_HOLD])
    tp_mode = int(rules[R_TP_MODE])

    pos_side = np.empty(nc, dtype=np.int64)  # every open leg is on `side`; kept per leg for the shared helpers
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
    first_entry = -1
    extreme = np.nan  # high (long) / low (short) water mark since the first entry, current candle included
    # breakout anchor memory (KIND_ANCHORED): the armed anchor's levels, and a pending breakout
    anchor_lv = np.full(nc, np.nan)
    armed = False
    anchor_side = 0
    pending = False
    pend_price = 0.0
    pend_atr = 0.0
    pend_side = 0
    n_tr = 0
    stop = STOP_NONE
    last_i = n - 1
    for i in range(n):
        if stop != 0:
            last_i = i - 1
            break
        if i >= built[0]:
            hi = min(n, i + LEVEL_BLOCK)
            build_levels(kind, center, atr, c, direction, fund_view, spacing, coef, col_side, levels, ready,
                         built[0], hi)
            built[0] = hi
        # SPEC §5: indicators of i-1 not ready -> the whole candle is skipped, exits included
        if ready[i]:
            exited = False
            if n_open > 0:
                if trail > 0:
                    if side > 0:
                        if h[i] > extreme:
                            extreme = h[i]
                    elif l[i] < extreme:
                        extreme = l[i]
                qty = 0.0
                cost = 0.0
                for k in range(n_open):
                    qty += pos_q[k]
                    cost += pos_ep[k] * pos_q[k]
                avg = cost / qty
                tpp = tp[i]
                sl = avg * (1 - side * sl_pct / 100)
                if trail > 0:
                    # trailing_stop: the tighter of the fixed stop and extreme -/+ trail * ATR of candle i-1
                    ap = atr[i - 1]
                    if not (math.isnan(extreme) or math.isnan(ap)):
                        tr = extreme - side * trail * ap
                        if side > 0:
                            if tr > sl:
                                sl = tr
                        elif tr < sl:
                            sl = tr
                tp_ok = True
                if min_profit > 0:
                    if side > 0:
                        tp_ok = h[i] >= avg * (1 + min_profit / 100)
                    else:
                        tp_ok = l[i] <= avg * (1 - min_profit / 100)
                reason, price = resolve_exit(side, tpp, sl, tp_ok, o[i], h[i], l[i], c[i])
                if reason == 0 and close_kind == CLOSE_AGAINST:
                    # should_close_all: the series at this close is against the grid (NaN: no opinion)
                    if close_ser[i] * side < 0:
                        reason = close_reason
                        price = c[i]
                elif reason == 0 and close_kind == CLOSE_FUNDING:
                    if i - first_entry >= min_hold:
                        if tp_mode & TP_FUNDING_POSITIVE and fund_view[i] > 0:
                            reason = REASON_FUNDING_POSITIVE
                        elif tp_mode & TP_SMA_CROSS and c[i] > center[i]:
                            reason = REASON_SMA_CROSS
                        price = c[i]
                if reason != 0:
                    capital = settle_legs(n_open, pos_side, price, pos_ep, pos_q, pos_m, pos_fee, pos_fund, pos_ts,
                                          taker, slip, capital, ts[i], reason, False, trades, n_tr)
                    n_tr += 1
                    n_open = 0
                    side = 0
                    filled[:] = False
                    last_exit = i
                    first_entry = -1
                    extreme = np.nan
                    armed = False
                    pending = False
                    exited = True
                    peak, stop = after_exit(capital, peak, initial, kill_frac, hard_dd_frac)
                elif fund_flag[i]:
                    rate = fund_rate[i]
                    if rate != 0.0:
                        capital -= charge_funding(rate, n_open, pos_ep, pos_q, pos_side, pos_fund)
            elif signal is not None:
                # update_memory while flat (step_anchor): arm the pending breakout, else drop a failed anchor;
                # then this candle's breakout becomes pending (frozen while a grid is open)
                if pending:
                    armed = True
                    pending = False
                    anchor_side = pend_side
                    step = pend_atr * spacing
                    for j in range(nc):
                        s = col_side[j]
                        anchor_lv[j] = pend_price - s * step * coef[j] if s == anchor_side else np.nan
                elif armed and fail[i - 1] == -anchor_side:
                    armed = False
                sg = signal[i]
                if sg != 0:
                    pending = True
                    pend_price = c[i]
                    pend_atr = atr[i]
                    pend_side = int(sg)
            if not exited and capital > 0 and not (n_open == 0 and i - last_exit < cooldown) and \
                    (signal is None or armed):
                if signal is not None:
                    # this combo's own row: the armed anchor's levels (the group's rows carry no anchored levels)
                    for j in range(nc):
                        levels[i, j] = anchor_lv[j]
                allowed = True
                if min_atr > 0:
                    a = atr[i]
                    allowed = not math.isnan(a) and a / c[i] * 100 >= min_atr
                if allowed:
                    margin = capital / slots
                    for j in range(nc):
                        if filled[j]:
                            continue
                        s = col_side[j]
                        if side != 0 and s != side:
                            continue  # one side active at a time
                        fill_code, fill = level_fill(levels[i, j], s, l[i], h[i], n_open, pos_m, capital, margin,
                                                     max_margin_ratio, slip)
                        if fill_code == FILL_STOP:
                            break
                        if fill_code == FILL_SKIP:
                            continue
                        if n_open == 0:
                            first_entry = i
                            extreme = h[i] if s > 0 else l[i]
                        add_leg(n_open, s, fill, margin, leverage, taker, ts[i], pos_side, pos_ep, pos_q, pos_m,
                                pos_fee, pos_fund, pos_ts)
                        n_open += 1
                        capital -= margin
                        filled[j] = True
                        if side == 0:
                            side = s
        if record_equity:
            equity[i] = mark_to_market(capital, n_open, pos_m, pos_ep, pos_q, pos_side, c[i])
    if record_equity and last_i < n - 1:
        equity[last_i + 1:] = capital
    if n_open > 0:
        # SPEC §5.5: close at the last close; capital reflects it, metrics exclude it
        capital = settle_legs(n_open, pos_side, c[last_i], pos_ep, pos_q, pos_m, pos_fee, pos_fund, pos_ts,
                              taker, slip, capital, ts[last_i], REASON_END, True, trades, n_tr)
        n_tr += 1
        if record_equity:
            equity[last_i] = capital
    return n_tr, capital, stop


@njit(cache=True)
def _table_row(tab: np.ndarray, row: int, missing: np.ndarray) -> np.ndarray:
    return tab[row] if row >= 0 else missing


@njit(cache=True)
def _run_group(g: int, o, h, l, c, ts, tab, groups, g_spacing, g_coef, g_side, g_start, order, rules, fund_view,
               fund_rate, fund_flag, taker, slip, initial, max_margin_ratio, kill_frac, hard_dd_frac, levels, ready,
               trades, missing, out):  # noqa: ANN001
    """Every combo of group g (rows order[g_start[g]:g_start[g+1]]) over one shared, lazily built level matrix."""
    nc = groups[g, G_COLS]
    center = _table_row(tab, groups[g, G_CENTER], missing)
    atr = _table_row(tab, groups[g, G_ATR], missing)
    direction = _table_row(tab, groups[g, G_DIR], missing)
    tp = _table_row(tab, groups[g, G_TP], missing)
    close_ser = _table_row(tab, groups[g, G_CLOSE], missing)
    signal = _table_row(tab, groups[g, G_SIGNAL], missing)
    fail = _table_row(tab, groups[g, G_FAIL], missing)
    coef = g_coef[g, :nc]
    col_side = g_side[g, :nc]
    kind = groups[g, G_KIND]
    close_kind = groups[g, G_CLOSE_KIND]
    close_reason = groups[g, G_CLOSE_REASON]
    spacing = g_spacing[g]
    built = np.zeros(1, dtype=np.int64)
    no_equity = np.empty(0)
    for q in range(g_start[g], g_start[g + 1]):
        j = order[q]
        if kind == KIND_ANCHORED:
            n_tr, capital, stop = simulate_grid(o, h, l, c, ts, kind, center, atr, direction, tp, close_ser, signal,
                                                fail, close_kind, close_reason, spacing, coef, col_side, levels, ready,
                                                built, rules[j], fund_view, fund_rate, fund_flag, taker, slip, initial,
                                                max_margin_ratio, kill_frac, hard_dd_frac, trades, no_equity, False)
        else:
            n_tr, capital, stop = simulate_grid(o, h, l, c, ts, kind, center, atr, direction, tp, close_ser, None,
                                                fail, close_kind, close_reason, spacing, coef, col_side, levels, ready,
                                                built, rules[j], fund_view, fund_rate, fund_flag, taker, slip, initial,
                                                max_margin_ratio, kill_frac, hard_dd_frac, trades, no_equity, False)
        metrics_into(out, j, trades, n_tr, capital, stop, initial, ts[0], ts[ts.shape[0] - 1])


@njit(cache=True)
def run_batch_serial(o, h, l, c, ts, tab, groups, g_spacing, g_coef, g_side, g_start, order, rules, fund_view,
                     fund_rate, fund_flag, taker, slip, initial, max_margin_ratio, kill_frac, hard_dd_frac,
                     out):  # noqa: ANN001
    """All level groups on one core; the level matrix and trade buffer are reused (rows rewritten per use)."""
    n = c.shape[0]
    levels = np.empty((n, max(g_coef.shape[1], 1)))
    ready = np.empty(n, dtype=np.bool_)
    trades = np.empty((N_TRADE_FIELDS, max(n // 2 + 2, 2)))
    missing = np.full(n, np.nan)
    for g in range(groups.shape[0]):
        _run_group(g, o, h, l, c, ts, tab, groups, g_spacing, g_coef, g_side, g_start, order, rules, fund_view,
                   fund_rate, fund_flag, taker, slip, initial, max_margin_ratio, kill_frac, hard_dd_frac, levels,
                   ready, trades, missing, out)


@njit(cache=True, parallel=True)
def run_batch_parallel(o, h, l, c, ts, tab, groups, g_spacing, g_coef, g_side, g_start, order, rules, fund_view,
                       fund_rate, fund_flag, taker, slip, initial, max_margin_ratio, kill_frac, hard_dd_frac,
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
        _run_group(g, o, h, l, c, ts, tab, groups, g_spacing, g_coef, g_side, g_start, order, rules, fund_view,
                   fund_rate, fund_flag, taker, slip, initial, max_margin_ratio, kill_frac, hard_dd_frac, levels,
                   ready, trades, missing, out)
