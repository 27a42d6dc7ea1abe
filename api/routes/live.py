"""GET /api/live/update: the /ws/live `update` payload on request (polling clients; documents its schema)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import READ_ERRORS, hub
from api.models import LiveUpdate
from api.ws import LiveHub

router = APIRouter(prefix="/api/live", tags=["live"], responses=READ_ERRORS)


@router.get("/update", response_model=LiveUpdate)
async def update(h: Annotated[LiveHub, Depends(hub)]) -> LiveUpdate:
    return await h.build_update()
