"""Configured ccxt clients for Bitget USDT-M perpetual swaps, and Bitget symbol ids.

Real use passes no `base_url`. Tests and demos pass the loopback URL of the emulator
(`radar.exchange.emulator`); every API family in `exchange.urls['api']` is then pointed at it, so the
unmodified ccxt code path (signing, parsing, error mapping) is exercised end to end. With `pro=True`
the client is a `ccxt.pro.bitget` whose WebSocket URLs point at the same server (`ws://.../v2/ws/public`).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import ccxt
import ccxt.async_support
import ccxt.pro

from radar.errors import DataError
from radar.models import timeframe_ms

EXCHANGE_ID = "bitget"
PRODUCT_TYPE = "USDT-FUTURES"
SETTLE = "USDT"

# Bitget caps the "recent" candles endpoint at 1000 rows and the "history-candles" endpoint at 200.
RECENT_CANDLES_MAX = 1000
HISTORY_CANDLES_MAX = 200
_DAY_MS = 86_400_000


def to_bitget_id(symbol: str) -> str:
    """`BTC/USDT:USDT` -> `BTCUSDT` (the id Bitget's v2 mix API uses for USDT-M swaps)."""
    base, sep, rest = symbol.partition("/")
    quote, colon, settle = rest.partition(":")
    if not sep or not base or not quote or not colon or settle != SETTLE or quote != SETTLE:
        raise DataError(f"symbol {symbol!r}: expected a ccxt USDT-M swap symbol like 'BTC/USDT:USDT'")
    return f"{base}{quote}"


def from_bitget_id(market_id: str) -> str:
    """`BTCUSDT` -> `BTC/USDT:USDT`."""
    if not market_id.endswith(SETTLE) or len(market_id) <= len(SETTLE):
        raise DataError(f"Bitget market id {market_id!r}: expected a USDT-M swap id like 'BTCUSDT'")
    base = market_id[: -len(SETTLE)]
    return f"{base}/{SETTLE}:{SETTLE}"


def make_bitget_client(
    base_url: str | None = None,
    *,
    api_key: str | None = None,
    secret: str | None = None,
    password: str | None = None,
    async_: bool = False,
    pro: bool = False,
    ws_url: str | None = None,
    ws_keepalive_ms: int | None = None,
    timeout_ms: int = 10_000,
) -> Any:
    """A ccxt bitget client configured for USDT-M swaps (rate limiter on, swap markets only).

    With `base_url` (e.g. `http://127.0.0.1:8123`) every REST API family URL is redirected there.
    `pro=True` returns an (async) `ccxt.pro.bitget`; its WebSocket root is `ws_url` if given, else
    `base_url` with ws:// (the emulator serves both on one port). `ws_keepalive_ms` sets the ping
    interval (a connection is declared dead after two missed pongs; ccxt's default is 30 s).
    """
    config: dict[str, Any] = {
        "enableRateLimit": True,
        "timeout": timeout_ms,
        "options": {
            "defaultType": "swap",
            "defaultSubType": "linear",
            # Only the swap contract lists: skips the spot symbols and margin currency calls.
            "fetchMarkets": {"types": ["swap"]},
        },
    }
    if api_key is not None:
        config.update(apiKey=api_key, secret=secret, password=password)
    secrets = [v for v in (api_key, secret, password) if v]
    if pro:
        cls: Any = ccxt.pro.bitget
    else:
        cls = ccxt.async_support.bitget if async_ else ccxt.bitget
    client = cls(config)
    if secrets:
        # ccxt's debug log prints request headers (ACCESS-KEY, ACCESS-PASSPHRASE): never let a key reach a log
        client.logger = RedactingLogger(logging.getLogger("ccxt.base.exchange"), _redactor(secrets))
    if base_url is not None:
        root = base_url.rstrip("/")
        client.urls["api"] = {family: root for family in client.urls["api"] if family != "ws"}
    if pro and (ws_url is not None or base_url is not None):
        ws_root = _ws_root(ws_url if ws_url is not None else str(base_url))
        client.urls["api"]["ws"] = {
            "public": f"{ws_root}/v2/ws/public", "private": f"{ws_root}/v2/ws/private",
            "utaPublic": f"{ws_root}/v3/ws/public", "utaPrivate": f"{ws_root}/v3/ws/private",
        }
    if pro and ws_keepalive_ms is not None:
        client.streaming = {**client.streaming, "keepAlive": int(ws_keepalive_ms)}
    return client


class RedactingLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A logger for a ccxt client: every message is formatted, then `redact`ed, before it is logged."""

    def __init__(self, logger: logging.Logger, redact: Callable[[str], str]) -> None:
        super().__init__(logger, {})
        self._redact = redact

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            text = str(msg) % args if args else str(msg)
            kwargs.setdefault("stacklevel", 2)
            self.logger.log(level, "%s", self._redact(text), **kwargs)


def _redactor(secrets: list[str]) -> Callable[[str], str]:
    def redact(text: str) -> str:
        for value in secrets:
            text = text.replace(value, "***")
        return text

    return redact


def _ws_root(url: str) -> str:
    """`http://h:p`, `ws://h:p/v2/ws/public` or `ws://h:p` -> `ws://h:p` (https -> wss)."""
    root = url.rstrip("/")
    for suffix in ("/v2/ws/public", "/v2/ws/private", "/v3/ws/public", "/v3/ws/private"):
        root = root.removesuffix(suffix)
    if root.startswith("http://"):
        root = "ws://" + root[len("http://"):]
    elif root.startswith("https://"):
        root = "wss://" + root[len("https://"):]
    return root


def ohlcv_page_limit(client: Any, timeframe: str, since_ms: int, requested: int) -> int:
    """The number of candles one `fetch_ohlcv(since=since_ms)` can really return from `client`.

    ccxt's bitget switches to the history endpoint (max 200 rows, aligned on the window's END) when
    `since` is older than its `maxRecentDaysPerTimeframe` option; asking for more would silently skip
    the window's head. For other exchanges the request is returned unchanged.
    """
    if getattr(client, "id", None) != EXCHANGE_ID:
        return requested
    options = client.options.get("fetchOHLCV", {})
    limit = min(requested, RECENT_CANDLES_MAX)
    per_tf = options.get("swap", {}).get("maxLimitPerTimeframe", {}).get(timeframe)
    if per_tf is not None:
        limit = min(limit, int(per_tf))
    recent_days = options.get("maxRecentDaysPerTimeframe", {}).get(timeframe)
    if recent_days is not None and since_ms <= client.milliseconds() - (int(recent_days) - 1) * _DAY_MS:
        limit = min(limit, HISTORY_CANDLES_MAX)
    timeframe_ms(timeframe)  # validates the timeframe name
    return max(1, limit)
