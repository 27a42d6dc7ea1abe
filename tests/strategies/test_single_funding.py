"""funding (live/paper only): short when funding is very positive, long when very negative; exit when
funding is back inside the threshold, after max_hold_candles, or at the percent TP/SL."""
from __future__ import annotations

import bisect
import math

import pytest

from radar.data.csv_io import read_candle_csv, read_funding_csv
from radar.events import EventKind
from radar.positions.costs import CostModel
from radar.runners import RunnerConfig, make_runner
from radar.strategies.registry import create_strategy, strategy_class
from tests.runners.scripted import H, candle

COSTS = CostModel(taker_fee=0.0006, maker_fee=0.0002, slippage=0.0005)


def runner(**params):
    return make_runner(create_strategy("funding", params), RunnerConfig("fu", "BTC/USDT:USDT", costs=COSTS))


def feed(r, bars, rates):
    return [e for i, (b, rate) in enumerate(zip(bars, rates)) for e in r.on_candle(candle(i, *b), rate)]


FLAT = (100, 100.5, 99.5, 100)


def test_is_live_only():
    assert strategy_class("funding").live_only is True


def test_very_positive_funding_opens_short_with_percent_stops():
    # threshold 0.1% per period = a rate of 0.001
    (op,) = feed(runner(), [FLAT], [0.001])
    assert (op.side, op.reason) == (-1, "extreme_positive_funding")
    assert op.extra == {"tp": pytest.approx(98.0), "sl": pytest.approx(102.0)}


def test_very_negative_funding_opens_long():
    (op,) = feed(runner(), [FLAT], [-0.0015])
    assert op.side == 1 and op.extra == {"tp": pytest.approx(102.0), "sl": pytest.approx(98.0)}


def test_moderate_or_unknown_funding_opens_nothing():
    assert feed(runner(), [FLAT, FLAT], [0.00099, None]) == []


def test_exit_when_funding_falls_back_inside_the_threshold():
    ev = feed(runner(), [FLAT, FLAT, (100, 100.5, 99.5, 99.6)], [0.002, 0.0012, 0.0004])
    cl = ev[-1]
    assert (cl.kind, cl.reason, cl.price) == (EventKind.CLOSE, "funding_normalised", 99.6)
    assert cl.timestamp == candle(2, 0, 0, 0, 0).timestamp


def test_exit_after_max_hold_candles():
    ev = feed(runner(max_hold_candles=3), [FLAT] * 5, [0.002] * 5)
    kinds = [(e.kind, e.timestamp) for e in ev]
    # entry at candle 0, held for candles 1 and 2, closed at the close of candle 3
    assert kinds[:2] == [(EventKind.OPEN, candle(0, *FLAT).timestamp), (EventKind.CLOSE, candle(3, *FLAT).timestamp)]
    assert ev[1].reason == "max_hold"


def test_short_is_paid_funding_while_it_is_held():
    # candle 1 opens at 16:00 UTC: a funding candle; the short receives rate * notional
    r = runner(leverage=2)
    ev = feed(r, [FLAT, FLAT, FLAT], [0.002, 0.002, 0.0])
    t = ev[-1].trade
    assert t.funding == pytest.approx(-0.002 * 20_000)
    assert r.capital == pytest.approx(10_000 + t.net - t.funding)


def test_runs_on_xrp_hourly_candles_with_real_funding(shared_data):
    arrays, _ = read_candle_csv(shared_data / "XRP-USDT_1h_futures.csv")
    f_ts, f_rates, _ = read_funding_csv(shared_data / "XRP-USDT_8h_funding_rate.csv")
    times = f_ts.tolist()

    def rate_in_force(ts: int) -> float | None:
        # rates are stamped a few ms after the hour: look up at the candle's close
        i = bisect.bisect_right(times, ts + H) - 1
        return float(f_rates[i]) if i >= 0 else None

    # the window's rates are 0.01% with two spikes to 0.013%: 0.012% per period makes those extreme
    r = make_runner(create_strategy("funding", {"extreme_funding_pct": 0.012, "leverage": 1}),
                    RunnerConfig("fu", "XRP/USDT:USDT"))
    r.run(arrays.candles("XRP/USDT:USDT", "1h"), funding=rate_in_force)
    trades = r.closed_trades()
    assert len(trades) >= 1 and all(t.side == -1 for t in r.trades)
    assert "funding_normalised" in {t.reason for t in trades}
    assert all(math.isfinite(t.net) for t in r.trades)
    assert r.capital == pytest.approx(10_000 + sum(t.net - t.funding for t in r.trades), abs=1e-6)
