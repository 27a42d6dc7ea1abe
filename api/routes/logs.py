"""Recent log lines of the system (the Logs page)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.client import SystemClient
from api.deps import READ_ERRORS, client
from api.models import LogLevel, LogLine

router = APIRouter(prefix="/api", tags=["logs"], responses=READ_ERRORS)


@router.get("/logs", response_model=list[LogLine])
async def logs(c: Annotated[SystemClient, Depends(client)], limit: Annotated[int, Query(ge=1, le=2000)] = 200,
               level: Annotated[LogLevel, Query(description="minimum level")] = "INFO") -> list[LogLine]:
    """The newest `limit` lines at `level` or above, oldest first."""
    return await c.recent_logs(limit, level)
