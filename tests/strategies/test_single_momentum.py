"""momentum (5m): close beyond the previous N-candle high/low with volume > SMA * mult while the 15m
ADX >= its minimum; percent TP/SL."""
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


def snap(upper=110.0, lower=90.0, vol_sma=10.0, adx=30.0):
    return {"range_upper": upper, "range_lower": lower, "vol_sma": vol_sma, "adx_15m": adx}


def c5(i, o, h, l, c, v=25.0):
    return Candle(T0 + i * M5, o, h, l, c, v, "ETH/BTC", "5m")


def scripted(values, **params):
    r = make_runner(create_strategy("momentum", params), RunnerConfig("mo", "ETH/BTC", costs=COSTS))
    r.bank = ScriptedBank(values)
    return r


def two(second_bar, first=None, second=None, **params):
    r = scripted([first or snap(), second or snap(upper=112)], **params)
    r.on_candle(c5(0, 100, 101, 99, 100))
    return r.on_candle(c5(1, *second_bar))


def test_breakout_above_previous_high_with_volume_and_adx_opens_long():
    (op,) = two((109, 112, 108, 111, 25.0))
    assert (op.side, op.reason) == (1, "breakout_high")
    assert op.extra == {"tp": pytest.approx(111 * 1.01), "sl": pytest.approx(111 * 0.995)}


def test_breakdown_below_previous_low_opens_short():
    (op,) = two((91, 92, 88, 89, 25.0), second=snap(lower=88))
    assert op.side == -1 and op.extra == {"tp": pytest.approx(89 * 0.99), "sl": pytest.approx(89 * 1.005)}


@pytest.mark.parametrize("bar, second", [
    ((109, 112, 108, 111, 20.0), None),               # volume 20 is not above 2 x 10
    ((109, 112, 108, 111, 25.0), snap(upper=112, adx=24.9)),  # 15m ADX under 25
    ((109, 112, 108, 110, 25.0), None),                # close equals the previous high: no breakout
])
def test_missing_confirmation_blocks_the_entry(bar, second):
    assert two(bar, second=second) == []


def test_stop_hit_on_the_next_candle_gaps_to_half_the_overshoot():
    r = scripted([snap(), snap(upper=112), snap(upper=112)])
    r.on_candle(c5(0, 100, 101, 99, 100))
    r.on_candle(c5(1, 109, 112, 108, 111, 25.0))
    (cl,) = r.on_candle(c5(2, 111, 111, 110.0, 110.2, 5.0))
    sl = 111 * 0.995  # 110.445
    assert (cl.kind, cl.reason, cl.price) == (EventKind.CLOSE, "sl", pytest.approx(sl - 0.5 * (sl - 110.0)))


@pytest.mark.parametrize("name", ["ETH-BTC_5m.csv", "XRP-USDT_5m_futures.csv"])
def test_runs_on_real_5m_candles(shared_data, name):
    arrays, _ = read_candle_csv(shared_data / name)
    r = make_runner(create_strategy("momentum", {"leverage": 1}), RunnerConfig("mo", "PAIR"))
    r.run(arrays.candles("PAIR", "5m"))
    trades = r.closed_trades()
    assert len(trades) >= 5 and {t.reason for t in trades} == {"tp", "sl"}
    assert all(math.isfinite(t.net) for t in r.trades)
    assert r.capital == pytest.approx(10_000 + sum(t.net - t.funding for t in r.trades), abs=1e-6)
