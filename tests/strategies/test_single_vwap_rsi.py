"""vwap_rsi (5m): RSI extreme + close beyond VWAP by the deviation + volume spike, only while the 15m ADX
is below its maximum; percent TP/SL; RANGING -> TRENDING closes the position."""
from __future__ import annotations

import math

import pytest

from radar.data.csv_io import read_candle_csv
from radar.events import EventKind
from radar.models import Candle
from radar.positions.costs import CostModel
from radar.runners import RunnerConfig, make_runner
from radar.strategies.registry import create_strategy
from tests.runners.scripted import ScriptedBank

COSTS = CostModel(taker_fee=0.0006, maker_fee=0.0002, slippage=0.0005)
M5 = 300_000
T0 = 1_600_000_000_000 // 3_600_000 * 3_600_000 + 3 * 3_600_000
# RSI 25, VWAP 100, volume SMA 10, 15m ADX 20: a long fires on a close below 99.7 with volume > 15
BASE = {"rsi": 25.0, "vwap": 100.0, "vol_sma": 10.0, "adx_15m": 20.0}


def c5(i, o, h, l, c, v=20.0):
    return Candle(T0 + i * M5, o, h, l, c, v, "XRP/USDT:USDT", "5m")


def scripted(values, **params):
    r = make_runner(create_strategy("vwap_rsi", params), RunnerConfig("vr", "XRP/USDT:USDT", costs=COSTS))
    r.bank = ScriptedBank(values)
    return r


def entry(values_override=None, close=99.0, volume=20.0, **params):
    r = scripted([{**BASE, **(values_override or {})}], **params)
    return r.on_candle(c5(0, 99.5, 99.8, 98.9, close, volume))


def test_oversold_below_vwap_with_volume_spike_opens_long_with_percent_stops():
    (op,) = entry()
    assert (op.side, op.reason) == (1, "rsi_oversold_below_vwap")
    assert op.extra == {"tp": pytest.approx(99 * 1.008), "sl": pytest.approx(99 * 0.995)}


@pytest.mark.parametrize("override, close, volume", [
    ({"rsi": 30.0}, 99.0, 20.0),       # RSI not below 30
    ({}, 99.75, 20.0),                 # only 0.25% under VWAP, the deviation is 0.3%
    ({}, 99.0, 15.0),                  # volume not above 1.5 x its SMA
    ({"adx_15m": 25.0}, 99.0, 20.0),   # 15m trend too strong
])
def test_each_long_condition_is_required(override, close, volume):
    assert entry(override, close, volume) == []


def test_overbought_above_vwap_opens_short():
    r = scripted([{**BASE, "rsi": 75.0}])
    (op,) = r.on_candle(c5(0, 100.5, 101.2, 100.4, 101.0))
    assert op.side == -1 and op.extra == {"tp": pytest.approx(101 * 0.992), "sl": pytest.approx(101 * 1.005)}


def test_oversold_close_above_vwap_is_not_a_short_or_long():
    r = scripted([{**BASE, "rsi": 25.0}])
    assert r.on_candle(c5(0, 100.5, 101.2, 100.4, 101.0)) == []


def test_take_profit_on_a_later_candle():
    r = scripted([BASE, BASE])
    r.on_candle(c5(0, 99.5, 99.8, 98.9, 99.0))
    (cl,) = r.on_candle(c5(1, 99.0, 100.0, 98.9, 99.9))
    assert (cl.kind, cl.reason, cl.price) == (EventKind.CLOSE, "tp", pytest.approx(99.792))


def test_regime_turning_to_trend_closes_the_position():
    r = scripted([{**BASE, "regime": 0.0}, {**BASE, "regime": 2.0}])
    r.on_candle(c5(0, 99.5, 99.8, 98.9, 99.0))
    (cl,) = r.on_candle(c5(1, 99.0, 99.2, 98.8, 99.1))
    assert (cl.reason, cl.price) == ("regime_change", 99.1)


def test_adx_is_read_from_completed_15m_candles():
    spec = create_strategy("vwap_rsi").indicator_specs()["adx_15m"]
    assert (spec.kind, spec.args, spec.htf) == ("adx", (14,), "15m")


@pytest.mark.parametrize("name", ["ETH-BTC_5m.csv", "XRP-USDT_5m_futures.csv"])
def test_runs_on_real_5m_candles(shared_data, name):
    arrays, _ = read_candle_csv(shared_data / name)
    r = make_runner(create_strategy("vwap_rsi", {"leverage": 1}), RunnerConfig("vr", "PAIR"))
    r.run(arrays.candles("PAIR", "5m"))
    trades = r.closed_trades()
    assert len(trades) >= 5 and {"tp", "sl"} <= {t.reason for t in trades}
    assert all(math.isfinite(t.net) for t in r.trades)
    assert r.capital == pytest.approx(10_000 + sum(t.net - t.funding for t in r.trades), abs=1e-6)
