"""What the emulated exchange knows: candles per symbol/timeframe and the time it believes it is.

The clock decides visibility: a candle is served only once it has closed (open time + timeframe <=
now), so a history request looks like a real exchange at that moment.
"""
from __future__ import annotations

import csv
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from radar.errors import DataError
from radar.models import CandleArrays, timeframe_ms


class Clock:
    """The emulator's notion of now (thread-safe).

    Three modes: wall-clock time (the default), a fixed virtual time (`set`/`advance`), and a running
    virtual time that advances at `speed` simulated seconds per real second (`start`; `pause` freezes
    it). Replays use the running mode, so REST history and the WebSocket stream read one clock.
    """

    def __init__(self, now_ms: int | None = None, *, speed: float = 1.0) -> None:
        self._lock = threading.Lock()
        self._fixed = now_ms  # virtual time at the anchor; None = wall clock
        self._anchor: float | None = None  # monotonic() when running, None when frozen
        self._speed = _check_speed(speed)

    @classmethod
    def wall(cls) -> Clock:
        return cls(None)

    @classmethod
    def fixed(cls, now_ms: int) -> Clock:
        return cls(int(now_ms))

    @classmethod
    def replay(cls, start_ms: int, speed: float, *, running: bool = True) -> Clock:
        """A virtual clock at `start_ms` advancing `speed` simulated seconds per real second."""
        clock = cls(int(start_ms), speed=speed)
        if running:
            clock.start()
        return clock

    def _now_locked(self) -> int:
        if self._fixed is None:
            return int(time.time() * 1000)
        if self._anchor is None:
            return self._fixed
        return self._fixed + int((time.monotonic() - self._anchor) * 1000 * self._speed)

    def _rebase_locked(self) -> None:
        """Fold the elapsed running time into `_fixed` so speed/mode changes apply from now on."""
        self._fixed = self._now_locked()
        if self._anchor is not None:
            self._anchor = time.monotonic()

    def now_ms(self) -> int:
        with self._lock:
            return self._now_locked()

    @property
    def running(self) -> bool:
        with self._lock:
            return self._anchor is not None

    @property
    def speed(self) -> float:
        with self._lock:
            return self._speed

    def set(self, now_ms: int) -> None:
        """Jump to `now_ms` (a running clock keeps running from there)."""
        with self._lock:
            self._fixed = int(now_ms)
            if self._anchor is not None:
                self._anchor = time.monotonic()

    def advance(self, delta_ms: int) -> None:
        with self._lock:
            self._rebase_locked()
            assert self._fixed is not None
            self._fixed += int(delta_ms)

    def start(self, speed: float | None = None) -> None:
        """Run from the current virtual time (a wall clock freezes at the real now first)."""
        with self._lock:
            self._rebase_locked()
            if speed is not None:
                self._speed = _check_speed(speed)
            self._anchor = time.monotonic()

    def pause(self) -> None:
        with self._lock:
            self._rebase_locked()
            self._anchor = None

    def set_speed(self, speed: float) -> None:
        with self._lock:
            self._rebase_locked()
            self._speed = _check_speed(speed)

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {"now_ms": self._now_locked(), "speed": self._speed, "running": self._anchor is not None,
                    "wall": self._fixed is None}


def _check_speed(speed: float) -> float:
    speed = float(speed)
    if not math.isfinite(speed) or speed <= 0:
        raise ValueError(f"clock speed must be a positive number of simulated seconds per second, got {speed}")
    return speed


@dataclass(frozen=True)
class ContractSpec:
    """The few contract fields ccxt reads from `/api/v2/mix/market/contracts`."""

    base: str
    quote: str = "USDT"
    price_place: int = 1
    volume_place: int = 3
    min_trade_num: str = "0.001"
    max_lever: int = 125
    funding_rate: float = 0.0001
    open_interest: float = 10_000.0


class MarketData:
    """Per-symbol (Bitget id, e.g. `BTCUSDT`) candles by timeframe, plus contract specs."""

    def __init__(self) -> None:
        self._candles: dict[tuple[str, str], CandleArrays] = {}
        self._specs: dict[str, ContractSpec] = {}

    def add(self, market_id: str, timeframe: str, candles: CandleArrays, spec: ContractSpec | None = None) -> MarketData:
        timeframe_ms(timeframe)
        ts = candles.timestamp
        if len(candles) > 1 and not bool(np.all(np.diff(ts) > 0)):
            raise DataError(f"emulator market {market_id} {timeframe}: candle timestamps must be strictly increasing")
        self._candles[(market_id, timeframe)] = candles
        if market_id not in self._specs:
            quote = "USDT"
            self._specs[market_id] = spec or ContractSpec(base=market_id[: -len(quote)] or market_id, quote=quote)
        elif spec is not None:
            self._specs[market_id] = spec
        return self

    def symbols(self) -> list[str]:
        return sorted(self._specs)

    def spec(self, market_id: str) -> ContractSpec | None:
        return self._specs.get(market_id)

    def timeframes(self, market_id: str) -> list[str]:
        return [tf for (mid, tf) in self._candles if mid == market_id]

    def all_candles(self, market_id: str, timeframe: str) -> CandleArrays | None:
        return self._candles.get((market_id, timeframe))

    def closed(self, market_id: str, timeframe: str, now_ms: int) -> CandleArrays | None:
        """Candles that have closed by `now_ms` (None if the symbol/timeframe is unknown)."""
        candles = self._candles.get((market_id, timeframe))
        if candles is None:
            return None
        cutoff = now_ms - timeframe_ms(timeframe)  # open + tf <= now  <=>  open <= now - tf
        stop = int(np.searchsorted(candles.timestamp, cutoff, side="right"))
        return candles.slice(0, stop)

    def last_close(self, market_id: str, now_ms: int) -> float | None:
        best: tuple[int, float] | None = None
        for tf in self.timeframes(market_id):
            c = self.closed(market_id, tf, now_ms)
            if c is not None and len(c):
                cand = (int(c.timestamp[-1]) + timeframe_ms(tf), float(c.close[-1]))
                best = cand if best is None or cand[0] > best[0] else best
        return None if best is None else best[1]

    @classmethod
    def from_store(cls, store: Any, exchange: str, symbols: list[str], timeframe: str) -> MarketData:
        """Serve what a `CandleStore` holds (ccxt symbols like `BTC/USDT:USDT`)."""
        from radar.exchange.bitget import to_bitget_id

        market = cls()
        for symbol in symbols:
            market.add(to_bitget_id(symbol), timeframe, store.load_candles(exchange, symbol, timeframe))
        return market


def load_csv_candles(path: str | Path) -> CandleArrays:
    """Read `timestamp,open,high,low,close,volume` (ms open time) into arrays; errors name file and row."""
    path = Path(path)
    rows: list[tuple[float, ...]] = []
    try:
        with path.open(newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None or [h.strip().lower() for h in header[:6]] != ["timestamp", "open", "high", "low", "close", "volume"]:
                raise DataError(f"{path}: header must be timestamp,open,high,low,close,volume")
            for lineno, row in enumerate(reader, start=2):
                if not row:
                    continue
                try:
                    rows.append(tuple(float(x) for x in row[:6]))
                except ValueError:
                    raise DataError(f"{path}: row {lineno}: not a number in {row!r}") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None
    if not rows:
        return CandleArrays.empty()
    a = np.asarray(rows, dtype=np.float64)
    return CandleArrays(a[:, 0].astype(np.int64), a[:, 1].copy(), a[:, 2].copy(), a[:, 3].copy(), a[:, 4].copy(), a[:, 5].copy())


def synthetic_candles(n: int, start_ms: int, timeframe: str = "1h", *, seed: int = 7, start_price: float = 30_000.0) -> CandleArrays:
    """Deterministic random-walk candles (valid OHLC, positive volume), `n` consecutive open times."""
    step = timeframe_ms(timeframe)
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0, 0.004, n)
    close = start_price * np.exp(np.cumsum(returns))
    open_ = np.concatenate(([start_price], close[:-1]))
    wick = np.abs(rng.normal(0.0, 0.002, (2, n)))
    high = np.maximum(open_, close) * (1 + wick[0])
    low = np.minimum(open_, close) * (1 - wick[1])
    volume = rng.gamma(2.0, 50.0, n)
    # Round like an exchange would quote them, so string round-trips are exact.
    r = lambda x: np.round(x, 1)  # noqa: E731
    o, h, lo, c = r(open_), r(high), r(low), r(close)
    h = np.maximum(h, np.maximum(o, c))
    lo = np.minimum(lo, np.minimum(o, c))
    ts = start_ms + step * np.arange(n, dtype=np.int64)
    return CandleArrays(ts, o, h, lo, c, np.round(volume, 3))


def next_funding_ms(now_ms: int, interval_h: int = 8) -> int:
    period = interval_h * 3_600_000
    return int(math.floor(now_ms / period) + 1) * period
