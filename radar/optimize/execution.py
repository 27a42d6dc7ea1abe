"""How a sweep's batches get computed: the unit of work and the executors that run it.

A sweep is a list of `WindowJob`s (one per symbol x window x phase), each split into combo batches.
Each window's indicator cache is prepared once — by the executor, so that on Ray the preparation of
all windows runs in parallel and the cache reaches the batch tasks by reference — and the executor
evaluates the batches, handing each result to `on_batch` as it completes. Executors differ only in where the work runs:
`SerialExecutor` (this process), `ProcessPoolBatchExecutor` (a plain multiprocessing pool, the
baseline) and `actors.sweep.RayExecutor` (Ray tasks on a local or multi-node cluster). Every combo is
computed independently, so the results are identical whatever the executor and the batching.
"""
from __future__ import annotations

import math
import multiprocessing as mp
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from radar.backtest.fast.dispatch import EngineSettings, prepare, run_batch
from radar.models import CandleArrays

OnBatch = Callable[["WindowKey", int, int, np.ndarray], None]


@dataclass(frozen=True, slots=True, order=True)
class WindowKey:
    symbol: str
    window: int
    phase: str  # "is" | "oos"

    def __str__(self) -> str:
        return f"{self.symbol}|{self.window}|{self.phase}"

    @classmethod
    def parse(cls, text: str) -> "WindowKey":
        symbol, window, phase = text.rsplit("|", 2)
        return cls(symbol, int(window), phase)


@dataclass(frozen=True, slots=True)
class WindowJob:
    """Everything a worker needs for one window: shipped once, shared by all of its batches."""

    key: WindowKey
    strategy: str
    candles: CandleArrays  # the window's candles
    combos: tuple[Any, ...]  # validated parameter models
    settings: EngineSettings
    funding: np.ndarray | None  # rate in force per candle (NaN -> default)
    batches: tuple[tuple[int, int], ...]  # [start, stop) combo ranges

    @property
    def n_combos(self) -> int:
        return len(self.combos)


def prepare_window(strategy: str, candles: CandleArrays, combos: Sequence[Any]) -> Any:
    """The window's indicator cache (every distinct indicator of these combos, computed once)."""
    return prepare(strategy, candles, combos)


def evaluate_batch(strategy: str, cache: Any, combos: Sequence[Any], start: int, stop: int,
                   settings: EngineSettings, funding: np.ndarray | None) -> np.ndarray:
    """Metrics rows for combos[start:stop] on one window: the only computation a worker does."""
    return run_batch(strategy, cache, combos[start:stop], settings, funding)


def batch_bounds(n_combos: int, batch_size: int) -> tuple[tuple[int, int], ...]:
    size = max(1, int(batch_size))
    return tuple((a, min(a + size, n_combos)) for a in range(0, n_combos, size))


def choose_batch_size(n_combos: int, n_candles: int, n_windows: int, workers: int, *,
                      target_s: float = 0.5, steps_per_s: float = 4e7, min_tasks_per_worker: int = 4) -> int:
    """Combos per task: about `target_s` of work each (tasks of ~0.2-2 s amortise scheduling), but
    small enough that every worker gets several tasks (load balance, cheap retries)."""
    by_time = max(1, int(target_s * steps_per_s / max(1, n_candles)))
    total = n_combos * max(1, n_windows)
    by_balance = max(1, math.ceil(total / (max(1, workers) * min_tasks_per_worker * max(1, n_windows))))
    return max(1, min(n_combos, by_time, max(by_balance, 16)))


class BatchExecutor(Protocol):
    workers: int

    def run(self, jobs: Sequence[WindowJob], on_batch: OnBatch) -> None:
        """Evaluate every batch of every job, calling `on_batch(key, start, stop, rows)` as each completes."""


class SerialExecutor:
    """In-process, in order: the reference every other executor must equal."""

    workers = 1

    def run(self, jobs: Sequence[WindowJob], on_batch: OnBatch) -> None:
        for job in jobs:
            cache = prepare_window(job.strategy, job.candles, job.combos)
            for a, b in job.batches:
                on_batch(job.key, a, b, evaluate_batch(job.strategy, cache, job.combos, a, b, job.settings,
                                                       job.funding))


_POOL_JOBS: dict[str, WindowJob] = {}
_POOL_CACHES: dict[str, Any] = {}


def _pool_init(jobs: Sequence[WindowJob]) -> None:
    # Each pool worker receives the window data once (at start); tasks carry only indices. A worker
    # prepares a window's cache the first time it gets one of its batches.
    _POOL_JOBS.clear()
    _POOL_CACHES.clear()
    _POOL_JOBS.update({str(j.key): j for j in jobs})


def _pool_task(args: tuple[str, int, int]) -> tuple[str, int, int, np.ndarray]:
    key, a, b = args
    j = _POOL_JOBS[key]
    if key not in _POOL_CACHES:
        _POOL_CACHES[key] = prepare_window(j.strategy, j.candles, j.combos)
    return key, a, b, evaluate_batch(j.strategy, _POOL_CACHES[key], j.combos, a, b, j.settings, j.funding)


class ProcessPoolBatchExecutor:
    """A plain `multiprocessing` pool (fork): the baseline the Ray executor is measured against."""

    def __init__(self, workers: int = 2) -> None:
        self.workers = workers

    def run(self, jobs: Sequence[WindowJob], on_batch: OnBatch) -> None:
        tasks = [(str(j.key), a, b) for j in jobs for a, b in j.batches]
        by_key = {str(j.key): j.key for j in jobs}
        ctx = mp.get_context("fork")
        with ctx.Pool(self.workers, initializer=_pool_init, initargs=(list(jobs),)) as pool:
            for key, a, b, rows in pool.imap_unordered(_pool_task, tasks):
                on_batch(by_key[key], a, b, rows)
