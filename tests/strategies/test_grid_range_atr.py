"""grid_range_atr: LONG and SHORT levels at once, each position with its own TP (SMA or fixed centre) and SL."""
from __future__ import annotations

import math

import pytest

from radar.data.csv_io import read_candle_csv
from radar.events import EventKind
from radar.positions.costs import CostModel
from radar.runners import RunnerConfig, make_runner
from radar.runners.grid_runner import GridStrategyRunner
from radar.strategies.registry import create_strategy
from tests.conftest import SHARED_DATA
from tests.runners.scripted import ScriptedBank, candle

COSTS = CostModel(taker_fee=0.0006, maker_fee=0.0002, slippage=0.0005)


def scripted(values: list[dict[str, float]], capital: float = 10_000.0, **params) -> GridStrategyRunner:
    r = GridStrategyRunner(create_strategy("grid_range_atr", params),
                           RunnerConfig("ra:T", "BTC/USDT:USDT", initial_capital=capital, costs=COSTS))
    r.bank = ScriptedBank(values)
    return r


def v(sma=100.0, atr=10.0) -> dict[str, float]:
    return {"sma": sma, "atr": atr}


def opens(events):
    return [(e.level, e.side, round(e.price, 6)) for e in events if e.kind is EventKind.OPEN]


def closes(events):
    return [(e.trade.reason, e.trade.side, round(e.trade.exit_price, 6), e.trade.positions)
            for e in events if e.kind is EventKind.CLOSE]


def test_slots_split_margin_over_both_sides():
    assert create_strategy("grid_range_atr", {"num_levels": 2}).slots == 4
    assert create_strategy("grid_range_atr", {"num_levels": 3, "sides": ["long"]}).slots == 3


def test_long_and_short_levels_rest_together_with_separate_indices():
    # spacing 0.5*ATR 10 = 5: long 95 (0), 90 (1); short 105 (2), 110 (3)
    r = scripted([v()] * 3, atr_spacing=0.5, num_levels=2)
    r.on_candle(candle(0, 100, 101, 99, 100))
    ev = r.on_candle(candle(1, 100, 106, 94, 100))
    assert opens(ev) == [(0, 1, round(95 * 1.0005, 6)), (2, -1, round(105 * 0.9995, 6))]
    margin = 10_000 / 4
    assert r.capital == pytest.approx(10_000 - 2 * margin)


def test_each_position_takes_profit_at_the_sma_on_its_own():
    r = scripted([v(), v(), v(sma=101.0)], atr_spacing=0.5, num_levels=2)
    r.on_candle(candle(0, 100, 101, 99, 100))
    r.on_candle(candle(1, 100, 106, 94, 100))  # long @95.0475, short @104.9475
    # TP = SMA 101 for both: the long needs high >= 101, the short low <= 101
    ev = r.on_candle(candle(2, 100, 102, 100.5, 101.5))
    assert sorted(closes(ev)) == [("tp", -1, 101.0, 1), ("tp", 1, 101.0, 1)]


def test_one_side_exits_while_the_other_stays_open():
    r2 = scripted([v(), v(), v(sma=96.0)], atr_spacing=0.5, num_levels=2, sl_percent=10.0)
    r2.on_candle(candle(0, 100, 101, 99, 100))
    r2.on_candle(candle(1, 100, 106, 94, 100))
    ev = r2.on_candle(candle(2, 97, 97.5, 96.5, 97))  # short TP 96 not reached, long TP 96 reached
    assert closes(ev) == [("tp", 1, 96.0, 1)]
    assert [p.level for p in r2.open_positions()] == [2]


def test_stop_loss_is_per_position_on_its_own_entry():
    r = scripted([v()] * 3, atr_spacing=0.5, num_levels=2, sl_percent=10.0)
    r.on_candle(candle(0, 100, 101, 99, 100))
    r.on_candle(candle(1, 100, 100, 89, 92))  # longs @95.0475 and @90.045
    # SLs: 85.54275 and 81.0405; low 84 hits only the first: gap fill 85.54275 - 0.5*(85.54275-84)
    ev = r.on_candle(candle(2, 92, 93, 84, 86))
    sl = 95 * 1.0005 * 0.9
    assert closes(ev) == [("sl", 1, round(sl - 0.5 * (sl - 84), 6), 1)]
    assert [p.level for p in r.open_positions()] == [1]


def test_partial_exit_does_not_trip_the_kill_switch_while_margin_is_still_locked():
    # long @95.0475 and short @104.9475 open (2,500 margin each, 5,000 free); the long then takes its
    # TP at SMA 94 for a ~190 loss: free cash ~7,310 is under 75% of 10,000, but the runner still
    # holds ~9,810 (the short's margin is locked, not lost), so the kill switch must not fire
    r = scripted([v(), v(), v(sma=94.0)], atr_spacing=0.5, num_levels=2, sl_percent=10.0)
    r.on_candle(candle(0, 100, 101, 99, 100))
    r.on_candle(candle(1, 100, 106, 94, 100))
    ev = r.on_candle(candle(2, 96, 97, 95, 96))
    assert closes(ev) == [("tp", 1, 94.0, 1)]
    assert [p.level for p in r.open_positions()] == [2]
    assert r.capital < 7_500 < r.capital + r.used_margin
    assert not r.stopped


def test_fixed_center_keeps_the_sma_the_level_was_built_from():
    r = scripted([v(sma=100.0), v(sma=100.0), v(sma=90.0), v(sma=90.0)], tp_mode="fixed_center",
                 atr_spacing=0.5, num_levels=2)
    r.on_candle(candle(0, 100, 101, 99, 100))
    r.on_candle(candle(1, 100, 100, 94, 96))  # long level 0 at 95 built around SMA 100
    assert r.on_candle(candle(2, 96, 98, 95.5, 97)) == []  # a dynamic TP (SMA 90) would have exited here
    ev = r.on_candle(candle(3, 97, 100.5, 96, 100))  # the fixed centre 100 is reached
    assert closes(ev) == [("tp", 1, 100.0, 1)]


def test_dynamic_sma_exits_at_the_sma_of_the_exit_candle():
    r = scripted([v(sma=100.0), v(sma=100.0), v(sma=97.0)], atr_spacing=0.5, num_levels=2)
    r.on_candle(candle(0, 100, 101, 99, 100))
    r.on_candle(candle(1, 100, 100, 94, 96))
    assert closes(r.on_candle(candle(2, 96, 98, 95.5, 97))) == [("tp", 1, 97.0, 1)]


@pytest.mark.parametrize("tp_mode", ["dynamic_sma", "fixed_center"])
def test_grid_range_atr_runs_the_btc_file_with_consistent_accounting(tp_mode):
    arr, _ = read_candle_csv(SHARED_DATA / "BTC-USD_1h_bitfinex.csv", "1h")
    candles = arr.candles("BTC/USDT:USDT", "1h")
    runner = make_runner(create_strategy("grid_range_atr", {"tp_mode": tp_mode, "atr_spacing": 1.0}),
                         RunnerConfig("ra:BTC", "BTC/USDT:USDT", kill_switch_loss_pct=99.0, hard_drawdown_pct=None))
    events = runner.run(candles)
    by_ts = {c.timestamp: c for c in candles}
    trades = runner.closed_trades()
    assert len(trades) > 50
    assert {t.side for t in trades} == {1, -1}
    assert all(t.positions == 1 for t in runner.trades)  # every position exits on its own
    for e in (e for e in events if e.kind is EventKind.OPEN):
        c = by_ts[e.timestamp]
        level = e.price / (1 + e.side * 0.0005)
        assert (c.low <= level + 1e-9) if e.side > 0 else (c.high >= level - 1e-9)
        assert (e.level < 2) == (e.side > 0)  # long levels 0..N-1, short N..2N-1
    for t in runner.trades:
        c = by_ts[t.exit_ts]
        assert math.isfinite(t.net) and t.reason in ("tp", "sl", "end_of_data")
        if t.reason == "tp":
            assert (t.exit_price <= c.high + 1e-9) if t.side > 0 else (t.exit_price >= c.low - 1e-9)
        if t.reason == "sl":
            assert t.exit_price == pytest.approx(t.entry_price * (1 - t.side * 0.10), rel=0.05)
    assert runner.capital == pytest.approx(10_000 + sum(t.net for t in runner.trades) - sum(t.funding for t in runner.trades), abs=1e-6)
