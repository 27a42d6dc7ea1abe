"""envelope_dca / envelope_dca_short: envelope levels, TP at the SMA of the exit candle, SL on the average."""
from __future__ import annotations

import math

import pytest

from radar.data.csv_io import read_candle_csv
from radar.events import EventKind
from radar.positions.costs import CostModel
from radar.runners import RunnerConfig, make_runner
from radar.runners.grid_runner import GridStrategyRunner
from radar.strategies.envelope_dca import envelope_levels
from radar.strategies.registry import create_strategy
from tests.conftest import SHARED_DATA
from tests.runners.scripted import ScriptedBank, candle

COSTS = CostModel(taker_fee=0.0006, maker_fee=0.0002, slippage=0.0005)


def scripted(name: str, values: list[dict[str, float]], **params) -> GridStrategyRunner:
    r = GridStrategyRunner(create_strategy(name, params), RunnerConfig(f"{name}:T", "BTC/USDT:USDT", costs=COSTS))
    r.bank = ScriptedBank(values)
    return r


def leg_net(entry: float, exit_: float, qty: float, side: int) -> float:
    """SPEC §5: gross - entry taker fee - exit taker fee - exit slippage."""
    return (exit_ - entry) * qty * side - qty * entry * 0.0006 - qty * exit_ * 0.0006 - qty * exit_ * 0.0005


def test_long_levels_are_sma_times_one_minus_each_envelope():
    levels = envelope_levels(100.0, 0.05, 0.05, 4, 1)
    assert [l.price for l in levels] == pytest.approx([95.0, 90.0, 85.0, 80.0])
    assert [l.index for l in levels] == [0, 1, 2, 3]


def test_short_levels_use_the_rounded_inverse_offset():
    # round(1/(1-e) - 1, 3) for e = 5%, 10%, 15%, 20% -> 0.053, 0.111, 0.176, 0.25
    levels = envelope_levels(100.0, 0.05, 0.05, 4, -1)
    assert [l.price for l in levels] == pytest.approx([105.3, 111.1, 117.6, 125.0])
    assert all(l.side == -1 for l in levels)


def test_long_fills_touched_envelopes_then_takes_profit_at_the_exit_candles_sma():
    r = scripted("envelope_dca", [{"sma": 100.0}, {"sma": 100.0}, {"sma": 98.0}])
    r.on_candle(candle(0, 100, 101, 99, 100))  # no previous SMA: skipped
    ev = r.on_candle(candle(1, 100, 100, 89, 92))  # touches 95 and 90, not 85
    opens = [e for e in ev if e.kind is EventKind.OPEN]
    assert [e.level for e in opens] == [0, 1]
    assert [e.price for e in opens] == pytest.approx([95 * 1.0005, 90 * 1.0005])
    ev = r.on_candle(candle(2, 92, 99, 91, 97))  # TP = SMA of this candle = 98 <= high 99
    (close,) = [e for e in ev if e.kind is EventKind.CLOSE]
    trade = close.trade
    assert (trade.reason, trade.exit_price, trade.positions) == ("tp", 98.0, 2)
    margin = 10_000 / 4
    q0, q1 = margin * 6 / (95 * 1.0005), margin * 6 / (90 * 1.0005)
    assert trade.net == pytest.approx(leg_net(95 * 1.0005, 98, q0, 1) + leg_net(90 * 1.0005, 98, q1, 1))
    assert r.capital == pytest.approx(10_000 + trade.net)


def test_long_stop_is_sl_percent_below_the_average_and_gap_fills():
    r = scripted("envelope_dca", [{"sma": 100.0}] * 3, sl_percent=25.0)
    r.on_candle(candle(0, 100, 101, 99, 100))
    r.on_candle(candle(1, 100, 100, 94, 96))  # only level 0 (95)
    ev = r.on_candle(candle(2, 90, 90, 70, 72))  # SL = 95.0475*0.75 = 71.285625; low 70
    (close,) = [e for e in ev if e.kind is EventKind.CLOSE]
    sl = 95 * 1.0005 * 0.75
    assert close.trade.reason == "sl"
    assert close.trade.exit_price == pytest.approx(sl - 0.5 * (sl - 70))


def test_short_variant_sells_above_the_sma_and_covers_at_it():
    r = scripted("envelope_dca_short", [{"sma": 100.0}, {"sma": 100.0}, {"sma": 101.0}])
    r.on_candle(candle(0, 100, 101, 99, 100))
    ev = r.on_candle(candle(1, 100, 106, 99, 104))  # touches 105.3 only
    opens = [e for e in ev if e.kind is EventKind.OPEN]
    assert [(e.level, e.side) for e in opens] == [(0, -1)]
    assert opens[0].price == pytest.approx(105.3 * 0.9995)
    ev = r.on_candle(candle(2, 104, 104, 100.5, 101))  # TP = 101 >= low 100.5
    (close,) = [e for e in ev if e.kind is EventKind.CLOSE]
    assert (close.trade.reason, close.trade.exit_price, close.trade.side) == ("tp", 101.0, -1)


@pytest.mark.parametrize("name", ["envelope_dca", "envelope_dca_short"])
def test_envelope_dca_runs_the_btc_file_with_consistent_accounting(name):
    arr, _ = read_candle_csv(SHARED_DATA / "BTC-USD_1h_bitfinex.csv", "1h")
    candles = arr.candles("BTC/USDT:USDT", "1h")
    runner = make_runner(create_strategy(name, {}), RunnerConfig(f"{name}:BTC", "BTC/USDT:USDT"))
    events = runner.run(candles)
    side = 1 if name == "envelope_dca" else -1
    by_ts = {c.timestamp: c for c in candles}
    assert len(runner.closed_trades()) > 20
    for e in (e for e in events if e.kind is EventKind.OPEN):
        c, level = by_ts[e.timestamp], e.price / (1 + side * 0.0005)
        assert e.side == side
        assert (c.low <= level + 1e-9) if side > 0 else (c.high >= level - 1e-9)  # touched
    for t in runner.trades:
        c = by_ts[t.exit_ts]
        assert math.isfinite(t.net) and t.entry_ts <= t.exit_ts
        assert t.reason in ("tp", "sl", "end_of_data")
        if t.reason == "tp":  # SPEC §5: TP hit when the candle reaches the SMA (fills at the SMA itself)
            assert (t.exit_price <= c.high + 1e-9) if side > 0 else (t.exit_price >= c.low - 1e-9)
        if t.reason == "sl":  # the gap fill lies between the stop and the candle's extreme
            assert (t.exit_price >= c.low - 1e-9) if side > 0 else (t.exit_price <= c.high + 1e-9)
        if t.reason == "end_of_data":
            assert t.exit_price == candles[-1].close
    assert runner.capital == pytest.approx(10_000 + sum(t.net for t in runner.trades) - sum(t.funding for t in runner.trades), abs=1e-6)
