"""Paper runners: status, positions, trades, grid state, equity, performance, kill-switch reset."""
from __future__ import annotations

import asyncio
import time
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Query

from api.auth import WRITE
from api.client import SystemClient
from api.deps import NOT_FOUND, READ_ERRORS, WRITE_ERRORS, client, db, optional_db
from api.models import (
    EquityResponse,
    EquityRunner,
    GridState,
    KillSwitchReset,
    KillSwitchStatus,
    Performance,
    Position,
    SimulatorStatus,
    TradePage,
)
from api.queries import Database
from api.routes.params import Limit, Offset, RunnerId, SinceMs, StrategyName, SymbolQ, UntilMs

router = APIRouter(prefix="/api/simulator", tags=["simulator"], responses=READ_ERRORS)
Client = Annotated[SystemClient, Depends(client)]
Db = Annotated[Database, Depends(db)]


@router.get("/status", response_model=SimulatorStatus)
async def status(c: Client) -> SimulatorStatus:
    strategies, positions = await asyncio.gather(c.strategies(), c.positions())
    runners = [r for s in strategies for r in s.runners]
    initial = sum(r.initial_capital for r in runners)
    equity = sum(r.equity for r in runners)
    return SimulatorStatus(timestamp=int(time.time() * 1000), strategies=strategies, runners=len(runners),
                           stopped_runners=sum(1 for r in runners if r.stopped), initial_capital=initial,
                           total_equity=equity, return_pct=(equity / initial - 1) * 100 if initial > 0 else 0.0,
                           open_positions=len(positions))


@router.get("/positions", response_model=list[Position])
async def positions(c: Client, symbol: SymbolQ = None, strategy: StrategyName = None) -> list[Position]:
    return [p for p in await c.positions()
            if (symbol is None or p.symbol == symbol) and (strategy is None or p.strategy == strategy)]


@router.get("/trades", response_model=TradePage)
def trades(d: Db, runner_id: RunnerId = None, strategy: StrategyName = None, symbol: SymbolQ = None,
           side: Literal["long", "short"] | None = None,
           reason: Annotated[str | None, Query(min_length=1, max_length=32, description="tp, sl, signal, ...")] = None,
           since_ms: SinceMs = None, until_ms: UntilMs = None,
           sort: Literal["-exit_ts", "exit_ts", "-net_pnl", "net_pnl", "-entry_ts", "entry_ts"] = "-exit_ts",
           limit: Limit = 50, offset: Offset = 0) -> TradePage:
    """Closed trades from the journal, newest exit first by default; `total` counts all matching trades."""
    return d.trades(runner_id=runner_id, strategy=strategy, symbol=symbol, side=side, reason=reason,
                    since_ms=since_ms, until_ms=until_ms, sort=sort, limit=limit, offset=offset)


@router.get("/grid-state", response_model=list[GridState])
async def grid_state(c: Client, symbol: SymbolQ = None, strategy: StrategyName = None) -> list[GridState]:
    return [g for g in await c.grid_state()
            if (symbol is None or g.symbol == symbol) and (strategy is None or g.strategy == strategy)]


@router.get("/equity", response_model=EquityResponse)
async def equity(request_db: Annotated[Database | None, Depends(optional_db)], c: Client,
                 scope: Annotated[str, Query(min_length=1, max_length=128,
                                             description="snapshot scope: paper, live or a runner id")] = "paper",
                 points: Annotated[int, Query(ge=1, le=10_000, description="curve points")] = 1000) -> EquityResponse:
    """Current equity per runner from the system, and the journal's equity snapshots as the curve."""
    strategies = await c.strategies()
    runners = [r for s in strategies for r in s.runners]
    curve = [] if request_db is None else await asyncio.to_thread(request_db.equity_curve, scope, points)
    initial = sum(r.initial_capital for r in runners)
    total = sum(r.equity for r in runners)
    return EquityResponse(timestamp=int(time.time() * 1000), scope=scope, initial_capital=initial, total_equity=total,
                          return_pct=(total / initial - 1) * 100 if initial > 0 else 0.0,
                          runners=[EquityRunner(runner_id=r.runner_id, equity=r.equity, capital=r.capital,
                                                used_margin=r.used_margin) for r in runners], curve=curve)


@router.get("/performance", response_model=Performance)
def performance(d: Db, runner_id: RunnerId = None, strategy: StrategyName = None, since_ms: SinceMs = None,
                until_ms: UntilMs = None) -> Performance:
    """Realised performance per runner and in total, from the journal's closed trades."""
    return d.performance(runner_id=runner_id, strategy=strategy, since_ms=since_ms, until_ms=until_ms)


@router.post("/kill-switch/reset", response_model=KillSwitchStatus, dependencies=WRITE,
             responses={**WRITE_ERRORS, **NOT_FOUND})
async def reset_kill_switch(c: Client, body: Annotated[KillSwitchReset | None, Body()] = None) -> KillSwitchStatus:
    """Operator reset: one runner (`runner_id`), or the global switch and every runner (empty body)."""
    return await c.reset_kill_switch(body.runner_id if body is not None else None)
