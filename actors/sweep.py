"""WFO batches as Ray tasks: the `BatchExecutor` that fans a sweep out over a local or multi-node cluster.

The maths is `radar.optimize.execution.evaluate_batch`; this module only moves data and results:

- each window's indicator cache, combo list, settings and funding are `ray.put` once (deduplicated by
  identity, so the combo tuple shared by every window of a symbol is stored once) and every batch task
  receives the refs, never a copy;
- at most `max_in_flight` tasks are outstanding; the driver waits on them with `ray.wait(num_returns=1)`
  and hands each result to `on_batch` as soon as it arrives, then submits the next batch;
- a window's objects are put when its first batch is submitted and released when its last batch returns,
  so the object store holds only the windows in flight, not the whole sweep;
- tasks retry on worker death (`max_retries`) but not on exceptions (a combo that fails fails the same
  way every time, so retrying would only delay the error).
"""
from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import ray
from ray.exceptions import RayTaskError, TaskCancelledError, WorkerCrashedError

from radar.optimize.errors import OptimizeError
from radar.optimize.execution import OnBatch, WindowJob, WindowKey, evaluate_batch, prepare_window

NAMESPACE = "scalp_radar"


def _enable_token_auth_for_client() -> None:
    """A `ray start` cluster (Ray 2.60) has token auth on and refuses a client whose RAY_AUTH_MODE is unset
    with a bare ConnectionError: switch the mode on when a token is available and the user chose nothing.
    Ray caches its config at import, so setting the variable is not enough; its own helper refreshes it."""
    if "RAY_AUTH_MODE" in os.environ:
        return
    try:
        from ray._private.authentication.authentication_token_setup import (
            maybe_enable_token_auth_if_token_available,
        )
    except ImportError:  # a Ray without token auth
        return
    maybe_enable_token_auth_if_token_available(warn_if_disabled=False)


class CancelLike(Protocol):
    def is_set(self) -> bool: ...


# Worker-side memo of combo tuples by object id. A sweep's combo tuple (thousands of parameter models) is
# shared by all its batches; letting Ray resolve it as a task argument would deserialise it again for
# every batch (~20 ms for 4,608 models, more than the batch itself). Passed boxed in a list, the ref is
# fetched once per worker process and reused by the following batches. Only objects that already exist
# (ray.put) may be boxed: a task blocked in ray.get on another task's output keeps its custom resources,
# so boxing the cache (a prepare task's output) can deadlock a cluster whose slots are all taken.
_MEMO: dict[str, Any] = {}
_MEMO_MAX = 4


def _unbox(box: Sequence[Any]) -> Any:
    ref = box[0]
    if not isinstance(ref, ray.ObjectRef):
        return ref  # an inline object (tests, custom tasks)
    key = ref.hex()
    if key not in _MEMO:
        if len(_MEMO) >= _MEMO_MAX:
            _MEMO.pop(next(iter(_MEMO)))
        _MEMO[key] = ray.get(ref)
    return _MEMO[key]


def evaluate_batch_on_worker(strategy: str, cache: Any, combos_box: Sequence[Any], start: int, stop: int,
                             settings: Any, funding: np.ndarray | None) -> tuple[str, np.ndarray]:
    """One batch on a worker: (the node it ran on, the metrics rows). Ray has resolved the other refs."""
    rows = evaluate_batch(strategy, cache, _unbox(combos_box), start, stop, settings, funding)
    return ray.get_runtime_context().get_node_id(), rows


# num_cpus=1: a batch is one single-threaded numba kernel call.
batch_task = ray.remote(num_cpus=1)(evaluate_batch_on_worker)

# A window's indicator cache is computed by a task too: all windows prepare in parallel, and the cache
# stays in the object store (stored once) for every batch of that window to read by reference.
prepare_task = ray.remote(num_cpus=1)(prepare_window)


@dataclass
class RunStats:
    """What the last `run` did: for progress displays, tests and tuning the batch size."""

    submitted: int = 0
    completed: int = 0
    peak_in_flight: int = 0
    objects_put: int = 0
    batches_per_node: Counter[str] = field(default_factory=Counter)
    batch_nodes: dict[tuple[WindowKey, int, int], str] = field(default_factory=dict)
    cancelled: bool = False


class _SharedObjects:
    """`ray.put` once per distinct object (by identity), released when no unfinished window uses it."""

    def __init__(self, stats: RunStats) -> None:
        self._stats = stats
        self._refs: dict[int, tuple[Any, ray.ObjectRef, int]] = {}  # id -> (obj kept alive, ref, users)

    def acquire(self, obj: Any) -> Any:
        if obj is None:
            return None
        held = self._refs.get(id(obj))
        if held is None:
            held = (obj, ray.put(obj), 0)
            self._stats.objects_put += 1
        self._refs[id(obj)] = (held[0], held[1], held[2] + 1)
        return held[1]

    def release(self, obj: Any) -> None:
        if obj is None:
            return
        o, ref, users = self._refs[id(obj)]
        if users <= 1:
            del self._refs[id(obj)]  # dropping the last ref lets Ray free the object
        else:
            self._refs[id(obj)] = (o, ref, users - 1)


class RayExecutor:
    """Evaluates a sweep's batches as Ray tasks (see the module docstring). Requires `ray.init` first,
    or use `RayExecutor.connect(address)`."""

    def __init__(self, workers: int | None = None, max_in_flight: int | None = None, max_retries: int = 3, *,
                 resources: Mapping[str, float] | None = None, scheduling_strategy: Any = None,
                 cancel: CancelLike | None = None, task: Any = None) -> None:
        if max_in_flight is not None and max_in_flight < 1:
            raise ValueError(f"max_in_flight must be >= 1, got {max_in_flight}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        self._workers = workers
        self._max_in_flight = max_in_flight
        self.max_retries = max_retries
        self.resources = dict(resources or {})  # e.g. {"sweep": 1}: only nodes advertising it run batches
        self.scheduling_strategy = scheduling_strategy
        self.cancel = cancel
        self._task = task if task is not None else batch_task
        self.stats = RunStats()

    @classmethod
    def connect(cls, address: str | None = None, workers: int | None = None, **kwargs: Any) -> "RayExecutor":
        """Join the cluster at `address` ("auto", "ray://...", host:port; None -> $RAY_ADDRESS, else a new
        local Ray)."""
        if not ray.is_initialized():
            target = address or os.environ.get("RAY_ADDRESS")
            if target and target != "local":
                _enable_token_auth_for_client()
            ray.init(address=address, namespace=NAMESPACE, log_to_driver=False)
        return cls(workers=workers, **kwargs)

    @property
    def workers(self) -> int:
        """CPUs available for batches: given, or the cluster's CPU total."""
        if self._workers is not None:
            return self._workers
        if ray.is_initialized():
            return max(1, int(ray.cluster_resources().get("CPU", 1)))
        return 1

    @property
    def max_in_flight(self) -> int:
        # Two per worker: the next task is already queued on a worker when one finishes, while the
        # driver is busy in on_batch; more would only hold results in the object store.
        return self._max_in_flight if self._max_in_flight is not None else 2 * self.workers

    def _cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def run(self, jobs: Sequence[WindowJob], on_batch: OnBatch) -> None:
        """Evaluate every batch of every job; `on_batch` runs in this (driver) thread as results arrive.

        `jobs` is iterated lazily, window by window, so a caller can stop handing out windows; `cancel`
        (constructor) stops submission between batches. Either way in-flight batches are collected, not
        dropped, so everything passed to `on_batch` is complete.
        """
        if not ray.is_initialized():
            raise OptimizeError("Ray is not initialised: call ray.init() or RayExecutor.connect() first")
        self.stats = stats = RunStats()
        shared = _SharedObjects(stats)
        limit = self.max_in_flight
        options: dict[str, Any] = {"max_retries": self.max_retries, "retry_exceptions": False}
        if self.resources:
            options["resources"] = self.resources
        if self.scheduling_strategy is not None:
            options["scheduling_strategy"] = self.scheduling_strategy
        task = self._task.options(**options)
        placement = {k: v for k, v in options.items() if k in ("resources", "scheduling_strategy")}
        prep = prepare_task.options(max_retries=self.max_retries, **placement)

        left: dict[int, int] = {}  # job index -> batches not yet returned
        refs: dict[int, tuple[Any, ...]] = {}
        by_index: dict[int, WindowJob] = {}
        pending: dict[ray.ObjectRef, tuple[int, int, int]] = {}
        todo = self._batches(jobs, by_index)
        exhausted = False
        try:
            while True:
                while not exhausted and len(pending) < limit and not self._cancelled():
                    nxt = next(todo, None)
                    if nxt is None:
                        exhausted = True
                        break
                    i, a, b = nxt
                    job = by_index[i]
                    if i not in refs:
                        combos_ref = shared.acquire(job.combos)
                        cache_ref = prep.remote(
                            job.strategy, shared.acquire(job.candles), combos_ref)
                        refs[i] = (cache_ref, combos_ref, shared.acquire(job.settings), shared.acquire(job.funding))
                        left[i] = len(job.batches)
                    cache_ref, combos_ref, settings_ref, funding_ref = refs[i]
                    pending[task.remote(job.strategy, cache_ref, [combos_ref], a, b, settings_ref,
                                        funding_ref)] = (i, a, b)
                    stats.submitted += 1
                    stats.peak_in_flight = max(stats.peak_in_flight, len(pending))
                if not pending:
                    break
                [ready], _ = ray.wait(list(pending), num_returns=1)
                i, a, b = pending.pop(ready)
                job = by_index[i]
                node, rows = self._result(ready, job.key, a, b)
                stats.completed += 1
                stats.batches_per_node[node] += 1
                stats.batch_nodes[(job.key, a, b)] = node
                left[i] -= 1
                if left[i] == 0:
                    for obj in (job.candles, job.combos, job.settings, job.funding):
                        shared.release(obj)
                    del refs[i], by_index[i]
                on_batch(job.key, a, b, rows)
            stats.cancelled = self._cancelled() and not exhausted
        finally:
            for ref in pending:  # only on an error: stop work nobody will collect
                ray.cancel(ref)

    @staticmethod
    def _batches(jobs: Sequence[WindowJob], by_index: dict[int, WindowJob]) -> Iterator[tuple[int, int, int]]:
        for i, job in enumerate(jobs):
            by_index[i] = job
            for a, b in job.batches:
                yield i, a, b

    def _result(self, ref: ray.ObjectRef, key: WindowKey, a: int, b: int) -> tuple[str, np.ndarray]:
        try:
            return ray.get(ref)
        except RayTaskError as exc:
            raise exc.as_instanceof_cause() from None  # the worker's own error (StrategyError, ...), not a wrapper
        except (WorkerCrashedError, TaskCancelledError) as exc:
            raise OptimizeError(f"window {key} combos {a}-{b}: batch lost after {self.max_retries} retries "
                                f"({type(exc).__name__})") from exc


__all__ = ["NAMESPACE", "RayExecutor", "RunStats", "batch_task", "evaluate_batch_on_worker"]
