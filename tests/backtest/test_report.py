"""The HTML report: self-contained, one equity vertex per curve point, metric values, markers and trades."""
from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pytest

from radar.backtest.report import ReportData, drawdown_pct, format_value, write_report
from radar.backtest.single import BacktestResult, run_backtest
from radar.data.csv_io import read_candle_csv
from radar.errors import DataError
from tests.conftest import SHARED_DATA


@lru_cache(maxsize=1)
def btc_run() -> BacktestResult:
    arr, _ = read_candle_csv(SHARED_DATA / "BTC-USD_1h_bitfinex.csv", "1h")
    return run_backtest("grid_atr", arr.slice(0, 3000), {"leverage": 2}, symbol="BTC/USDT:USDT")


def report_of(run: BacktestResult) -> ReportData:
    return ReportData("grid_atr BTC", "test", run.summary(), run.equity_ts, run.equity, run.initial_capital,
                      run.trades, (run.funding_note,))


def path_vertices(html: str, cls: str) -> list[tuple[float, float]]:
    d = re.search(rf'<path class="{cls}" d="([^"]+)"', html).group(1)
    return [tuple(map(float, p.split(","))) for p in re.findall(r"-?[\d.]+,-?[\d.]+", d)]


def test_report_file_has_an_equity_path_with_one_vertex_per_curve_point(tmp_path):
    run = btc_run()
    out = write_report(tmp_path / "r.html", report_of(run))
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html
    assert len(path_vertices(html, "equity")) == len(run.equity) == 3000
    # No external resource: the file must open offline.
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_equity_vertices_follow_the_curve_highest_equity_is_highest_on_screen(tmp_path):
    run = btc_run()
    html = write_report(tmp_path / "r.html", report_of(run)).read_text()
    ys = [y for _, y in path_vertices(html, "equity")]
    assert int(np.argmin(ys)) == int(np.argmax(run.equity))  # SVG y grows downwards
    assert int(np.argmax(ys)) == int(np.argmin(run.equity))


def test_report_shows_the_metric_values_and_one_marker_per_entry_and_exit(tmp_path):
    run = btc_run()
    assert run.metrics.n_trades >= 5  # a report worth checking
    html = write_report(tmp_path / "r.html", report_of(run)).read_text()
    cells = dict(re.findall(r'data-name="([^"]+)">([^<]*)<', html))
    m = run.metrics
    assert cells["net_return_pct"] == f"{m.net_return_pct:.4f}"
    assert cells["max_drawdown_pct"] == f"{m.max_drawdown_pct:.4f}"
    assert cells["sharpe"] == f"{m.sharpe:.4f}"
    assert cells["final_capital"] == f"{m.final_capital:.4f}"
    assert cells["trades"] == str(m.n_trades)
    assert html.count(' marker"') == 2 * len(run.trades)
    assert html.count("<tr>") == len(run.trades) + 1 + len(cells)  # trade rows + header + metric rows


def test_drawdown_is_the_fall_from_the_running_peak_in_percent():
    assert drawdown_pct(np.array([100.0, 120.0, 90.0, 130.0, 117.0])).tolist() == pytest.approx([0, 0, 25, 0, 10])


def test_format_value_writes_infinity_and_missing_values_readably():
    assert (format_value(float("inf")), format_value(None), format_value(3), format_value(1.23456)) == \
           ("inf", "-", "3", "1.2346")


def test_report_into_a_missing_directory_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        write_report(tmp_path / "nope" / "r.html", report_of(btc_run()))
