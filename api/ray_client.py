"""`RaySystemClient`: the API's view of the running actor system (the only module of `api/` that imports Ray).

Actors are looked up by name in the live namespace (as `radar status` does) and their methods awaited as
ObjectRefs on the event loop (`await ref`, with a time limit) — never `ray.get`, which would block every
other request. GCS lookups (`ray.get_actor`, `list_named_actors`) are blocking calls and run in a thread;
handles are cached and dropped when the actor dies.

What the actors offer: runner status and saved state (grid legs), executor status, watchdog ranking and
alerts, feed health, the WFO job manager, kill-switch resets (the guard's, one runner's), history back-fill
(the feed's REST client into the store). Portfolio runs are Ray tasks launched here. Prices are the
newest stored closes (the feed flushes candles every few seconds). Events are polled (every `poll_s`): new
journal trades, new watchdog alerts, job manager progress changes, portfolio runs that changed state.
"""
from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import ray

from actors.live_system import EXECUTOR, FEED, GUARD, NAMESPACE, STATE_STORE, WATCHDOG, connect
from api import views
from api.errors import BadRequest, Conflict, NotFound, Unavailable
from api.models import (
    AlertMessage,
    AppliedItem,
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
    OptimizationProgressMessage,
    PortfolioLaunch,
    PortfolioProgress,
    PortfolioProgressMessage,
    Position,
    RankingEntry,
    StrategyStatus,
    SweepLaunch,
    TradeMessage,
)
from api.queries import Database, trade_from_row
from radar.errors import ConfigError, RadarError

JOB_MANAGER = "job_manager"  # actors.job_manager.ACTOR_NAME (not imported: it pulls the sweep machinery in)
RUNNER_PREFIX = "runner:"
_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}


@ray.remote(num_cpus=1, max_retries=0)
def _portfolio_task(database_url: str, config_dir: str | None, request: dict[str, Any]) -> int:
    """One portfolio backtest on the store's candles, saved; runs on any node that reaches the database."""
    from radar.backtest.stored_portfolio import run_stored_portfolio

    return run_stored_portfolio(database_url, config_dir, request["strategies"], request["symbols"],
                                timeframe=request["timeframe"], exchange=request["exchange"],
                                start=request.get("start_ms"), end=request.get("end_ms"),
                                capital=request.get("capital"), name=request.get("name") or "")


class RaySystemClient:
    name = "ray"

    def __init__(self, *, namespace: str = NAMESPACE, database_url: str | None = None,
                 config_dir: str | Path | None = None, exchange: str = "bitget", timeframe: str = "1h",
                 call_timeout_s: float = 5.0, poll_s: float = 1.0, names_ttl_s: float = 5.0,
                 share_s: float = 0.5, live_trading: bool = False) -> None:
        self.namespace = namespace
        self.database_url = database_url
        self.db = Database(database_url) if database_url else None
        self.config_dir = config_dir
        self.exchange, self.timeframe = exchange, timeframe
        self.call_timeout_s, self.poll_s, self.names_ttl_s = call_timeout_s, poll_s, names_ttl_s
        self.share_s = share_s
        self._shared_calls: dict[str, tuple[float, asyncio.Future]] = {}
        self.live_trading = live_trading
        self._handles: dict[str, Any] = {}
        self._runner_names: tuple[float, list[str]] = (-1e9, [])
        self._config: Any = None
        self._portfolio: dict[str, PortfolioProgress] = {}  # runs launched through this client
        self._portfolio_tasks: set[asyncio.Task] = set()

    @classmethod
    def connect(cls, address: str | None = "auto", **kw: Any) -> RaySystemClient:
        """Join the cluster that runs the system (`radar up`); raises RadarError if there is none."""
        connect(address, start_local=False)
        return cls(**kw)

    # -- plumbing ------------------------------------------------------------------------------------------
    async def _handle(self, name: str) -> Any:
        handle = self._handles.get(name)
        if handle is None:
            try:
                handle = await asyncio.to_thread(ray.get_actor, name, namespace=self.namespace)
            except ValueError:
                raise Unavailable(f"actor {name!r} is not running in namespace {self.namespace!r} "
                                  f"(start the system with `radar up`)") from None
            self._handles[name] = handle
        return handle

    async def _call(self, name: str, method: str, *args: Any) -> Any:
        handle = await self._handle(name)
        try:
            return await asyncio.wait_for(getattr(handle, method).remote(*args), self.call_timeout_s)
        except asyncio.TimeoutError:
            raise Unavailable(f"actor {name!r} did not answer {method}() within {self.call_timeout_s:g} s") from None
        except ray.exceptions.RayActorError:
            self._handles.pop(name, None)
            raise Unavailable(f"actor {name!r} is dead or restarting") from None
        except ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, RadarError):
                text = str(cause)
                if "no WFO job" in text or "unknown runner" in text:
                    raise NotFound(text) from None
                if "already" in text:
                    raise Conflict(text) from None
                raise BadRequest(text) from None
            raise

    async def _runners(self) -> list[str]:
        """Names of the runner actors (cached for `names_ttl_s`: listing asks the GCS)."""
        at, names = self._runner_names
        if time.monotonic() - at < self.names_ttl_s:
            return names

        def listing() -> list[str]:
            return sorted(a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
                          if a.get("namespace") == self.namespace and a["name"].startswith(RUNNER_PREFIX))

        names = await asyncio.to_thread(listing)
        self._runner_names = (time.monotonic(), names)
        return names

    async def _shared(self, key: str, make: Any) -> Any:
        """One answer per `share_s` for `key`: the sections of one /ws/live update and a burst of requests
        share a single round of actor calls instead of repeating it (status, kill switch and equity all need
        the runners' status; every valuation needs the prices)."""
        at, fut = self._shared_calls.get(key, (0.0, None))
        if fut is None or time.monotonic() - at > self.share_s or (fut.done() and fut.exception() is not None):
            fut = asyncio.ensure_future(make())
            self._shared_calls[key] = (time.monotonic(), fut)
        return await asyncio.shield(fut)

    async def _cfg(self) -> Any:
        if self._config is None:
            from radar.config import load_config

            try:
                self._config = await asyncio.to_thread(load_config, self.config_dir)
            except ConfigError as exc:
                raise Unavailable(f"configuration: {exc}") from None
        return self._config

    async def _runner_status(self, prices: dict[str, float]) -> list[dict[str, Any]]:
        names = await self._runners()
        if not names:
            raise Unavailable(f"no runner actors in namespace {self.namespace!r} (start the system with `radar up`)")
        out = await asyncio.gather(*(self._call(n, "status", prices) for n in names), return_exceptions=True)
        return [s for s in out if isinstance(s, dict)]

    # -- simulator -----------------------------------------------------------------------------------------
    async def prices(self) -> dict[str, float]:
        if self.db is None:
            return {}
        db = self.db

        async def read() -> dict[str, float]:
            cfg = await self._cfg()
            symbols = sorted({sym for s in cfg.enabled_strategies() for sym in s.symbols})
            return await asyncio.to_thread(db.latest_closes, self.exchange, self.timeframe, symbols)

        return dict(await self._shared("prices", read))

    async def strategies(self) -> list[StrategyStatus]:
        async def read() -> list[StrategyStatus]:
            statuses = await self._runner_status(await self.prices())
            cfg = await self._cfg()
            n = sum(len(s.get("runners", [])) for s in statuses)
            per_runner = float(cfg.risk.initial_capital) / n if n else 0.0
            return [views.strategy_status(s, per_runner) for s in statuses]

        return list(await self._shared("strategies", read))

    async def positions(self) -> list[Position]:
        status, prices = await asyncio.gather(self._call(EXECUTOR, "status"), self.prices())
        return [views.position(p, prices) for p in status.get("open_positions", [])]

    async def grid_state(self) -> list[GridState]:
        names, prices, cfg = await asyncio.gather(self._runners(), self.prices(), self._cfg())
        strategies = [n[len(RUNNER_PREFIX):] for n in names]
        saved = await asyncio.gather(*(self._call(STATE_STORE, "load_runner", s) for s in strategies))
        out: list[GridState] = []
        for strategy, state in zip(strategies, saved):
            symbols = (state or {}).get("runners", {})
            params = {sym: cfg.strategy_params(strategy, sym).model_dump() for sym in symbols}
            out.extend(await asyncio.to_thread(views.grid_states, strategy, state, prices, params))
        return out

    async def kill_switch(self) -> KillSwitchStatus:
        async def guard() -> dict[str, Any] | None:
            try:
                return await self._call(GUARD, "status")
            except Unavailable:  # a system booted without the portfolio guard has no global switch
                return None

        strategies, guard_status = await asyncio.gather(self.strategies(), guard())
        return views.kill_switch(strategies, guard_status)

    async def reset_kill_switch(self, runner_id: str | None) -> KillSwitchStatus:
        """`runner_id` None: the global switch (the portfolio guard's freeze or manual kill); else that one
        runner's own switch, in its runner actor (saved before the answer)."""
        if runner_id is not None:
            strategy = runner_id.partition(":")[0]
            if RUNNER_PREFIX + strategy not in await self._runners():
                raise NotFound(f"no runner {runner_id!r}: no runner actor for strategy {strategy!r}")
            await self._call(RUNNER_PREFIX + strategy, "reset_kill_switch", runner_id)
            return await self.kill_switch()
        await self._call(GUARD, "reset")
        return await self.kill_switch()

    # -- executor ------------------------------------------------------------------------------------------
    async def executor_status(self) -> ExecutorStatus:
        return views.executor_status(await self._call(EXECUTOR, "status"), self.live_trading)

    async def reset_executor_kill_switch(self) -> ExecutorStatus:
        """Live: the executor's risk manager (manual kill, global freeze, session switch); paper: no-op."""
        return views.executor_status(await self._call(EXECUTOR, "reset_kill_switch"), self.live_trading)

    # -- arena, data ---------------------------------------------------------------------------------------
    async def ranking(self, by: str) -> list[RankingEntry]:
        return [views.ranking_entry(e) for e in await self._call(WATCHDOG, "ranking", by)]

    async def feed_health(self) -> FeedHealth:
        return views.feed_health(await self._call(FEED, "health"))

    async def request_backfill(self, request: BackfillRequest) -> BackfillAccepted:
        """The feed fetches the history over its REST client into the store, in the background (the stored
        series show up under /api/data/status)."""
        st = await self._call(FEED, "backfill_history", f"bf-{uuid.uuid4().hex[:10]}", list(request.symbols),
                              request.timeframe, request.start_ms, request.end_ms)
        return BackfillAccepted(request_id=st["request_id"], status=st["status"], symbols=st["symbols"],
                                timeframe=st["timeframe"], start_ms=st["start_ms"], end_ms=st["end_ms"])

    # -- WFO -----------------------------------------------------------------------------------------------
    async def wfo_submit(self, request: SweepLaunch) -> JobProgress:
        job_id = await self._call(JOB_MANAGER, "submit", request.model_dump(exclude_none=True), "api")
        return views.job_progress(await self._call(JOB_MANAGER, "status", job_id))

    async def wfo_jobs(self) -> list[JobProgress]:
        return [views.job_progress(j) for j in await self._call(JOB_MANAGER, "jobs")]

    async def wfo_job(self, job_id: str) -> JobProgress | None:
        try:
            return views.job_progress(await self._call(JOB_MANAGER, "status", job_id))
        except NotFound:
            return None

    async def wfo_cancel(self, job_id: str) -> JobProgress:
        return views.job_progress(await self._call(JOB_MANAGER, "cancel", job_id))

    async def wfo_apply(self, job_id: str, grades: list[str], dry_run: bool) -> ApplyResult:
        """Edits strategies.yaml on this (the head) node: results from the database, backup first."""
        if self.db is None:
            raise Unavailable("applying WFO results needs the database (set DATABASE_URL)")
        from radar.config.loader import resolve_config_dir
        from radar.optimize.apply import apply_results

        results = await asyncio.to_thread(self.db.wfo_result_dicts, job_id)
        if not results:
            raise Conflict(f"WFO job {job_id!r} has no stored results (not finished?)")
        path = resolve_config_dir(self.config_dir) / "strategies.yaml"
        try:
            applied, backup = await asyncio.to_thread(apply_results, path, results, set(grades), dry_run)
        except ConfigError as exc:
            raise BadRequest(str(exc)) from None
        self._config = None  # the next read sees the new per_asset params
        return ApplyResult(job_id=job_id, dry_run=dry_run, backup=None if backup is None else str(backup),
                           applied=[AppliedItem(**a) for a in applied])

    # -- portfolio -----------------------------------------------------------------------------------------
    async def portfolio_launch(self, request: PortfolioLaunch) -> PortfolioProgress:
        """A Ray task runs the backtest on the stored candles (as `radar portfolio`) and saves it; the run is
        listed here until the API restarts, its result stays under /api/portfolio/backtests."""
        if self.database_url is None:
            raise Unavailable("portfolio runs need the database (set DATABASE_URL)")
        from radar.backtest.stored_portfolio import check_strategies

        try:
            await asyncio.to_thread(check_strategies, request.strategies)
        except RadarError as exc:
            raise BadRequest(str(exc)) from None
        run = PortfolioProgress(run_id=f"pf-{uuid.uuid4().hex[:10]}", name=request.name or ",".join(request.strategies),
                                status="running", progress=0.0, submitted_at=int(time.time() * 1000))
        self._portfolio[run.run_id] = run
        ref = _portfolio_task.remote(self.database_url, None if self.config_dir is None else str(self.config_dir),
                                     request.model_dump())
        task = asyncio.ensure_future(self._finish_portfolio(run.run_id, ref))
        self._portfolio_tasks.add(task)
        task.add_done_callback(self._portfolio_tasks.discard)
        return run

    async def _finish_portfolio(self, run_id: str, ref: Any) -> None:
        run = self._portfolio[run_id]
        try:
            row_id = await ref
            done = {"status": "done", "progress": 1.0, "backtest_id": int(row_id)}
        except ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            done = {"status": "failed", "error": str(cause) if isinstance(cause, RadarError) else repr(cause or exc)}
        except (ray.exceptions.RayError, asyncio.CancelledError) as exc:
            done = {"status": "failed", "error": f"the run was lost: {type(exc).__name__}"}
        self._portfolio[run_id] = run.model_copy(update=done | {"finished_at": int(time.time() * 1000)})

    async def portfolio_runs(self) -> list[PortfolioProgress]:
        return sorted(self._portfolio.values(), key=lambda r: (r.submitted_at, r.run_id))

    # -- logs, events --------------------------------------------------------------------------------------
    async def recent_logs(self, limit: int, min_level: str) -> list[LogLine]:
        """The watchdog's alert log (the lines it writes to the `radar.alerts` logger)."""
        floor = _LEVELS[min_level]
        lines = [views.alert_log_line(a) for a in await self._call(WATCHDOG, "alerts")]
        return [x for x in lines if _LEVELS[x.level] >= floor][-limit:]

    async def events(self) -> AsyncIterator[LiveEvent]:
        last_trade_id: int | None = None
        seen_alerts: set[tuple[Any, ...]] | None = None
        jobs: dict[str, tuple[str, int]] | None = None
        runs: dict[str, str] = {}
        while True:
            out: list[LiveEvent] = []
            try:
                rows = await self._call(STATE_STORE, "trades", 50)
                fresh = sorted((r for r in rows if last_trade_id is not None and r["id"] > last_trade_id),
                               key=lambda r: r["id"])
                out.extend(TradeMessage(data=trade_from_row(r)) for r in fresh)
                last_trade_id = max([r["id"] for r in rows] + [last_trade_id or 0])
            except Unavailable:
                pass
            try:
                alerts = await self._call(WATCHDOG, "alerts")
                keys = {(a["timestamp"], a["kind"], a["message"]) for a in alerts}
                if seen_alerts is not None:
                    out.extend(AlertMessage(data=views.alert(a)) for a in alerts
                               if (a["timestamp"], a["kind"], a["message"]) not in seen_alerts)
                seen_alerts = keys
            except Unavailable:
                pass
            try:
                current = [views.job_progress(j) for j in await self._call(JOB_MANAGER, "jobs")]
                state = {j.job_id: (j.status, j.done) for j in current}
                if jobs is not None:
                    out.extend(OptimizationProgressMessage(data=j) for j in current if jobs.get(j.job_id) != state[j.job_id])
                jobs = state
            except Unavailable:
                pass
            current_runs = dict(self._portfolio)
            out.extend(PortfolioProgressMessage(data=r) for rid, r in current_runs.items() if runs.get(rid) != r.status)
            runs = {rid: r.status for rid, r in current_runs.items()}
            for event in out:
                yield event
            await asyncio.sleep(self.poll_s)

    async def close(self) -> None:
        for task in list(self._portfolio_tasks):
            task.cancel()
        if self.db is not None:
            self.db.close()
