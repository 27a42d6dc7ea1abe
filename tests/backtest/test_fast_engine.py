"""Fast grid_atr engine API: a hand-worked cycle, batch modes, funding input, validation errors."""
from __future__ import annotations

import numpy as np
import pytest

from radar.backtest.fast import (
    BATCH_COLUMNS, PARAM_COLUMNS, IndicatorCache, funding_candles, funding_per_candle, params_array, params_row,
    run_grid_atr_batch, run_grid_atr_trades,
)
from radar.data.csv_io import read_candle_csv
from radar.errors import DataError, StrategyError
from radar.models import CandleArrays
from tests.conftest import SHARED_DATA

H = 3_600_000
T0 = 1_600_000_000_000 - 1_600_000_000_000 % (24 * H) + H  # 01:00 UTC: not a funding hour


def arrays(rows: list[tuple[float, float, float, float]], t0: int = T0) -> CandleArrays:
    o, h, l, c = (np.array(col, dtype=np.float64) for col in zip(*rows))
    ts = t0 + H * np.arange(len(rows), dtype=np.int64)
    return CandleArrays(ts, o, h, l, c, np.ones(len(rows)))


# SMA(1) = close and ATR(1) = true range, so levels are easy to follow by hand.
HAND = {"ma_period": 1, "atr_period": 1, "atr_multiplier_start": 1.0, "atr_multiplier_step": 1.0, "num_levels": 2,
        "sl_percent": 20.0, "cooldown_candles": 0, "leverage": 2}
CANDLES = [
    (100, 101, 99, 100),    # 0: ATR not ready yet
    (100, 101, 99, 100),    # 1: prev ATR NaN -> skipped; SMA 100, ATR 2
    (100, 100, 97, 99),     # 2: levels 98 / 96 -> fills level 0 only; SMA 99, TR 3
    (99, 101, 98.5, 100.5),  # 3: TP = SMA(3) = 100.5 <= high -> exit at 100.5
    (100, 100.5, 97.9, 98.2),  # 4: levels from candle 3: 100.5 - 2.5 = 98 -> fill; still open at the end
]


def test_one_hand_worked_long_cycle_and_an_end_of_data_close():
    cache = IndicatorCache.build(arrays(CANDLES), [1], [1])
    run = run_grid_atr_trades(cache, HAND)
    assert len(run.trades) == 2
    tp, eod = run.trades
    fill = 98 * 1.0005
    qty = 5_000 * 2 / fill  # margin = 10,000 / 2 levels, notional = margin * leverage 2
    gross = (100.5 - fill) * qty
    net = gross - 10_000 * 0.0006 - qty * 100.5 * 0.0006 - qty * 100.5 * 0.0005
    assert (tp.entry_ts, tp.exit_ts, tp.reason, tp.positions) == (T0 + 2 * H, T0 + 3 * H, "tp", 1)
    assert tp.entry_price == pytest.approx(fill, rel=1e-15)
    assert tp.quantity == pytest.approx(qty, rel=1e-15)
    assert tp.net == pytest.approx(net, rel=1e-12)
    assert tp.return_frac == pytest.approx(net / 10_000, rel=1e-12)  # margin is back before PnL
    capital_after_tp = 10_000 + net
    # second cycle sized on the capital then: margin = capital / 2, closed at the last close 98.2
    qty2 = capital_after_tp / 2 * 2 / fill
    net2 = (98.2 - fill) * qty2 - capital_after_tp * 0.0006 - qty2 * 98.2 * 0.0006 - qty2 * 98.2 * 0.0005
    assert eod.end_of_data and eod.reason == "end_of_data" and eod.exit_ts == T0 + 4 * H
    assert eod.net == pytest.approx(net2, rel=1e-12)
    assert run.capital == pytest.approx(capital_after_tp + net2, rel=1e-12)
    # metrics count the TP cycle only
    assert run.metrics.n_trades == 1
    assert run.metrics.net_return_pct == pytest.approx(net / 10_000 * 100, rel=1e-12)
    assert run.metrics.final_capital == run.capital
    # equity: flat capital before the first fill, marked to the close while open, final capital at the end
    assert run.equity[0] == run.equity[1] == 10_000
    assert run.equity[2] == pytest.approx(5_000 + 5_000 + (99 - fill) * qty, rel=1e-12)
    assert run.equity[3] == pytest.approx(capital_after_tp, rel=1e-12)
    assert run.equity[-1] == run.capital


def test_short_grid_mirrors_levels_and_takes_the_stop_with_a_gap_fill():
    rows = [(100, 101, 99, 100), (100, 101, 99, 100),
            (100, 103, 99.5, 101),  # levels 102 / 104 -> fills level 0 short at 102*(1-0.0005)
            (101, 140, 100.8, 130)]  # SL = avg*1.2 = 122.3...; high 140 -> fill half-way to 140
    cache = IndicatorCache.build(arrays(rows), [1], [1])
    run = run_grid_atr_trades(cache, {**HAND, "sides": ["short"]}, hard_drawdown_pct=None, kill_switch_loss_pct=100.0)
    sl_trade = run.trades[0]
    fill = 102 * (1 - 0.0005)
    sl = fill * (1 - (-1) * 20.0 / 100)
    exit_price = sl + 0.5 * (140 - sl)
    assert (sl_trade.side, sl_trade.reason) == (-1, "sl")
    assert sl_trade.exit_price == pytest.approx(exit_price, rel=1e-15)
    qty = 10_000 / fill
    expected = (exit_price - fill) * qty * -1 - 10_000 * 0.0006 - qty * exit_price * 0.0011
    assert sl_trade.net == pytest.approx(expected, rel=1e-12)


def test_kill_switch_stops_the_backtest_after_the_losing_exit():
    rows = [(100, 101, 99, 100), (100, 101, 99, 100), (100, 100, 97, 99),
            (99, 99, 70, 75),  # long SL at 98.049*0.8 -> a 6x loss far beyond 25%
            (75, 80, 60, 78), (78, 80, 60, 78)]
    cache = IndicatorCache.build(arrays(rows), [1], [1])
    run = run_grid_atr_trades(cache, {**HAND, "leverage": 6})
    assert run.stop_reason == "kill_switch"
    assert [t.reason for t in run.trades] == ["sl"]  # nothing traded after the stop
    assert run.capital < 7_500
    assert np.all(run.equity[3:] == run.capital)
    row = run_grid_atr_batch(cache, params_row({**HAND, "leverage": 6}))[0]
    assert row[BATCH_COLUMNS.index("stop_code")] == 1


@pytest.fixture(scope="module")
def btc() -> CandleArrays:
    arr, _ = read_candle_csv(SHARED_DATA / "BTC-USD_1h_bitfinex.csv", "1h")
    return arr


def test_batch_rows_equal_single_combo_runs_and_parallel_equals_serial(btc):
    combos = [{"ma_period": m, "atr_period": a, "num_levels": n, "sides": [s], "leverage": lev, "min_atr_pct": mat}
              for m, a, n, s, lev, mat in [(7, 10, 2, "long", 1, 0.0), (14, 14, 3, "short", 2, 0.3),
                                           (20, 10, 3, "long", 2, 0.5), (10, 14, 2, "short", 6, 0.0),
                                           (20, 14, 3, "long", 1, 0.8)]]
    params = params_array(combos)
    cache = IndicatorCache.for_params(btc, params)
    serial = run_grid_atr_batch(cache, params)
    parallel = run_grid_atr_batch(cache, params, parallel=True)
    assert np.array_equal(serial, parallel)
    for k, combo in enumerate(combos):
        run = run_grid_atr_trades(cache, combo)
        assert np.array_equal(serial[k, :-1], run.metrics.as_row()), combo
    assert serial[:, BATCH_COLUMNS.index("n_trades")].sum() > 100


def test_funding_rates_change_capital_by_the_funding_paid(btc):
    cache = IndicatorCache.build(btc, [14], [14])
    params = {"leverage": 1}
    free = run_grid_atr_trades(cache, params, kill_switch_loss_pct=100.0, hard_drawdown_pct=None)
    paid = run_grid_atr_trades(cache, params, kill_switch_loss_pct=100.0, hard_drawdown_pct=None,
                               default_funding_rate=0.0001)
    # cycles before the first funding settlement are identical; from then on capital differs by the funding paid
    k = next(i for i, t in enumerate(paid.trades) if t.funding != 0)
    assert paid.trades[:k] == free.trades[:k]
    assert paid.trades[k].funding > 0  # longs pay a positive rate
    assert free.capital == pytest.approx(10_000 + sum(t.net for t in free.trades), rel=1e-12)
    assert paid.capital == pytest.approx(10_000 + sum(t.net - t.funding for t in paid.trades), rel=1e-12)
    assert paid.metrics.funding == pytest.approx(sum(t.funding for t in paid.closed_trades()), rel=1e-12)


def test_funding_candles_are_00_08_16_utc():
    day = 1_600_041_600_000  # 2020-09-14 00:00 UTC
    ts = day + H * np.arange(24)
    assert list(np.flatnonzero(funding_candles(ts))) == [0, 8, 16]
    assert not funding_candles(np.array([day + 60_000]))[0]  # 00:01 is not a settlement candle


def test_funding_per_candle_forward_fills_stored_rates_and_defaults_before_the_first():
    candles = np.array([0, 10, 20, 30, 40], dtype=np.int64)
    rates = funding_per_candle(candles, np.array([25, 10]), np.array([0.0003, -0.0001]), default=0.00005)
    assert rates.tolist() == [0.00005, -0.0001, -0.0001, 0.0003, 0.0003]


def test_params_row_uses_strategy_defaults_and_side_codes():
    row = params_row({"sides": ["short", "long"]})
    assert dict(zip(PARAM_COLUMNS, row.tolist())) == {
        "ma_period": 14, "atr_period": 14, "atr_multiplier_start": 2.0, "atr_multiplier_step": 1.0,
        "num_levels": 3, "sl_percent": 20.0, "min_grid_spacing_pct": 0.0, "min_profit_pct": 0.0,
        "min_atr_pct": 0.0, "cooldown_candles": 3, "side": -2, "leverage": 6}


def test_bad_params_rows_are_rejected_naming_the_row_and_column():
    cache = IndicatorCache.build(arrays(CANDLES), [1], [1])
    params = params_array([HAND, HAND])
    params[1, PARAM_COLUMNS.index("num_levels")] = 0
    with pytest.raises(StrategyError, match="row 1: num_levels must be an integer in 1..100"):
        run_grid_atr_batch(cache, params)
    with pytest.raises(StrategyError, match=r"expected shape \(n_combos, 12\)"):
        run_grid_atr_batch(cache, np.zeros((2, 5)))
    with pytest.raises(StrategyError, match="num_levels"):
        params_row({"num_levels": 0})


def test_cache_reports_missing_periods_and_bad_candles():
    cache = IndicatorCache.build(arrays(CANDLES), [1, 3], [1])
    assert cache.ma_periods == (1, 3)
    with pytest.raises(KeyError, match=r"no SMA \(ma_period\) 14"):
        run_grid_atr_batch(cache, params_row({**HAND, "ma_period": 14}))
    bad = arrays(CANDLES)
    bad.timestamp[3] = bad.timestamp[2]
    with pytest.raises(DataError, match="row 3"):
        IndicatorCache.build(bad, [1], [1])
    with pytest.raises(ValueError, match="one rate per candle"):
        run_grid_atr_batch(cache, params_row(HAND), funding_rates=np.zeros(3))
