"""The WFO maths end to end on real BTC 1h candles with the fast grid_atr engine: windows -> grid -> engine
per window -> aggregate -> robustness -> grade. Checks the pieces fit together and stay deterministic."""
from __future__ import annotations

import numpy as np
import pytest

from radar.backtest.fast import BATCH_COLUMNS, IndicatorCache, params_array, run_grid_atr_batch, run_grid_atr_trades
from radar.config.models import StrategyGrid
from radar.data.csv_io import read_candle_csv
from radar.models import CandleArrays
from radar.optimize.aggregate import aggregate
from radar.optimize.grade import grade
from radar.optimize.grid import expand_grid
from radar.optimize.robustness import block_bootstrap, deflated_sharpe, parameter_stability, tail_ratio
from radar.optimize.windows import windows
from tests.conftest import SHARED_DATA

H = 3_600_000


@pytest.fixture(scope="module")
def btc() -> CandleArrays:
    arr, _ = read_candle_csv(SHARED_DATA / "BTC-USD_1h_bitfinex.csv", "1h")
    return arr


def _between(candles: CandleArrays, start: int, end: int) -> CandleArrays:
    lo, hi = np.searchsorted(candles.timestamp, [start, end], side="left")
    return candles.slice(int(lo), int(hi))


def test_walk_forward_on_btc_1h_produces_a_graded_winner(btc: CandleArrays) -> None:
    # Arrange: 2017-07..2019-07 is ~732 days -> OOS ends at 247 + 60k <= 732 days -> 9 windows.
    wins = windows(int(btc.timestamp[0]), int(btc.timestamp[-1]), 180, 60, 60, 7, candle_ms=H)
    grid = expand_grid(StrategyGrid(strategy="grid_atr", default={
        "ma_period": (7, 14), "atr_multiplier_start": (1.5, 2.0), "num_levels": (2, 3), "sl_percent": (15.0, 20.0)}))
    params = params_array(grid.params)

    # Act
    is_rows, oos_rows = [], []
    for w in wins:
        for rows, start, end in ((is_rows, w.is_start, w.is_end), (oos_rows, w.oos_start, w.oos_end)):
            part = _between(btc, start, end)
            rows.append(run_grid_atr_batch(IndicatorCache.for_params(part, params), params))
    result = aggregate(np.stack(is_rows), np.stack(oos_rows), BATCH_COLUMNS)
    best = result.best
    oos_returns = []
    for w in wins:
        part = _between(btc, w.oos_start, w.oos_end)
        run = run_grid_atr_trades(IndicatorCache.for_params(part, params[best.combo:best.combo + 1]),
                                  grid.params[best.combo])
        oos_returns += [t.return_frac for t in run.closed_trades()]
    mc = block_bootstrap(oos_returns, seed=1)
    stability = parameter_stability(grid.combos, result.oos_sharpe_mean, best.combo)
    report = grade(best.oos_sharpe, best.oos_win_rate, tail_ratio(oos_returns), deflated_sharpe(oos_returns, len(grid)),
                   stability.stability, best.consistency, mc.p_value, result.n_windows, best.oos_trades)

    # Assert
    assert len(wins) == 9
    assert len(grid) == 16
    assert result.oos_sharpe.shape == (9, 16)
    assert best.oos_trades == len(oos_returns) > 0  # batch metrics and trade runs count the same trades
    assert best.combo_score == pytest.approx(result.combo_score.max())
    assert 0 < mc.p_value <= 1 and 0 <= stability.stability <= 1
    assert report.window_penalty == pytest.approx((24 - 9) * 0.8)
    assert report.letter in "ABCDF"
    assert report.score == pytest.approx(max(0.0, min(100.0, report.raw_score)))
