"""History download through ccxt REST (SPEC §3): paginated, resumable, rate-limit aware, validated.

`fetch_history` walks forward from `max(since, last stored + timeframe)` in windows the exchange can
answer whole, validates every page and upserts it at once, so an interrupted download keeps what it
got and the next run resumes where the store ends. Transient errors (rate limits, network, 5xx) are
retried with exponential backoff; anything else, or too many retries, raises a one-line `DataError`.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar

import ccxt
import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from radar.data.validation import validate_candles
from radar.errors import DataError
from radar.exchange.bitget import ohlcv_page_limit
from radar.models import CandleArrays, timeframe_ms

T = TypeVar("T")

RETRYABLE_ERRORS: tuple[type[Exception], ...] = (
    ccxt.RateLimitExceeded,
    ccxt.DDoSProtection,
    ccxt.ExchangeNotAvailable,
    ccxt.RequestTimeout,
    ccxt.NetworkError,
)
MAX_BACKOFF_S = 30.0


@dataclass(frozen=True)
class FetchResult:
    symbol: str
    timeframe: str
    fetched: int  # candles received from the exchange (before validation)
    stored: int  # new rows written to the store
    pages: int  # successful candle requests
    retries: int  # transient failures retried
    rejected: dict[str, int] = field(default_factory=dict)  # validation rejections per reason
    resumed_from_ms: int | None = None  # set when the store already held data and the fetch continued after it
    start_ms: int | None = None  # open time of the first candle requested (None if nothing to do)
    missing_candles: int = 0  # candles absent inside the fetched pages (gaps > 1.5x timeframe)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


class _Retrier:
    def __init__(self, what: str, max_retries: int, base_delay: float, sleep: Callable[[float], None]) -> None:
        self.what, self.max_retries, self.base_delay, self.sleep = what, max_retries, base_delay, sleep
        self.retries = 0
        self.stored_so_far = 0

    def call(self, fn: Callable[..., T], *args: Any, at_ms: int | None = None) -> T:
        attempt = 0
        while True:
            try:
                return fn(*args)
            except RETRYABLE_ERRORS as exc:
                if attempt >= self.max_retries:
                    where = f" at {iso(at_ms)}" if at_ms is not None else ""
                    raise DataError(
                        f"{self.what}: giving up{where} after {self.max_retries} retries "
                        f"({type(exc).__name__}: {_short(exc)}); {self.stored_so_far} new candles were stored, "
                        "run the fetch again to resume"
                    ) from exc
                self.retries += 1
                self.sleep(min(self.base_delay * 2**attempt, MAX_BACKOFF_S))
                attempt += 1
            except ccxt.BadSymbol as exc:
                raise DataError(f"{self.what}: symbol not listed by the exchange ({_short(exc)})") from exc
            except ccxt.BaseError as exc:
                raise DataError(f"{self.what}: exchange refused the request ({type(exc).__name__}: {_short(exc)})") from exc


def _short(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def rows_to_arrays(rows: list[list[Any]]) -> CandleArrays:
    if not rows:
        return CandleArrays.empty()
    ts = np.fromiter((int(r[0]) for r in rows), dtype=np.int64, count=len(rows))
    vals = np.array([[np.nan if v is None else float(v) for v in r[1:6]] for r in rows], dtype=np.float64)
    return CandleArrays(ts, *(vals[:, i].copy() for i in range(5)))


def _server_now_ms(client: Any, retrier: _Retrier) -> int:
    """The exchange's clock (an emulator may run in the past), else the local clock."""
    if client.has.get("fetchTime"):
        server = retrier.call(client.fetch_time)
        if server:
            return int(server)
    return int(client.milliseconds())


def fetch_history(
    store: Any,
    exchange_client: Any,
    symbol: str,
    timeframe: str,
    since_ms: int,
    until_ms: int | None = None,
    *,
    page_limit: int = 1000,
    progress: bool = True,
    max_retries: int = 5,
    base_delay: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> FetchResult:
    """Download closed `timeframe` candles of `symbol` with open time in [since_ms, until_ms) into `store`.

    Resumes after the newest stored candle. `exchange_client` is a sync ccxt client (see
    `radar.exchange.bitget.make_bitget_client`); rows are stored under `exchange_client.id`.
    """
    tf = timeframe_ms(timeframe)
    if page_limit < 1:
        raise DataError(f"page_limit must be >= 1, got {page_limit}")
    if until_ms is not None and until_ms <= since_ms:
        raise DataError(f"fetch {symbol} {timeframe}: until ({iso(until_ms)}) must be after since ({iso(since_ms)})")
    exchange = str(exchange_client.id)
    what = f"fetch {exchange} {symbol} {timeframe}"
    retrier = _Retrier(what, max_retries, base_delay, sleep)

    retrier.call(exchange_client.load_markets)
    if symbol not in exchange_client.markets:
        raise DataError(f"{what}: symbol not listed by the exchange")
    now = _server_now_ms(exchange_client, retrier)

    cursor = -(-since_ms // tf) * tf  # first aligned open time >= since
    resumed: int | None = None
    last = store.last_timestamp(exchange, symbol, timeframe)
    if last is not None and last + tf > cursor:
        cursor = last + tf
        resumed = cursor
    # Only closed candles: the newest open time we may store is now - tf.
    stop = now - tf + 1 if until_ms is None else min(until_ms, now - tf + 1)

    fetched = stored = pages = missing = 0
    rejected: dict[str, int] = {}
    first_requested = cursor if cursor < stop else None
    total = max(0, -(-(stop - cursor) // tf))
    with Progress(
        TextColumn(f"[bold]{symbol} {timeframe}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=Console(file=sys.stderr), disable=not progress or not sys.stderr.isatty(), transient=False,
    ) as bar:
        task = bar.add_task("fetch", total=total)
        while cursor < stop:
            limit = ohlcv_page_limit(exchange_client, timeframe, cursor, page_limit)
            # Ask for a window holding exactly `limit` open times: Bitget fills windows from their END,
            # so a wider window would silently lose its head.
            window_end = min(cursor + limit * tf - 1, stop - 1)
            rows = retrier.call(
                exchange_client.fetch_ohlcv, symbol, timeframe, cursor, limit, {"until": window_end}, at_ms=cursor,
            )
            pages += 1
            rows = [r for r in rows if r and cursor <= int(r[0]) <= window_end]
            if len(rows) >= limit and int(rows[0][0]) > cursor:
                raise DataError(f"{what}: the exchange returned only the newest {len(rows)} candles of the window "
                                f"starting {iso(cursor)}; use a smaller page limit")
            fetched += len(rows)
            valid, report = validate_candles(rows_to_arrays(rows), timeframe)
            for reason, n in report.rejected.items():
                rejected[reason] = rejected.get(reason, 0) + n
            missing += report.missing_candles
            if len(valid):
                stored += store.upsert_candles(exchange, symbol, timeframe, valid)
                retrier.stored_so_far = stored
            # The window was answered whole; an empty one is a hole in the exchange's history (e.g. before
            # listing), so step over it rather than stop.
            cursor = window_end + 1
            cursor = -(-cursor // tf) * tf
            bar.update(task, completed=min(total, total - max(0, -(-(stop - cursor) // tf))))
    return FetchResult(symbol, timeframe, fetched, stored, pages, retrier.retries, rejected, resumed, first_requested, missing)
