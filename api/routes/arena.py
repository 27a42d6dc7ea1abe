"""Arena: the live runners ranked (return, drawdown, trades or win rate)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.client import SystemClient
from api.deps import READ_ERRORS, client
from api.models import RankingEntry
from api.routes.params import RankBy

router = APIRouter(prefix="/api/arena", tags=["arena"], responses=READ_ERRORS)


@router.get("/ranking", response_model=list[RankingEntry])
async def ranking(c: Annotated[SystemClient, Depends(client)], by: RankBy = "return") -> list[RankingEntry]:
    return await c.ranking(by)
