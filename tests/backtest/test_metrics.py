"""SPEC §5 metrics on hand-built trade lists (expected values worked out independently below)."""
from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from radar.backtest.metrics import METRIC_NAMES, Metrics, compute_metrics, metric_row
from radar.events import TradeResult

DAY = 86_400_000
T0 = 1_600_000_000_000


def trade(net: float, ret: float, entry_day: float = 0.0, exit_day: float = 1.0, fees: float = 1.0,
          funding: float = 0.0, slippage: float = 0.5, end_of_data: bool = False) -> TradeResult:
    return TradeResult("r", "grid_atr", "BTC/USDT:USDT", 1, int(T0 + entry_day * DAY), int(T0 + exit_day * DAY),
                       100.0, 101.0, 1.0, 1, net + fees + slippage, fees, slippage, funding, net, ret,
                       "tp" if net > 0 else "sl", end_of_data)


FOUR = [trade(100, 0.010, 0, 1), trade(-50, -0.005, 2, 3), trade(200, 0.020, 4, 6), trade(-25, -0.0025, 7, 8)]


def test_net_return_profit_factor_win_rate_and_expectancy():
    m = compute_metrics(FOUR, 10_000.0, T0, T0 + 10 * DAY, 10_225.0)
    assert m.net_return_pct == pytest.approx(2.25)  # 225 / 10,000 * 100
    assert m.profit_factor == pytest.approx(4.0)  # 300 / 75
    assert m.win_rate == 0.5
    assert m.expectancy == pytest.approx(56.25)
    assert m.n_trades == 4
    assert m.fees == pytest.approx(4.0) and m.slippage == pytest.approx(2.0)
    assert m.final_capital == 10_225.0


def test_sharpe_is_population_mean_over_std_scaled_by_trades_per_year():
    m = compute_metrics(FOUR, 10_000.0, T0, T0 + 10 * DAY, 10_225.0)
    rets = [0.010, -0.005, 0.020, -0.0025]
    per_year = 4 / 10 * 365
    assert m.sharpe == pytest.approx(statistics.fmean(rets) / statistics.pstdev(rets) * math.sqrt(per_year), rel=1e-12)
    downside = math.sqrt((0.005**2 + 0.0025**2) / 4)
    assert m.sortino == pytest.approx(statistics.fmean(rets) / downside * math.sqrt(per_year), rel=1e-12)


def test_max_drawdown_follows_the_equity_after_each_trade_from_the_initial_capital():
    # equity 10,100 -> 10,050 -> 10,250 -> 10,225: the worst fall is 50 from the 10,100 peak
    m = compute_metrics(FOUR, 10_000.0, T0, T0 + 100 * DAY, 10_225.0)
    assert m.max_drawdown_pct == pytest.approx(50 / 10_100 * 100)
    assert m.calmar == pytest.approx(2.25 * 365 / 100 / (50 / 10_100 * 100))  # annualised return / max DD


def test_drawdown_below_the_initial_capital_counts_from_the_initial_peak():
    m = compute_metrics([trade(-1_000, -0.1), trade(-500, -0.05, 2, 3)], 10_000.0, T0, T0 + 5 * DAY, 8_500.0)
    assert m.max_drawdown_pct == pytest.approx(15.0)


def test_funding_is_reported_and_moves_the_equity_curve_but_not_net_return():
    trades = [trade(100, 0.01, funding=30.0), trade(-20, -0.002, 2, 3, funding=10.0)]
    m = compute_metrics(trades, 10_000.0, T0, T0 + 5 * DAY, 10_040.0)
    assert m.funding == pytest.approx(40.0)
    assert m.net_return_pct == pytest.approx(0.8)  # trade net excludes funding (SPEC §5)
    # equity 10,070 -> 10,040
    assert m.max_drawdown_pct == pytest.approx(30 / 10_070 * 100)


def test_end_of_data_trades_are_excluded():
    trades = FOUR + [trade(-5_000, -0.5, 9, 10, end_of_data=True)]
    assert compute_metrics(trades, 10_000.0, T0, T0 + 10 * DAY, 5_225.0) == \
        compute_metrics(FOUR, 10_000.0, T0, T0 + 10 * DAY, 5_225.0)


def test_ratios_are_zero_under_three_trades():
    m = compute_metrics(FOUR[:2], 10_000.0, T0, T0 + 10 * DAY, 10_050.0)
    assert m.sharpe == 0.0 and m.sortino == 0.0
    assert m.n_trades == 2


def test_sharpe_is_zero_when_every_return_is_equal():
    m = compute_metrics([trade(10, 0.001, k, k + 1) for k in range(5)], 10_000.0, T0, T0 + 10 * DAY, 10_050.0)
    assert m.sharpe == 0.0
    assert m.sortino == 100.0  # no downside at all with a positive mean
    assert m.profit_factor == math.inf
    assert m.max_drawdown_pct == 0.0 and m.calmar == 0.0


def test_sharpe_is_capped_at_100():
    # 3,000 trades on one day with nearly constant positive returns
    trades = [trade(10, 0.01 + 1e-6 * (k % 2), 0, 0.5) for k in range(3_000)]
    m = compute_metrics(trades, 10_000.0, T0, T0 + DAY // 2, 40_000.0)
    assert m.sharpe == 100.0


def test_days_spanned_below_one_count_as_one_day():
    short = compute_metrics(FOUR, 10_000.0, T0, T0 + DAY // 4, 10_225.0)
    one_day = compute_metrics(FOUR, 10_000.0, T0, T0 + DAY, 10_225.0)
    assert short.sharpe == one_day.sharpe
    rets = [0.010, -0.005, 0.020, -0.0025]
    assert one_day.sharpe == pytest.approx(statistics.fmean(rets) / statistics.pstdev(rets) * math.sqrt(4 * 365))


def test_no_winning_trade_gives_profit_factor_zero_and_no_trade_gives_zeros():
    losers = compute_metrics([trade(-10, -0.001), trade(-20, -0.002, 2, 3)], 10_000.0, T0, T0 + 5 * DAY, 9_970.0)
    assert losers.profit_factor == 0.0 and losers.win_rate == 0.0
    empty = compute_metrics([], 10_000.0, T0, T0 + 5 * DAY, 10_000.0)
    assert (empty.n_trades, empty.net_return_pct, empty.expectancy, empty.exposure) == (0, 0.0, 0.0, 0.0)


def test_exposure_is_the_share_of_the_span_spent_in_trades():
    m = compute_metrics(FOUR, 10_000.0, T0, T0 + 10 * DAY, 10_225.0)
    assert m.exposure == pytest.approx((1 + 1 + 2 + 1) / 10)


def test_array_version_and_row_round_trip_agree_with_the_trade_version():
    m = compute_metrics(FOUR, 10_000.0, T0, T0 + 10 * DAY, 10_225.0)
    pad = 3  # the engine passes longer, reused buffers; only the first n count
    arr = lambda f: np.array([getattr(t, f) for t in FOUR] + [9e9] * pad, dtype=np.float64)  # noqa: E731
    row = metric_row(arr("net"), arr("return_frac"), arr("fees"), arr("funding"), arr("slippage"),
                     arr("entry_ts"), arr("exit_ts"), 4, 10_000.0, T0, T0 + 10 * DAY, 10_225.0)
    assert Metrics.from_row(row) == m
    assert len(row) == len(METRIC_NAMES)
    assert np.array_equal(m.as_row(), row)


def test_non_positive_initial_capital_is_rejected():
    with pytest.raises(ValueError, match="initial_capital"):
        compute_metrics(FOUR, 0.0, T0, T0 + DAY, 0.0)
