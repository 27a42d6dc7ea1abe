"""liquidation (live/paper only): fade a price move of at least zone_pct made while open interest is
more than oi_jump_pct above its rolling mean; percent TP/SL."""
from __future__ import annotations

import math

import pytest

from radar.data.csv_io import read_candle_csv
from radar.events import EventKind
from radar.models import Candle
from radar.positions.costs import CostModel
from radar.runners import RunnerConfig, make_runner
from radar.strategies.liquidation import open_interest_extras
from radar.strategies.registry import create_strategy, strategy_class

COSTS = CostModel(taker_fee=0.0006, maker_fee=0.0002, slippage=0.0005)
M5 = 300_000
T0 = 1_600_000_000_000 // 3_600_000 * 3_600_000 + 3 * 3_600_000
NAN = math.nan


def c5(i, o, h, l, c):
    return Candle(T0 + i * M5, o, h, l, c, 1.0, "XRP/USDT:USDT", "5m")


def runner(**params):
    return make_runner(create_strategy("liquidation", params), RunnerConfig("lq", "XRP/USDT:USDT", costs=COSTS))


def two(close, oi=110.0, mean=100.0, **params):
    r = runner(**params)
    r.on_candle(c5(0, 100, 100.5, 99.5, 100))
    return r.on_candle(c5(1, 100, max(100, close) + 0.1, min(100, close) - 0.1, close),
                       extra={"open_interest": oi, "open_interest_mean": mean})


def test_is_live_only():
    assert strategy_class("liquidation").live_only is True


def test_open_interest_extras_use_the_mean_of_the_previous_samples():
    ex = open_interest_extras([1.0, 2.0, 3.0, 4.0, 10.0], 2)
    assert [e["open_interest"] for e in ex] == [1.0, 2.0, 3.0, 4.0, 10.0]
    means = [e["open_interest_mean"] for e in ex]
    assert math.isnan(means[0]) and math.isnan(means[1])
    assert means[2:] == [1.5, 2.5, 3.5]


def test_oi_jump_with_an_up_move_fades_it_short():
    (op,) = two(101.5)  # OI 10% above its mean, close +1.5%
    assert (op.side, op.reason) == (-1, "oi_jump_fade_up_move")
    assert op.extra == {"tp": pytest.approx(101.5 * 0.985), "sl": pytest.approx(101.5 * 1.01)}


def test_oi_jump_with_a_down_move_fades_it_long():
    (op,) = two(98.8)
    assert op.side == 1 and op.extra == {"tp": pytest.approx(98.8 * 1.015), "sl": pytest.approx(98.8 * 0.99)}


@pytest.mark.parametrize("close, oi, mean", [
    (101.5, 104.0, 100.0),  # OI only 4% above its mean
    (100.5, 110.0, 100.0),  # price moved 0.5%, the zone is 1%
    (101.5, 110.0, NAN),    # no mean yet
])
def test_no_entry_without_both_an_oi_jump_and_a_price_move(close, oi, mean):
    assert two(close, oi, mean) == []


def test_no_entry_without_open_interest_data():
    r = runner()
    r.on_candle(c5(0, 100, 100.5, 99.5, 100))
    assert r.on_candle(c5(1, 100, 102, 100, 101.5)) == []


def test_take_profit_after_the_fade():
    r = runner()
    r.on_candle(c5(0, 100, 100.5, 99.5, 100))
    r.on_candle(c5(1, 100, 101.6, 99.9, 101.5), extra={"open_interest": 110.0, "open_interest_mean": 100.0})
    (cl,) = r.on_candle(c5(2, 101.5, 101.6, 99.8, 100.0))
    assert (cl.kind, cl.reason, cl.price) == (EventKind.CLOSE, "tp", pytest.approx(101.5 * 0.985))


def test_runs_on_xrp_5m_candles_with_a_synthetic_open_interest_series(shared_data):
    arrays, _ = read_candle_csv(shared_data / "XRP-USDT_5m_futures.csv")
    candles = arrays.candles("XRP/USDT:USDT", "5m")
    # OI drifts at 1,000,000 and jumps 8% on candles whose close moved 0.6% or more: leverage piling in
    oi = [1_000_000.0]
    for prev, cur in zip(candles, candles[1:]):
        oi.append(1_080_000.0 if abs(cur.close / prev.close - 1) >= 0.006 else 1_000_000.0)
    big_moves = sum(1 for v in oi if v > 1_000_000)
    extras = open_interest_extras(oi, 12)
    r = make_runner(create_strategy("liquidation", {"zone_pct": 0.6, "leverage": 1}), RunnerConfig("lq", "XRP/USDT:USDT"))
    for c, ex in zip(candles, extras):
        r.on_candle(c, extra=ex)
    r.close_at_end(candles[-1])
    trades = r.closed_trades()
    assert big_moves > 5 and len(trades) >= 3
    assert {t.reason for t in trades} <= {"tp", "sl"}
    assert all(math.isfinite(t.net) for t in r.trades)
    assert r.capital == pytest.approx(10_000 + sum(t.net - t.funding for t in r.trades), abs=1e-6)
