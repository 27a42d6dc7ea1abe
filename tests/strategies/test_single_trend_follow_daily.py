"""trend_follow_daily (1d): EMA fast/slow cross with ADX >= threshold; stop at sl_percent, then an ATR
trailing stop that only ratchets; exit on the opposite cross."""
from __future__ import annotations

import math

import pytest

from radar.data.csv_io import read_candle_csv
from radar.data.resample import resample
from radar.events import EventKind
from radar.models import Candle
from radar.positions.costs import CostModel
from radar.runners import RunnerConfig, make_runner
from radar.strategies.registry import create_strategy
from radar.strategies.trend_follow_daily import trail_stop
from tests.runners.scripted import NAN, ScriptedBank

COSTS = CostModel(taker_fee=0.0006, maker_fee=0.0002, slippage=0.0005)
D = 86_400_000
T0 = 1_600_000_000_000 // D * D


def day(i, o, h, l, c):
    return Candle(T0 + i * D, o, h, l, c, 1.0, "BTC/USD", "1d")


def snap(fast, slow, adx=30.0, atr=5.0):
    return {"ema_fast": fast, "ema_slow": slow, "adx": adx, "atr": atr}


def scripted(values, **params):
    r = make_runner(create_strategy("trend_follow_daily", params), RunnerConfig("tf", "BTC/USD", costs=COSTS))
    r.bank = ScriptedBank(values)
    return r


def feed(r, bars):
    return [e for i, b in enumerate(bars) for e in r.on_candle(day(i, *b))]


def test_trail_stop_ratchets_only_in_the_trades_favour():
    assert trail_stop(1, 90.0, 120.0, 5.0, 3.0) == 105.0
    assert trail_stop(1, 110.0, 120.0, 5.0, 3.0) == 110.0  # never loosens
    assert trail_stop(-1, 110.0, 80.0, 5.0, 3.0) == 95.0
    assert trail_stop(-1, 90.0, 80.0, 5.0, 3.0) == 90.0
    assert trail_stop(1, NAN, 120.0, 5.0, 3.0) == 105.0


def test_cross_up_with_strong_adx_opens_long_with_percent_stop():
    r = scripted([snap(99, 100), snap(101, 100)])
    ev = feed(r, [(100, 101, 99, 100), (100, 103, 99, 102)])
    (op,) = ev
    assert (op.side, op.reason) == (1, "ema_cross_up")
    assert math.isnan(op.extra["tp"]) and op.extra["sl"] == pytest.approx(102 * 0.9)


def test_cross_down_opens_short():
    r = scripted([snap(101, 100), snap(99, 100)])
    (op,) = feed(r, [(100, 101, 99, 100), (100, 101, 97, 98)])
    assert op.side == -1 and op.extra["sl"] == pytest.approx(98 * 1.1)


def test_weak_adx_or_no_cross_opens_nothing():
    assert feed(scripted([snap(99, 100), snap(101, 100, adx=19.9)]), [(100, 101, 99, 100)] * 2) == []
    assert feed(scripted([snap(101, 100), snap(102, 100)]), [(100, 101, 99, 100)] * 2) == []


def test_atr_trailing_stop_follows_the_high_and_never_moves_back():
    r = scripted([snap(99, 100), snap(101, 100), snap(102, 100, atr=5.0), snap(103, 100, atr=10.0),
                  snap(103, 100, atr=10.0)])
    feed(r, [(100, 101, 99, 100), (100, 101, 99, 100)])  # long at 100, stop 90
    feed_from = [(100, 110, 100, 108), (108, 109, 104, 106)]
    for i, b in enumerate(feed_from, start=2):
        r.on_candle(day(i, *b))
    # after day 2: extreme 110, stop 110 - 3*5 = 95; after day 3: 110 - 3*10 = 80 < 95, so still 95
    assert r.book.position.sl_price == pytest.approx(95.0)
    (cl,) = r.on_candle(day(4, 104, 105, 94, 96))
    assert (cl.kind, cl.reason, cl.price) == (EventKind.CLOSE, "sl", pytest.approx(95 - 0.5 * 1))
    assert cl.trade.gross < 0  # entry 100.05


def test_short_trailing_stop_follows_the_low():
    r = scripted([snap(101, 100), snap(99, 100), snap(98, 100, atr=2.0)])
    feed(r, [(100, 101, 99, 100), (100, 101, 99, 100), (100, 100, 90, 92)])
    assert r.book.position.sl_price == pytest.approx(90 + 3 * 2.0)


def test_opposite_cross_closes_at_the_close():
    r = scripted([snap(99, 100), snap(101, 100), snap(100.5, 100), snap(99.5, 100)])
    ev = feed(r, [(100, 101, 99, 100), (100, 101, 99, 100), (100, 102, 99, 101), (101, 101, 97, 98)])
    cl = ev[-1]
    assert (cl.kind, cl.reason, cl.price) == (EventKind.CLOSE, "ema_cross", 98.0)


def test_runs_on_btc_daily_candles_resampled_from_hourly(shared_data):
    hourly, _ = read_candle_csv(shared_data / "BTC-USD_1h_bitfinex.csv")
    daily = resample(hourly, "1h", "1d")
    r = make_runner(create_strategy("trend_follow_daily", {"leverage": 1}), RunnerConfig("tf", "BTC/USD"))
    r.run(daily.candles("BTC/USD", "1d"))
    trades = r.closed_trades()
    assert len(trades) >= 3
    # the trailing stop locked in profit at least once: a stop exit on the winning side of the entry
    assert any(t.reason == "sl" and (t.exit_price - t.entry_price) * t.side > 0 for t in trades)
    assert all(math.isfinite(t.net) for t in r.trades)
    assert r.capital == pytest.approx(10_000 + sum(t.net - t.funding for t in r.trades), abs=1e-6)
