"""grid_atr under the runner, one SPEC §5 rule per test, with scripted SMA/ATR values."""
from __future__ import annotations

import math

import pytest

from radar.events import EventKind
from radar.positions.costs import CostModel
from radar.runners.config import RunnerConfig
from radar.runners.grid_runner import GridStrategyRunner
from radar.strategies.grid_atr import atr_grid_levels
from radar.strategies.registry import create_strategy
from tests.runners.scripted import H, T0, ScriptedBank, candle

COSTS = CostModel(taker_fee=0.0006, maker_fee=0.0002, slippage=0.0005)


def make_runner(values, capital=10_000.0, max_margin_ratio=0.70, **params):
    p = {"num_levels": 3, "atr_multiplier_start": 2.0, "atr_multiplier_step": 1.0, "sl_percent": 20.0,
         "leverage": 6, "cooldown_candles": 3}
    p.update(params)
    strat = create_strategy("grid_atr", p)
    cfg = RunnerConfig("grid_atr:BTC", "BTC/USDT:USDT", initial_capital=capital, costs=COSTS,
                       max_margin_ratio=max_margin_ratio)
    r = GridStrategyRunner(strat, cfg)
    r.bank = ScriptedBank(values)
    return r


def flat(n, sma=100.0, atr=5.0):
    return [{"sma": sma, "atr": atr} for _ in range(n)]


def test_levels_are_sma_minus_atr_multiples():
    levels = atr_grid_levels(100.0, 5.0, 100.0, 0.0, 2.0, 1.0, 3, (1,))
    assert [round(l.price, 12) for l in levels] == [90.0, 85.0, 80.0]
    short = atr_grid_levels(100.0, 5.0, 100.0, 0.0, 2.0, 1.0, 3, (-1,))
    assert [round(l.price, 12) for l in short] == [110.0, 115.0, 120.0]


def test_min_grid_spacing_floors_the_atr_with_previous_close():
    # eff_atr = max(1, 200 * 1%) = 2 -> levels 100 - 2*2, 100 - 2*3
    levels = atr_grid_levels(100.0, 1.0, 200.0, 1.0, 2.0, 1.0, 2, (1,))
    assert [l.price for l in levels] == [96.0, 94.0]


def test_sl_price_for_average_entry_100_and_20_percent_is_80():
    r = make_runner(flat(3))
    from radar.strategies.base import GridState

    st = GridState(side=1, avg_entry=100.0, quantity=1.0, filled_levels=frozenset({0}), first_entry_index=0)
    assert r.strategy.get_sl_price(None, st) == pytest.approx(80.0)


def test_entry_fills_touched_levels_with_slippage_and_equal_margin():
    r = make_runner(flat(3))
    r.on_candle(candle(0, 100, 101, 99, 100))  # prev not ready: skipped entirely
    ev = r.on_candle(candle(1, 100, 100, 84, 95))  # touches 90 and 85, not 80
    opens = [e for e in ev if e.kind is EventKind.OPEN]
    assert [e.level for e in opens] == [0, 1]
    assert opens[0].price == pytest.approx(90 * 1.0005)
    assert opens[1].price == pytest.approx(85 * 1.0005)
    margin = 10_000 / 3
    # both levels use the capital at the start of the entry step (single-asset sizing)
    assert opens[0].quantity == pytest.approx(margin * 6 / (90 * 1.0005))
    assert opens[1].quantity == pytest.approx(margin * 6 / (85 * 1.0005))
    assert r.capital == pytest.approx(10_000 - 2 * margin)


def test_first_candle_is_skipped_when_previous_indicators_are_nan():
    r = make_runner([{"sma": math.nan, "atr": 5.0}, {"sma": 100.0, "atr": 5.0}, {"sma": 100.0, "atr": 5.0}])
    r.on_candle(candle(0, 100, 100, 80, 90))
    assert r.on_candle(candle(1, 100, 100, 80, 90)) == []  # sma of candle 0 is NaN
    assert r.on_candle(candle(2, 100, 100, 89, 95))  # now ready


def _open_one_level(r):
    r.on_candle(candle(0, 100, 101, 99, 100))
    r.on_candle(candle(1, 95, 95, 89, 92))  # fills level 0 at 90*1.0005
    assert len(r.book.positions) == 1


def test_tp_and_sl_in_same_candle_green_takes_tp():
    r = make_runner(flat(4))
    _open_one_level(r)
    avg = 90 * 1.0005
    ev = r.on_candle(candle(2, 90, 101, 70, 95))  # high >= 100 (TP), low <= avg*0.8 (SL); green
    close = [e for e in ev if e.kind is EventKind.CLOSE][0]
    assert close.reason == "tp" and close.price == 100.0
    assert avg * 0.8 > 70


def test_tp_and_sl_in_same_candle_red_takes_sl_with_gap_fill():
    r = make_runner(flat(4))
    _open_one_level(r)
    sl = 90 * 1.0005 * 0.8
    ev = r.on_candle(candle(2, 96, 101, 70, 80))  # red
    close = [e for e in ev if e.kind is EventKind.CLOSE][0]
    assert close.reason == "sl"
    assert close.price == pytest.approx(sl - 0.5 * (sl - 70))


def test_sl_gap_fill_and_pnl_decomposition():
    r = make_runner(flat(4))
    _open_one_level(r)
    entry = 90 * 1.0005
    margin = 10_000 / 3
    qty = margin * 6 / entry
    sl = entry * 0.8
    ev = r.on_candle(candle(2, 80, 80, 60, 65))
    t = [e for e in ev if e.kind is EventKind.CLOSE][0].trade
    exit_price = sl - 0.5 * (sl - 60)
    gross = (exit_price - entry) * qty
    fees = qty * entry * 0.0006 + qty * exit_price * 0.0006
    slip = qty * exit_price * 0.0005
    assert t.exit_price == pytest.approx(exit_price)
    assert t.gross == pytest.approx(gross)
    assert t.fees == pytest.approx(fees)
    assert t.slippage == pytest.approx(slip)
    assert t.net == pytest.approx(gross - fees - slip)
    # return is measured on the capital with the margin back but before the PnL
    assert t.return_frac == pytest.approx(t.net / 10_000)
    assert r.capital == pytest.approx(10_000 + t.net)


def test_no_entry_on_an_exit_candle():
    r = make_runner(flat(4), cooldown_candles=0)
    _open_one_level(r)
    ev = r.on_candle(candle(2, 90, 101, 80, 99))  # TP at 100 and the candle also touches 90 and 85
    assert [e.kind for e in ev] == [EventKind.CLOSE]
    assert not r.book.positions


def test_margin_guard_stops_filling_levels():
    r = make_runner(flat(3), max_margin_ratio=0.5)
    r.on_candle(candle(0, 100, 101, 99, 100))
    ev = r.on_candle(candle(1, 100, 100, 75, 80))  # all three touched
    # after 2 fills used margin = 2/3 of equity >= 0.5
    assert [e.level for e in ev if e.kind is EventKind.OPEN] == [0, 1]


def test_cooldown_blocks_entries_until_exit_index_plus_cooldown():
    r = make_runner(flat(10), cooldown_candles=3)
    _open_one_level(r)
    r.on_candle(candle(2, 92, 101, 91, 100))  # TP at index 2
    assert not r.book.positions
    assert r.on_candle(candle(3, 95, 95, 85, 90)) == []  # 3 - 2 = 1 < 3
    assert r.on_candle(candle(4, 95, 95, 85, 90)) == []  # 2 < 3
    ev = r.on_candle(candle(5, 95, 95, 85, 90))  # 3 >= 3: allowed again
    assert [e.kind for e in ev][:1] == [EventKind.OPEN]


def test_min_atr_pct_uses_atr_and_close_of_the_current_candle():
    values = [{"sma": 100.0, "atr": 5.0}, {"sma": 100.0, "atr": 0.5}, {"sma": 100.0, "atr": 5.0}]
    r = make_runner(values, min_atr_pct=1.0)
    r.on_candle(candle(0, 100, 101, 99, 100))
    # candle 1: its own ATR 0.5 on close 95 = 0.53% < 1% -> no entry, although levels came from candle 0
    assert r.on_candle(candle(1, 95, 95, 89, 95)) == []
    # candle 2: ATR 5 / close 92 = 5.4% -> entry (levels from candle 1: 100 - 0.5*2 = 99)
    ev = r.on_candle(candle(2, 99, 99, 89, 92))
    assert ev and ev[0].kind is EventKind.OPEN and ev[0].price == pytest.approx(99 * 1.0005)


def test_min_profit_pct_defers_tp_until_high_clears_average_plus_margin():
    r = make_runner(flat(5), min_profit_pct=15.0)
    _open_one_level(r)
    avg = 90 * 1.0005
    assert r.on_candle(candle(2, 95, 101, 94, 100)) == []  # TP (SMA 100) touched but 101 < avg*1.15
    ev = r.on_candle(candle(3, 100, avg * 1.15 + 0.01, 99, 104))
    assert ev[0].kind is EventKind.CLOSE and ev[0].reason == "tp" and ev[0].price == 100.0


def test_funding_is_charged_at_8h_settlements_only():
    t0 = (T0 // (8 * H)) * 8 * H + 6 * H  # candle 0 at hh=06 or 14 or 22
    r = make_runner(flat(6))
    r.on_candle(candle(0, 100, 101, 99, 100, t0))
    r.on_candle(candle(1, 95, 95, 89, 92, t0))  # opens at t0+1h (not a settlement)
    pos = r.book.positions[0]
    cap = r.capital
    r.on_candle(candle(2, 92, 93, 91, 92, t0), funding_rate=0.001)  # t0+2h: settlement hour
    assert r.capital == pytest.approx(cap - 0.001 * pos.entry_price * pos.quantity)
    cap = r.capital
    r.on_candle(candle(3, 92, 93, 91, 92, t0), funding_rate=0.001)  # not a settlement
    assert r.capital == cap


def test_kill_switch_fires_below_75_percent_of_initial_capital_and_stops_trading():
    # 3 levels at 2x (notional = capital): a 20% stop hit with a gap loses ~21% of 10,000... plus
    # the levels' spread -> capital below 7,500 while the drawdown stays under the 80% hard stop
    r = make_runner(flat(8), cooldown_candles=0, leverage=2, sl_percent=20.0)
    r.on_candle(candle(0, 100, 101, 99, 100))
    r.on_candle(candle(1, 100, 100, 79, 85))  # fills 90, 85, 80
    ev = r.on_candle(candle(2, 66, 66, 60, 62))
    kinds = [e.kind for e in ev]
    assert kinds == [EventKind.CLOSE, EventKind.KILL_SWITCH]
    assert ev[1].reason == "kill_switch"
    assert 4_000 < r.capital < 7_500 and r.stopped
    assert r.on_candle(candle(3, 100, 100, 50, 60)) == []


def test_end_of_data_close_counts_in_capital_but_not_in_metrics():
    r = make_runner(flat(4))
    _open_one_level(r)
    last = candle(2, 92, 93, 91, 93)
    r.on_candle(last)
    cap_before = r.capital
    ev = r.close_at_end(last)
    t = ev[0].trade
    assert t.end_of_data and t.exit_price == 93
    assert r.closed_trades() == []
    assert r.capital == pytest.approx(cap_before + r.trades[0].net + 10_000 / 3)


def test_duplicate_and_stale_candles_are_ignored():
    r = make_runner(flat(4))
    _open_one_level(r)
    state_before = r.to_state()
    assert r.on_candle(candle(1, 95, 95, 89, 92)) == []
    assert r.on_candle(candle(0, 95, 95, 89, 92)) == []
    assert r.duplicates == 2 and r.to_state() == state_before
