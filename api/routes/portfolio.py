"""Portfolio backtests: launch and progress (system), list, detail and compare (database)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import Field

from api.auth import WRITE
from api.client import SystemClient
from api.deps import NOT_FOUND, READ_ERRORS, WRITE_ERRORS, client, db
from api.errors import NotFound, invalid
from api.models import PortfolioCompare, PortfolioDetail, PortfolioLaunch, PortfolioProgress, PortfolioSummary
from api.queries import Database
from api.routes.params import Limit, Offset

router = APIRouter(prefix="/api/portfolio", tags=["portfolio"], responses=READ_ERRORS)
Client = Annotated[SystemClient, Depends(client)]
Db = Annotated[Database, Depends(db)]
BacktestId = Annotated[int, Path(ge=1, le=2**53, description="portfolio_backtests id")]


@router.post("/runs", response_model=PortfolioProgress, status_code=status.HTTP_202_ACCEPTED, dependencies=WRITE,
             responses=WRITE_ERRORS)
async def launch(c: Client, body: PortfolioLaunch) -> PortfolioProgress:
    return await c.portfolio_launch(body)


@router.get("/runs", response_model=list[PortfolioProgress])
async def runs(c: Client) -> list[PortfolioProgress]:
    return await c.portfolio_runs()


@router.get("/runs/{run_id}", response_model=PortfolioProgress, responses=NOT_FOUND)
async def run(c: Client, run_id: Annotated[str, Path(min_length=1, max_length=64)]) -> PortfolioProgress:
    for r in await c.portfolio_runs():
        if r.run_id == run_id:
            return r
    raise NotFound(f"no portfolio run {run_id!r}")


@router.get("/backtests", response_model=list[PortfolioSummary])
def backtests(d: Db, limit: Limit = 50, offset: Offset = 0) -> list[PortfolioSummary]:
    """Saved portfolio backtests, newest first."""
    return d.portfolios(limit=limit, offset=offset)


@router.get("/backtests/{backtest_id}", response_model=PortfolioDetail, responses=NOT_FOUND)
def backtest(d: Db, backtest_id: BacktestId) -> PortfolioDetail:
    return d.portfolio(backtest_id)


@router.get("/compare", response_model=PortfolioCompare, responses=NOT_FOUND)
def compare(d: Db, ids: Annotated[list[Annotated[int, Field(ge=1, le=2**53)]],
                                  Query(min_length=2, max_length=10, description="2 to 10 backtest ids")]
            ) -> PortfolioCompare:
    """Side by side: summaries plus every numeric metric per backtest."""
    if len(set(ids)) != len(ids):
        raise invalid(("query", "ids"), "ids must not repeat")
    return d.compare_portfolios(ids)
