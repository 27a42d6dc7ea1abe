"""Ray test fixtures: ONE local Ray runtime for the whole session (starting Ray costs seconds), and a few
real WFO windows (BTC 1h, grid_atr) to fan out. Only tests under tests/ray use them."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from radar.backtest.fast.dispatch import EngineSettings
from radar.config import load_config
from radar.data.csv_io import read_candle_csv
from radar.optimize.execution import SerialExecutor, WindowJob, WindowKey, batch_bounds
from radar.optimize.grid import expand_grid

BTC_1H = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "BTC-USD_1h_bitfinex.csv"
WINDOW_CANDLES = 1500
BATCH = 8


def build_jobs(n_windows: int = 2, combo_step: int = 97) -> list[WindowJob]:
    """IS + OOS jobs on consecutive BTC 1h slices; every job shares one combo tuple and one settings object
    (as in a real sweep), the OOS jobs carry a funding series."""
    candles, _ = read_candle_csv(BTC_1H, "1h")
    grid = expand_grid(load_config().param_grid("grid_atr"))
    combos = tuple(p.model_dump() for p in grid.params[::combo_step])
    settings = EngineSettings()
    jobs = []
    for w in range(n_windows):
        for k, phase in enumerate(("is", "oos")):
            lo = (2 * w + k) * WINDOW_CANDLES
            part = candles.slice(lo, lo + WINDOW_CANDLES)
            funding = None
            if phase == "oos":  # a settlement every 8th candle, alternating sign: exercises the funding ref
                funding = np.full(len(part), np.nan)
                funding[::8] = np.where(np.arange(len(funding[::8])) % 2 == 0, 1e-4, -5e-5)
            jobs.append(WindowJob(WindowKey("BTC/USDT", w, phase), "grid_atr", part,
                                  combos, settings, funding, batch_bounds(len(combos), BATCH)))
    return jobs


def collect(executor: object, jobs: Sequence[WindowJob]) -> dict[WindowKey, np.ndarray]:
    """Run `jobs` and assemble each window's rows from the batches, checking no batch arrives twice."""
    rows = {j.key: np.full((j.n_combos, 0), np.nan) for j in jobs}
    seen: set[tuple[WindowKey, int, int]] = set()
    parts: dict[WindowKey, dict[int, np.ndarray]] = {j.key: {} for j in jobs}

    def on_batch(key: WindowKey, a: int, b: int, batch_rows: np.ndarray) -> None:
        assert (key, a, b) not in seen, f"batch {key} {a}-{b} delivered twice"
        seen.add((key, a, b))
        parts[key][a] = batch_rows

    executor.run(jobs, on_batch)  # type: ignore[attr-defined]
    for key, by_start in parts.items():
        if by_start:
            rows[key] = np.concatenate([by_start[a] for a in sorted(by_start)])
    return rows


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    import ray

    ray.init("local", num_cpus=2, include_dashboard=False, object_store_memory=150 * 1024 * 1024,
             log_to_driver=False, namespace="scalp_radar")
    yield
    ray.shutdown()


@pytest.fixture(scope="session")
def wfo_jobs() -> list[WindowJob]:
    return build_jobs()


@pytest.fixture(scope="session")
def serial_rows(wfo_jobs: list[WindowJob]) -> dict[WindowKey, np.ndarray]:
    return collect(SerialExecutor(), wfo_jobs)
