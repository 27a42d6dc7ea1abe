"""grid_trend: EMA direction gated by ADX, pull-back levels from EMA_fast, ATR trailing stop, flip on EMA cross."""
from __future__ import annotations

import math

import pytest

from radar.data.csv_io import read_candle_csv
from radar.events import EventKind
from radar.positions.costs import CostModel
from radar.runners import RunnerConfig, make_runner
from radar.runners.grid_runner import GridStrategyRunner
from radar.strategies.base import GridState
from radar.strategies.grid_trend import trailing_stop
from radar.strategies.registry import create_strategy
from tests.conftest import SHARED_DATA
from tests.runners.scripted import ScriptedBank, candle

COSTS = CostModel(taker_fee=0.0006, maker_fee=0.0002, slippage=0.0005)


def scripted(values: list[dict[str, float]], **params) -> GridStrategyRunner:
    r = GridStrategyRunner(create_strategy("grid_trend", params), RunnerConfig("gt:T", "BTC/USDT:USDT", costs=COSTS))
    r.bank = ScriptedBank(values)
    return r


def v(fast=100.0, slow=90.0, adx=30.0, atr=4.0) -> dict[str, float]:
    return {"ema_fast": fast, "ema_slow": slow, "adx": adx, "adx_plus_di": 25.0, "adx_minus_di": 15.0, "atr": atr}


def opens(events):
    return [(e.level, e.side, round(e.price, 6)) for e in events if e.kind is EventKind.OPEN]


def closes(events):
    return [(e.trade.reason, round(e.trade.exit_price, 6)) for e in events if e.kind is EventKind.CLOSE]


def test_uptrend_rests_long_pullback_levels_below_the_fast_ema():
    # levels 100 - 4*(1.0 + k*0.5) = 96, 94, 92
    r = scripted([v()] * 3, pull_start=1.0, pull_step=0.5, num_levels=3)
    r.on_candle(candle(0, 100, 101, 99, 100))
    assert opens(r.on_candle(candle(1, 100, 101, 93, 97))) == [(0, 1, round(96 * 1.0005, 6)), (1, 1, round(94 * 1.0005, 6))]


def test_downtrend_rests_short_levels_above_the_fast_ema():
    r = scripted([v(fast=100.0, slow=110.0)] * 3)
    r.on_candle(candle(0, 100, 101, 99, 100))
    assert opens(r.on_candle(candle(1, 100, 104.5, 99, 103))) == [(0, -1, round(104 * 0.9995, 6))]


def test_adx_at_or_below_threshold_is_neutral_and_opens_nothing():
    r = scripted([v(adx=20.0)] * 3, adx_threshold=20.0)
    r.on_candle(candle(0, 100, 101, 99, 100))
    assert r.on_candle(candle(1, 100, 101, 80, 90)) == []


def test_neutral_market_still_manages_an_open_grid():
    # opened in a trend, then ADX drops: no new level fills, but the stop still works
    r = scripted([v(), v(adx=10.0), v(adx=10.0), v(adx=10.0)], sl_percent=15.0, trail_atr_mult=2.0)
    r.on_candle(candle(0, 100, 101, 99, 100))
    assert opens(r.on_candle(candle(1, 100, 100, 95, 97))) == [(0, 1, round(96 * 1.0005, 6))]  # extreme = 100
    assert opens(r.on_candle(candle(2, 97, 98, 93.5, 94))) == []  # 94 would be level 1, but neutral now
    # stop = max(96.048*0.85, 100 - 2*4 = 92) = 92; low 91 hits it; gap fill 92 - 0.5*(92-91) = 91.5
    assert closes(r.on_candle(candle(3, 94, 95, 91, 93))) == [("sl", 91.5)]


def test_trailing_stop_follows_the_high_water_mark():
    r = scripted([v()] * 5, trail_atr_mult=2.0, sl_percent=15.0)
    r.on_candle(candle(0, 100, 101, 99, 100))
    r.on_candle(candle(1, 100, 100, 95, 97))  # long level 0 at 96.048
    assert closes(r.on_candle(candle(2, 97, 110, 103, 109))) == []  # extreme 110 -> stop 102, low 103
    assert closes(r.on_candle(candle(3, 109, 109, 101, 102))) == [("sl", 101.5)]  # 102 - 0.5*(102-101)


def test_trailing_stop_function_takes_the_tighter_of_fixed_and_trail():
    assert trailing_stop(1, 100.0, 15.0, 104.0, 4.0, 2.0) == pytest.approx(96.0)  # trail 96 > fixed 85
    assert trailing_stop(1, 100.0, 15.0, 100.0, 20.0, 2.0) == pytest.approx(85.0)  # trail 60 < fixed 85
    assert trailing_stop(-1, 100.0, 15.0, 96.0, 4.0, 2.0) == pytest.approx(104.0)  # short mirrors with min
    assert trailing_stop(1, 100.0, 15.0, math.nan, 4.0, 2.0) == pytest.approx(85.0)


def test_ema_cross_against_the_grid_closes_it_at_the_close_with_reason_flip():
    r = scripted([v(), v(), v(fast=89.0, slow=90.0)], trail_atr_mult=5.0)
    r.on_candle(candle(0, 100, 101, 99, 100))
    r.on_candle(candle(1, 100, 100, 95, 97))
    assert closes(r.on_candle(candle(2, 97, 98, 94, 95))) == [("flip", 95.0)]


def test_there_is_no_take_profit():
    s = create_strategy("grid_trend", {})
    state = GridState(side=1, avg_entry=100.0, quantity=1.0, filled_levels=frozenset({0}), first_entry_index=0)
    assert math.isnan(s.get_tp_price(None, state))  # type: ignore[arg-type]


def test_grid_trend_runs_the_btc_file_with_consistent_accounting():
    arr, _ = read_candle_csv(SHARED_DATA / "BTC-USD_1h_bitfinex.csv", "1h")
    candles = arr.candles("BTC/USDT:USDT", "1h")
    runner = make_runner(create_strategy("grid_trend", {}),
                         RunnerConfig("gt:BTC", "BTC/USDT:USDT", kill_switch_loss_pct=99.0, hard_drawdown_pct=None))
    events = runner.run(candles)
    by_ts = {c.timestamp: c for c in candles}
    trades = runner.closed_trades()
    assert len(trades) > 20
    assert {t.side for t in trades} == {1, -1}
    assert {t.reason for t in trades} == {"sl", "flip"}
    for e in (e for e in events if e.kind is EventKind.OPEN):
        c = by_ts[e.timestamp]
        level = e.price / (1 + e.side * 0.0005)
        assert c.low <= level + 1e-9 if e.side > 0 else c.high >= level - 1e-9
    for t in runner.trades:
        c = by_ts[t.exit_ts]
        assert math.isfinite(t.net)
        if t.reason == "sl":
            assert t.exit_price >= c.low - 1e-9 if t.side > 0 else t.exit_price <= c.high + 1e-9
        else:
            assert t.exit_price == c.close
    assert runner.capital == pytest.approx(10_000 + sum(t.net for t in runner.trades) - sum(t.funding for t in runner.trades), abs=1e-6)
