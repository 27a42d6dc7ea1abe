"""numba simulation of SingleStrategyRunner (SPEC §5), one hot loop for every single-position strategy.

The strategy-specific part arrives as per-candle arrays (`single_signals.SingleSignals`): readiness, the
entry signal (side, TP, SL), exit signals for an open long/short, a regime-change exit flag and, for a
trailing stop, the ATR series. Everything the runner does around them is repeated here with the same
floating-point operations in the same order (`resolve_exit`, `sl_gap_fill`, `PositionManager.open/close`,
funding, `trail_stop`, the kill switch / hard drawdown of RunnerBase._after_exit), which is what the parity
tests (tests/backtest/test_fast_parity_single.py) check trade for trade. Change one side only with the other.

Layouts (named in single_engine.py):
- kernel params row `[leverage, allow_long, allow_short, cooldown_candles, trail_atr_mult]` (K_* below);
- trade buffer `trades[field, k]` with the T_* field indices below (field-major, read by the jitted metrics).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from radar.backtest.metrics import N_METRICS, metric_row
from radar.strategies.trend_follow_daily import trail_stop

K_LEVERAGE, K_ALLOW_LONG, K_ALLOW_SHORT, K_COOLDOWN, K_TRAIL_MULT = range(5)
N_KERNEL_PARAMS = 5

(T_ENTRY_TS, T_EXIT_TS, T_SIDE, T_ENTRY_PRICE, T_EXIT_PRICE, T_QTY, T_GROSS, T_FEES, T_SLIPPAGE, T_FUNDING, T_NET,
 T_RETURN, T_REASON, T_END_OF_DATA, T_CAPITAL_AFTER) = range(15)
N_TRADE_FIELDS = 15

REASON_TP, REASON_SL, REASON_END, REASON_SIGNAL, REASON_REGIME = 1, 2, 3, 4, 5
STOP_NONE, STOP_KILL_SWITCH, STOP_HARD_DRAWDOWN = 0, 1, 2

_metric_row = njit(cache=True)(metric_row)
_trail_stop = njit(cache=True)(trail_stop)


def max_trades(n_candles: int) -> int:
    """Trade buffer size: an exit candle never enters, so a trade spans >= 2 candles (+ the end-of-data close)."""
    return n_candles // 2 + 2


@njit(cache=True)
def _close(side: int, ep: float, qty: float, margin: float, entry_fee: float, funding: float, entry_ts: float,
           exit_price: float, reason: int, eod: bool, ts: float, taker: float, maker: float, slip: float,
           capital: float, trades: np.ndarray, k: int) -> float:
    """PositionManager.close + SingleStrategyRunner._close; records trade k, returns the capital."""
    gross = (exit_price - ep) * qty * side
    if reason == REASON_TP:
        fee = qty * exit_price * maker
        slip_cost = 0.0
    else:
        fee = qty * exit_price * taker
        slip_cost = qty * exit_price * slip
    net = gross - entry_fee - fee - slip_cost
    capital += margin
    ret = net / capital if capital > 0 else 0.0
    capital += net
    trades[T_ENTRY_TS, k] = entry_ts
    trades[T_EXIT_TS, k] = ts
    trades[T_SIDE, k] = side
    trades[T_ENTRY_PRICE, k] = ep
    trades[T_EXIT_PRICE, k] = exit_price
    trades[T_QTY, k] = qty
    trades[T_GROSS, k] = gross
    trades[T_FEES, k] = entry_fee + fee
    trades[T_SLIPPAGE, k] = slip_cost
    trades[T_FUNDING, k] = funding
    trades[T_NET, k] = net
    trades[T_RETURN, k] = ret
    trades[T_REASON, k] = reason
    trades[T_END_OF_DATA, k] = 1.0 if eod else 0.0
    trades[T_CAPITAL_AFTER, k] = capital
    return capital


@njit(cache=True)
def simulate_single(o: np.ndarray, h: np.ndarray, l: np.ndarray, c: np.ndarray, ts: np.ndarray,
                    ready: np.ndarray, sig_side: np.ndarray, sig_tp: np.ndarray, sig_sl: np.ndarray,
                    exit_long: np.ndarray, exit_short: np.ndarray, regime_exit: np.ndarray, trail_atr: np.ndarray,
                    fund_rate: np.ndarray, fund_flag: np.ndarray, kp: np.ndarray, taker: float, maker: float,
                    slip: float, initial: float, fixed_margin: float, kill_frac: float, hard_dd_frac: float,
                    trades: np.ndarray, equity: np.ndarray, record_equity: bool) -> tuple[int, float, int]:
    """One combo over the window. Returns (trades recorded incl. an end-of-data close, capital, stop code).

    `fixed_margin` > 0 is the "fixed" sizing allocation, <= 0 means "single" (margin = capital);
    `hard_dd_frac` < 0 disables the hard drawdown stop; `kill_frac` is 1 - kill_switch_loss_pct/100.
    A trailing stop runs when `trail_atr` is non-empty (`trail_stop` with kp[K_TRAIL_MULT]).
    """
    n = c.shape[0]
    leverage = kp[K_LEVERAGE]
    allow_long = kp[K_ALLOW_LONG] > 0
    allow_short = kp[K_ALLOW_SHORT] > 0
    cooldown = int(kp[K_COOLDOWN])
    trail_mult = kp[K_TRAIL_MULT]
    trailing = trail_atr.shape[0] > 0

    side = 0  # 0 flat
    ep = 0.0
    qty = 0.0
    margin = 0.0
    entry_fee = 0.0
    funding = 0.0
    entry_ts = 0.0
    tp = math.nan
    sl = math.nan
    extreme = 0.0
    capital = initial
    peak = initial
    last_exit = -(10 ** 9)
    n_tr = 0
    stop = STOP_NONE
    last_i = n - 1
    for i in range(n):
        if stop != STOP_NONE:
            last_i = i - 1
            break
        if ready[i]:
            if side != 0:
                # resolve_exit (OHLC heuristic, stop gap fill), then exit_signal / regime change at the close
                if side > 0:
                    sl_hit = not math.isnan(sl) and l[i] <= sl
                    tp_hit = not math.isnan(tp) and h[i] >= tp
                    tp_first = c[i] > o[i]
                else:
                    sl_hit = not math.isnan(sl) and h[i] >= sl
                    tp_hit = not math.isnan(tp) and l[i] <= tp
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
                elif (exit_long[i] if side > 0 else exit_short[i]):
                    reason = REASON_SIGNAL
                    price = c[i]
                elif regime_exit[i]:
                    reason = REASON_REGIME
                    price = c[i]
                if reason != 0:
                    capital = _close(side, ep, qty, margin, entry_fee, funding, entry_ts, price, reason, False,
                                     ts[i], taker, maker, slip, capital, trades, n_tr)
                    n_tr += 1
                    side = 0
                    last_exit = i
                    if capital > peak:
                        peak = capital
                    if hard_dd_frac >= 0 and peak > 0 and (peak - capital) / peak > hard_dd_frac:
                        stop = STOP_HARD_DRAWDOWN
                    elif capital < initial * kill_frac:
                        stop = STOP_KILL_SWITCH
                else:
                    if fund_flag[i]:
                        rate = fund_rate[i]
                        if rate != 0.0:
                            cost = rate * (ep * qty) * side
                            funding += cost
                            capital -= cost
                    if trailing:
                        best = h[i] if side > 0 else l[i]
                        extreme = max(extreme, best) if side > 0 else min(extreme, best)
                        sl = _trail_stop(side, sl, extreme, trail_atr[i], trail_mult)
            elif capital > 0 and i - last_exit >= cooldown:
                s = int(sig_side[i])
                if (s > 0 and allow_long) or (s < 0 and allow_short):
                    m = fixed_margin if fixed_margin > 0 else capital
                    if m > 0 and capital >= m:
                        fill = c[i] * (1.0 + slip) if s > 0 else c[i] * (1.0 - slip)
                        notional = m * leverage
                        side = s
                        ep = fill
                        qty = notional / fill
                        margin = m
                        entry_fee = notional * taker
                        funding = 0.0
                        entry_ts = ts[i]
                        tp = sig_tp[i]
                        sl = sig_sl[i]
                        extreme = c[i]
                        capital -= m
        if record_equity:
            e = capital
            if side != 0:
                e = capital + margin + (c[i] - ep) * qty * side
            equity[i] = e
    if record_equity and last_i < n - 1:
        equity[last_i + 1:] = capital
    if side != 0 and last_i >= 0:
        # SPEC §5.5: close at the last processed close (market order); capital reflects it, metrics exclude it
        capital = _close(side, ep, qty, margin, entry_fee, funding, entry_ts, c[last_i], REASON_END, True,
                         ts[last_i], taker, maker, slip, capital, trades, n_tr)
        n_tr += 1
        if record_equity:
            equity[last_i] = capital
    return n_tr, capital, stop


@njit(cache=True)
def run_group(o: np.ndarray, h: np.ndarray, l: np.ndarray, c: np.ndarray, ts: np.ndarray, ready: np.ndarray,
              sig_side: np.ndarray, sig_tp: np.ndarray, sig_sl: np.ndarray, exit_long: np.ndarray,
              exit_short: np.ndarray, regime_exit: np.ndarray, trail_atr: np.ndarray, fund_rate: np.ndarray,
              fund_flag: np.ndarray, kparams: np.ndarray, rows: np.ndarray, taker: float, maker: float, slip: float,
              initial: float, fixed_margin: float, kill_frac: float, hard_dd_frac: float, out: np.ndarray) -> None:
    """Every combo sharing one set of signals (kparams[j] -> out[rows[j]]): metrics row + stop code, one core."""
    trades = np.empty((N_TRADE_FIELDS, max(c.shape[0] // 2 + 2, 2)))
    no_equity = np.empty(0)
    for j in range(kparams.shape[0]):
        n_tr, capital, stop = simulate_single(
            o, h, l, c, ts, ready, sig_side, sig_tp, sig_sl, exit_long, exit_short, regime_exit, trail_atr,
            fund_rate, fund_flag, kparams[j], taker, maker, slip, initial, fixed_margin, kill_frac, hard_dd_frac,
            trades, no_equity, False)
        counted = n_tr
        if n_tr > 0 and trades[T_END_OF_DATA, n_tr - 1] > 0:
            counted -= 1
        row = _metric_row(trades[T_NET], trades[T_RETURN], trades[T_FEES], trades[T_FUNDING], trades[T_SLIPPAGE],
                          trades[T_ENTRY_TS], trades[T_EXIT_TS], counted, initial, ts[0], ts[ts.shape[0] - 1],
                          capital)
        r = rows[j]
        for m in range(N_METRICS):
            out[r, m] = row[m]
        out[r, N_METRICS] = stop
