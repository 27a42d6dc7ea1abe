"""GET /health: cheap liveness (never calls the actors), for load balancers and the benchmark baseline."""
from __future__ import annotations

import time

from fastapi import APIRouter, Request

from api.models import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
async def health(request: Request) -> Health:
    state = request.app.state
    return Health(status="ok", version=state.version, time_ms=int(time.time() * 1000),
                  uptime_s=round(time.monotonic() - state.started, 3), client=state.client.name,
                  ws_clients=len(state.hub.subscribers), database=state.db is not None)
