"""donchian_breakout: close beyond the previous candle's channel, TP = close ± 3 ATR, SL = close ∓ 1.5 ATR."""
from __future__ import annotations

import math

import pytest

from radar.data.csv_io import read_candle_csv
from radar.events import EventKind
from radar.positions.costs import CostModel
from radar.runners import RunnerConfig, make_runner
from radar.strategies.registry import create_strategy
from tests.runners.scripted import ScriptedBank, candle

COSTS = CostModel(taker_fee=0.0006, maker_fee=0.0002, slippage=0.0005)


def scripted(values, **params):
    r = make_runner(create_strategy("donchian_breakout", params), RunnerConfig("dc", "BTC/USDT:USDT", costs=COSTS))
    r.bank = ScriptedBank(values)
    return r


def feed(r, bars):
    return [e for i, b in enumerate(bars) for e in r.on_candle(candle(i, *b))]


def channel(upper, lower, atr=2.0):
    return {"dc_upper": upper, "dc_lower": lower, "atr": atr}


def test_close_above_previous_upper_opens_long_with_atr_targets():
    # candle 1's own channel already includes its high (112): the breakout compares with candle 0's 110
    r = scripted([channel(110, 90), channel(112, 90)])
    ev = feed(r, [(100, 101, 99, 100), (108, 112, 107, 111)])
    (op,) = ev
    assert (op.kind, op.side, op.reason) == (EventKind.OPEN, 1, "donchian_high_breakout")
    assert op.extra == {"tp": pytest.approx(111 + 3 * 2.0), "sl": pytest.approx(111 - 1.5 * 2.0)}


def test_close_below_previous_lower_opens_short():
    r = scripted([channel(110, 90), channel(110, 88, atr=4.0)])
    (op,) = feed(r, [(100, 101, 99, 100), (91, 92, 88, 89)])
    assert op.side == -1
    assert op.extra == {"tp": pytest.approx(89 - 12.0), "sl": pytest.approx(89 + 6.0)}


def test_close_equal_to_previous_upper_is_not_a_breakout():
    r = scripted([channel(110, 90), channel(111, 90)])
    assert feed(r, [(100, 101, 99, 100), (108, 111, 107, 110)]) == []


def test_first_candle_has_no_previous_channel():
    r = scripted([channel(110, 90)])
    assert feed(r, [(100, 200, 99, 150)]) == []


def test_take_profit_and_stop_resolve_on_later_candles():
    r = scripted([channel(110, 90), channel(112, 90), channel(120, 90)])
    ev = feed(r, [(100, 101, 99, 100), (108, 112, 107, 111), (111, 118, 110, 117.5)])
    (cl,) = [e for e in ev if e.kind is EventKind.CLOSE]
    assert (cl.reason, cl.price) == ("tp", pytest.approx(117.0))
    r = scripted([channel(110, 90), channel(112, 90), channel(112, 90)])
    ev = feed(r, [(100, 101, 99, 100), (108, 112, 107, 111), (109, 109, 106, 107)])
    (cl,) = [e for e in ev if e.kind is EventKind.CLOSE]
    assert (cl.reason, cl.price) == ("sl", pytest.approx(108 - 0.5 * 2))


def test_runs_on_two_years_of_btc_hourly_candles(shared_data):
    arrays, _ = read_candle_csv(shared_data / "BTC-USD_1h_bitfinex.csv")
    r = make_runner(create_strategy("donchian_breakout", {"leverage": 1}), RunnerConfig("dc", "BTC/USD"))
    r.run(arrays.candles("BTC/USD", "1h"))
    trades = r.closed_trades()
    reasons = {t.reason for t in trades}
    assert len(trades) >= 20 and reasons == {"tp", "sl"}
    assert all(math.isfinite(t.net) for t in r.trades)
    assert r.capital == pytest.approx(10_000 + sum(t.net - t.funding for t in r.trades), abs=1e-6)
