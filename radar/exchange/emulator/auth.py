"""The emulator account's API credentials and Bitget's request signatures (REST and WebSocket login).

REST (what ccxt's bitget `sign()` sends): headers ACCESS-KEY, ACCESS-SIGN, ACCESS-TIMESTAMP (ms),
ACCESS-PASSPHRASE with ACCESS-SIGN = base64(HMAC-SHA256(secret, timestamp + METHOD + path
[+ "?" + query] + body)), the query sorted and not percent-encoded, the body the raw JSON text.
WebSocket login: `{"op":"login","args":[{apiKey, passphrase, timestamp (s), sign}]}` with
sign = base64(HMAC-SHA256(secret, timestamp + "GET" + "/user/verify")).
A refusal names the field, never its value: the secret and the passphrase never appear in a
response, a log line or a repr.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from radar.exchange.emulator.account import TradingError

MAX_CLOCK_SKEW_MS = 30_000  # Bitget refuses requests signed more than 30 s away from its time
WS_VERIFY_PATH = "/user/verify"


@dataclass(frozen=True)
class Credentials:
    api_key: str
    secret: str = field(repr=False)
    passphrase: str = field(repr=False)

    def __post_init__(self) -> None:
        for name in ("api_key", "secret", "passphrase"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"emulator credentials: {name} must be a non-empty string")


def wall_ms() -> int:
    """Signatures are checked against the real time a client signs with, not the replay clock."""
    return int(time.time() * 1000)


def sign(secret: str, message: str) -> str:
    """base64(HMAC-SHA256(secret, message)), Bitget's signature."""
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def verify_rest(creds: Credentials | None, headers: Mapping[str, str], method: str, path: str,
                queries: tuple[str, ...], body: str, now_ms: int) -> None:
    """Raise Bitget's error for a missing/wrong key, passphrase, timestamp or signature.

    `queries` are the spellings of the query string to accept (as sent and percent-decoded): ccxt
    puts the encoded form in the URL but signs the decoded one.
    """
    key = headers.get("ACCESS-KEY", "")
    signature = headers.get("ACCESS-SIGN", "")
    timestamp = headers.get("ACCESS-TIMESTAMP", "")
    passphrase = headers.get("ACCESS-PASSPHRASE", "")
    if not key:
        raise TradingError("40001", "ACCESS_KEY cannot be empty")
    if not signature:
        raise TradingError("40002", "ACCESS_SIGN cannot be empty")
    if not timestamp:
        raise TradingError("40005", "Invalid ACCESS_TIMESTAMP")
    if not passphrase:
        raise TradingError("40011", "ACCESS_PASSPHRASE cannot be empty")
    if creds is None or not _same(key, creds.api_key):
        raise TradingError("40037", "Apikey does not exist")
    try:
        ts = int(timestamp)
    except ValueError:
        raise TradingError("40005", "Invalid ACCESS_TIMESTAMP") from None
    if abs(now_ms - ts) > MAX_CLOCK_SKEW_MS:
        raise TradingError("40008", "Request timestamp expired")
    if not _same(passphrase, creds.passphrase):
        raise TradingError("40012", "apikey/password is incorrect")
    for query in dict.fromkeys(queries):
        prehash = timestamp + method.upper() + path + (f"?{query}" if query else "") + body
        if _same(signature, sign(creds.secret, prehash)):
            return
    raise TradingError("40009", "sign signature error")


def verify_ws_login(creds: Credentials | None, arg: Mapping[str, object], now_ms: int) -> tuple[int, str] | None:
    """None if the login argument is valid, else Bitget's WebSocket (code, msg)."""
    key, passphrase, timestamp, signature = (str(arg.get(k, "")) for k in ("apiKey", "passphrase", "timestamp", "sign"))
    if creds is None or not key or not _same(key, creds.api_key):
        return 30011, "Invalid ACCESS_KEY"
    if not passphrase or not _same(passphrase, creds.passphrase):
        return 30012, "Invalid ACCESS_PASSPHRASE"
    try:
        ts_s = int(timestamp)
    except ValueError:
        return 30013, "Invalid ACCESS_TIMESTAMP"
    if abs(now_ms - ts_s * 1000) > MAX_CLOCK_SKEW_MS:
        return 30014, "Request timestamp expired"
    if not signature or not _same(signature, sign(creds.secret, timestamp + "GET" + WS_VERIFY_PATH)):
        return 30015, "Invalid sign"
    return None
