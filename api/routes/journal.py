"""Journal: equity snapshots, position events, daily PnL (all from the database)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import READ_ERRORS, db
from api.models import DailyPnl, EventPage, Snapshot
from api.queries import Database
from api.routes.params import Limit, Offset, RunnerId, SinceMs, StrategyName, SymbolQ, UntilMs

router = APIRouter(prefix="/api/journal", tags=["journal"], responses=READ_ERRORS)
Db = Annotated[Database, Depends(db)]


@router.get("/snapshots", response_model=list[Snapshot])
def snapshots(d: Db, scope: Annotated[str, Query(min_length=1, max_length=128)] = "paper", since_ms: SinceMs = None,
              until_ms: UntilMs = None, limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> list[Snapshot]:
    """The most recent `limit` snapshots of `scope`, oldest first."""
    return d.snapshots(scope=scope, since_ms=since_ms, until_ms=until_ms, limit=limit)


@router.get("/events", response_model=EventPage)
def events(d: Db, runner_id: RunnerId = None, symbol: SymbolQ = None,
           kind: Annotated[str | None, Query(min_length=1, max_length=32, description="open, close, ...")] = None,
           since_ms: SinceMs = None, until_ms: UntilMs = None, limit: Limit = 100, offset: Offset = 0) -> EventPage:
    """Position events (opens, closes, kill switches), newest first."""
    return d.events(runner_id=runner_id, symbol=symbol, kind=kind, since_ms=since_ms, until_ms=until_ms, limit=limit,
                    offset=offset)


@router.get("/daily-pnl", response_model=list[DailyPnl])
def daily_pnl(d: Db, runner_id: RunnerId = None, strategy: StrategyName = None, since_ms: SinceMs = None,
              until_ms: UntilMs = None, days: Annotated[int, Query(ge=1, le=3650)] = 90) -> list[DailyPnl]:
    """Realised PnL per UTC day of exit (days with trades only), oldest first."""
    return d.daily_pnl(runner_id=runner_id, strategy=strategy, since_ms=since_ms, until_ms=until_ms, days=days)
