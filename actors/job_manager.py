"""The WFO job manager: one named actor that queues sweeps launched from the CLI, the API or Telegram,
runs up to `max_concurrent` of them at a time on the cluster, reports progress and cancels cleanly.

Each running sweep is driven by a thread of this actor (the driver side of `run_sweep`: it prepares the
windows, submits the batches as Ray tasks through a `RayExecutor`, writes results). The actor itself
needs no CPU (`num_cpus=0`); the batch tasks take the cluster's CPUs. Cancelling a queued job drops it;
cancelling a running job stops batch submission, lets the batches in flight return and marks the job
`cancelled` (what was stored stays stored, so the same job id resumes later).

    manager = start_job_manager(max_concurrent=1)
    job_id = ray.get(manager.submit.remote({"strategy": "grid_atr", "symbols": ["BTC/USDT"]}, "telegram"))
    ray.get(manager.status.remote(job_id))  # {"status": "running", "done": 1200, "total": 36864, ...}
    ray.get(manager.cancel.remote(job_id))
"""
from __future__ import annotations

import dataclasses
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from actors.sweep import NAMESPACE, RayExecutor
from radar.errors import RadarError
from radar.optimize.errors import OptimizeError
from radar.optimize.sweep import CancelLike, SweepRequest

ACTOR_NAME = "job_manager"
STATES = ("queued", "running", "done", "failed", "cancelled")
FINAL = frozenset({"done", "failed", "cancelled"})

Progress = Callable[[int, int], None]
# (request, progress(done, total), cancel) -> a small JSON-able summary of the finished sweep
SweepRunner = Callable[[SweepRequest, Progress, CancelLike], dict[str, Any]]


def _now_ms() -> int:
    return int(time.time() * 1000)


def as_request(request: SweepRequest | Mapping[str, Any]) -> SweepRequest:
    """A SweepRequest from the dict an API/Telegram caller sends; unknown keys are named, not ignored."""
    if isinstance(request, SweepRequest):
        return request
    if not isinstance(request, Mapping):
        raise OptimizeError(f"sweep request must be a mapping, got {type(request).__name__}")
    known = {f.name for f in dataclasses.fields(SweepRequest)}
    unknown = sorted(set(request) - known)
    if unknown:
        raise OptimizeError(f"sweep request: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    for key in ("strategy", "symbols"):
        if not request.get(key):
            raise OptimizeError(f"sweep request: {key!r} is required")
    symbols = request["symbols"]
    data = dict(request, symbols=(symbols,) if isinstance(symbols, str) else tuple(symbols))
    return SweepRequest(**data)


@dataclass(frozen=True, slots=True)
class StoredSweepRunner:
    """The production runner: candles and funding from the database (or one CSV for every symbol), costs
    and capital from risk.yaml, the job and its results persisted by `SweepStore`, batches on Ray."""

    config_dir: str | None = None
    database_url: str | None = None  # None -> DATABASE_URL / the embedded SQLite file
    csv: str | None = None
    max_in_flight: int | None = None

    def __call__(self, request: SweepRequest, progress: Progress, cancel: CancelLike) -> dict[str, Any]:
        from radar.optimize.job_store import SweepStore
        from radar.optimize.sweep import run_sweep

        executor = RayExecutor(max_in_flight=self.max_in_flight, cancel=cancel)
        plan, store = self.plan(request, workers=executor.workers)
        result = run_sweep(plan, executor, SweepStore(store.engine), progress=progress, cancel=cancel)
        return summarize(result)

    def plan(self, request: SweepRequest, workers: int = 1) -> tuple[Any, Any]:
        """(SweepPlan, CandleStore): everything validated, no task launched."""
        from radar.config import load_config
        from radar.config.settings import get_settings
        from radar.data.store import CandleStore
        from radar.optimize.inputs import StoreInputs, engine_settings
        from radar.optimize.sweep import plan_sweep

        cfg = load_config(self.config_dir)
        store = CandleStore(self.database_url or get_settings().database_url)
        inputs = StoreInputs(store, request.exchange, cfg.risk.backtest.default_funding_rate,
                             Path(self.csv) if self.csv is not None else None)
        return plan_sweep(request, cfg, inputs.candles, inputs.funding, engine_settings(cfg.risk),
                          workers=workers), store


def summarize(result: Any) -> dict[str, Any]:
    """The part of a SweepResult a status line needs (the full detail is in the database)."""
    out: dict[str, Any] = {"job_id": result.job_id, "strategy": result.strategy, "combos": result.combos,
                           "windows": result.windows, "evaluations": result.evaluations,
                           "resumed_windows": result.resumed, "wall_s": round(result.wall_s, 3),
                           "cancelled": result.cancelled, "results": []}
    for r in result.results:
        best = r.aggregate.best
        out["results"].append({"symbol": r.symbol, "grade": r.grade.letter, "score": float(r.grade.score),
                               "oos_sharpe": float(best.oos_sharpe), "best_params": _plain(r.best_params)})
    return out


def _plain(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (tuple, list)):
        return [_plain(v) for v in obj]
    return obj


@dataclass
class _Job:
    job_id: str
    request: SweepRequest
    source: str
    submitted_at: int
    status: str = "queued"
    done: int = 0
    total: int = 0
    error: str | None = None
    started_at: int | None = None
    finished_at: int | None = None
    summary: dict[str, Any] | None = None
    cancel: threading.Event = dataclasses.field(default_factory=threading.Event)

    def to_dict(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "strategy": self.request.strategy, "symbols": list(self.request.symbols),
                "source": self.source, "status": self.status, "done": self.done, "total": self.total,
                "progress": (self.done / self.total) if self.total else 0.0, "error": self.error,
                "submitted_at": self.submitted_at, "started_at": self.started_at, "finished_at": self.finished_at,
                "cancel_requested": self.cancel.is_set(), "summary": self.summary}


class JobManager:
    """The queue and the sweep threads. Plain Python: `JobManagerActor` is this class as a Ray actor."""

    def __init__(self, max_concurrent: int = 1, runner: SweepRunner | None = None,
                 on_finished: Callable[[dict[str, Any]], None] | None = None) -> None:
        """`on_finished(job dict)` is called once per job when it ends (done, failed or cancelled)."""
        if max_concurrent < 1:
            raise OptimizeError(f"max_concurrent must be >= 1, got {max_concurrent}")
        self.max_concurrent = max_concurrent
        self._runner: SweepRunner = runner if runner is not None else StoredSweepRunner()
        self._lock = threading.Condition()
        self._jobs: dict[str, _Job] = {}
        self._queue: deque[str] = deque()
        self._running: set[str] = set()
        self._on_finished = on_finished

    # ------------------------------------------------------------------ commands
    def submit(self, request: SweepRequest | Mapping[str, Any], source: str = "cli") -> str:
        """Queue a sweep; returns its job id at once (a given job id re-runs = resumes that job)."""
        req = as_request(request)
        if req.job_id is None:
            req = dataclasses.replace(req, job_id=f"wfo-{req.strategy}-{time.strftime('%Y%m%d-%H%M%S')}-"
                                                  f"{uuid.uuid4().hex[:6]}")
        job_id = str(req.job_id)
        with self._lock:
            old = self._jobs.get(job_id)
            if old is not None and old.status not in FINAL:
                raise OptimizeError(f"job {job_id!r} is already {old.status}")
            self._jobs[job_id] = _Job(job_id, req, source, _now_ms())
            self._queue.append(job_id)
            self._dispatch()
        return job_id

    def cancel(self, job_id: str) -> dict[str, Any]:
        """Queued: dropped now. Running: stops submitting batches, finishes as `cancelled`. Final: unchanged."""
        with self._lock:
            job = self._get(job_id)
            if job.status == "queued":
                self._queue.remove(job_id)
                job.status, job.finished_at = "cancelled", _now_ms()
                job.cancel.set()
                self._lock.notify_all()
            elif job.status == "running":
                job.cancel.set()
            return job.to_dict()

    def set_max_concurrent(self, n: int) -> None:
        if n < 1:
            raise OptimizeError(f"max_concurrent must be >= 1, got {n}")
        with self._lock:
            self.max_concurrent = n
            self._dispatch()

    # ------------------------------------------------------------------ queries
    def status(self, job_id: str) -> dict[str, Any]:
        with self._lock:
            return self._get(job_id).to_dict()

    def jobs(self) -> list[dict[str, Any]]:
        with self._lock:
            return [j.to_dict() for j in sorted(self._jobs.values(), key=lambda j: j.submitted_at)]

    def wait(self, job_id: str, timeout_s: float | None = None) -> dict[str, Any]:
        """Block until the job is final (or the timeout passes); returns its status either way."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._lock:
            job = self._get(job_id)
            while job.status not in FINAL:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._lock.wait(left)
            return job.to_dict()

    # ------------------------------------------------------------------ internals
    def _get(self, job_id: str) -> _Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise OptimizeError(f"no WFO job {job_id!r} in the job manager")
        return job

    def _dispatch(self) -> None:
        # Called with the lock held, whenever a slot or a job may have become available.
        while self._queue and len(self._running) < self.max_concurrent:
            job = self._jobs[self._queue.popleft()]
            job.status, job.started_at = "running", _now_ms()
            self._running.add(job.job_id)
            threading.Thread(target=self._drive, args=(job,), name=f"sweep-{job.job_id}", daemon=True).start()

    def _drive(self, job: _Job) -> None:
        def progress(done: int, total: int) -> None:
            with self._lock:
                job.done, job.total = int(done), int(total)

        status, error, summary = "done", None, None
        try:
            summary = self._runner(job.request, progress, job.cancel)
            # A cancel that arrived after the last batch changes nothing: the sweep is complete.
            if (summary or {}).get("cancelled", job.cancel.is_set()):
                status = "cancelled"
        except RadarError as exc:  # user-facing: the one line says what and why
            status, error = "failed", f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # a bug: keep the trace for the log/status
            status = "failed"
            error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}"
        with self._lock:
            job.status, job.error, job.summary, job.finished_at = status, error, summary, _now_ms()
            self._running.discard(job.job_id)
            self._dispatch()
            self._lock.notify_all()
            finished = job.to_dict()
        if self._on_finished is not None:
            try:
                self._on_finished(finished)
            except Exception:  # a notification must not fail the job
                traceback.print_exc()


# Threaded actor: status/cancel/wait are served while sweep threads run; no CPU reserved for it.
JobManagerActor = ray.remote(num_cpus=0, max_concurrency=16)(JobManager)


def start_job_manager(max_concurrent: int = 1, runner: SweepRunner | None = None, *, name: str = ACTOR_NAME,
                      detached: bool = False, node_id: str | None = None) -> Any:
    """Create (or return the running) named job manager in the "scalp_radar" namespace.

    It is pinned to `node_id`, by default the caller's node: the supervisor boots on the head node,
    where the job rows are written (SPEC §9 placement)."""
    node = node_id or ray.get_runtime_context().get_node_id()
    options: dict[str, Any] = {"name": name, "namespace": NAMESPACE, "get_if_exists": True,
                               "scheduling_strategy": NodeAffinitySchedulingStrategy(node, soft=False)}
    if detached:
        options["lifetime"] = "detached"
    return JobManagerActor.options(**options).remote(max_concurrent, runner, notify_telegram)


def notify_telegram(job: dict[str, Any]) -> None:
    """Tell the live system's Telegram actor (when there is one) that a sweep ended."""
    try:
        telegram = ray.get_actor("telegram", namespace=NAMESPACE)
    except ValueError:
        return
    telegram.wfo_finished.remote(job)


def get_job_manager(name: str = ACTOR_NAME) -> Any:
    """The running job manager (API, Telegram, CLI); a clear error if none was started."""
    try:
        return ray.get_actor(name, namespace=NAMESPACE)
    except ValueError:
        raise OptimizeError(f"no job manager actor {name!r} in namespace {NAMESPACE!r}: "
                            f"start the system (or start_job_manager()) first") from None


__all__ = ["ACTOR_NAME", "JobManager", "JobManagerActor", "STATES", "StoredSweepRunner", "as_request",
           "get_job_manager", "start_job_manager", "summarize"]
