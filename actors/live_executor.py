"""Executor actor, paper mode: every trade event becomes a simulated fill (no order leaves the machine);
paper positions persist through the state store. The live path (exchange orders) comes later behind
the same `on_events` interface."""
from __future__ import annotations

import dataclasses
from typing import Any

import ray

from radar.events import TradeEvent
from radar.live.paper import PaperExecutor


class Executor:
    def __init__(self, state_store: Any, costs: Any = None, mode: str = "paper") -> None:
        if mode != "paper":
            raise ValueError("only paper trading exists yet: live trading lands with the executor issue")
        self.mode = mode
        self.state_store = state_store
        self.paper = PaperExecutor(costs)
        saved = ray.get(state_store.load_executor.remote())
        if saved is not None:
            self.paper.restore(saved)
        self.fills = 0

    def on_events(self, events: list[TradeEvent]) -> int:
        n = 0
        for e in events:
            if self.paper.on_event(e) is not None:
                n += 1
        if n:
            self.fills += n
            ray.get(self.state_store.save_executor.remote(self.paper.state()))
        return n

    def status(self) -> dict[str, Any]:
        return {"mode": self.mode, "fills": self.fills,
                "open_positions": [dataclasses.asdict(p) for p in self.paper.open_positions()]}

    def ping(self) -> bool:
        return True


ExecutorActor = ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=-1)(Executor)
