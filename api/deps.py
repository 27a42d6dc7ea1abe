"""Request-scoped access to what `create_app` put on `app.state`: the system client, the database, the
configuration and the /ws/live hub. Also the error bodies every router documents."""
from __future__ import annotations

from typing import Any

from fastapi import Request

from api.client import SystemClient
from api.errors import Unavailable
from api.models import ErrorResponse
from api.queries import Database
from api.ws import LiveHub


def client(request: Request) -> SystemClient:
    return request.app.state.client


def hub(request: Request) -> LiveHub:
    return request.app.state.hub


def db(request: Request) -> Database:
    database = request.app.state.db
    if database is None:
        raise Unavailable("no database configured for the API (set DATABASE_URL or RADAR_DATA_DIR)")
    return database


def optional_db(request: Request) -> Database | None:
    return request.app.state.db


def config(request: Request) -> Any:  # radar.config.models.RadarConfig
    """strategies.yaml & co., loaded once; a broken file is a 503 naming the file, key and reason."""
    state = request.app.state
    if state.config is None:
        from radar.config import load_config
        from radar.errors import ConfigError

        try:
            state.config = load_config(state.settings.config_dir)
        except ConfigError as exc:
            raise Unavailable(f"configuration: {exc}") from None
    return state.config


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": description}


READ_ERRORS: dict[int | str, dict[str, Any]] = {
    422: _error("Invalid query or path parameter (detail names the parameter and the reason)"),
    503: _error("The running system or the database cannot answer this now"),
}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **READ_ERRORS,
    400: _error("The request was understood but refused (detail says why)"),
    401: _error("Missing or invalid X-API-Key header"),
    403: _error("Write endpoints are disabled: RADAR_API_KEY is not set on the server"),
    409: _error("Conflicts with the current state (e.g. the job is already running)"),
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: _error("No such item")}
