"""One router per dashboard area; `ROUTERS` is the order they are mounted in."""
from __future__ import annotations

from api.routes import arena, data, executor, health, journal, live, logs, portfolio, simulator, wfo

ROUTERS = [health.router, simulator.router, executor.router, arena.router, data.router, wfo.router,
           portfolio.router, journal.router, logs.router, live.router]
