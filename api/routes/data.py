"""Market data: feed health, stored series and their candles; back-fill requests."""
from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from api.auth import WRITE
from api.client import SystemClient
from api.deps import READ_ERRORS, WRITE_ERRORS, client, db, optional_db
from api.errors import ApiError
from api.models import BackfillAccepted, BackfillRequest, CandleSeries, DataStatus, Symbol, Timeframe
from api.queries import Database

router = APIRouter(prefix="/api/data", tags=["data"], responses=READ_ERRORS)
Client = Annotated[SystemClient, Depends(client)]
Db = Annotated[Database, Depends(db)]
# The exchange the system's feed stores and its API client prices from (RaySystemClient's default, and the
# default of BackfillRequest/PortfolioLaunch): a chart asked for without one shows what the runners trade on.
DEFAULT_EXCHANGE = "bitget"


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


@router.get("/candles", response_model=CandleSeries)
def candles(d: Db, symbol: Annotated[Symbol, Query(description="ccxt symbol, e.g. BTC/USDT:USDT")],
            timeframe: Annotated[Timeframe, Query()] = "1h",
            limit: Annotated[int, Query(ge=1, le=5000, description="newest candles to return")] = 500,
            exchange: Annotated[str, Query(pattern=r"^[a-z0-9_]{1,32}$")] = DEFAULT_EXCHANGE,
            end_ms: Annotated[int | None, Query(ge=0, le=4_102_444_800_000,
                                                description="last open time to include (epoch ms); none: newest")]
            = None) -> CandleSeries:
    """Stored OHLCV candles of one series, oldest first: the newest `limit` opening at or before `end_ms`.
    An unknown series is an empty list (not a 404): the feed may simply not have written it yet."""
    return d.candles(exchange, symbol, timeframe, limit=limit, end_ms=end_ms)


@router.post("/backfill", response_model=BackfillAccepted, status_code=status.HTTP_202_ACCEPTED, dependencies=WRITE,
             responses=WRITE_ERRORS)
async def backfill(c: Client, body: BackfillRequest) -> BackfillAccepted:
    return await c.request_backfill(body)
