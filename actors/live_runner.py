"""StrategyRunner actor: one per enabled strategy, a thin shell over `radar.live.RunnerHost`.

Candles arrive in order from the data feed (sync actor: calls run one at a time, in submission order);
each is processed once (seq and timestamp checks in the host and runners). Every trade goes to the state
store's journal and the executor at once (both idempotent), then the host state is saved — on every trade and at least every
`save_every_s` otherwise. A restarted actor (max_restarts) restores that state and catches up from the
candles the feed stored while it was down.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any

import ray

from radar.events import TradeEvent
from radar.live.messages import CandleMsg, FundingMsg, OpenInterestMsg
from radar.live.portfolio_guard import RunnerReport
from radar.live.runner_host import RunnerHost, build_runner_host
from radar.strategies.registry import create_strategy

WARMUP_CANDLES = 500


class StrategyRunner:
    def __init__(self, name: str, symbols: list[str], timeframe: str, params_by_symbol: dict[str, dict[str, Any]],
                 capital: float, n_runners: int, n_assets: int, exchange: str, state_store: Any, executor: Any,
                 costs: Any = None, save_every_s: float = 60.0, guard: Any = None, telegram: Any = None) -> None:
        """`guard`: the PortfolioGuard actor (system-wide margin limits and kill switch), asked before every entry;
        None leaves each runner its own margin rule (a runner alone)."""
        self.name, self.symbols, self.timeframe, self.exchange = name, list(symbols), timeframe, exchange
        self.state_store, self.executor, self.guard, self.telegram = state_store, executor, guard, telegram
        self.save_every_s = save_every_s
        self.refused: dict[str, int] = {}
        self.host: RunnerHost = build_runner_host(
            name, symbols, lambda s: create_strategy(name, params_by_symbol.get(s, {})), capital=capital,
            n_runners=n_runners, n_assets=n_assets, costs=costs, exchange=exchange,
            margin_guard=self._ask_guard if guard is not None else None)
        self.candles_seen = 0
        self.events_sent = 0
        self._last_save = time.monotonic()
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
        reason = ray.get(self.guard.check_entry.remote(runner_id, margin, runner.used_margin))
        if reason is not None:
            self.refused[reason] = self.refused.get(reason, 0) + 1
        return reason is None

    def on_candles(self, msgs: list[CandleMsg]) -> int:
        events: list[TradeEvent] = []
        closes: dict[str, Any] = {}
        for m in msgs:
            if m.candle.symbol in self.host.runners:
                events.extend(self.host.on_candle(m))
                self.candles_seen += 1
                closes[m.candle.symbol] = m.candle
        self._emit(events)
        if self.guard is not None and closes:
            # not awaited: the guard is a sync actor, so this lands before this runner's next check_entry
            runners = self.host.runners
            self.guard.report.remote([RunnerReport(runners[s].config.runner_id, c.timestamp, runners[s].equity(c.close),
                                                   runners[s].used_margin, runners[s].capital)
                                      for s, c in closes.items()])
        if not events and time.monotonic() - self._last_save >= self.save_every_s:
            self._save()
        return len(events)

    def on_funding(self, msg: FundingMsg) -> None:
        self.host.on_funding(msg)

    def on_open_interest(self, msg: OpenInterestMsg) -> None:
        self.host.on_open_interest(msg)

    def _emit(self, events: list[TradeEvent]) -> None:
        if not events:
            return
        # The journal (keyed by runner#seq) and the executor (per-runner seq high-water mark) both recognise a
        # re-delivered event, so they take it at the same time; this runner's state is saved only once both
        # have it: a crash in between makes the restored runner send the event again, never lose it.
        ray.get([self.state_store.record_events.remote(events), self.executor.on_events.remote(events)])
        self.events_sent += len(events)
        self._save()  # then this runner's state
        if self.telegram is not None:
            self.telegram.trade_events.remote(events)  # never awaited: a message must not slow a trade

    def _save(self) -> None:
        ray.get(self.state_store.save_runner.remote(self.name, self.host.state()))
        self._last_save = time.monotonic()

    def save(self) -> None:
        self._save()

    def status(self, prices: dict[str, float] | None = None) -> dict[str, Any]:
        prices = prices or {}
        return {"name": self.name, "symbols": self.symbols, "candles": self.candles_seen, "events": self.events_sent,
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
