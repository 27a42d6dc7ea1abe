"""StrategyRunner actor: one per enabled strategy, a thin shell over `radar.live.RunnerHost`.

Candles arrive in order from the data feed (sync actor: calls run one at a time, in submission order);
each is processed once (seq and timestamp checks in the host and runners). Every trade goes to the state
store's journal, then to the executor, then the host state is saved — on every trade and at least every
`save_every_s` otherwise. A restarted actor (max_restarts) restores that state and catches up from the
candles the feed stored while it was down.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any

import ray

from radar.events import TradeEvent
from radar.live.messages import CandleMsg, FundingMsg
from radar.live.runner_host import RunnerHost, build_runner_host
from radar.strategies.registry import create_strategy

WARMUP_CANDLES = 500


class StrategyRunner:
    def __init__(self, name: str, symbols: list[str], timeframe: str, params_by_symbol: dict[str, dict[str, Any]],
                 capital: float, n_runners: int, n_assets: int, exchange: str, state_store: Any, executor: Any,
                 costs: Any = None, save_every_s: float = 60.0) -> None:
        self.name, self.symbols, self.timeframe, self.exchange = name, list(symbols), timeframe, exchange
        self.state_store, self.executor = state_store, executor
        self.save_every_s = save_every_s
        self.host: RunnerHost = build_runner_host(
            name, symbols, lambda s: create_strategy(name, params_by_symbol.get(s, {})), capital=capital,
            n_runners=n_runners, n_assets=n_assets, costs=costs, exchange=exchange)
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

    def on_candles(self, msgs: list[CandleMsg]) -> int:
        events: list[TradeEvent] = []
        for m in msgs:
            if m.candle.symbol in self.host.runners:
                events.extend(self.host.on_candle(m))
                self.candles_seen += 1
        self._emit(events)
        if not events and time.monotonic() - self._last_save >= self.save_every_s:
            self._save()
        return len(events)

    def on_funding(self, msg: FundingMsg) -> None:
        self.host.on_funding(msg)

    def _emit(self, events: list[TradeEvent]) -> None:
        if not events:
            return
        ray.get(self.state_store.record_events.remote(events))  # journal first
        ray.get(self.executor.on_events.remote(events))  # executor state next
        self.events_sent += len(events)
        self._save()  # then this runner's state

    def _save(self) -> None:
        ray.get(self.state_store.save_runner.remote(self.name, self.host.state()))
        self._last_save = time.monotonic()

    def save(self) -> None:
        self._save()

    def status(self, prices: dict[str, float] | None = None) -> dict[str, Any]:
        prices = prices or {}
        return {"name": self.name, "symbols": self.symbols, "candles": self.candles_seen, "events": self.events_sent,
                "restored": self.restored, "last_processed": self.last_processed(),
                "runners": [_plain(r) for r in self.host.status(prices)]}

    def trades(self) -> list[Any]:
        return [t for r in self.host.runners.values() for t in r.trades]

    def ping(self) -> bool:
        return True


def _plain(obj: Any) -> Any:
    return dataclasses.asdict(obj) if dataclasses.is_dataclass(obj) else obj


StrategyRunnerActor = ray.remote(num_cpus=0, max_restarts=5, max_task_retries=0)(StrategyRunner)
