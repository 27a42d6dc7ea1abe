"""The JobManager actor on the session's local Ray: real grid_atr sweeps (4,608 combos x 4 windows of BTC 1h)
queued, run at most N at a time through RayExecutor, persisted, cancelled while queued or running."""
from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
import ray
from conftest import BTC_1H

from actors.job_manager import JobManager, StoredSweepRunner, as_request, get_job_manager, start_job_manager
from radar.optimize.errors import OptimizeError
from radar.optimize.execution import SerialExecutor
from radar.optimize.job_store import SweepStore
from radar.optimize.sweep import SweepRequest, run_sweep

pytestmark = pytest.mark.ray

DAY = 86_400_000
T0 = 1_504_224_000_000  # 2017-09-01, inside the BTC file


def _request(job_id: str, days: int = 150, batch_size: int | None = None) -> dict:
    # 60/20/20-day windows over 150 days -> 4 IS/OOS windows of the full grid_atr grid
    return {"strategy": "grid_atr", "symbols": ["BTC/USDT"], "job_id": job_id, "start_ms": T0,
            "end_ms": T0 + days * DAY, "is_days": 60, "oos_days": 20, "step_days": 20, "embargo_days": 2,
            "batch_size": batch_size}


@pytest.fixture()
def runner(tmp_path: Path) -> StoredSweepRunner:
    return StoredSweepRunner(database_url=f"sqlite:///{tmp_path / 'wfo.db'}", csv=str(BTC_1H))


@pytest.fixture()
def manager(ray_session, runner):
    name = f"jm-{uuid.uuid4().hex[:8]}"
    handle = start_job_manager(max_concurrent=1, runner=runner, name=name)
    yield handle, name
    ray.kill(handle)


def _wait_until(predicate, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


@pytest.mark.slow
def test_queued_sweeps_run_one_at_a_time_and_equal_a_serial_run(manager, runner) -> None:
    # Arrange
    handle, name = manager
    expected = run_sweep(runner.plan(as_request(_request("serial-ref")))[0], SerialExecutor())

    # Act
    first = ray.get(handle.submit.remote(_request("job-a"), "cli"))
    second = ray.get(handle.submit.remote(_request("job-b"), "telegram"))
    queued = ray.get(handle.status.remote(second))
    a = ray.get(handle.wait.remote(first, 120))
    b = ray.get(handle.wait.remote(second, 120))

    # Assert: max_concurrent=1 -> b waited in the queue and started only after a finished
    assert (first, second) == ("job-a", "job-b")
    assert queued["status"] == "queued" and queued["source"] == "telegram"
    assert a["status"] == b["status"] == "done", (a["error"], b["error"])
    assert b["started_at"] >= a["finished_at"]
    assert a["total"] == expected.combos * 4 * 2 == a["done"]
    best = expected.results[0]
    for job in (a, b):
        got = job["summary"]["results"][0]
        assert got["score"] == best.grade.score and got["grade"] == best.grade.letter
        assert got["best_params"] == {k: list(v) if isinstance(v, tuple) else v for k, v in best.best_params.items()}
    stored = SweepStore(runner.plan(as_request(_request("x")))[1].engine).job("job-a")
    assert stored["status"] == "done" and stored["progress"] == stored["total"] == a["total"]
    assert get_job_manager(name) == handle
    assert [j["job_id"] for j in ray.get(handle.jobs.remote())] == ["job-a", "job-b"]


@pytest.mark.slow
def test_cancelling_a_running_sweep_stops_it_and_marks_it_cancelled(manager, runner) -> None:
    # Arrange: small batches -> hundreds of tasks, so the sweep is still running when cancelled
    handle, _ = manager
    job_id = ray.get(handle.submit.remote(_request("job-c", batch_size=32), "api"))
    _wait_until(lambda: ray.get(handle.status.remote(job_id))["done"] > 0)

    # Act
    ray.get(handle.cancel.remote(job_id))
    final = ray.get(handle.wait.remote(job_id, 60))

    # Assert
    assert final["status"] == "cancelled", final["error"]
    assert 0 < final["done"] < final["total"]
    stored = SweepStore(runner.plan(as_request(_request("x")))[1].engine).job(job_id)
    assert stored["status"] == "cancelled"


def test_cancelling_a_queued_sweep_drops_it_before_it_starts(manager) -> None:
    # Arrange
    handle, _ = manager
    running = ray.get(handle.submit.remote(_request("job-d"), "cli"))
    queued = ray.get(handle.submit.remote(_request("job-e"), "cli"))

    # Act
    dropped = ray.get(handle.cancel.remote(queued))
    ray.get(handle.cancel.remote(running))
    ray.get(handle.wait.remote(running, 60))

    # Assert
    assert dropped["status"] == "cancelled" and dropped["started_at"] is None and dropped["done"] == 0


def test_a_bad_sweep_fails_with_its_reason_and_the_queue_goes_on(manager) -> None:
    # Arrange
    handle, _ = manager
    bad = dict(_request("job-bad"), strategy="no_such_strategy")

    # Act
    failed = ray.get(handle.wait.remote(ray.get(handle.submit.remote(bad, "api")), 30))
    with pytest.raises(OptimizeError, match="unknown key\\(s\\) colour"):
        ray.get(handle.submit.remote(dict(_request("job-x"), colour="red"), "api"))

    # Assert
    assert failed["status"] == "failed"
    assert failed["error"].startswith("StrategyError") and "no_such_strategy" in failed["error"]


def test_the_job_manager_reserves_no_cpu(manager) -> None:
    # Arrange / Act
    handle, _ = manager
    ray.get(handle.jobs.remote())  # the actor is up

    # Assert: both session CPUs stay free for batch tasks
    assert ray.available_resources().get("CPU") == 2.0


def test_job_manager_without_ray_runs_a_fake_sweep_and_counts_progress() -> None:
    # Arrange: the plain class with a fake runner (the queue logic needs no cluster)
    calls = []

    def fake(request: SweepRequest, progress, cancel) -> dict:
        for done in (10, 20, 30):
            progress(done, 30)
        calls.append(request.job_id)
        return {"cancelled": False}

    jm = JobManager(max_concurrent=2, runner=fake)

    # Act
    ids = [jm.submit({"strategy": "grid_atr", "symbols": "BTC/USDT"}) for _ in range(3)]
    finals = [jm.wait(i, 10) for i in ids]

    # Assert
    assert len(set(ids)) == 3 and sorted(calls) == sorted(ids)
    assert [(f["status"], f["done"], f["total"], f["progress"]) for f in finals] == [("done", 30, 30, 1.0)] * 3
    assert finals[0]["symbols"] == ["BTC/USDT"]


def test_on_finished_is_called_once_per_ended_job_with_its_final_state() -> None:
    # Arrange: one sweep that succeeds with a graded result, one that fails
    def fake(request: SweepRequest, progress, cancel) -> dict:
        if request.strategy == "bollinger_mr":
            raise OptimizeError("no candles stored for ETH/USDT:USDT 1h")
        progress(8, 8)
        return {"cancelled": False, "results": [{"symbol": "BTC/USDT:USDT", "grade": "B", "score": 71.0}]}

    ended: list[dict] = []
    jm = JobManager(max_concurrent=1, runner=fake, on_finished=ended.append)
    # Act
    ok = jm.submit({"strategy": "grid_atr", "symbols": "BTC/USDT:USDT"}, "api")
    bad = jm.submit({"strategy": "bollinger_mr", "symbols": "ETH/USDT:USDT"}, "telegram")
    jm.wait(ok, 10), jm.wait(bad, 10)
    _wait_until(lambda: len(ended) == 2, 10)
    # Assert
    by_id = {j["job_id"]: j for j in ended}
    assert (by_id[ok]["status"], by_id[ok]["source"], by_id[ok]["summary"]["results"][0]["grade"]) == ("done", "api", "B")
    assert by_id[bad]["status"] == "failed" and "no candles stored" in by_id[bad]["error"]
