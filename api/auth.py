"""`X-API-Key` check for write endpoints.

Read endpoints are open (the server binds 127.0.0.1 by default); every route that changes something
depends on `require_api_key`. The comparison is constant-time. Without RADAR_API_KEY configured the
server refuses every write (403) instead of running them unauthenticated.
"""
from __future__ import annotations

import hmac

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader

from api.settings import ApiSettings

API_KEY_HEADER = "X-API-Key"
_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False,
                       description="Write endpoints need the server's RADAR_API_KEY in this header.")


def _settings(request: Request) -> ApiSettings:
    return request.app.state.settings


def require_api_key(request: Request, key: str | None = Depends(_header)) -> None:
    expected = _settings(request).api_key
    if expected is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "write endpoints are disabled: RADAR_API_KEY is not set on the server")
    if not key:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"missing {API_KEY_HEADER} header (write endpoint)",
                            headers={"WWW-Authenticate": "APIKey"})
    if not hmac.compare_digest(key.encode(), expected.get_secret_value().encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"invalid {API_KEY_HEADER}",
                            headers={"WWW-Authenticate": "APIKey"})


WRITE = [Depends(require_api_key)]
