"""The replayed price of each symbol on the emulator clock: the mark the account trades against.

It follows the same three events per candle as the public WebSocket (`replay.py`): the open
(price = open), half way (the mid-way price (open + close) / 2) and the close. At the close the
price also visits the candle's extremes first (low then high for a rising candle, high then low
for a falling one), so a limit or a stop anywhere inside the candle's range is reached, and the
final candle a client sees agrees with every fill. The finest served timeframe of a symbol drives
it. Each tick carries a share of the candle's volume (none at the open, half at mid-way, a sixth
per closing tick) for volume-limited partial fills.
"""
from __future__ import annotations

from dataclasses import dataclass

from radar.exchange.emulator.market import MarketData
from radar.exchange.emulator.replay import EVENTS_PER_CANDLE, PHASE_FINAL, PHASE_MID, event_row, events_due
from radar.models import CandleArrays, timeframe_ms


@dataclass(frozen=True)
class PriceTick:
    symbol: str
    ts: int
    price: float
    volume: float


class MarkPrices:
    """Per-symbol replay positions; `advance` returns the ticks that fell due since the last call."""

    def __init__(self, market: MarketData) -> None:
        self.market = market
        self._cursors: dict[str, int] = {}

    def _source(self, symbol: str) -> tuple[CandleArrays, str] | None:
        tfs = sorted(self.market.timeframes(symbol), key=timeframe_ms)
        for tf in tfs:
            candles = self.market.all_candles(symbol, tf)
            if candles is not None and len(candles):
                return candles, tf
        return None

    def mark(self, symbol: str, now_ms: int) -> float | None:
        """The price at `now_ms` (None before the first candle opens)."""
        source = self._source(symbol)
        if source is None:
            return None
        candles, tf = source
        due = events_due(candles, tf, now_ms)
        return event_row(candles, due - 1).close if due else None

    def skip_to(self, symbol: str, now_ms: int) -> float | None:
        """Move to `now_ms` without producing ticks (nothing is waiting for a price); returns the mark."""
        source = self._source(symbol)
        if source is None:
            return None
        candles, tf = source
        due = events_due(candles, tf, now_ms)
        self._cursors[symbol] = due
        return event_row(candles, due - 1).close if due else None

    def advance(self, symbol: str, now_ms: int) -> list[PriceTick]:
        """Ticks in time order since the last call. The first call (and a jump back in time) yields
        just the present price: the past is not replayed into the account."""
        source = self._source(symbol)
        if source is None:
            return []
        candles, tf = source
        due = events_due(candles, tf, now_ms)
        cursor = self._cursors.get(symbol)
        self._cursors[symbol] = due
        if cursor is None or due < cursor:
            return [PriceTick(symbol, now_ms, event_row(candles, due - 1).close, 0.0)] if due else []
        ticks: list[PriceTick] = []
        for k in range(cursor, due):
            ticks.extend(_event_ticks(symbol, candles, tf, k))
        return ticks


def _event_ticks(symbol: str, candles: CandleArrays, timeframe: str, k: int) -> list[PriceTick]:
    i, phase = divmod(k, EVENTS_PER_CANDLE)
    start = int(candles.timestamp[i])
    tf = timeframe_ms(timeframe)
    o, h, lo, c, v = (float(a[i]) for a in (candles.open, candles.high, candles.low, candles.close, candles.volume))
    if phase == PHASE_FINAL:
        ts = start + tf
        first, second = (lo, h) if c >= o else (h, lo)
        return [PriceTick(symbol, ts, p, v / 6.0) for p in (first, second, c)]
    if phase == PHASE_MID:
        return [PriceTick(symbol, start + tf // 2, (o + c) / 2.0, v / 2.0)]
    return [PriceTick(symbol, start, o, 0.0)]
