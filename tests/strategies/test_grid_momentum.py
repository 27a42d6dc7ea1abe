"""grid_momentum: volume-confirmed Donchian breakout arms an anchor; pull-back levels rest from the next
candle; ATR trailing stop."""
from __future__ import annotations

import math

import pytest

from radar.data.csv_io import read_candle_csv
from radar.events import EventKind
from radar.models import Candle
from radar.positions.costs import CostModel
from radar.runners import RunnerConfig, make_runner
from radar.runners.grid_runner import GridStrategyRunner
from radar.strategies.registry import create_strategy
from tests.conftest import SHARED_DATA
from tests.runners.scripted import H, T0, ScriptedBank

COSTS = CostModel(taker_fee=0.0006, maker_fee=0.0002, slippage=0.0005)


def scripted(values: list[dict[str, float]], **params) -> GridStrategyRunner:
    r = GridStrategyRunner(create_strategy("grid_momentum", params), RunnerConfig("gm:T", "BTC/USDT:USDT", costs=COSTS))
    r.bank = ScriptedBank(values)
    return r


def bar(i: int, o: float, h: float, l: float, c: float, volume: float = 100.0) -> Candle:
    return Candle(T0 + i * H, o, h, l, c, volume, "BTC/USDT:USDT", "1h")


def chan(upper=110.0, lower=90.0, vol_sma=100.0, atr=4.0) -> dict[str, float]:
    return {"dc_upper": upper, "dc_lower": lower, "vol_sma": vol_sma, "atr": atr}


def opens(events):
    return [(e.level, e.side, round(e.price, 6)) for e in events if e.kind is EventKind.OPEN]


def closes(events):
    return [(e.trade.reason, round(e.trade.exit_price, 6), e.trade.positions) for e in events if e.kind is EventKind.CLOSE]


def breakout(r: GridStrategyRunner, volume: float = 200.0) -> list:
    r.on_candle(bar(0, 100, 101, 99, 100))  # not ready
    r.on_candle(bar(1, 100, 101, 99, 100))
    # close 112 > previous channel top 110 with volume 200 > 100 * 1.5
    return r.on_candle(bar(2, 100, 113, 99, 112, volume))


def test_volume_confirmed_breakout_arms_pullback_levels_from_the_next_candle():
    # levels 112 - 4*(1 + k*1) = 108, 104, 100
    r = scripted([chan()] * 5, pullback_atr_start=1.0, pullback_atr_step=1.0, num_levels=3)
    assert opens(breakout(r)) == []  # nothing fills on the breakout candle itself
    ev = r.on_candle(bar(3, 112, 113, 103, 106))
    assert opens(ev) == [(0, 1, round(108 * 1.0005, 6)), (1, 1, round(104 * 1.0005, 6))]


def test_breakout_without_a_volume_spike_arms_nothing():
    r = scripted([chan()] * 5, vol_mult=1.5)
    breakout(r, volume=150.0)  # 150 is not above 100 * 1.5
    assert r.on_candle(bar(3, 112, 113, 99, 106)) == []


def test_short_breakout_below_the_channel_rests_levels_above():
    r = scripted([chan()] * 5)
    r.on_candle(bar(0, 100, 101, 99, 100))
    r.on_candle(bar(1, 100, 101, 99, 100))
    r.on_candle(bar(2, 100, 101, 87, 88, 300.0))  # close 88 < 90
    ev = r.on_candle(bar(3, 88, 93, 87, 90))  # levels 92, 96, 100
    assert opens(ev) == [(0, -1, round(92 * 0.9995, 6))]


def test_trailing_stop_trails_the_high_water_mark_by_trail_atr_mult_atr():
    r = scripted([chan()] * 6, trail_atr_mult=3.0, sl_percent=15.0)
    breakout(r)
    r.on_candle(bar(3, 112, 113, 107, 110))  # level 0 at 108.054; extreme = 113
    assert closes(r.on_candle(bar(4, 110, 125, 114, 124))) == []  # extreme 125 -> stop 125 - 3*4 = 113
    assert closes(r.on_candle(bar(5, 124, 124, 112, 113))) == [("sl", 112.5, 1)]  # 113 - 0.5*(113-112)


def test_fixed_stop_applies_when_tighter_than_the_trail():
    r = scripted([chan(atr=4.0)] * 5, trail_atr_mult=10.0, sl_percent=5.0)
    breakout(r)
    r.on_candle(bar(3, 112, 113, 107, 110))  # level 0 at 108.054; trail 113 - 40 = 73 < fixed 102.6513
    sl = 108 * 1.0005 * 0.95
    assert closes(r.on_candle(bar(4, 110, 110, 100, 101))) == [("sl", round(sl - 0.5 * (sl - 100), 6), 1)]


def test_armed_anchor_is_dropped_after_a_close_back_below_the_channel_middle():
    # the channel shifts up on candle 3 (middle 120) and candle 3 closes at 115 below it, above 108
    r = scripted([chan(), chan(), chan(), chan(upper=130.0, lower=110.0), chan()])
    breakout(r)
    assert r.on_candle(bar(3, 112, 116, 109, 115)) == []
    assert r.on_candle(bar(4, 115, 115, 100, 104)) == []  # would touch 108 and 104 had it stayed armed
    assert "anchor" not in r.memory


def test_grid_momentum_runs_the_btc_file_with_consistent_accounting():
    arr, _ = read_candle_csv(SHARED_DATA / "BTC-USD_1h_bitfinex.csv", "1h")
    candles = arr.candles("BTC/USDT:USDT", "1h")
    runner = make_runner(create_strategy("grid_momentum", {}),
                         RunnerConfig("gm:BTC", "BTC/USDT:USDT", kill_switch_loss_pct=99.0, hard_drawdown_pct=None))
    events = runner.run(candles)
    index = {c.timestamp: i for i, c in enumerate(candles)}
    trades = runner.closed_trades()
    assert len(trades) > 20
    assert {t.side for t in trades} == {1, -1}
    for e in (e for e in events if e.kind is EventKind.OPEN):
        c = candles[index[e.timestamp]]
        level = e.price / (1 + e.side * 0.0005)
        assert c.low <= level + 1e-9 if e.side > 0 else c.high >= level - 1e-9
    for t in runner.trades:
        c = candles[index[t.exit_ts]]
        assert math.isfinite(t.net) and t.reason in ("sl", "end_of_data")  # no TP: the trail is the exit
        if t.reason == "sl":
            assert t.exit_price >= c.low - 1e-9 if t.side > 0 else t.exit_price <= c.high + 1e-9
    # every cycle starts after a volume-confirmed breakout candle of its direction (checked from raw candles)
    def is_breakout(j: int, side: int) -> bool:
        if j < 30:
            return False
        prior = candles[j - 30:j]
        vol_avg = sum(c.volume for c in candles[j - 20:j]) / 20
        beyond = candles[j].close > max(c.high for c in prior) if side > 0 else candles[j].close < min(c.low for c in prior)
        return beyond and candles[j].volume > vol_avg * 1.5

    for t in trades:
        first = index[t.entry_ts]
        assert any(is_breakout(j, t.side) for j in range(max(0, first - 300), first)), t
    assert runner.capital == pytest.approx(10_000 + sum(t.net for t in runner.trades) - sum(t.funding for t in runner.trades), abs=1e-6)
