"""numba simulation of SingleStrategyRunner (SPEC §5), one hot loop for every single-position strategy.

The strategy-specific part arrives as per-candle arrays (`single_signals.SingleSignals`): readiness, the
entry signal (side, TP, SL), exit signals for an open long/short, a regime-change exit flag and, for a
trailing stop, the ATR series. Everything the runner does around them is repeated here with the same
floating-point operations in the same order (`resolve_exit`, `sl_gap_fill`, `PositionManager.open/close`,
funding, `trail_stop`, the kill switch / hard drawdown of RunnerBase._after_exit), which is what the parity
tests (tests/backtest/test_fast_parity_single.py) check trade for trade. Change one side only with the other.

Layouts (named in single_engine.py):
- kernel params row `[leverage, allow_long, allow_short, cooldown_candles, trail_atr_mult]` (K_* below);
- trade buffer `trades[field, k]`: the T_* fields of kernel_common (positions always 1).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from radar.backtest.fast.kernel_common import (
    N_TRADE_FIELDS, REASON_END, REASON_TP, STOP_NONE, after_exit, leg_exit, metrics_into, record_trade, resolve_exit,
)
from radar.strategies.trend_follow_daily import trail_stop

K_LEVERAGE, K_ALLOW_LONG, K_ALLOW_SHORT, K_COOLDOWN, K_TRAIL_MULT = range(5)
N_KERNEL_PARAMS = 5

# trade buffer fields, REASON_TP/SL/END and stop codes: kernel_common's; the exit signal and regime change follow
REASON_SIGNAL, REASON_REGIME = 4, 5

_trail_stop = njit(cache=True)(trail_stop)


@njit(cache=True)
def _close(side: int, ep: float, qty: float, margin: float, entry_fee: float, funding: float, entry_ts: float,
           exit_price: float, reason: int, eod: bool, ts: float, taker: float, maker: float, slip: float,
           capital: float, trades: np.ndarray, k: int) -> float:
    """PositionManager.close + SingleStrategyRunner._close; records trade k, returns the capital."""
    if reason == REASON_TP:
        # the TP rests as a limit order: maker fee, no slippage (slippage rate 0 gives exactly 0.0)
        gross, fee, slip_cost = leg_exit(exit_price, ep, qty, side, maker, 0.0)
    else:
        gross, fee, slip_cost = leg_exit(exit_price, ep, qty, side, taker, slip)
    net = gross - entry_fee - fee - slip_cost
    capital += margin
    ret = net / capital if capital > 0 else 0.0
    capital += net
    record_trade(trades, k, entry_ts, ts, side, ep, exit_price, qty, 1, gross, entry_fee + fee, slip_cost, funding,
                 net, ret, reason, eod, capital)
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
                reason, price = resolve_exit(side, tp, sl, True, o[i], h[i], l[i], c[i])
                if reason == 0 and (exit_long[i] if side > 0 else exit_short[i]):
                    reason = REASON_SIGNAL
                    price = c[i]
                elif reason == 0 and regime_exit[i]:
                    reason = REASON_REGIME
                    price = c[i]
                if reason != 0:
                    capital = _close(side, ep, qty, margin, entry_fee, funding, entry_ts, price, reason, False,
                                     ts[i], taker, maker, slip, capital, trades, n_tr)
                    n_tr += 1
                    side = 0
                    last_exit = i
                    peak, stop = after_exit(capital, peak, initial, kill_frac, hard_dd_frac)
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
        metrics_into(out, rows[j], trades, n_tr, capital, stop, initial, ts[0], ts[ts.shape[0] - 1])
