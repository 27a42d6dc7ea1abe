"""Persistence of sweeps: job rows with progress, per-window metrics (resume), and the results
(`optimization_jobs`, `wfo_window_metrics`, `optimization_results`, `wfo_combo_results`).

The driver is the only writer; workers never touch the database.
"""
from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from radar.backtest.fast.engine import BATCH_COLUMNS
from radar.data.schema import OptimizationJobRow, OptimizationResultRow, WfoComboResultRow, WfoWindowMetricsRow
from radar.optimize.errors import OptimizeError
from radar.optimize.execution import WindowKey


def _now_ms() -> int:
    return int(time.time() * 1000)


class SweepStore:
    # Progress rows are throttled: a sweep reports thousands of batches; the dashboard polls every few seconds.
    PROGRESS_EVERY_S = 0.5

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._last_progress = 0.0

    def start_job(self, plan: Any) -> None:
        """Create the job row, or re-open it for a resume; a different request under the same id is refused."""
        params = _json({"request": plan.request.to_dict(), "timeframe": plan.timeframe, "batch_size": plan.batch_size})
        with Session(self.engine) as s, s.begin():
            row = s.get(OptimizationJobRow, plan.job_id)
            now = _now_ms()
            if row is None:
                s.add(OptimizationJobRow(id=plan.job_id, kind="wfo", strategy=plan.request.strategy, status="running",
                                         progress=0, total=plan.total_units, created_at=now, updated_at=now,
                                         params=params))
                return
            old = (row.params or {}).get("request", {})
            new = params["request"]
            if {k: v for k, v in old.items() if k != "batch_size"} != {k: v for k, v in new.items() if k != "batch_size"}:
                raise OptimizeError(f"job {plan.job_id!r} exists with a different request; use a new job id")
            row.status, row.updated_at, row.error, row.total = "running", now, None, plan.total_units

    def saved_windows(self, job_id: str) -> dict[WindowKey, np.ndarray]:
        with Session(self.engine) as s:
            rows = s.scalars(select(WfoWindowMetricsRow).where(WfoWindowMetricsRow.job_id == job_id)).all()
            out = {}
            for r in rows:
                if list(r.columns) != list(BATCH_COLUMNS):
                    continue  # saved by an engine with other metrics: recompute rather than misread
                out[WindowKey(r.symbol, r.window, r.phase)] = np.frombuffer(r.data, dtype=np.float64).reshape(
                    r.n_combos, len(r.columns)).copy()
            return out

    def save_window(self, job_id: str, key: WindowKey, rows: np.ndarray) -> None:
        arr = np.ascontiguousarray(rows, dtype=np.float64)
        with Session(self.engine) as s, s.begin():
            s.execute(delete(WfoWindowMetricsRow).where(
                WfoWindowMetricsRow.job_id == job_id, WfoWindowMetricsRow.symbol == key.symbol,
                WfoWindowMetricsRow.window == key.window, WfoWindowMetricsRow.phase == key.phase))
            s.add(WfoWindowMetricsRow(job_id=job_id, symbol=key.symbol, window=key.window, phase=key.phase,
                                      n_combos=arr.shape[0], columns=list(BATCH_COLUMNS), data=arr.tobytes()))

    def progress(self, job_id: str, done: int, total: int, force: bool = False) -> None:
        now = time.monotonic()
        if not force and done < total and now - self._last_progress < self.PROGRESS_EVERY_S:
            return
        self._last_progress = now
        with Session(self.engine) as s, s.begin():
            s.execute(update(OptimizationJobRow).where(OptimizationJobRow.id == job_id).values(
                progress=done, total=total, updated_at=_now_ms()))

    def finish_job(self, job_id: str, status: str, error: str | None = None) -> None:
        with Session(self.engine) as s, s.begin():
            row = s.get(OptimizationJobRow, job_id)
            if row is not None:
                row.status, row.error, row.updated_at = status, error, _now_ms()
                if status == "done":
                    row.progress = row.total

    def job(self, job_id: str) -> dict[str, Any] | None:
        with Session(self.engine) as s:
            row = s.get(OptimizationJobRow, job_id)
            if row is None:
                return None
            return {"id": row.id, "strategy": row.strategy, "status": row.status, "progress": row.progress,
                    "total": row.total, "created_at": row.created_at, "updated_at": row.updated_at,
                    "params": row.params, "error": row.error}

    def save_results(self, plan: Any, results: Sequence[Any]) -> None:
        from radar.optimize.sweep import combo_key

        now = _now_ms()
        with Session(self.engine) as s, s.begin():
            s.execute(delete(OptimizationResultRow).where(OptimizationResultRow.job_id == plan.job_id))
            s.execute(delete(WfoComboResultRow).where(WfoComboResultRow.job_id == plan.job_id))
            for r in results:
                sp = next(x for x in plan.symbols if x.symbol == r.symbol)
                d = r.to_dict()
                s.add(OptimizationResultRow(
                    job_id=plan.job_id, strategy=plan.request.strategy, symbol=r.symbol, timeframe=plan.timeframe,
                    params=_json(r.best_params), metrics=_json({k: v for k, v in d.items() if k != "best_params"}),
                    score=r.grade.score, grade=r.grade.letter, created_at=now))
                agg = r.aggregate
                # One executemany for thousands of combos (ORM adds row by row cost ~1 s per 4,608).
                rows = [{
                    "job_id": plan.job_id, "symbol": r.symbol, "combo_key": combo_key(combo), "params": _json(dict(combo)),
                    "is_sharpe": _f(agg.is_sharpe_mean[i]), "oos_sharpe": _f(agg.oos_sharpe_mean[i]),
                    "consistency": _f(agg.consistency[i]), "n_windows": agg.n_windows,
                    "n_trades": int(agg.oos_trades[i]),
                    "metrics": {"combo_score": _f(agg.combo_score[i]), "oos_win_rate": _f(agg.oos_win_rate[i]),
                                "oos_is_ratio": _f(agg.oos_is_ratio[i]), "times_best_is": int(agg.times_best_is[i]),
                                "is_best": i == agg.best_combo,
                                "is_sharpes": [_f(x) for x in agg.is_sharpe[:, i]],
                                "oos_sharpes": [_f(x) for x in agg.oos_sharpe[:, i]]},
                } for i, combo in enumerate(sp.grid.combos)]
                s.execute(insert(WfoComboResultRow), rows)

    def results(self, job_id: str) -> list[dict[str, Any]]:
        with Session(self.engine) as s:
            rows = s.scalars(select(OptimizationResultRow).where(OptimizationResultRow.job_id == job_id)).all()
            return [{"symbol": r.symbol, "strategy": r.strategy, "timeframe": r.timeframe, "params": r.params,
                     "grade": r.grade, "score": r.score, "metrics": r.metrics} for r in rows]


def _f(x: Any) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _json(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return _f(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj
