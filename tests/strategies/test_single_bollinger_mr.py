"""bollinger_mr: enter outside the band at the close, exit on the SMA cross, 5% stop (SPEC §6)."""
from __future__ import annotations

import math

import pytest

from radar.data.csv_io import read_candle_csv
from radar.events import EventKind
from radar.positions.costs import CostModel
from radar.runners import RunnerConfig, make_runner
from radar.strategies.registry import create_strategy
from tests.runners.scripted import NAN, ScriptedBank, candle

COSTS = CostModel(taker_fee=0.0006, maker_fee=0.0002, slippage=0.0005)
BAND = {"bb_mid": 100.0, "bb_upper": 105.0, "bb_lower": 95.0}


def scripted(n: int, **params):
    r = make_runner(create_strategy("bollinger_mr", params), RunnerConfig("bmr", "BTC/USDT:USDT", costs=COSTS))
    r.bank = ScriptedBank([dict(BAND) for _ in range(n)])
    return r


def feed(r, bars):
    return [e for i, b in enumerate(bars) for e in r.on_candle(candle(i, *b))]


def test_close_below_lower_band_opens_long_with_5_percent_stop_from_the_close():
    r = scripted(2)
    ev = feed(r, [(100, 101, 99, 100), (97, 97, 93, 94)])
    (op,) = [e for e in ev if e.kind is EventKind.OPEN]
    assert (op.side, op.price, op.reason) == (1, pytest.approx(94 * 1.0005), "below_lower_band")
    assert math.isnan(op.extra["tp"]) and op.extra["sl"] == pytest.approx(94 * 0.95)


def test_close_above_upper_band_opens_short_with_stop_above():
    r = scripted(1)
    (op,) = feed(r, [(104, 107, 103, 106)])
    assert (op.side, op.price) == (-1, pytest.approx(106 * 0.9995))
    assert op.extra["sl"] == pytest.approx(106 * 1.05)


def test_close_inside_the_band_or_on_it_opens_nothing():
    r = scripted(3)
    assert feed(r, [(100, 101, 99, 100), (96, 97, 94, 95), (104, 106, 103, 105)]) == []


def test_long_exits_at_the_close_that_reaches_the_sma():
    r = scripted(4)
    ev = feed(r, [(97, 97, 93, 94), (94, 99, 93, 98), (98, 101, 97, 100.5), (100, 101, 99, 100)])
    (cl,) = [e for e in ev if e.kind is EventKind.CLOSE]
    assert (cl.reason, cl.price, cl.timestamp) == ("sma_cross", 100.5, candle(2, 0, 0, 0, 0).timestamp)


def test_short_exits_when_close_falls_to_the_sma():
    r = scripted(3)
    ev = feed(r, [(104, 107, 103, 106), (106, 106, 101, 101), (101, 101, 99, 99.5)])
    (cl,) = [e for e in ev if e.kind is EventKind.CLOSE]
    assert (cl.reason, cl.price) == ("sma_cross", 99.5)
    assert cl.trade.gross == pytest.approx((106 * 0.9995 - 99.5) * cl.trade.quantity)


def test_stop_loss_hits_below_the_entry_close():
    r = scripted(2)
    ev = feed(r, [(97, 97, 93, 94), (92, 92, 88, 90)])
    (cl,) = [e for e in ev if e.kind is EventKind.CLOSE]
    sl = 94 * 0.95  # 89.3
    assert (cl.reason, cl.price) == ("sl", pytest.approx(sl - 0.5 * (sl - 88)))


def test_ranging_to_trending_regime_change_closes_at_the_close():
    r = scripted(0)
    ranging, trending_up = 0.0, 1.0
    r.bank = ScriptedBank([{**BAND, "regime": ranging}, {**BAND, "regime": ranging}, {**BAND, "regime": trending_up}])
    ev = feed(r, [(97, 97, 93, 94), (94, 96, 93, 95), (95, 97, 94, 96)])
    (cl,) = [e for e in ev if e.kind is EventKind.CLOSE]
    assert (cl.reason, cl.price, cl.timestamp) == ("regime_change", 96.0, candle(2, 0, 0, 0, 0).timestamp)


def test_trending_regime_without_a_change_from_ranging_keeps_the_position():
    r = scripted(0)
    r.bank = ScriptedBank([{**BAND, "regime": 1.0}, {**BAND, "regime": 2.0}, {**BAND, "regime": 1.0}])
    ev = feed(r, [(97, 97, 93, 94), (94, 96, 93, 95), (95, 97, 94, 96)])
    assert [e.kind for e in ev] == [EventKind.OPEN]


def test_long_only_configuration_ignores_short_signals():
    r = scripted(1, sides=["long"])
    assert feed(r, [(104, 107, 103, 106)]) == []


def test_nan_band_means_not_ready_and_no_entry():
    r = scripted(0)
    r.bank = ScriptedBank([{"bb_mid": NAN, "bb_upper": NAN, "bb_lower": NAN}])
    assert feed(r, [(97, 97, 80, 81)]) == []


def test_runs_on_two_years_of_btc_hourly_candles(shared_data):
    arrays, _ = read_candle_csv(shared_data / "BTC-USD_1h_bitfinex.csv")
    r = make_runner(create_strategy("bollinger_mr", {"leverage": 1}), RunnerConfig("bmr", "BTC/USD"))
    r.run(arrays.candles("BTC/USD", "1h"))
    trades = r.closed_trades()
    assert len(trades) >= 5
    assert {t.reason for t in trades} <= {"sma_cross", "sl", "regime_change"} and "sma_cross" in {t.reason for t in trades}
    assert all(math.isfinite(t.net) for t in r.trades)
    assert r.capital == pytest.approx(10_000 + sum(t.net - t.funding for t in r.trades), abs=1e-6)
