"""RayExecutor against the SerialExecutor reference on real BTC 1h windows: same rows bit for bit, shared
data put once, the in-flight bound holds, a killed worker costs one retried batch, errors and cancel."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import ray
from conftest import collect

from actors.sweep import RayExecutor, evaluate_batch_on_worker
from radar.errors import StrategyError
from radar.optimize.execution import WindowJob

pytestmark = pytest.mark.ray


def _bit_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(a[k].shape == b[k].shape and a[k].tobytes() == b[k].tobytes() for k in a)


def test_ray_rows_equal_serial_rows_bit_for_bit(ray_session, wfo_jobs, serial_rows) -> None:
    # Arrange: 4 windows x 48 combos in batches of 8 -> 24 tasks
    executor = RayExecutor(max_in_flight=4)
    n_batches = sum(len(j.batches) for j in wfo_jobs)

    # Act
    rows = collect(executor, wfo_jobs)

    # Assert
    assert n_batches == 24
    assert _bit_equal(rows, serial_rows)
    assert executor.stats.completed == executor.stats.submitted == 24
    assert sum(executor.stats.batches_per_node.values()) == 24
    assert np.isfinite(rows[wfo_jobs[0].key]).all()


def test_shared_window_data_is_put_once_not_per_batch(ray_session, wfo_jobs) -> None:
    # Arrange: 4 candle windows + 2 funding arrays are distinct; the combo tuple and settings are shared by
    # all jobs. Caches are not put at all: a prepare task per window returns them into the object store.
    executor = RayExecutor(max_in_flight=3)
    put_calls = []
    real_put = ray.put

    def counting_put(obj, **kw):
        put_calls.append(type(obj).__name__)
        return real_put(obj, **kw)

    # Act
    ray.put = counting_put
    try:
        collect(executor, wfo_jobs)
    finally:
        ray.put = real_put

    # Assert
    assert len(put_calls) == executor.stats.objects_put == 4 + 2 + 1 + 1
    assert put_calls.count("tuple") == 1 and put_calls.count("EngineSettings") == 1


def _interval_task(log: Path):
    @ray.remote(num_cpus=1)
    def timed_batch(strategy, cache, combos, a, b, settings, funding):
        t0 = time.time()
        out = evaluate_batch_on_worker(strategy, cache, combos, a, b, settings, funding)
        time.sleep(0.03)  # long enough that an unbounded driver would overlap tasks on the 2 CPUs
        with open(log, "a") as f:
            f.write(f"{t0} {time.time()}\n")
        return out

    return timed_batch


def _max_overlap(log: Path) -> int:
    events = []
    for line in log.read_text().split("\n"):
        if line:
            t0, t1 = map(float, line.split())
            events += [(t0, 1), (t1, -1)]
    depth = peak = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):  # an end before a start at the same instant
        depth += step
        peak = max(peak, depth)
    return peak


@pytest.mark.parametrize("bound", [1, 2])
def test_tasks_running_at_once_never_exceed_max_in_flight(ray_session, wfo_jobs, serial_rows, tmp_path, bound) -> None:
    # Arrange: the tasks log their own start/end on the workers: an instrument independent of the driver
    log = tmp_path / "intervals.log"
    executor = RayExecutor(max_in_flight=bound, task=_interval_task(log))

    # Act
    rows = collect(executor, wfo_jobs)

    # Assert: with bound 2 the 2 CPUs do run two at once (the instrument can see overlap), never more
    assert _bit_equal(rows, serial_rows)
    assert len(log.read_text().split("\n")) - 1 == 24
    assert _max_overlap(log) == bound
    assert executor.stats.peak_in_flight == bound


def _crash_once_task(marker: Path, attempts: Path):
    @ray.remote(num_cpus=1)
    def crash_once(strategy, cache, combos, a, b, settings, funding):
        with open(attempts, "a") as f:
            f.write(f"{a} {b} {os.getpid()}\n")
        try:  # exactly one attempt in the whole run wins the marker and dies mid-task, like an OOM kill
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return evaluate_batch_on_worker(strategy, cache, combos, a, b, settings, funding)
        os.write(fd, f"{a} {b} {os.getpid()}".encode())
        os.close(fd)
        os._exit(1)

    return crash_once


@pytest.mark.slow
def test_a_worker_killed_mid_batch_costs_only_its_batch(ray_session, wfo_jobs, serial_rows, tmp_path) -> None:
    # Arrange
    marker, attempts = tmp_path / "killed", tmp_path / "attempts.log"
    executor = RayExecutor(max_in_flight=2, max_retries=2, task=_crash_once_task(marker, attempts))

    # Act
    rows = collect(executor, wfo_jobs)

    # Assert: the killed attempt was re-run once in another process; nothing else ran twice
    a, b, dead_pid = marker.read_text().split()
    lines = [ln.split() for ln in attempts.read_text().split("\n") if ln]
    assert len(lines) == 24 + 1
    reruns = [ln for ln in lines if ln[:2] == [a, b]]
    assert [r[2] for r in reruns].count(dead_pid) == 1 and len({r[2] for r in reruns}) >= 2
    assert _bit_equal(rows, serial_rows)
    assert executor.stats.completed == 24


def test_a_worker_error_is_raised_as_the_original_error_and_not_retried(ray_session, wfo_jobs) -> None:
    # Arrange: a strategy without a fast engine fails inside the worker
    bad = WindowJob(wfo_jobs[0].key, "no_such_strategy", wfo_jobs[0].candles, wfo_jobs[0].combos,
                    wfo_jobs[0].settings, None, ((0, 8),))
    executor = RayExecutor(max_retries=3)

    # Act / Assert
    with pytest.raises(StrategyError, match="no fast engine for strategy 'no_such_strategy'"):
        collect(executor, [bad])
    assert executor.stats.submitted == 1


def test_cancel_stops_submitting_and_collects_what_is_in_flight(ray_session, wfo_jobs, serial_rows) -> None:
    # Arrange: cancel after the 3rd result arrives, 2 in flight at a time
    cancel = threading.Event()
    executor = RayExecutor(max_in_flight=2, cancel=cancel)
    got = []

    def on_batch(key, a, b, rows):
        got.append((key, a, b, rows))
        if len(got) == 3:
            cancel.set()

    # Act
    executor.run(wfo_jobs, on_batch)

    # Assert: the 3 delivered + the one still in flight, each equal to the serial rows of its combos
    assert executor.stats.cancelled is True
    assert executor.stats.submitted == executor.stats.completed == len(got) == 4
    for key, a, b, rows in got:
        assert rows.tobytes() == serial_rows[key][a:b].tobytes()
