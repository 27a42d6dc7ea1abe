"""grid_multi_tf: grid_atr levels on the side of the 4h Supertrend, force-closed on a direction flip."""
from __future__ import annotations

import math

import pytest

from radar.data.csv_io import read_candle_csv
from radar.events import EventKind
from radar.positions.costs import CostModel
from radar.runners import RunnerConfig, make_runner
from radar.runners.grid_runner import GridStrategyRunner
from radar.strategies.base import IndicatorSpec
from radar.strategies.registry import create_strategy
from tests.conftest import SHARED_DATA
from tests.runners.scripted import ScriptedBank, candle

COSTS = CostModel(taker_fee=0.0006, maker_fee=0.0002, slippage=0.0005)
NAN = math.nan
FOUR_H = 4 * 3_600_000


def scripted(values: list[dict[str, float]], **params) -> GridStrategyRunner:
    r = GridStrategyRunner(create_strategy("grid_multi_tf", params), RunnerConfig("mtf:T", "BTC/USDT:USDT", costs=COSTS))
    r.bank = ScriptedBank(values)
    return r


def v(st_dir: float, sma: float = 100.0, atr: float = 5.0) -> dict[str, float]:
    return {"sma": sma, "atr": atr, "st": 95.0, "st_dir": st_dir}


def opens(events):
    return [(e.level, e.side, round(e.price, 6)) for e in events if e.kind is EventKind.OPEN]


def test_supertrend_is_requested_on_the_4h_timeframe_with_its_parameters():
    s = create_strategy("grid_multi_tf", {"st_atr_period": 7, "st_atr_multiplier": 2.5})
    assert s.indicator_specs()["st"] == IndicatorSpec("supertrend", (7, 2.5), htf="4h")


def test_up_trend_rests_long_levels_below_the_sma():
    r = scripted([v(1), v(1)])
    r.on_candle(candle(0, 100, 101, 99, 100))
    ev = r.on_candle(candle(1, 100, 112, 84, 95))  # would touch short 110 too; only long is active
    assert opens(ev) == [(0, 1, round(90 * 1.0005, 6)), (1, 1, round(85 * 1.0005, 6))]


def test_down_trend_rests_short_levels_above_the_sma():
    r = scripted([v(-1), v(-1)])
    r.on_candle(candle(0, 100, 101, 99, 100))
    ev = r.on_candle(candle(1, 100, 116, 88, 105))
    assert opens(ev) == [(0, -1, round(110 * 0.9995, 6)), (1, -1, round(115 * 0.9995, 6))]


def test_candle_is_skipped_until_the_4h_supertrend_has_a_direction():
    r = scripted([v(NAN), v(1), v(1)])
    r.on_candle(candle(0, 100, 101, 99, 100))
    assert r.on_candle(candle(1, 100, 100, 80, 90)) == []
    assert opens(r.on_candle(candle(2, 100, 100, 89, 95))) == [(0, 1, round(90 * 1.0005, 6))]


def test_direction_flip_closes_the_grid_at_the_close_with_reason_flip():
    r = scripted([v(1), v(1), v(-1), v(-1)])
    r.on_candle(candle(0, 100, 101, 99, 100))
    r.on_candle(candle(1, 95, 95, 89, 92))  # long level 0 at 90.045
    ev = r.on_candle(candle(2, 92, 96, 91, 93))  # 4h trend turns down at this close, SMA 100 not reached
    kinds = [e.kind for e in ev]
    assert kinds == [EventKind.CLOSE]
    assert (ev[0].trade.reason, ev[0].trade.exit_price) == ("flip", 93.0)


def test_tp_at_sma_still_applies_before_a_flip():
    r = scripted([v(1), v(1), v(-1)])
    r.on_candle(candle(0, 100, 101, 99, 100))
    r.on_candle(candle(1, 95, 95, 89, 92))
    ev = r.on_candle(candle(2, 92, 101, 91, 99))  # high reaches SMA 100 -> TP wins over the flip at close
    assert (ev[0].trade.reason, ev[0].trade.exit_price) == ("tp", 100.0)


def test_grid_multi_tf_runs_the_btc_file_and_flips_only_when_a_4h_bucket_closes():
    arr, _ = read_candle_csv(SHARED_DATA / "BTC-USD_1h_bitfinex.csv", "1h")
    candles = arr.candles("BTC/USDT:USDT", "1h")
    # no kill switch so the whole file is traded (the default 25% loss stop ends this run early)
    runner = make_runner(create_strategy("grid_multi_tf", {"sl_percent": 5.0}),
                         RunnerConfig("mtf:BTC", "BTC/USDT:USDT", kill_switch_loss_pct=99.0, hard_drawdown_pct=None))
    events = runner.run(candles)
    by_ts = {c.timestamp: c for c in candles}
    trades = runner.closed_trades()
    flips = [t for t in trades if t.reason == "flip"]
    assert len(trades) > 20 and flips
    assert {t.side for t in trades} == {1, -1}
    # The 4h direction changes only when a 4h bucket closes (at the close of its last hour), so a flip
    # exit happens there - or one candle later when the grid was first filled on that very candle
    # (entries come after the close-all check of their candle).
    def at_bucket_close(ts: int) -> bool:
        return (ts + 3_600_000) % FOUR_H == 0

    assert all(at_bucket_close(t.exit_ts) or (t.entry_ts == t.exit_ts - 3_600_000 and at_bucket_close(t.entry_ts))
               for t in flips)
    assert sum(at_bucket_close(t.exit_ts) for t in flips) > len(flips) / 2
    assert all(t.exit_price == by_ts[t.exit_ts].close for t in flips)
    for e in (e for e in events if e.kind is EventKind.OPEN):
        c = by_ts[e.timestamp]
        assert c.low <= e.price / 1.0005 + 1e-9 if e.side > 0 else c.high >= e.price / 0.9995 - 1e-9
    for t in runner.trades:
        assert math.isfinite(t.net) and t.reason in ("tp", "sl", "flip", "end_of_data")
    assert runner.capital == pytest.approx(10_000 + sum(t.net for t in runner.trades) - sum(t.funding for t in runner.trades), abs=1e-6)
