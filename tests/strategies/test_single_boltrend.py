"""boltrend: Bollinger breakout (previous close inside, close outside, spread above the minimum,
close on the trend side of the long SMA); exit when the close crosses back over the SMA, or SL."""
from __future__ import annotations

import math

import pytest

from radar.data.csv_io import read_candle_csv
from radar.events import EventKind
from radar.positions.costs import CostModel
from radar.runners import RunnerConfig, make_runner
from radar.strategies.boltrend import bollinger_breakout
from radar.strategies.registry import create_strategy
from tests.runners.scripted import ScriptedBank, candle

COSTS = CostModel(taker_fee=0.0006, maker_fee=0.0002, slippage=0.0005)


def band(mid=100.0, half=5.0, long_ma=90.0):
    return {"bb_mid": mid, "bb_upper": mid + half, "bb_lower": mid - half, "long_ma": long_ma}


def snap(close, **kw):
    return {**band(**kw), "close": close}


def scripted(values, **params):
    r = make_runner(create_strategy("boltrend", params), RunnerConfig("bt", "BTC/USDT:USDT", costs=COSTS))
    r.bank = ScriptedBank(values)
    return r


def feed(r, bars):
    return [e for i, b in enumerate(bars) for e in r.on_candle(candle(i, *b))]


def test_breakout_requires_previous_close_inside_the_band():
    assert bollinger_breakout(snap(104), snap(106), 0.0) == 1
    assert bollinger_breakout(snap(105.5), snap(106), 0.0) == 0  # already outside: not a fresh breakout
    assert bollinger_breakout(snap(96), snap(94, long_ma=110), 0.0) == -1


def test_breakout_against_the_long_sma_is_ignored():
    assert bollinger_breakout(snap(104), snap(106, long_ma=107), 0.0) == 0
    assert bollinger_breakout(snap(96), snap(94, long_ma=90), 0.0) == 0


def test_band_spread_must_exceed_the_minimum():
    # spread = (105 - 95) / 100 = 10%
    assert bollinger_breakout(snap(104), snap(106), 9.9) == 1
    assert bollinger_breakout(snap(104), snap(106), 10.0) == 0


def test_breakout_opens_long_with_percent_stop_and_no_tp():
    r = scripted([band(), band()])
    (op,) = feed(r, [(100, 104, 99, 104), (104, 107, 103, 106)])
    assert (op.side, op.reason) == (1, "bollinger_breakout_up")
    assert math.isnan(op.extra["tp"]) and op.extra["sl"] == pytest.approx(106 * 0.85)


def test_long_exits_when_close_falls_back_below_the_sma():
    r = scripted([band(), band(), band(mid=101), band(mid=102)])
    ev = feed(r, [(100, 104, 99, 104), (104, 107, 103, 106), (106, 106, 101, 101.5), (101, 102, 100, 101)])
    (cl,) = [e for e in ev if e.kind is EventKind.CLOSE]
    assert (cl.reason, cl.price, cl.timestamp) == ("sma_cross", 101.0, candle(3, 0, 0, 0, 0).timestamp)


def test_short_breakout_and_stop():
    r = scripted([band(long_ma=110)] * 3, sl_percent=2.0)
    ev = feed(r, [(100, 101, 96, 96), (96, 96, 93, 94), (95, 97, 94, 96.5)])
    op, cl = ev
    assert op.side == -1 and op.extra["sl"] == pytest.approx(94 * 1.02)
    sl = 94 * 1.02  # 95.88; high 97 -> gap half-way
    assert (cl.reason, cl.price) == ("sl", pytest.approx(sl + 0.5 * (97 - sl)))


def test_runs_on_two_years_of_btc_hourly_candles(shared_data):
    arrays, _ = read_candle_csv(shared_data / "BTC-USD_1h_bitfinex.csv")
    r = make_runner(create_strategy("boltrend", {"leverage": 1}), RunnerConfig("bt", "BTC/USD"))
    r.run(arrays.candles("BTC/USD", "1h"))
    trades = r.closed_trades()
    assert len(trades) >= 20 and "sma_cross" in {t.reason for t in trades}
    assert {t.side for t in trades} == {1, -1}
    assert all(math.isfinite(t.net) for t in r.trades)
    assert r.capital == pytest.approx(10_000 + sum(t.net - t.funding for t in r.trades), abs=1e-6)
