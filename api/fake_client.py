"""`FakeSystemClient`: an in-memory paper system with consistent numbers, for tests, the API benchmark and
dashboard development (`radar api --fake`).

Nine runners (grid_atr, envelope_dca, grid_trend on seven USDT perpetuals) with grid legs, prices, realised
trades and a ranking that add up (equity = capital + margin + unrealized PnL, unrealized = side * (price -
avg) * qty; sizing as live: C0 / n_runners capital, min(C0 / n_assets, 25% C0) per entry step). Nothing
moves unless asked: `step()` advances prices, jobs and backtests and returns the events it produced;
`simulate_every_s` makes the event stream call it periodically (the CLI's --fake mode). `publish()` pushes
an event to every /ws/live subscriber from any thread (tests).
"""
from __future__ import annotations

import asyncio
import dataclasses
import itertools
import random
import threading
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from api import views
from api.errors import Conflict, NotFound
from api.models import (
    Alert,
    AlertMessage,
    AppliedItem,
    ApplyResult,
    BackfillAccepted,
    BackfillRequest,
    ExecutorStatus,
    FeedHealth,
    GridLeg,
    GridState,
    JobProgress,
    KillSwitchRunner,
    KillSwitchStatus,
    LiveEvent,
    LogLine,
    OptimizationProgressMessage,
    PortfolioLaunch,
    PortfolioProgress,
    PortfolioProgressMessage,
    Position,
    RankingEntry,
    RunnerStatus,
    StrategyStatus,
    SweepLaunch,
    Trade,
    TradeMessage,
)
from radar.events import TradeResult
from radar.live.arena import entry_from_trades, rank

CAPITAL = 10_000.0
LEVERAGE = 6.0
NUM_LEVELS = 3
TAKER = 0.0006
T0 = 1_717_200_000_000  # 2024-06-01 00:00 UTC: the fake's clock starts here and advances one hour per step
HOUR = 3_600_000
PRICES = {"BTC/USDT:USDT": 67_540.5, "ETH/USDT:USDT": 3_762.18, "SOL/USDT:USDT": 166.43, "XRP/USDT:USDT": 0.5182,
          "DOGE/USDT:USDT": 0.16021, "LINK/USDT:USDT": 17.384, "AVAX/USDT:USDT": 35.12}
LAYOUT = {"grid_atr": ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT", "XRP/USDT:USDT"],
          "envelope_dca": ["BTC/USDT:USDT", "DOGE/USDT:USDT", "LINK/USDT:USDT"],
          "grid_trend": ["ETH/USDT:USDT", "AVAX/USDT:USDT"]}
_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
_FINAL = ("done", "failed", "cancelled")


@dataclass
class _Runner:
    strategy: str
    symbol: str
    initial: float
    allocation: float
    capital: float
    side: int = 0
    legs: list[GridLeg] = field(default_factory=list)
    trades: list[TradeResult] = field(default_factory=list)
    stopped: bool = False
    stop_reason: str = ""
    seq: int = 0

    @property
    def runner_id(self) -> str:
        return f"{self.strategy}:{self.symbol}"

    @property
    def margin(self) -> float:
        return sum(leg.margin for leg in self.legs)

    @property
    def qty(self) -> float:
        return sum(leg.quantity for leg in self.legs)

    @property
    def avg(self) -> float | None:
        q = self.qty
        return sum(leg.entry_price * leg.quantity for leg in self.legs) / q if q > 0 else None

    def unrealized(self, price: float) -> float:
        avg = self.avg
        return 0.0 if avg is None else self.side * (price - avg) * self.qty

    def equity(self, price: float) -> float:
        return self.capital + self.margin + self.unrealized(price)

    def level_price(self, k: int, price: float) -> float:
        # levels below the mean at 2, 3, 4 x a 1.1% "ATR" (grid_atr's start 2.0, step 1.0)
        return price * (1 - 0.011 * (2 + k))


class FakeSystemClient:
    name = "fake"

    def __init__(self, seed: int = 7, simulate_every_s: float | None = None, live_trading: bool = False) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self.simulate_every_s = simulate_every_s
        self.live_trading = live_trading
        self.now_ms = T0
        self.marks = dict(PRICES)
        n_runners = sum(len(v) for v in LAYOUT.values())
        n_assets = len({s for v in LAYOUT.values() for s in v})
        allocation = min(CAPITAL / n_assets, 0.25 * CAPITAL)
        self.runners: dict[str, _Runner] = {}
        self.candles: dict[str, int] = {}
        for strategy, symbols in LAYOUT.items():
            self.candles[strategy] = 2_160  # 90 days of 1h candles
            for sym in symbols:
                r = _Runner(strategy, sym, CAPITAL / n_runners, allocation, CAPITAL / n_runners)
                self.runners[r.runner_id] = r
        self.global_frozen_until: int | None = None
        self.global_drawdown_pct = 3.2
        self.executor_kill_switch = False
        self.fills = 0
        self.jobs: dict[str, JobProgress] = {}
        self.portfolio: dict[str, PortfolioProgress] = {}
        self.backfills: list[BackfillAccepted] = []
        self.logs: deque[LogLine] = deque(maxlen=2_000)
        self._ids = itertools.count(1)
        self._subscribers: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = []
        self._seed_history()

    # -- seeded history ----------------------------------------------------------------------------------
    def _seed_history(self) -> None:
        """Realised trades per runner (so the ranking and the performance have numbers), then open legs."""
        t = T0 - 60 * 24 * HOUR
        for r in self.runners.values():
            for _ in range(self._rng.randint(4, 14)):
                t_entry = t + self._rng.randint(0, 55 * 24) * HOUR
                self._realise(r, t_entry, t_entry + self._rng.randint(3, 40) * HOUR, self._rng.choice([1, 1, 2, 3]),
                              self._rng.gauss(0.004, 0.012))
        for rid in ("grid_atr:BTC/USDT:USDT", "grid_atr:SOL/USDT:USDT", "envelope_dca:DOGE/USDT:USDT",
                    "grid_trend:ETH/USDT:USDT"):
            r = self.runners[rid]
            for k in range(2 if rid.startswith("grid_atr:BTC") else 1):
                self._fill(r, k, self.marks[r.symbol] * (1 + 0.004 * (k + 1)), T0 - (5 - k) * HOUR)
        self.runners["grid_trend:AVAX/USDT:USDT"].stopped = True
        self.runners["grid_trend:AVAX/USDT:USDT"].stop_reason = "kill_switch: runner loss 25.3% of initial capital"
        for i, (level, logger, msg) in enumerate([
            ("INFO", "radar.live", "system booted: 9 runners, 7 symbols, paper mode"),
            ("INFO", "radar.feed", "subscribed 7 streams (1 batch)"),
            ("WARNING", "radar.feed", "rate limited (429) on fetch_ohlcv SOL/USDT:USDT, retry 1/3 in 1.0 s"),
            ("INFO", "radar.feed", "back-filled 3 candles SOL/USDT:USDT 1h"),
            ("WARNING", "radar.alerts", "kill_switch: grid_trend:AVAX/USDT:USDT stopped (runner loss 25.3%)"),
        ]):
            self.logs.append(LogLine(timestamp=T0 - (10 - i) * 60_000, level=level, logger=logger, message=msg))

    def _fill(self, r: _Runner, level: int, price: float, ts: int) -> None:
        margin = r.allocation / NUM_LEVELS
        r.side = 1
        r.legs.append(GridLeg(level=level, entry_price=price, quantity=margin * LEVERAGE / price, margin=margin,
                              entry_ts=ts))
        r.capital -= margin
        r.seq += 1
        self.fills += 1

    def _realise(self, r: _Runner, entry_ts: int, exit_ts: int, legs: int, ret: float) -> Trade:
        """A past trade of `legs` grid legs that moved `ret` (its margin already back in capital)."""
        price = self.marks[r.symbol] * (1 + self._rng.uniform(-0.08, 0.08))
        qty = r.allocation / NUM_LEVELS * legs * LEVERAGE / price
        self.fills += 1  # the entry; the exit is counted by _book
        return self._book(r, entry_ts, exit_ts, price, price * (1 + ret), qty, legs)

    def _book(self, r: _Runner, entry_ts: int, exit_ts: int, entry: float, exit_price: float, qty: float,
              legs: int) -> Trade:
        """Record a closed long trade with the runner's costs (SPEC §5: taker fee both ways, exit slippage)."""
        gross = (exit_price - entry) * qty
        fees = (entry + exit_price) * qty * TAKER
        slip = exit_price * qty * 0.0005
        net = gross - fees - slip
        r.seq += 1
        result = TradeResult(r.runner_id, r.strategy, r.symbol, 1, entry_ts, exit_ts, entry, exit_price, qty, legs,
                             gross, fees, slip, 0.0, net, net / max(r.capital, 1e-9), "tp" if net > 0 else "sl",
                             seq=r.seq)
        r.trades.append(result)
        r.capital += net
        self.fills += 1
        return views.trade_from_result(result)

    # -- simulation --------------------------------------------------------------------------------------
    def step(self) -> list[LiveEvent]:
        """One simulated hour: prices move, a runner may fill or close, jobs and backtests progress."""
        events: list[LiveEvent] = []
        with self._lock:
            self.now_ms += HOUR
            for s in self.marks:
                self.marks[s] *= 1 + self._rng.gauss(0, 0.004)
            for strategy in self.candles:
                self.candles[strategy] += 1
            open_runners = [r for r in self.runners.values() if r.legs and not r.stopped]
            if open_runners and self._rng.random() < 0.35:
                r = self._rng.choice(open_runners)
                avg = r.avg or self.marks[r.symbol]
                ret = (self.marks[r.symbol] - avg) / avg
                trade = self._close(r, ret)
                events.append(TradeMessage(data=trade))
                self._log("INFO", "radar.runner", f"{r.runner_id} closed {trade.positions} legs: {trade.reason} "
                                                   f"net {trade.net_pnl:+.2f} USDT")
            flat = [r for r in self.runners.values() if not r.legs and not r.stopped]
            if flat and self._rng.random() < 0.3:
                r = self._rng.choice(flat)
                self._fill(r, 0, r.level_price(0, self.marks[r.symbol]), self.now_ms)
            for job_id, job in list(self.jobs.items()):
                if job.status == "queued" and not any(j.status == "running" for j in self.jobs.values()):
                    job = job.model_copy(update={"status": "running", "started_at": self.now_ms})
                if job.status == "running":
                    done = min(job.total, job.done + max(1, job.total // 8))
                    status = "done" if done >= job.total else "running"
                    job = job.model_copy(update={"done": done, "progress": done / job.total, "status": status,
                                                 "finished_at": self.now_ms if status == "done" else None})
                    events.append(OptimizationProgressMessage(data=job))
                self.jobs[job_id] = job
            for run_id, run in list(self.portfolio.items()):
                if run.status == "running":
                    p = min(1.0, run.progress + 0.25)
                    run = run.model_copy(update={"progress": p, "status": "done" if p >= 1.0 else "running",
                                                 "finished_at": self.now_ms if p >= 1.0 else None})
                    self.portfolio[run_id] = run
                    events.append(PortfolioProgressMessage(data=run))
        return events

    def _close(self, r: _Runner, ret: float) -> Trade:
        avg, qty, legs, opened = r.avg or 0.0, r.qty, len(r.legs), min(leg.entry_ts for leg in r.legs)
        r.capital += r.margin
        r.legs, r.side = [], 0
        return self._book(r, opened, self.now_ms, avg, avg * (1 + ret), qty, legs)

    def _log(self, level: str, logger: str, message: str) -> None:
        self.logs.append(LogLine(timestamp=self.now_ms, level=level, logger=logger, message=message))

    # -- events ------------------------------------------------------------------------------------------
    def publish(self, event: LiveEvent) -> None:
        """Deliver `event` to every current subscriber (thread-safe: tests call it from their own thread)."""
        for loop, queue in list(self._subscribers):
            loop.call_soon_threadsafe(queue.put_nowait, event)

    def publish_trade(self, runner_id: str, ret: float = 0.012) -> Trade:
        """Close `runner_id`'s position (or a fresh one-leg trade if it is flat) and publish the trade."""
        with self._lock:
            r = self._runner(runner_id)
            if not r.legs:
                self._fill(r, 0, self.marks[r.symbol], self.now_ms - 2 * HOUR)
            trade = self._close(r, ret)
        self.publish(TradeMessage(data=trade))
        return trade

    def publish_alert(self, kind: str, message: str, severity: str = "warning") -> None:
        self.publish(AlertMessage(data=Alert(kind=kind, message=message, timestamp=self.now_ms, severity=severity)))

    async def events(self) -> AsyncIterator[LiveEvent]:
        queue: asyncio.Queue = asyncio.Queue()
        entry = (asyncio.get_running_loop(), queue)
        self._subscribers.append(entry)
        try:
            while True:
                if self.simulate_every_s is None:
                    yield await queue.get()
                    continue
                try:
                    yield await asyncio.wait_for(queue.get(), self.simulate_every_s)
                except asyncio.TimeoutError:
                    for e in self.step():
                        yield e
        finally:
            self._subscribers.remove(entry)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    # -- simulator ---------------------------------------------------------------------------------------
    def _runner(self, runner_id: str) -> _Runner:
        r = self.runners.get(runner_id)
        if r is None:
            raise NotFound(f"no runner {runner_id!r} (runners: {', '.join(sorted(self.runners))})")
        return r

    async def strategies(self) -> list[StrategyStatus]:
        with self._lock:
            out = []
            for strategy, symbols in LAYOUT.items():
                rs = [self.runners[f"{strategy}:{s}"] for s in symbols]
                out.append(StrategyStatus(
                    name=strategy, symbols=list(symbols), timeframe="1h", candles=self.candles[strategy] * len(symbols),
                    events=sum(r.seq for r in rs), restored=strategy == "grid_atr",
                    runners=[RunnerStatus(
                        runner_id=r.runner_id, strategy=strategy, symbol=r.symbol, initial_capital=r.initial,
                        capital=r.capital, equity=r.equity(self.marks[r.symbol]), used_margin=r.margin,
                        return_pct=(r.equity(self.marks[r.symbol]) / r.initial - 1) * 100, stopped=r.stopped,
                        stop_reason=r.stop_reason, last_ts=self.now_ms - HOUR) for r in rs]))
            return out

    async def positions(self) -> list[Position]:
        with self._lock:
            out = []
            for r in self.runners.values():
                if not r.legs:
                    continue
                price, avg = self.marks[r.symbol], r.avg or 0.0
                out.append(Position(runner_id=r.runner_id, strategy=r.strategy, symbol=r.symbol, side="long",
                                    quantity=r.qty, avg_entry=avg,
                                    entry_fees=sum(leg.entry_price * leg.quantity * TAKER for leg in r.legs),
                                    opened_ts=min(leg.entry_ts for leg in r.legs), price=price,
                                    unrealized_pnl=r.unrealized(price), notional=avg * r.qty))
            return out

    async def grid_state(self) -> list[GridState]:
        with self._lock:
            out = []
            for r in self.runners.values():
                price, avg = self.marks[r.symbol], r.avg
                filled = {leg.level for leg in r.legs}
                anchor = r.legs[0].entry_price / (1 - 0.011 * 2) if r.legs else price
                out.append(GridState(
                    runner_id=r.runner_id, strategy=r.strategy, symbol=r.symbol,
                    side="long" if r.side > 0 else "flat", avg_entry=avg, quantity=r.qty,
                    filled_levels=sorted(filled), legs=list(r.legs), price=price,
                    unrealized_pnl=r.unrealized(price) if avg is not None else None,
                    tp_price=anchor if avg is not None else None, sl_price=avg * 0.8 if avg is not None else None,
                    pending_levels=[r.level_price(k, anchor) for k in range(NUM_LEVELS) if k not in filled]))
            return out

    async def prices(self) -> dict[str, float]:
        with self._lock:
            return dict(self.marks)

    async def kill_switch(self) -> KillSwitchStatus:
        with self._lock:
            return KillSwitchStatus(
                global_available=True, global_active=self.global_frozen_until is not None,
                frozen_until=self.global_frozen_until, drawdown_pct=self.global_drawdown_pct,
                runners=[KillSwitchRunner(runner_id=r.runner_id, stopped=r.stopped, reason=r.stop_reason)
                         for r in self.runners.values()])

    async def reset_kill_switch(self, runner_id: str | None) -> KillSwitchStatus:
        with self._lock:
            targets = [self._runner(runner_id)] if runner_id is not None else list(self.runners.values())
            for r in targets:
                r.stopped, r.stop_reason = False, ""
            if runner_id is None:
                self.global_frozen_until = None
                self.global_drawdown_pct = 0.0
            self._log("WARNING", "radar.api", f"kill switch reset: {runner_id or 'global and all runners'}")
        return await self.kill_switch()

    # -- executor ----------------------------------------------------------------------------------------
    async def executor_status(self) -> ExecutorStatus:
        with self._lock:
            open_r = [r for r in self.runners.values() if r.legs]
            return ExecutorStatus(mode="live" if self.live_trading else "paper", live_trading=self.live_trading,
                                  fills=self.fills, open_positions=len(open_r),
                                  exposure=sum((r.avg or 0.0) * r.qty for r in open_r),
                                  kill_switch_active=self.executor_kill_switch)

    async def reset_executor_kill_switch(self) -> ExecutorStatus:
        with self._lock:
            self.executor_kill_switch = False
        return await self.executor_status()

    # -- arena, data -------------------------------------------------------------------------------------
    async def ranking(self, by: str) -> list[RankingEntry]:
        """The Arena's own ranking (radar.live.arena) over the fake runners, shaped as the watchdog answers."""
        with self._lock:
            entries = [entry_from_trades(r.runner_id, r.strategy, r.symbol, r.initial, r.equity(self.marks[r.symbol]),
                                         r.trades) for r in self.runners.values()]
        return [views.ranking_entry(dataclasses.asdict(e) | {"win_rate": e.win_rate}) for e in rank(entries, by)]

    async def feed_health(self) -> FeedHealth:
        with self._lock:
            last = self.now_ms - HOUR
            return FeedHealth(connected=True, last_message_ms=self.now_ms - 1_200,
                              last_candle_ms={f"{s}|1h": last for s in self.marks}, reconnects=1,
                              rejected={"ohlc_inconsistent": 2}, duplicates=5, backfilled=3)

    async def request_backfill(self, request: BackfillRequest) -> BackfillAccepted:
        with self._lock:
            accepted = BackfillAccepted(request_id=f"bf-{next(self._ids):06d}", status="queued",
                                        symbols=list(request.symbols), timeframe=request.timeframe,
                                        start_ms=request.start_ms, end_ms=request.end_ms)
            self.backfills.append(accepted)
            return accepted

    # -- WFO ---------------------------------------------------------------------------------------------
    async def wfo_submit(self, request: SweepLaunch) -> JobProgress:
        with self._lock:
            job_id = request.job_id or f"wfo-{request.strategy}-{next(self._ids):06d}"
            old = self.jobs.get(job_id)
            if old is not None and old.status not in _FINAL:
                raise Conflict(f"job {job_id!r} is already {old.status}")
            busy = any(j.status == "running" for j in self.jobs.values())
            job = JobProgress(job_id=job_id, strategy=request.strategy, symbols=list(request.symbols), source="api",
                              status="queued" if busy else "running", done=0, total=4_608 * 6 * len(request.symbols),
                              progress=0.0, submitted_at=self.now_ms, started_at=None if busy else self.now_ms)
            self.jobs[job_id] = job
        self.publish(OptimizationProgressMessage(data=job))
        return job

    async def wfo_jobs(self) -> list[JobProgress]:
        with self._lock:
            return sorted(self.jobs.values(), key=lambda j: (j.submitted_at or 0, j.job_id))

    async def wfo_job(self, job_id: str) -> JobProgress | None:
        with self._lock:
            return self.jobs.get(job_id)

    async def wfo_cancel(self, job_id: str) -> JobProgress:
        with self._lock:
            job = self.jobs.get(job_id)
            if job is None:
                raise NotFound(f"no WFO job {job_id!r} in the job manager")
            if job.status not in _FINAL:
                job = job.model_copy(update={"status": "cancelled", "cancel_requested": True,
                                             "finished_at": self.now_ms})
                self.jobs[job_id] = job
            return job

    async def wfo_apply(self, job_id: str, grades: list[str], dry_run: bool) -> ApplyResult:
        """The fake grades a finished job's symbols A, B, C in turn and writes no file."""
        with self._lock:
            job = self.jobs.get(job_id)
            if job is None:
                raise NotFound(f"no WFO job {job_id!r}")
            if job.status != "done":
                raise Conflict(f"job {job_id!r} is {job.status}; only a finished job has results to apply")
            applied = [AppliedItem(strategy=job.strategy, symbol=s, grade=g, params={"ma_period": 10 + 2 * i})
                       for i, (s, g) in enumerate(zip(job.symbols, itertools.cycle("ABC"))) if g in grades]
            return ApplyResult(job_id=job_id, dry_run=dry_run, applied=applied, backup=None)

    # -- portfolio ---------------------------------------------------------------------------------------
    async def portfolio_launch(self, request: PortfolioLaunch) -> PortfolioProgress:
        with self._lock:
            run = PortfolioProgress(run_id=f"pf-{next(self._ids):06d}",
                                    name=request.name or ",".join(request.strategies), status="running",
                                    progress=0.0, submitted_at=self.now_ms)
            self.portfolio[run.run_id] = run
        self.publish(PortfolioProgressMessage(data=run))
        return run

    async def portfolio_runs(self) -> list[PortfolioProgress]:
        with self._lock:
            return list(self.portfolio.values())

    # -- logs --------------------------------------------------------------------------------------------
    async def recent_logs(self, limit: int, min_level: str) -> list[LogLine]:
        floor = _LEVELS[min_level]
        with self._lock:
            lines = [line for line in self.logs if _LEVELS[line.level] >= floor]
        return lines[-limit:]

    async def close(self) -> None:
        return None
