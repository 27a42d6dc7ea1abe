"""`SystemControl`: the one interface the Telegram commands, heartbeat and reports use to read and steer the
running system. The live system implements it over its actors; tests use an in-memory fake.

Methods are synchronous and may block briefly (an implementation over Ray may `ray.get`): callers on the
Telegram loop run them in a worker thread. The dict shapes are below; every key is optional to a reader
(a missing value prints as "n/a"), so an implementation may grow them without breaking the formatters.
"""
from __future__ import annotations

from typing import Protocol, TypedDict


class FeedStatus(TypedDict, total=False):
    connected: bool
    last_message_age_s: float | None
    reconnects: int
    stale_streams: int


class SystemStatus(TypedDict, total=False):
    mode: str  # paper | live
    runners_active: int
    runners_total: int
    open_positions: int
    session_pnl: float  # realised + unrealised since this process started
    equity: float
    kill_switch: bool  # global kill switch on (new entries blocked)
    feed: FeedStatus


class Position(TypedDict, total=False):
    strategy: str
    symbol: str
    side: int  # +1 long, -1 short
    entry_price: float
    quantity: float
    levels: int
    unrealized_pnl: float
    stop_loss: float | None


class TradeSummary(TypedDict, total=False):
    strategy: str
    symbol: str
    side: int
    entry_price: float
    exit_price: float
    net: float
    exit_ts: int  # ms


class PnlReport(TypedDict, total=False):
    days: int
    net: float
    trades: int
    wins: int
    by_strategy: dict[str, float]  # strategy -> net PnL over the period
    best: TradeSummary | None
    worst: TradeSummary | None
    equity: list[float]  # total equity over the period, oldest first (the weekly sparkline)


class RankingRow(TypedDict, total=False):  # the Arena (radar.live.arena.ArenaEntry as a dict + win_rate)
    rank: int
    runner_id: str
    strategy: str
    symbol: str
    return_pct: float
    max_drawdown_pct: float
    trades: int
    win_rate: float
    net_pnl: float


class WfoGrade(TypedDict, total=False):
    symbol: str
    grade: str
    score: float
    oos_sharpe: float


class WfoSummary(TypedDict, total=False):
    results: list[WfoGrade]


class WfoJob(TypedDict, total=False):  # actors.job_manager JobManager.status(job_id)
    job_id: str
    strategy: str
    symbols: list[str]
    status: str  # queued | running | done | failed | cancelled
    progress: float  # 0..1
    error: str | None
    summary: WfoSummary | None


WFO_FINAL = frozenset({"done", "failed", "cancelled"})


class SystemControl(Protocol):
    def status(self) -> SystemStatus: ...

    def positions(self) -> list[Position]: ...

    def pnl(self, days: int) -> PnlReport: ...

    def ranking(self) -> list[RankingRow]: ...

    def kill(self, reason: str) -> None:
        """Global kill switch on: new entries blocked, exits still run."""
        ...

    def resume(self) -> None:
        """Global kill switch off."""
        ...

    def launch_wfo(self, strategy: str, symbol: str) -> str:
        """Queue a walk-forward sweep; returns its job id."""
        ...

    def wfo_job(self, job_id: str) -> WfoJob | None:
        """The job's state, None when it is unknown."""
        ...
