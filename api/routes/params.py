"""Query parameter types shared by the routers (bounded, so a wild value is a 422, never a DB error)."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query

Limit = Annotated[int, Query(ge=1, le=1000, description="page size")]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000, description="items to skip")]
SinceMs = Annotated[int | None, Query(ge=0, le=4_102_444_800_000, description="from this epoch ms (inclusive)")]
UntilMs = Annotated[int | None, Query(ge=0, le=4_102_444_800_000, description="before this epoch ms")]
RunnerId = Annotated[str | None, Query(min_length=1, max_length=128, description="strategy:symbol")]
StrategyName = Annotated[str | None, Query(min_length=1, max_length=64)]
SymbolQ = Annotated[str | None, Query(min_length=1, max_length=64, description="ccxt symbol, e.g. BTC/USDT:USDT")]
RankBy = Literal["return", "drawdown", "trades", "win_rate"]
