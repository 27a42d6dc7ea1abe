"""Walk-forward optimisation: strategies and grids (config), sweeps (job manager), results (database), apply."""
from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, status

from api.auth import WRITE
from api.client import SystemClient
from api.deps import NOT_FOUND, READ_ERRORS, WRITE_ERRORS, client, config, db, optional_db
from api.errors import NotFound, Unavailable, invalid
from api.models import (
    ApplyRequest,
    ApplyResult,
    ComboPage,
    JobProgress,
    JobState,
    ParamGrid,
    StrategyInfo,
    SweepLaunch,
    WfoResult,
    WfoWindowsModel,
)
from api.queries import Database
from api.routes.params import Offset, SymbolQ

router = APIRouter(prefix="/api/wfo", tags=["wfo"], responses=READ_ERRORS)
Client = Annotated[SystemClient, Depends(client)]
Config = Annotated[Any, Depends(config)]
JobId = Annotated[str, Path(min_length=1, max_length=64, description="WFO job id")]


@router.get("/strategies", response_model=list[StrategyInfo])
def strategies(cfg: Config) -> list[StrategyInfo]:
    """Every registered strategy with its configured parameters and the size of its WFO grid."""
    from radar.strategies.registry import strategy_names

    out = []
    for name in strategy_names():
        entry = cfg.strategies.get(name)
        params = cfg.strategy_params(name).model_dump(mode="json")
        grid = cfg.param_grids.get(name)
        out.append(StrategyInfo(name=name, enabled=bool(entry and entry.enabled),
                                symbols=list(entry.symbols) if entry else [], timeframe=str(params.get("timeframe", "")),
                                params=params, has_grid=grid is not None,
                                n_combos=grid.n_combos() if grid is not None else None))
    return out


def _grid(grid: Any) -> ParamGrid:
    return ParamGrid(strategy=grid.strategy, default={k: list(v) for k, v in grid.default.items()},
                     per_symbol={s: {k: list(v) for k, v in g.items()} for s, g in grid.per_symbol.items()},
                     wfo=WfoWindowsModel(**grid.wfo.model_dump()), n_combos=grid.n_combos())


@router.get("/param-grids", response_model=list[ParamGrid])
def param_grids(cfg: Config) -> list[ParamGrid]:
    return [_grid(g) for _, g in sorted(cfg.param_grids.items())]


@router.get("/param-grids/{strategy}", response_model=ParamGrid, responses=NOT_FOUND)
def param_grid(cfg: Config, strategy: Annotated[str, Path(min_length=1, max_length=64)]) -> ParamGrid:
    grid = cfg.param_grids.get(strategy)
    if grid is None:
        raise NotFound(f"no grid for strategy {strategy!r} in param_grids.yaml "
                       f"(grids: {', '.join(sorted(cfg.param_grids)) or 'none'})")
    return _grid(grid)


@router.post("/jobs", response_model=JobProgress, status_code=status.HTTP_202_ACCEPTED, dependencies=WRITE,
             responses=WRITE_ERRORS)
async def launch(c: Client, cfg: Config, body: SweepLaunch) -> JobProgress:
    """Queue a sweep on the job manager; returns at once (progress: GET /api/wfo/jobs/{job_id}, /ws/live)."""
    if body.strategy not in cfg.param_grids:
        raise invalid(("body", "strategy"), f"{body.strategy!r} has no grid in param_grids.yaml "
                                            f"(grids: {', '.join(sorted(cfg.param_grids))})")
    return await c.wfo_submit(body)


@router.get("/jobs", response_model=list[JobProgress])
async def jobs(c: Client, d: Annotated[Database | None, Depends(optional_db)],
               status_: Annotated[JobState | None, Query(alias="status")] = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[JobProgress]:
    """The job manager's jobs (queued and running ones included) merged with the jobs stored in the
    database (earlier runs); the job manager's view wins for a job both know. Newest first."""
    live: list[JobProgress] = []
    try:
        live = await c.wfo_jobs()
    except Unavailable:
        if d is None:
            raise
    stored = [] if d is None else await asyncio.to_thread(d.wfo_jobs, None, limit)
    merged = {j.job_id: j for j in stored} | {j.job_id: j for j in live}
    out = [j for j in merged.values() if status_ is None or j.status == status_]
    return sorted(out, key=lambda j: (j.submitted_at or 0, j.job_id), reverse=True)[:limit]


@router.get("/jobs/{job_id}", response_model=JobProgress, responses=NOT_FOUND)
async def job(c: Client, d: Annotated[Database | None, Depends(optional_db)], job_id: JobId) -> JobProgress:
    found = None
    try:
        found = await c.wfo_job(job_id)
    except Unavailable:
        if d is None:
            raise
    if found is None and d is not None:
        found = await asyncio.to_thread(d.wfo_job, job_id)
    if found is None:
        raise NotFound(f"no WFO job {job_id!r}")
    return found


@router.post("/jobs/{job_id}/cancel", response_model=JobProgress, dependencies=WRITE,
             responses={**WRITE_ERRORS, **NOT_FOUND})
async def cancel(c: Client, job_id: JobId) -> JobProgress:
    """Queued: dropped. Running: stops submitting batches and ends `cancelled` (the same id resumes later)."""
    return await c.wfo_cancel(job_id)


@router.get("/jobs/{job_id}/results", response_model=list[WfoResult], responses=NOT_FOUND)
def results(d: Annotated[Database, Depends(db)], job_id: JobId) -> list[WfoResult]:
    """Per symbol: the chosen parameters, grade and out-of-sample metrics."""
    return d.wfo_results(job_id)


@router.get("/jobs/{job_id}/combos", response_model=ComboPage, responses=NOT_FOUND)
def combos(d: Annotated[Database, Depends(db)], job_id: JobId, symbol: SymbolQ = None,
           sort: Literal["-oos_sharpe", "oos_sharpe", "-is_sharpe", "is_sharpe", "-consistency", "consistency",
                         "-n_trades", "n_trades", "combo_key"] = "-oos_sharpe",
           limit: Annotated[int, Query(ge=1, le=10_000)] = 500, offset: Offset = 0) -> ComboPage:
    """Every parameter combo of the sweep with its IS/OOS Sharpe and consistency: the heatmap's cells."""
    return d.wfo_combos(job_id, symbol=symbol, sort=sort, limit=limit, offset=offset)


@router.post("/jobs/{job_id}/apply", response_model=ApplyResult, dependencies=WRITE,
             responses={**WRITE_ERRORS, **NOT_FOUND})
async def apply(c: Client, job_id: JobId, body: Annotated[ApplyRequest | None, Body()] = None) -> ApplyResult:
    """Write the winners graded `grades` (default A, B) into strategies.yaml per_asset (backup first)."""
    body = body or ApplyRequest()
    return await c.wfo_apply(job_id, list(body.grades), body.dry_run)
