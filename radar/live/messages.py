"""Messages between the live actors: small, frozen, sequence-numbered.

`seq` of a `CandleMsg` is per (symbol, timeframe) stream and strictly increasing: the feed assigns it
when a candle closes, so a runner can tell a re-delivery (seq <= last seen) from a gap (seq > last+1).
Trade events are `radar.events.TradeEvent` (seq per runner).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
class CandleAck:
    """A runner's answer to a batch of candle messages: the trade events they produced, and the wall time
    (`time.time()`) at which its decision was final — the executor had recorded those events. The feed
    measures candle latency to it, not to the moment it hears back (an asyncio actor's await adds a
    scheduling hop that is not part of the decision). Across nodes the clocks differ by the NTP offset.
    `reports` go on to the portfolio guard in one call per close instant for all runners (the feed batches
    them): six runners each calling the guard at every close cost more than the decisions themselves."""
    events: int
    decided_at: float
    reports: tuple[Any, ...] = ()  # the runner's books after these candles (PortfolioGuard RunnerReports)


@dataclass(frozen=True, slots=True)
class ExecutorAck:
    """The executor's answer to a batch of trade events: how many it filled, and `saved`, the pending write
    of its state (an object reference the runner hands on, so that the journal and the runner's own state
    are written only after it), or None when that state is durable already."""
    fills: int
    saved: Any = None


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
