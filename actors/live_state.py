"""StateStore actor: the single writer of trades, position events, journal snapshots and the state files.

Order on every trade (see radar/live/state.py): the journal and executor_state.json (in either order, both
idempotent), then simulator_state.json — so after a kill -9 a restarted system may see an event twice
(journal inserts and the executor's seq check ignore it) but never loses one. It runs on the head node (custom resource "head" when present)
so a restarted actor finds its files again.
"""
from __future__ import annotations

from typing import Any

import ray

from radar.data.store import CandleStore
from radar.events import TradeEvent
from radar.live.clock import Clock, WallClock
from radar.live.journal import TradeJournal
from radar.live.state import StateFiles
from radar.models import CandleArrays

NAMESPACE = "scalp_radar"


class StateStore:
    def __init__(self, data_dir: str, database_url: str, clock: Clock | None = None) -> None:
        self.clock = clock or WallClock()
        self.files = StateFiles(data_dir, self.clock)
        self.store = CandleStore(database_url)
        self.journal = TradeJournal(self.store.engine, self.clock)
        saved = self.files.load_simulator()
        self.runners: dict[str, Any] = dict(saved.payload.get("runners", {})) if saved else {}
        self.guard: dict[str, Any] | None = saved.payload.get("guard") if saved else None
        ex = self.files.load_executor()
        self.executor: dict[str, Any] | None = ex.payload if ex else None
        self.saves = 0

    # -- state -------------------------------------------------------------------------------------
    def load_runner(self, name: str) -> dict[str, Any] | None:
        return self.runners.get(name)

    def load_executor(self) -> dict[str, Any] | None:
        return self.executor

    def load_guard(self) -> dict[str, Any] | None:
        return self.guard

    def _simulator_payload(self) -> dict[str, Any]:
        return {"runners": self.runners} | ({"guard": self.guard} if self.guard is not None else {})

    def save_runner(self, name: str, state: dict[str, Any]) -> None:
        self.runners[name] = state
        self.files.save_simulator(self._simulator_payload())
        self.saves += 1

    def save_guard(self, state: dict[str, Any]) -> None:
        self.guard = state
        self.files.save_simulator(self._simulator_payload())

    def save_executor(self, state: dict[str, Any]) -> None:
        self.executor = state
        self.files.save_executor(state)

    def save_all(self) -> None:
        self.files.save_simulator(self._simulator_payload())
        if self.executor is not None:
            self.files.save_executor(self.executor)

    # -- journal ------------------------------------------------------------------------------------
    def record_and_save(self, events: list[TradeEvent], name: str, state: dict[str, Any],
                        executor_saved: Any = None) -> tuple[int, int]:
        """A runner's trade events into the journal, then that runner's state: one call, in that order, so
        a runner can send it without waiting. `executor_saved`: the executor's pending state write for these
        events, passed as an object reference, so Ray starts this call only after that write is done."""
        recorded = self.journal.record_events(events)
        self.save_runner(name, state)
        return recorded

    def snapshot(self, scope: str, now_ms: int, equity: float, cash: float, unrealized_pnl: float,
                 margin_used: float, payload: dict[str, Any] | None = None) -> bool:
        """A journal snapshot (SPEC §9: every 5 min) at `now_ms`, at most one per interval bucket."""
        return self.journal.maybe_snapshot(scope, equity, cash, unrealized_pnl, margin_used, payload, now_ms=now_ms)

    def flush_candles(self, batch: dict[tuple[str, str], CandleArrays], exchange: str) -> int:
        return sum(self.store.upsert_candles(exchange, sym, tf, arr) for (sym, tf), arr in batch.items())

    def history(self, exchange: str, symbol: str, timeframe: str, after_ms: int | None = None,
                limit: int | None = None) -> CandleArrays:
        arr = self.store.load_candles(exchange, symbol, timeframe, start_ms=None if after_ms is None else after_ms + 1)
        return arr if limit is None or len(arr) <= limit else arr.slice(len(arr) - limit, len(arr))

    def trades(self, limit: int = 100) -> list[dict[str, Any]]:
        return self.journal.trades(limit=limit)

    def trade_count(self) -> int:
        return self.journal.trade_count()

    def ping(self) -> bool:
        return True


StateStoreActor = ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=-1)(StateStore)
