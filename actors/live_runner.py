"""StrategyRunner actor: one per enabled strategy, a thin shell over `radar.live.RunnerHost`.

Candles arrive in order from the data feed (sync actor: calls run one at a time, in submission order);
each is processed once (seq and timestamp checks in the host and runners). Every trade goes to the executor
first (the call returns once the fill is recorded, which ends the candle's decision latency), then to the
state store's journal together with the host state — on every trade and at least every `save_every_s`
otherwise. That write is not waited for: the next call waits for it before touching a candle (and sends it
again if it failed), so the journal and the saved state never fall more than one call behind. A restarted
actor (max_restarts) restores that state and catches up from the candles the feed stored while it was down;
the executor and the journal both recognise an event sent twice.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any

import ray

from radar.events import TradeEvent
from radar.live.messages import CandleAck, CandleMsg, FundingMsg, OpenInterestMsg
from radar.live.portfolio_guard import RunnerReport
from radar.live.runner_host import RunnerHost, build_runner_host
from radar.strategies.registry import create_strategy

WARMUP_CANDLES = 500


class StrategyRunner:
    def __init__(self, name: str, symbols: list[str], timeframe: str, params_by_symbol: dict[str, dict[str, Any]],
                 capital: float, n_runners: int, n_assets: int, exchange: str, state_store: Any, executor: Any,
                 costs: Any = None, save_every_s: float = 60.0, guard: Any = None, telegram: Any = None,
                 limits: dict[str, float] | None = None) -> None:
        """`guard`: the PortfolioGuard actor (system-wide margin limits and kill switch), asked before every entry;
        None leaves each runner its own margin rule (a runner alone). `limits`: risk.yaml's `max_margin_ratio`,
        `max_asset_fraction` and `kill_switch_loss_pct` (the runner's own switch), as the portfolio backtester
        sizes and stops its runners."""
        self.name, self.symbols, self.timeframe, self.exchange = name, list(symbols), timeframe, exchange
        self.state_store, self.executor, self.guard, self.telegram = state_store, executor, guard, telegram
        self.save_every_s = save_every_s
        self.refused: dict[str, int] = {}
        self.host: RunnerHost = build_runner_host(
            name, symbols, lambda s: create_strategy(name, params_by_symbol.get(s, {})), capital=capital,
            n_runners=n_runners, n_assets=n_assets, costs=costs, exchange=exchange, **(limits or {}),
            margin_guard=self._ask_guard if guard is not None else None)
        self.candles_seen = 0
        self.events_sent = 0
        self._last_save = time.monotonic()
        self._persisting: tuple[Any, str, tuple[Any, ...]] | None = None  # (ObjectRef, state store method, args)
        # Books after each candle not yet told to the guard: they ride on the next check_entry (so a grid this
        # batch closed on one symbol frees its margin for the next symbol's entry) or back with the answer.
        self._reports: dict[str, RunnerReport] = {}
        saved = ray.get(state_store.load_runner.remote(name))
        if saved is not None:
            self.host.restore(saved)
            # Trade what closed while this runner was down (stored by the feed); duplicates are ignored.
            history = {s: self._history(s, self._last_ts(s)) for s in symbols}
            self._emit(self.host.catch_up(history))
            self.restored = True
        else:
            self.host.warm_up({s: self._history(s, None, WARMUP_CANDLES) for s in symbols})
            self.restored = False

    def _last_ts(self, symbol: str) -> int | None:
        return self.host.runners[symbol].last_ts

    def _history(self, symbol: str, after_ms: int | None, limit: int | None = None) -> list:
        arr = ray.get(self.state_store.history.remote(self.exchange, symbol, self.timeframe, after_ms, limit))
        return arr.candles(symbol, self.timeframe, self.exchange)

    def last_processed(self) -> dict[str, int | None]:
        return {s: self._last_ts(s) for s in self.symbols}

    def last_seq(self) -> dict[str, int]:
        """Per symbol, the seq of the last candle message handled (a new feed must number after it)."""
        return {s: self.host.last_seq[k] for s in self.symbols if (k := f"{s}|{self.timeframe}") in self.host.last_seq}

    def _ask_guard(self, runner_id: str, margin: float) -> bool:
        runner = self.host.runners[runner_id.partition(":")[2]]
        reports, self._reports = list(self._reports.values()), {}
        reason = ray.get(self.guard.check_entry.remote(runner_id, margin, runner.used_margin, reports or None))
        if reason is not None:
            self.refused[reason] = self.refused.get(reason, 0) + 1
        return reason is None

    def on_candles(self, msgs: list[CandleMsg]) -> CandleAck:
        self._settle()
        events: list[TradeEvent] = []
        runners = self.host.runners
        for m in msgs:
            s = m.candle.symbol
            if s in runners:
                events.extend(self.host.on_candle(m))
                self.candles_seen += 1
                if self.guard is not None:
                    r = runners[s]
                    self._reports[s] = RunnerReport(r.config.runner_id, m.candle.timestamp, r.equity(m.candle.close),
                                                    r.used_margin, r.capital)
        self._emit(events)
        # The books after this batch go back with the answer: the feed sends all runners' to the guard in one
        # call per close instant. Those a check_entry already carried are not repeated.
        ack = CandleAck(len(events), time.time(), tuple(self._reports.values()))
        self._reports = {}
        if not events and time.monotonic() - self._last_save >= self.save_every_s:
            self._save()
        return ack

    def on_funding(self, msg: FundingMsg) -> None:
        self.host.on_funding(msg)

    def on_open_interest(self, msg: OpenInterestMsg) -> None:
        self.host.on_open_interest(msg)

    def _emit(self, events: list[TradeEvent]) -> None:
        if not events:
            return
        # The executor (per-runner seq high-water mark) and the journal (keyed by runner#seq) both recognise a
        # re-delivered event; this runner's state is saved only after both have it (the state store journals,
        # then saves): a crash in between makes the restored runner send the event again, never lose it.
        ack = ray.get(self.executor.on_events.remote(events))
        self.events_sent += len(events)
        self._persist("record_and_save", events, self.name, self.host.state(), ack.saved)
        if self.telegram is not None:
            self.telegram.trade_events.remote(events)  # never awaited: a message must not slow a trade

    def _persist(self, method: str, *args: Any) -> None:
        self._settle()
        self._persisting = (getattr(self.state_store, method).remote(*args), method, args)
        self._last_save = time.monotonic()

    def _settle(self) -> None:
        """Wait for the last journal/state write; a failed one is sent once more (both parts are idempotent)
        and a second failure raises: this call fails rather than trading on past an unsaved trade."""
        if self._persisting is None:
            return
        ref, method, args = self._persisting
        self._persisting = None
        try:
            ray.get(ref)
        except ray.exceptions.RayError:
            if method == "record_and_save" and args[3] is not None:
                # the executor's write failed (or the executor died): it writes its whole state again first
                ray.get(self.executor.persist_wait.remote())
                args = (*args[:3], None)
            ray.get(getattr(self.state_store, method).remote(*args))

    def _save(self) -> None:
        self._persist("save_runner", self.name, self.host.state())

    def save(self) -> None:
        """Save now and wait for it (shutdown)."""
        self._save()
        self._settle()

    def reset_kill_switch(self, runner_id: str) -> dict[str, Any]:
        """Reset one runner's own kill switch (the operator's call, from the API); saved before answering."""
        st = self.host.reset_kill_switch(runner_id)
        self.save()
        return _plain(st)

    def status(self, prices: dict[str, float] | None = None) -> dict[str, Any]:
        prices = prices or {}
        return {"name": self.name, "symbols": self.symbols, "timeframe": self.timeframe, "candles": self.candles_seen,
                "events": self.events_sent,
                "restored": self.restored, "last_processed": self.last_processed(),
                "guard_refusals": dict(self.refused),
                "open_interest": {s: x["open_interest"] for s, x in self.host.extras.items() if "open_interest" in x},
                "runners": [_plain(r) for r in self.host.status(prices)]}

    def trades(self) -> list[Any]:
        return [t for r in self.host.runners.values() for t in r.trades]

    def ping(self) -> bool:
        return True


def _plain(obj: Any) -> Any:
    return dataclasses.asdict(obj) if dataclasses.is_dataclass(obj) else obj


StrategyRunnerActor = ray.remote(num_cpus=0, max_restarts=5, max_task_retries=0)(StrategyRunner)
