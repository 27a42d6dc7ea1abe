"""grid_funding: LONG levels when the funding rate in force is at or below -(start + k*step), entry at the
previous close, take-profit by funding turning positive and/or a close above the SMA after min_hold."""
from __future__ import annotations

import math

import numpy as np
import pytest

from radar.data.csv_io import read_candle_csv, read_funding_csv
from radar.events import EventKind
from radar.positions.costs import CostModel
from radar.runners import RunnerConfig, make_runner
from radar.runners.grid_runner import GridStrategyRunner
from radar.strategies.registry import create_strategy
from tests.conftest import SHARED_DATA
from tests.runners.scripted import H, T0, ScriptedBank, candle

COSTS = CostModel(taker_fee=0.0006, maker_fee=0.0002, slippage=0.0005)


def scripted(values: list[dict[str, float]], **params) -> GridStrategyRunner:
    r = GridStrategyRunner(create_strategy("grid_funding", params), RunnerConfig("gf:T", "BTC/USDT:USDT", costs=COSTS))
    r.bank = ScriptedBank(values)
    return r


def opens(events):
    return [(e.level, round(e.price, 6)) for e in events if e.kind is EventKind.OPEN]


def closes(events):
    return [(e.trade.reason, e.trade.exit_price, e.trade.positions) for e in events if e.kind is EventKind.CLOSE]


SMA_HIGH = [{"sma": 200.0}] * 20  # a close above the SMA never happens


def test_levels_activate_by_funding_threshold_and_rest_at_the_previous_close():
    # thresholds -0.0005, -0.0010, -0.0015: a rate of -0.0012 activates levels 0 and 1
    r = scripted(SMA_HIGH)
    r.on_candle(candle(0, 100, 101, 99, 100), funding_rate=-0.0012)
    assert opens(r.on_candle(candle(1, 100, 101, 98, 99), funding_rate=-0.0012)) == \
        [(0, round(100 * 1.0005, 6)), (1, round(100 * 1.0005, 6))]


def test_rate_above_the_first_threshold_or_unknown_opens_nothing():
    r = scripted(SMA_HIGH)
    r.on_candle(candle(0, 100, 101, 99, 100))
    assert r.on_candle(candle(1, 100, 101, 98, 99), funding_rate=-0.0004) == []
    assert r.on_candle(candle(2, 100, 101, 98, 99), funding_rate=None) == []


def test_a_gap_above_the_previous_close_leaves_the_limit_unfilled():
    r = scripted(SMA_HIGH)
    r.on_candle(candle(0, 100, 101, 99, 100))
    assert r.on_candle(candle(1, 102, 104, 101, 103), funding_rate=-0.002) == []


def test_funding_positive_exit_waits_for_min_hold_candles():
    r = scripted(SMA_HIGH, tp_mode="funding_positive", min_hold_candles=3)
    r.on_candle(candle(0, 100, 101, 99, 100))
    r.on_candle(candle(1, 100, 101, 99, 100), funding_rate=-0.0006)  # level 0 at 100.05
    assert r.on_candle(candle(2, 100, 101, 99, 100.5), funding_rate=0.0001) == []  # held 1 candle
    assert r.on_candle(candle(3, 100, 101, 99, 100.6), funding_rate=0.0001) == []  # held 2
    assert closes(r.on_candle(candle(4, 100, 101, 99, 100.7), funding_rate=0.0001)) == [("funding_positive", 100.7, 1)]


def test_sma_cross_mode_ignores_funding_and_exits_on_a_close_above_the_sma():
    values = [{"sma": 100.0}] * 6
    r = scripted(values, tp_mode="sma_cross", min_hold_candles=1)
    r.on_candle(candle(0, 100, 101, 99, 99))
    r.on_candle(candle(1, 99, 99.5, 97, 98), funding_rate=-0.0006)  # level 0 at 99 (prev close)
    assert r.on_candle(candle(2, 98, 99.5, 97, 99.5), funding_rate=0.0003) == []  # positive funding, close < SMA
    assert closes(r.on_candle(candle(3, 99.5, 101, 99, 100.5), funding_rate=0.0003)) == [("sma_cross", 100.5, 1)]


def test_both_mode_exits_on_whichever_comes_first():
    r = scripted([{"sma": 100.0}] * 6, tp_mode="both", min_hold_candles=1)
    r.on_candle(candle(0, 100, 101, 99, 99))
    r.on_candle(candle(1, 99, 99.5, 97, 98), funding_rate=-0.0006)
    assert closes(r.on_candle(candle(2, 98, 99, 97, 98.5), funding_rate=0.0001)) == [("funding_positive", 98.5, 1)]


def test_stop_loss_applies_before_min_hold():
    r = scripted(SMA_HIGH, sl_percent=15.0, min_hold_candles=8)
    r.on_candle(candle(0, 100, 101, 99, 100))
    r.on_candle(candle(1, 100, 101, 99, 100), funding_rate=-0.0006)
    sl = 100 * 1.0005 * 0.85
    assert closes(r.on_candle(candle(2, 90, 90, 84, 85), funding_rate=-0.0006)) == \
        [("sl", pytest.approx(sl - 0.5 * (sl - 84)), 1)]


def test_longs_receive_negative_funding_at_the_funding_hours():
    r = scripted(SMA_HIGH, tp_mode="sma_cross", num_levels=1)
    assert (T0 + 9 * H) // H % 24 == 0  # candle 9 opens at 00:00 UTC
    r.on_candle(candle(0, 100, 101, 99, 100))
    r.on_candle(candle(1, 100, 101, 99, 100), funding_rate=-0.001)  # 1 level, margin 10,000
    notional = r.open_positions()[0].notional
    before = r.capital
    for i in range(2, 10):
        r.on_candle(candle(i, 100, 101, 99.5, 100), funding_rate=-0.001)
    assert r.capital - before == pytest.approx(0.001 * notional)  # one settlement (candle 9), received


def _xrp_candles_and_rates(shift: float):
    arr, _ = read_candle_csv(SHARED_DATA / "XRP-USDT_1h_futures.csv", "1h")
    candles = arr.candles("XRP/USDT:USDT", "1h")
    fts, rates, _ = read_funding_csv(SHARED_DATA / "XRP-USDT_8h_funding_rate.csv")
    settle = fts // H * H  # exchange stamps carry a few ms of jitter after the settlement hour

    def funding(ts: int) -> float | None:
        k = int(np.searchsorted(settle, ts, side="right")) - 1
        return None if k < 0 else float(rates[k]) + shift

    return candles, funding


def _accounting_ok(runner) -> bool:
    expected = 10_000 + sum(t.net for t in runner.trades) - sum(t.funding for t in runner.trades)
    return runner.capital == pytest.approx(expected, abs=1e-6)


def test_real_xrp_funding_never_goes_negative_enough_so_nothing_trades():
    candles, funding = _xrp_candles_and_rates(0.0)
    assert min(funding(c.timestamp) or 0.0 for c in candles) > -0.0005  # the precondition of "no entry"
    runner = make_runner(create_strategy("grid_funding", {}), RunnerConfig("gf:XRP", "XRP/USDT:USDT"))
    runner.run(candles, funding)
    assert runner.trades == [] and runner.capital == 10_000


def test_grid_funding_trades_real_xrp_candles_under_shifted_real_funding():
    # The stored rates (0.01%..0.06% in this window) shifted down by 0.08% keep their real shape but
    # cross the -0.05% threshold, so the grid buys, collects funding and exits on the SMA cross.
    candles, funding = _xrp_candles_and_rates(-0.0008)
    runner = make_runner(create_strategy("grid_funding", {"min_hold_candles": 4}), RunnerConfig("gf:XRP", "XRP/USDT:USDT"))
    events = runner.run(candles, funding)
    by_ts = {c.timestamp: (i, c) for i, c in enumerate(candles)}
    trades = runner.closed_trades()
    assert len(trades) > 0
    assert all(t.reason in ("sma_cross", "sl") for t in trades)  # shifted funding never turns positive
    for e in (e for e in events if e.kind is EventKind.OPEN):
        i, c = by_ts[e.timestamp]
        assert e.price == pytest.approx(candles[i - 1].close * 1.0005)  # limit at the previous close
        assert funding(e.timestamp) <= -0.0005 - 0.0005 * e.level + 1e-15
        assert c.low <= candles[i - 1].close
    for t in runner.trades:
        assert math.isfinite(t.net)
        if t.reason == "sma_cross":
            assert t.exit_price == by_ts[t.exit_ts][1].close
    assert any(t.funding < 0 for t in runner.trades)  # longs were paid funding
    assert _accounting_ok(runner)
