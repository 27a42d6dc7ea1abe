"""supertrend: enter on a direction flip, TP 4% / SL 2% from the signal close."""
from __future__ import annotations

import math

import pytest

from radar.data.csv_io import read_candle_csv
from radar.events import EventKind
from radar.positions.costs import CostModel
from radar.runners import RunnerConfig, make_runner
from radar.strategies.registry import create_strategy
from radar.strategies.supertrend import percent_stops
from tests.runners.scripted import NAN, ScriptedBank, candle

COSTS = CostModel(taker_fee=0.0006, maker_fee=0.0002, slippage=0.0005)


def scripted(dirs, **params):
    r = make_runner(create_strategy("supertrend", params), RunnerConfig("st", "BTC/USDT:USDT", costs=COSTS))
    r.bank = ScriptedBank([{"st": 95.0, "st_dir": d} for d in dirs])
    return r


def feed(r, bars):
    return [e for i, b in enumerate(bars) for e in r.on_candle(candle(i, *b))]


def test_percent_stops_sit_on_either_side_of_the_close():
    assert percent_stops(200.0, 1, 4.0, 2.0) == (pytest.approx(208.0), pytest.approx(196.0))
    assert percent_stops(200.0, -1, 4.0, 2.0) == (pytest.approx(192.0), pytest.approx(204.0))


def test_flip_up_opens_long_with_4_percent_tp_and_2_percent_sl():
    r = scripted([-1, 1])
    (op,) = feed(r, [(100, 101, 99, 100), (100, 101, 99, 100)])
    assert (op.side, op.reason) == (1, "supertrend_flip_up")
    assert op.extra == {"tp": pytest.approx(104.0), "sl": pytest.approx(98.0)}


def test_flip_down_opens_short():
    r = scripted([1, -1])
    (op,) = feed(r, [(100, 101, 99, 100), (100, 101, 99, 50)])
    assert op.side == -1 and op.extra == {"tp": pytest.approx(48.0), "sl": pytest.approx(51.0)}


def test_unchanged_direction_or_warm_up_opens_nothing():
    assert feed(scripted([1, 1, 1]), [(100, 101, 99, 100)] * 3) == []
    assert feed(scripted([NAN, 1]), [(100, 101, 99, 100)] * 2) == []


def test_tp_hit_on_a_later_candle_pays_the_maker_fee():
    r = scripted([-1, 1, 1])
    ev = feed(r, [(100, 101, 99, 100), (100, 101, 99, 100), (100, 104.5, 99.5, 104)])
    (cl,) = [e for e in ev if e.kind is EventKind.CLOSE]
    assert (cl.reason, cl.price, cl.trade.slippage) == ("tp", 104.0, 0.0)


def test_runs_on_two_years_of_btc_hourly_candles(shared_data):
    arrays, _ = read_candle_csv(shared_data / "BTC-USD_1h_bitfinex.csv")
    r = make_runner(create_strategy("supertrend", {"leverage": 1}), RunnerConfig("st", "BTC/USD"))
    r.run(arrays.candles("BTC/USD", "1h"))
    trades = r.closed_trades()
    assert len(trades) >= 20 and {t.reason for t in trades} == {"tp", "sl"}
    # entries alternate with flips, so both sides trade
    assert {t.side for t in trades} == {1, -1}
    assert all(math.isfinite(t.net) for t in r.trades)
    assert r.capital == pytest.approx(10_000 + sum(t.net - t.funding for t in r.trades), abs=1e-6)
