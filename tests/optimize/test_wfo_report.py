"""WFO report: heatmap cells are the mean OOS Sharpe over the other parameters; the HTML renders it."""
from __future__ import annotations

import numpy as np
import pytest

from radar.data.csv_io import read_candle_csv
from radar.errors import DataError
from radar.optimize import report
from radar.optimize.execution import SerialExecutor
from radar.optimize.sweep import SweepRequest, plan_sweep, run_sweep
from tests.conftest import SHARED_DATA
from tests.optimize.test_sweep import SmallGridConfig


@pytest.fixture(scope="module")
def swept():
    btc = read_candle_csv(SHARED_DATA / "BTC-USD_1h_bitfinex.csv", "1h")[0]
    plan = plan_sweep(SweepRequest("grid_atr", ("BTC/USDT:USDT",), job_id="rep"), SmallGridConfig(), lambda s, tf: btc)
    return plan, run_sweep(plan, SerialExecutor())


def test_heatmap_cell_is_the_mean_oos_sharpe_over_the_other_params(swept):
    plan, result = swept
    sp, r = plan.symbols[0], result.results[0]
    xs, ys, grid = report.heatmap(r, sp, "ma_period", "sl_percent")
    assert xs == [7, 14, 20] and ys == [15.0, 20.0]
    sharpe = r.aggregate.oos_sharpe_mean
    expected = np.mean([sharpe[i] for i, c in enumerate(sp.grid.combos) if c["ma_period"] == 14 and c["sl_percent"] == 20.0])
    assert grid[1, 1] == pytest.approx(expected)
    with pytest.raises(DataError, match="not a parameter"):
        report.heatmap(r, sp, "ma_period", "atr_period")


def test_html_report_has_a_cell_per_value_pair_and_the_grade(swept, tmp_path):
    plan, result = swept
    path = report.write_html(tmp_path / "r.html", result, plan, ("ma_period", "num_levels"))
    page = path.read_text()
    assert page.count('class="cell"') == 3 * 2
    assert f"grade {result.results[0].grade.letter}" in page
