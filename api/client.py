"""`SystemClient`: the one interface between the API and the running actor system.

Two implementations: `api.ray_client.RaySystemClient` (looks the actors up by name, awaits their refs on
the event loop) and `api.fake_client.FakeSystemClient` (in memory: tests, benchmark, dashboard work).

Only what lives in the actors goes through here. History that the system already writes to the
database — closed trades, position events, equity snapshots, WFO jobs and results, portfolio backtests,
orders, candle series — is read straight from the database by `api.queries` (read-only), so a read of
yesterday's trades never queues behind a runner processing a candle, and works while the system is down.

Every method may raise `api.errors.Unavailable` (503: the actor is not running, or does not offer this
yet), `NotFound` (404) or `Conflict` (409).
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from api.models import (
    ApplyResult,
    BackfillAccepted,
    BackfillRequest,
    ExecutorStatus,
    FeedHealth,
    GridState,
    JobProgress,
    KillSwitchStatus,
    LiveEvent,
    LogLine,
    PortfolioLaunch,
    PortfolioProgress,
    Position,
    RankingEntry,
    StrategyStatus,
    SweepLaunch,
)


@runtime_checkable
class SystemClient(Protocol):
    name: str  # "ray" | "fake": shown by /health

    # -- simulator (paper runners) ----------------------------------------------------------------------
    async def strategies(self) -> list[StrategyStatus]: ...

    async def positions(self) -> list[Position]: ...

    async def grid_state(self) -> list[GridState]: ...

    async def prices(self) -> dict[str, float]: ...

    async def kill_switch(self) -> KillSwitchStatus: ...

    async def reset_kill_switch(self, runner_id: str | None) -> KillSwitchStatus: ...

    # -- executor ---------------------------------------------------------------------------------------
    async def executor_status(self) -> ExecutorStatus: ...

    async def reset_executor_kill_switch(self) -> ExecutorStatus: ...

    # -- arena, data ------------------------------------------------------------------------------------
    async def ranking(self, by: str) -> list[RankingEntry]: ...

    async def feed_health(self) -> FeedHealth: ...

    async def request_backfill(self, request: BackfillRequest) -> BackfillAccepted: ...

    # -- WFO job manager --------------------------------------------------------------------------------
    async def wfo_submit(self, request: SweepLaunch) -> JobProgress: ...

    async def wfo_jobs(self) -> list[JobProgress]: ...

    async def wfo_job(self, job_id: str) -> JobProgress | None: ...

    async def wfo_cancel(self, job_id: str) -> JobProgress: ...

    async def wfo_apply(self, job_id: str, grades: list[str], dry_run: bool) -> ApplyResult: ...

    # -- portfolio backtests ----------------------------------------------------------------------------
    async def portfolio_launch(self, request: PortfolioLaunch) -> PortfolioProgress: ...

    async def portfolio_runs(self) -> list[PortfolioProgress]: ...

    # -- logs, events -----------------------------------------------------------------------------------
    async def recent_logs(self, limit: int, min_level: str) -> list[LogLine]: ...

    def events(self) -> AsyncIterator[LiveEvent]:
        """Trade / alert / progress events as they happen; the hub pushes each to /ws/live at once.
        The iterator may end or raise (system gone): the hub re-subscribes after a pause."""
        ...

    async def close(self) -> None: ...
