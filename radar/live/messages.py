"""Messages between the live actors: small, frozen, sequence-numbered.

`seq` of a `CandleMsg` is per (symbol, timeframe) stream and strictly increasing: the feed assigns it
when a candle closes, so a runner can tell a re-delivery (seq <= last seen) from a gap (seq > last+1).
Trade events are `radar.events.TradeEvent` (seq per runner).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from radar.models import Candle


@dataclass(frozen=True, slots=True)
class CandleMsg:
    seq: int
    candle: Candle  # closed candle, validated
    received_ms: int  # feed's clock when the close was detected (latency measurements)

    @property
    def stream(self) -> tuple[str, str]:
        return self.candle.symbol, self.candle.timeframe


@dataclass(frozen=True, slots=True)
class FundingMsg:
    seq: int
    symbol: str
    timestamp: int
    rate: float


@dataclass(frozen=True, slots=True)
class OpenInterestMsg:
    seq: int
    symbol: str
    timestamp: int
    value: float


@dataclass(frozen=True, slots=True)
class FeedHealth:
    connected: bool
    last_message_ms: int | None
    last_candle_ms: dict[str, int] = field(default_factory=dict)  # "symbol|tf" -> open time of last closed candle
    reconnects: int = 0
    rejected: dict[str, int] = field(default_factory=dict)  # reason -> count (validation, malformed frames)
    duplicates: int = 0
    backfilled: int = 0


@dataclass(frozen=True, slots=True)
class Alert:
    kind: str  # feed_disconnected | data_stale | runner_dead | all_stopped | kill_switch | missing_sl | disk | ...
    message: str
    timestamp: int
    severity: str = "warning"  # info | warning | critical
