"""Executor: status, orders (live_orders table), kill-switch reset."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth import WRITE
from api.client import SystemClient
from api.deps import READ_ERRORS, WRITE_ERRORS, client, db
from api.models import ExecutorStatus, OrderPage
from api.queries import Database
from api.routes.params import Limit, Offset, SymbolQ

router = APIRouter(prefix="/api/executor", tags=["executor"], responses=READ_ERRORS)
Client = Annotated[SystemClient, Depends(client)]


@router.get("/status", response_model=ExecutorStatus)
async def status(c: Client) -> ExecutorStatus:
    return await c.executor_status()


@router.get("/orders", response_model=OrderPage)
def orders(d: Annotated[Database, Depends(db)],
           status: Annotated[str | None, Query(min_length=1, max_length=16, description="open, filled, ...")] = None,
           symbol: SymbolQ = None, limit: Limit = 50, offset: Offset = 0) -> OrderPage:
    """Exchange orders of live trading, newest first (paper trading places none)."""
    return d.orders(status=status, symbol=symbol, limit=limit, offset=offset)


@router.post("/kill-switch/reset", response_model=ExecutorStatus, dependencies=WRITE, responses=WRITE_ERRORS)
async def reset_kill_switch(c: Client) -> ExecutorStatus:
    return await c.reset_executor_kill_switch()
