"""run_sweep end to end on real BTC candles: serial vs multiprocessing equality, persistence, resume
after a crash, cancellation, and validation before any work starts."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from sqlalchemy import create_engine

from radar.config import load_config
from radar.config.models import StrategyGrid
from radar.data.csv_io import read_candle_csv
from radar.errors import RadarError
from radar.optimize.execution import ProcessPoolBatchExecutor, SerialExecutor
from radar.optimize.job_store import SweepStore
from radar.optimize.sweep import SweepRequest, plan_sweep, run_sweep
from radar.data.store import CandleStore
from tests.conftest import SHARED_DATA

SYMBOL = "BTC/USDT:USDT"
GRID = {"ma_period": (7, 14, 20), "atr_multiplier_start": (1.5, 2.5), "num_levels": (2, 3), "sl_percent": (15.0, 20.0),
        "leverage": (2,)}


class SmallGridConfig:
    """The shipped config with a 24-combo grid for grid_atr (a test double for param_grid only)."""

    def __init__(self, grid=GRID):
        self._cfg = load_config()
        self._grid = grid

    def param_grid(self, name):
        real = self._cfg.param_grid(name)
        return StrategyGrid(strategy=name, default=self._grid, wfo=real.wfo)

    def strategy_params(self, name, symbol=None):
        return self._cfg.strategy_params(name, symbol)

    @property
    def assets(self):
        return self._cfg.assets


@pytest.fixture(scope="module")
def btc():
    return read_candle_csv(SHARED_DATA / "BTC-USD_1h_bitfinex.csv", "1h")[0]


def _plan(btc, job_id="job-1", **kw):
    return plan_sweep(SweepRequest("grid_atr", (SYMBOL,), job_id=job_id, batch_size=5, **kw), SmallGridConfig(),
                      lambda symbol, tf: btc)


def _store(tmp_path):
    return SweepStore(CandleStore(f"sqlite:///{tmp_path / 'db.sqlite'}").engine)


def test_serial_sweep_grades_a_winner_over_nine_windows(btc):
    result = run_sweep(_plan(btc), SerialExecutor())
    r = result.results[0]
    assert (result.combos, result.windows, result.evaluations) == (24, 9, 24 * 9 * 2)
    assert len(r.window_detail) == 9 and len(r.stitched_equity) == 9
    assert r.grade.letter in "ABCDF" and 0 <= r.grade.score <= 100
    assert r.best_params == _plan(btc).symbols[0].combos[r.aggregate.best_combo].model_dump()


def test_multiprocessing_pool_gives_identical_results(btc):
    a = run_sweep(_plan(btc), SerialExecutor()).results[0]
    b = run_sweep(_plan(btc), ProcessPoolBatchExecutor(2)).results[0]
    np.testing.assert_array_equal(a.aggregate.oos_sharpe, b.aggregate.oos_sharpe)
    np.testing.assert_array_equal(a.aggregate.is_sharpe, b.aggregate.is_sharpe)
    assert a.best_params == b.best_params and a.grade.score == b.grade.score


class CrashAfter(SerialExecutor):
    """Simulates a driver crash: dies after n batches (what was saved stays saved)."""

    def __init__(self, n):
        self.n = n

    def run(self, jobs, on_batch):
        count = 0

        def counted(*args):
            nonlocal count
            count += 1
            if count > self.n:
                raise KeyboardInterrupt("driver killed")
            on_batch(*args)

        super().run(jobs, counted)


def test_crashed_sweep_resumes_from_stored_windows_with_identical_results(btc, tmp_path):
    store = _store(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(_plan(btc), CrashAfter(23), store)  # 5 batches per window -> 4 windows saved, 1 partial
    assert len(store.saved_windows("job-1")) == 4
    resumed = run_sweep(_plan(btc), SerialExecutor(), store)
    fresh = run_sweep(_plan(btc, job_id="other"), SerialExecutor())
    assert resumed.resumed == 4 and resumed.evaluations == 24 * (18 - 4)
    np.testing.assert_array_equal(resumed.results[0].aggregate.oos_sharpe, fresh.results[0].aggregate.oos_sharpe)
    assert resumed.results[0].grade.to_dict() == fresh.results[0].grade.to_dict()
    job = store.job("job-1")
    assert job["status"] == "done" and job["progress"] == job["total"] == 24 * 18
    stored = store.results("job-1")
    assert stored[0]["grade"] == fresh.results[0].grade.letter and stored[0]["params"]["ma_period"] in (7, 14, 20)


def test_a_different_request_under_an_existing_job_id_is_refused(btc, tmp_path):
    store = _store(tmp_path)
    run_sweep(_plan(btc), SerialExecutor(), store)
    with pytest.raises(RadarError, match="different request"):
        run_sweep(_plan(btc, start_ms=int(btc.timestamp[100])), SerialExecutor(), store)


def test_cancel_stops_handing_out_windows_and_marks_the_job(btc, tmp_path):
    store = _store(tmp_path)
    cancel = threading.Event()
    seen = []

    def progress(done, total):
        seen.append(done)
        if done >= 24 * 2:
            cancel.set()

    result = run_sweep(_plan(btc), SerialExecutor(), store, progress=progress, cancel=cancel)
    assert result.cancelled and result.results == ()
    assert store.job("job-1")["status"] == "cancelled"
    assert max(seen) < 24 * 18


@pytest.mark.parametrize("kw,match", [
    ({"strategy": "nope"}, "unknown strategy"),
    ({"strategy": "funding"}, "live-only"),
    ({"is_days": 900}, "windows longer than the data"),
])
def test_bad_requests_fail_before_any_task(btc, kw, match):
    req = dict(strategy="grid_atr", symbols=(SYMBOL,))
    req.update(kw)
    with pytest.raises(RadarError, match=match):
        plan_sweep(SweepRequest(**req), SmallGridConfig(), lambda s, tf: btc)


def test_grid_typo_and_empty_grid_fail_before_any_task(btc):
    with pytest.raises(RadarError, match="ma_periode"):
        plan_sweep(SweepRequest("grid_atr", (SYMBOL,)), SmallGridConfig({"ma_periode": (7,)}), lambda s, tf: btc)
    with pytest.raises(RadarError, match="empty grid"):
        plan_sweep(SweepRequest("grid_atr", (SYMBOL,)), SmallGridConfig({"sl_percent": (30.0,), "leverage": (6,)}),
                   lambda s, tf: btc)
