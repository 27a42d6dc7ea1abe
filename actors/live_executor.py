"""Executor actor. Paper mode: every trade event becomes a simulated fill (no order leaves the machine);
paper positions persist through the state store. Live mode: a `radar.live.live_executor.LiveExecutor`
sends the orders to the exchange.

Live mode runs the asyncio executor on its own event loop thread (`LoopThread`) while the actor stays a
plain synchronous actor: its calls run one at a time in submission order, so the runners' events reach
the exchange in the order the runners sent them, and the executor's `watch_orders` loop keeps running
between calls. It refuses to start unless RADAR_LIVE_TRADING is on and BITGET_API_KEY / BITGET_SECRET /
BITGET_PASSPHRASE are set in the actor's environment; the keys go to the ccxt client and nowhere else.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Any

import ray

from radar.events import TradeEvent
from radar.live.messages import ExecutorAck
from radar.live.paper import PaperExecutor

LIVE_CALL_TIMEOUT_S = 120.0
LIVE_ENV_VARS = ("RADAR_LIVE_TRADING", "BITGET_API_KEY", "BITGET_SECRET", "BITGET_PASSPHRASE")


def live_env() -> dict[str, str]:
    """The live-trading variables of this process's environment, for the executor actor's runtime env (a
    worker does not inherit variables set after Ray started)."""
    return {k: os.environ[k] for k in LIVE_ENV_VARS if os.environ.get(k)}


class Executor:
    def __init__(self, state_store: Any, costs: Any = None, mode: str = "paper", live: Any = None) -> None:
        """`live`: a `radar.live.live_book.LiveSetup` (live mode only)."""
        if mode not in ("paper", "live"):
            raise ValueError(f"executor mode must be 'paper' or 'live', got {mode!r}")
        self.mode = mode
        self.state_store = state_store
        self.fills = 0
        self._saving: Any = None  # paper: the last executor_state.json write, not waited for yet
        if mode == "live":
            self._start_live(live)
            return
        self.paper = PaperExecutor(costs)
        saved = ray.get(state_store.load_executor.remote())
        if saved is not None and saved.get("mode") != "live":  # a live state is not a paper book
            self.paper.restore(saved)

    def _start_live(self, setup: Any) -> None:
        from radar.config.settings import get_settings
        from radar.data.store import CandleStore
        from radar.errors import ConfigError
        from radar.exchange.bitget import make_bitget_client
        from radar.live.clock import ServerClock
        from radar.live.live_executor import LiveExecutor, selector_candidates
        from radar.live.loop_thread import LoopThread
        from radar.live.notifier import LogNotifier
        from radar.live.order_journal import OrderJournal
        from radar.live.selector import AdaptiveSelector

        if setup is None:
            raise ValueError("live executor: mode 'live' needs a LiveSetup")
        settings = get_settings()
        if not settings.live_trading:
            raise ConfigError("environment: RADAR_LIVE_TRADING is not on; live trading must be switched on "
                              "explicitly (RADAR_LIVE_TRADING=1)")
        creds = settings.exchange_credentials()  # names the missing variables, never a value
        self.clock = ServerClock(setup.speed)
        client = make_bitget_client(setup.exchange_url, api_key=creds["apiKey"], secret=creds["secret"],
                                    password=creds["password"], pro=True, timeout_ms=setup.timeout_ms)
        del creds
        if setup.exchange_url is not None:
            client.enableRateLimit = False  # a loopback emulator: the pacing only slows the rehearsal down
        engine = CandleStore(setup.database_url).engine
        selector = AdaptiveSelector.from_config(setup.risk.selector) if setup.use_selector else None
        self.live = LiveExecutor(
            client, OrderJournal(engine, setup.exchange, self.clock), setup.risk, setup.assets, self.clock,
            setup.config, notifier=LogNotifier().send, selector=selector,
            selector_source=(lambda: selector_candidates(engine, setup.runners)) if selector is not None else None,
            save_state=self._save_live, exchange_name=setup.exchange)
        saved = ray.get(self.state_store.load_executor.remote())
        if saved is not None and saved.get("mode") == "live":
            self.live.restore(saved)
        self.loop = LoopThread("live-executor").start()
        self.loop.run(self.live.start(), LIVE_CALL_TIMEOUT_S)
        # Boot reconciliation (SPEC §9): the saved positions against the exchange's positions and open orders,
        # before the runners' first event; every decision is journalled (reconcile_events) and alerted.
        report = self.loop.run(self.live.reconcile(), LIVE_CALL_TIMEOUT_S)
        self.reconciled = [] if report is None else [
            {"kind": str(getattr(o.decision.kind, "value", o.decision.kind)), "symbol": o.decision.symbol,
             "outcome": o.outcome, "detail": o.detail} for o in report.outcomes]
        self._save_live(self.loop.call(self.live.to_state))

    def _save_live(self, state: dict[str, Any]) -> None:
        ray.get(self.state_store.save_executor.remote(state))

    def on_events(self, events: list[TradeEvent]) -> ExecutorAck:
        """Fill `events`. Paper: the fills are applied and the state write is sent but not waited for; the
        runner passes `ExecutorAck.saved` to its own journal/state write, which Ray runs only once this one
        is done, so no runner state ever says "sent" for a fill the executor's file does not hold."""
        if self.mode == "live":
            n = self.loop.run(self.live.on_events(events))
            self.fills += n
            self._save_live(self.loop.call(self.live.to_state))
            return ExecutorAck(n)
        self.persist_wait()
        n = 0
        for e in events:
            if self.paper.on_event(e) is not None:
                n += 1
        if not n:
            return ExecutorAck(0)
        self.fills += n
        self._saving = self.state_store.save_executor.remote(self.paper.state())
        return ExecutorAck(n, self._saving)

    def persist_wait(self) -> None:
        """Wait for the last paper state write; a failed one is written again now (the state is whole)."""
        if self.mode == "live" or self._saving is None:
            return
        pending, self._saving = self._saving, None
        try:
            ray.get(pending)
        except ray.exceptions.RayError:
            ray.get(self.state_store.save_executor.remote(self.paper.state()))

    def status(self) -> dict[str, Any]:
        if self.mode == "live":
            st = self.loop.call(self.live.status)
            return st | {"fills": self.fills, "open_positions": self.loop.call(self.live.local_positions),
                         "kill_switch_active": bool(st["risk"]["global"]["blocked"] or st["risk"]["session"]["tripped"]),
                         "reconciled": list(self.reconciled)}
        return {"mode": self.mode, "fills": self.fills,
                "open_positions": [dataclasses.asdict(p) for p in self.paper.open_positions()]}

    def orders(self, limit: int = 200) -> list[dict[str, Any]]:
        """The newest `live_orders` rows (live mode; empty in paper mode)."""
        return self.live.journal.orders(limit=limit) if self.mode == "live" else []

    def stop(self) -> None:
        """Live: stop the background loops, close the exchange client, save the state (paper: nothing)."""
        if self.mode != "live" or getattr(self, "loop", None) is None:
            return
        state = self.loop.call(self.live.to_state)
        self.loop.run(self.live.stop(), LIVE_CALL_TIMEOUT_S)
        self.loop.stop()
        self.loop = None
        self._save_live(state)

    def kill(self, reason: str = "manual") -> None:
        """Live: the risk manager refuses every entry until `reset_kill_switch` (paper: the portfolio guard's
        manual kill is the switch; nothing to do here)."""
        if self.mode == "live":
            self.loop.call(lambda: self.live.risk.kill(reason))
            self._save_live(self.loop.call(self.live.to_state))

    def reset_kill_switch(self) -> dict[str, Any]:
        """Live: lift the risk manager's manual kill, global freeze and session switch (operator reset)."""
        if self.mode == "live":
            self.loop.call(self.live.risk.reset_kill_switch)
            self._save_live(self.loop.call(self.live.to_state))
        return self.status()

    def ping(self) -> bool:
        return True


ExecutorActor = ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=-1)(Executor)
