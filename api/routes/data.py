"""Market data: feed health and stored series; back-fill requests."""
from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, status

from api.auth import WRITE
from api.client import SystemClient
from api.deps import READ_ERRORS, WRITE_ERRORS, client, optional_db
from api.errors import ApiError
from api.models import BackfillAccepted, BackfillRequest, DataStatus
from api.queries import Database

router = APIRouter(prefix="/api/data", tags=["data"], responses=READ_ERRORS)
Client = Annotated[SystemClient, Depends(client)]


@router.get("/status", response_model=DataStatus)
async def data_status(c: Client, d: Annotated[Database | None, Depends(optional_db)]) -> DataStatus:
    """The feed's health (None with the reason when it is not running) and every stored candle series."""
    feed, feed_error = None, None
    try:
        feed = await c.feed_health()
    except ApiError as exc:
        feed_error = exc.detail
    series = [] if d is None else await asyncio.to_thread(d.series_status)
    return DataStatus(feed=feed, feed_error=feed_error, series=series)


@router.post("/backfill", response_model=BackfillAccepted, status_code=status.HTTP_202_ACCEPTED, dependencies=WRITE,
             responses=WRITE_ERRORS)
async def backfill(c: Client, body: BackfillRequest) -> BackfillAccepted:
    return await c.request_backfill(body)
