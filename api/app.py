"""The FastAPI app factory: REST under /api, /health, /ws/live, and the dashboard's static files at /.

    app = create_app(RaySystemClient(...), ApiSettings.from_env())
    uvicorn.run(app, host=settings.host, port=settings.port)

Errors are JSON `{"detail": "..."}` everywhere: 4xx/503 from `api.errors` and radar's user errors, 422 with
the parameter path and the reason for bad bodies and query parameters, and a bare 500 (details only in
the server log) for bugs.
"""
from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from api.auth import require_api_key
from api.client import SystemClient
from api.errors import ApiError
from api.queries import Database
from api.routes import ROUTERS
from api.settings import ApiSettings
from api.ws import LiveHub
from radar.errors import RadarError

log = logging.getLogger("radar.api")
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

DESCRIPTION = """REST and WebSocket interface of the Scalp Radar paper/live trading system.

Read endpoints are open (the server binds 127.0.0.1 unless told otherwise); every write endpoint needs
the server's `RADAR_API_KEY` in the `X-API-Key` header. Times are epoch milliseconds (UTC), money is USDT.
`/ws/live` pushes the `update` payload (schema: `GET /api/live/update`) every few seconds, and `trade`,
`alert`, `optimization_progress` and `portfolio_progress` messages as they happen."""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("scalp-radar")
    except PackageNotFoundError:
        return "0.0.0"


def create_app(system_client: SystemClient, settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or ApiSettings()
    hub = LiveHub(system_client, settings.ws_update_interval_s, settings.ws_queue_size, settings.ws_send_timeout_s)
    database = Database(settings.database_url) if settings.database_url else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await hub.start()
        try:
            yield
        finally:
            await hub.stop()
            await system_client.close()
            if database is not None:
                database.close()

    version = _version()
    app = FastAPI(title="Scalp Radar API", version=version, description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.client = system_client
    app.state.hub = hub
    app.state.db = database
    app.state.config = None
    app.state.version = version
    app.state.started = time.monotonic()

    for router in ROUTERS:
        app.include_router(router)

    @app.websocket("/ws/live")
    async def ws_live(websocket: WebSocket) -> None:
        await hub.serve(websocket)

    _install_error_handlers(app)
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type", "X-API-Key"])
    check_write_routes(app)
    if settings.dashboard_dir.is_dir():
        from fastapi.staticfiles import StaticFiles

        # Mounted last: the API routes above take precedence over the single-page app's files.
        app.mount("/", StaticFiles(directory=settings.dashboard_dir, html=True), name="dashboard")
    return app


def api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every APIRoute, also those inside included routers (FastAPI >= 0.16x keeps an included router as one
    lazy `_IncludedRouter` entry holding the `original_router`; older versions copy its routes)."""
    out: list[APIRoute] = []
    for r in routes:
        if isinstance(r, APIRoute):
            out.append(r)
        elif hasattr(r, "original_router"):
            out.extend(api_routes(list(r.original_router.routes)))
    return out


def write_routes(app: FastAPI) -> list[APIRoute]:
    return [r for r in api_routes(list(app.routes)) if set(r.methods) - READ_METHODS]


def check_write_routes(app: FastAPI) -> None:
    """Refuse to build an app with a write route that does not check the API key."""
    for route in write_routes(app):
        calls = _dependency_calls(route.dependant)
        if require_api_key not in calls:
            raise RuntimeError(f"{sorted(route.methods)} {route.path} changes state but does not depend on "
                               f"require_api_key; add `dependencies=WRITE` to the route")


def _dependency_calls(dependant: Any) -> set[Any]:
    out = set()
    for dep in dependant.dependencies:
        out.add(dep.call)
        out |= _dependency_calls(dep)
    return out


def validation_message(errors: list[dict[str, Any]]) -> str:
    """`body.symbols.0: String should match pattern ...; query.limit: Input should be less than or equal to 1000`"""
    parts = []
    for e in errors:
        loc = ".".join(str(x) for x in e.get("loc", ()))
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    @app.exception_handler(RadarError)
    async def radar_error(_: Request, exc: RadarError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": [str(x) for x in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
                  for e in exc.errors()]
        return JSONResponse({"detail": validation_message(errors), "errors": errors}, status_code=422)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error (details are in the server log)"}, status_code=500)
