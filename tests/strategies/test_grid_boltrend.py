"""grid_boltrend: Bollinger breakout arms an anchor at the breakout close; levels rest from the next
candle; exit on the close back over the Bollinger middle, or SL."""
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


def scripted(values: list[dict[str, float]], **params) -> GridStrategyRunner:
    r = GridStrategyRunner(create_strategy("grid_boltrend", params), RunnerConfig("bt:T", "BTC/USDT:USDT", costs=COSTS))
    r.bank = ScriptedBank(values)
    return r


def band(mid=100.0, upper=110.0, lower=90.0, long_ma=95.0, atr=4.0) -> dict[str, float]:
    return {"bb_mid": mid, "bb_upper": upper, "bb_lower": lower, "long_ma": long_ma, "atr": atr}


def opens(events):
    return [(e.level, e.side, round(e.price, 6)) for e in events if e.kind is EventKind.OPEN]


def closes(events):
    return [(e.trade.reason, e.trade.exit_price, e.trade.positions) for e in events if e.kind is EventKind.CLOSE]


def long_breakout(r: GridStrategyRunner) -> list:
    r.on_candle(candle(0, 104, 106, 103, 105))  # inside the band, not ready yet (no previous values)
    r.on_candle(candle(1, 105, 106, 104, 105))  # inside the band
    return r.on_candle(candle(2, 105, 113, 100, 112))  # breakout: close 112 > upper 110, > long SMA 95


def test_breakout_candle_itself_never_fills_even_when_it_trades_through_the_levels():
    r = scripted([band()] * 6)
    assert opens(long_breakout(r)) == []  # low 100 is below every level, but the signal is only known at close
    assert r.memory["pending_anchor"] == 112.0


def test_levels_rest_from_the_next_candle_at_breakout_close_minus_k_atr():
    r = scripted([band()] * 6, atr_multiplier=1.0, num_levels=3)
    long_breakout(r)
    ev = r.on_candle(candle(3, 112, 113, 107, 111))  # levels 112, 108, 104: touches two
    assert opens(ev) == [(0, 1, round(112 * 1.0005, 6)), (1, 1, round(108 * 1.0005, 6))]


def test_atr_multiplier_scales_the_level_spacing():
    r = scripted([band(atr=4.0)] * 6, atr_multiplier=2.0)
    long_breakout(r)
    ev = r.on_candle(candle(3, 112, 113, 103, 111))  # levels 112, 104, 96
    assert opens(ev) == [(0, 1, round(112 * 1.0005, 6)), (1, 1, round(104 * 1.0005, 6))]


def test_close_back_under_the_bollinger_middle_closes_at_the_close():
    r = scripted([band()] * 6)
    long_breakout(r)
    r.on_candle(candle(3, 112, 113, 111, 112))  # level 0 only
    assert closes(r.on_candle(candle(4, 112, 112, 109, 110))) == []  # still above the middle
    assert closes(r.on_candle(candle(5, 102, 103, 98, 99))) == [("bol_mid", 99.0, 1)]


def test_stop_loss_is_sl_percent_below_the_average_entry():
    r = scripted([band()] * 6, sl_percent=15.0)
    long_breakout(r)
    r.on_candle(candle(3, 112, 113, 111, 112))
    sl = 112 * 1.0005 * 0.85
    assert closes(r.on_candle(candle(4, 112, 112, 90, 101))) == [("sl", pytest.approx(sl - 0.5 * (sl - 90)), 1)]


def test_no_breakout_when_the_previous_close_was_already_outside_the_band():
    r = scripted([band()] * 6)
    r.on_candle(candle(0, 104, 106, 103, 105))
    r.on_candle(candle(1, 105, 112, 104, 111))  # close 111 already outside (breakout here, not at 2)
    r.on_candle(candle(2, 111, 113, 110, 112))  # level 0 at 111 fills here
    assert r.memory["anchor"] == 111.0


@pytest.mark.parametrize("params,values", [
    ({"min_bol_spread_pct": 25.0}, band()),  # spread (110-90)/100 = 20% is not above 25%
    ({}, band(long_ma=120.0)),  # close 112 is below the long SMA
    ({"sides": ["short"]}, band()),  # long side disabled
])
def test_breakout_filters_block_the_grid(params, values):
    r = scripted([values] * 6, **params)
    long_breakout(r)
    assert opens(r.on_candle(candle(3, 112, 113, 100, 111))) == []


def test_short_breakout_mirrors_with_levels_above_the_breakout_close():
    r = scripted([band()] * 6)
    r.on_candle(candle(0, 96, 97, 94, 95))
    r.on_candle(candle(1, 95, 96, 94, 95))
    r.on_candle(candle(2, 95, 96, 87, 88))  # close 88 < lower 90 and < long SMA 95
    ev = r.on_candle(candle(3, 88, 93, 87, 90))  # levels 88, 92, 96
    assert opens(ev) == [(0, -1, round(88 * 0.9995, 6)), (1, -1, round(92 * 0.9995, 6))]
    assert closes(r.on_candle(candle(4, 90, 102, 89, 101))) == [("bol_mid", 101.0, 2)]


def test_armed_anchor_is_dropped_after_a_candle_closes_back_over_the_middle():
    # the middle jumps to 120 on candle 3, whose close 115 is below it without reaching the 112 level
    r = scripted([band(), band(), band(), band(mid=120.0, upper=130.0, lower=110.0), band()])
    long_breakout(r)
    assert opens(r.on_candle(candle(3, 114, 117, 113, 115))) == []
    assert r.memory["anchor"] == 112.0
    assert opens(r.on_candle(candle(4, 115, 116, 100, 111))) == []  # disarmed before candle 4's orders
    assert "anchor" not in r.memory


def test_grid_boltrend_runs_the_btc_file_with_consistent_accounting():
    arr, _ = read_candle_csv(SHARED_DATA / "BTC-USD_1h_bitfinex.csv", "1h")
    candles = arr.candles("BTC/USDT:USDT", "1h")
    runner = make_runner(create_strategy("grid_boltrend", {}), RunnerConfig("bt:BTC", "BTC/USDT:USDT"))
    events = runner.run(candles)
    by_ts = {c.timestamp: c for c in candles}
    index = {c.timestamp: i for i, c in enumerate(candles)}
    trades = runner.closed_trades()
    assert len(trades) > 20
    assert {t.side for t in trades} == {1, -1}
    first_fills = {}
    for e in (e for e in events if e.kind is EventKind.OPEN):
        c = by_ts[e.timestamp]
        level = e.price / (1 + e.side * 0.0005)
        assert c.low <= level + 1e-9 if e.side > 0 else c.high >= level - 1e-9
        if e.level == 0:
            first_fills[e.timestamp] = level
    # level 0 is the close of an earlier candle (the breakout), never of its own fill candle
    for ts, level in first_fills.items():
        earlier = candles[:index[ts]]
        assert any(abs(c.close - level) < 1e-9 for c in earlier[-500:])
    for t in runner.trades:
        c = by_ts[t.exit_ts]
        assert math.isfinite(t.net) and t.reason in ("bol_mid", "sl", "end_of_data")
        if t.reason == "bol_mid":
            assert t.exit_price == c.close
    assert runner.capital == pytest.approx(10_000 + sum(t.net for t in runner.trades) - sum(t.funding for t in runner.trades), abs=1e-6)
