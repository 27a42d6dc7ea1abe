"""Errors a route or a system client raises on purpose; `api.app` turns each into JSON `{"detail": ...}`
with its status code. Anything else is a bug and becomes a 500 without internals in the body."""
from __future__ import annotations


class ApiError(Exception):
    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequest(ApiError):
    status_code = 400


class NotFound(ApiError):
    status_code = 404


class Conflict(ApiError):
    status_code = 409


class Unavailable(ApiError):
    """The running system (an actor, the database) cannot answer this now, or does not offer it yet."""

    status_code = 503


def invalid(loc: tuple[str | int, ...], msg: str) -> Exception:
    """A 422 for a check the request models cannot make (it needs the config or another field), shaped like
    pydantic's so the client sees one format: `{"detail": "body.strategy: ...", "errors": [...]}`."""
    from fastapi.exceptions import RequestValidationError

    return RequestValidationError([{"loc": loc, "msg": msg, "type": "value_error"}])
