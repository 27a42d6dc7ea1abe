"""What every runner shares: candle filtering, idempotency, indicator updates, capital, the
per-runner kill switch and the hard drawdown stop, events and serialisable state."""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import Any

from radar.events import EventKind, TradeEvent, TradeResult
from radar.models import Candle
from radar.runners.config import RunnerConfig
from radar.runners.indicator_bank import IndicatorBank
from radar.strategies.base import Strategy, StrategyContext

STATE_VERSION = 1


class RunnerBase(ABC):
    def __init__(self, strategy: Strategy, config: RunnerConfig) -> None:
        self.strategy = strategy
        self.config = config
        self.bank = IndicatorBank(strategy.indicator_specs(), strategy.timeframe)
        self.capital = float(config.initial_capital)
        self.peak_capital = self.capital
        self.index = -1  # index of the last processed candle of our timeframe
        self.last_ts: int | None = None
        self.prev: dict[str, float] = {}
        self.stopped = False
        self.stop_reason = ""
        self.trades: list[TradeResult] = []
        self.trade_offset = 0  # trades recorded before the last restore
        self.event_seq = 0
        self.duplicates = 0
        self.foreign = 0

    # -- candle intake ---------------------------------------------------------------------------
    def accepts(self, candle: Candle) -> bool:
        return candle.timeframe == self.strategy.timeframe and (
            not self.config.symbol or not candle.symbol or candle.symbol == self.config.symbol)

    def on_candle(self, candle: Candle, funding_rate: float | None = None, extra: dict[str, float] | None = None) -> list[TradeEvent]:
        """Process one closed candle. Other timeframes/symbols, duplicates and stale candles are ignored."""
        if not self.accepts(candle):
            self.foreign += 1
            return []
        if self.last_ts is not None and candle.timestamp <= self.last_ts:
            self.duplicates += 1
            return []
        cur = self.bank.update(candle)
        self.index += 1
        self.last_ts = candle.timestamp
        ctx = StrategyContext(candle, self.index, self.prev, cur, funding_rate, extra or {})
        events = self._step(ctx)
        self.prev = cur
        return events

    def warm_up(self, candles: Iterable[Candle]) -> int:
        """Feed history without trading (live boot): indicators and the candle index advance."""
        n = 0
        for c in candles:
            if not self.accepts(c) or (self.last_ts is not None and c.timestamp <= self.last_ts):
                continue
            self.prev = self.bank.update(c)
            self.index += 1
            self.last_ts = c.timestamp
            n += 1
        return n

    def run(self, candles: Iterable[Candle], funding: Callable[[int], float | None] | None = None,
            extras: Callable[[int], dict[str, float]] | None = None) -> list[TradeEvent]:
        """A backtest: every candle in order, then the end-of-data close. `funding(ts)` gives the rate in
        force at a candle; `extras(ts)` the live-only inputs (open interest) a strategy may read."""
        events: list[TradeEvent] = []
        last: Candle | None = None
        for c in candles:
            if self.stopped:
                break
            events.extend(self.on_candle(c, funding(c.timestamp) if funding else None,
                                         extras(c.timestamp) if extras else None))
            last = c
        if last is not None:
            events.extend(self.close_at_end(last))
        return events

    @abstractmethod
    def _step(self, ctx: StrategyContext) -> list[TradeEvent]:
        ...

    @abstractmethod
    def close_at_end(self, last: Candle) -> list[TradeEvent]:
        ...

    # -- safety after every exit (SPEC §5.1) -------------------------------------------------------
    @property
    def used_margin(self) -> float:
        """Margin locked in open positions (not part of `capital`)."""
        return 0.0

    def _after_exit(self, ts: int, events: list[TradeEvent]) -> None:
        cfg = self.config
        # Margin still locked in other open positions (per-position grids close one leg at a time) is
        # the runner's money, not a loss: count it, or a partial exit would look like a drawdown.
        booked = self.capital + self.used_margin
        if booked > self.peak_capital:
            self.peak_capital = booked
        if cfg.hard_drawdown_pct is not None and self.peak_capital > 0 and \
                (self.peak_capital - booked) / self.peak_capital > cfg.hard_drawdown_pct / 100:
            self._stop(ts, "hard_drawdown", events)
        elif booked < cfg.initial_capital * (1 - cfg.kill_switch_loss_pct / 100):
            self._stop(ts, "kill_switch", events)

    def _stop(self, ts: int, reason: str, events: list[TradeEvent]) -> None:
        self.stopped = True
        self.stop_reason = reason
        events.append(self._event(EventKind.KILL_SWITCH, ts, reason=reason))

    def reset_kill_switch(self) -> None:
        self.stopped = False
        self.stop_reason = ""

    def _event(self, kind: EventKind, ts: int, **kw: Any) -> TradeEvent:
        self.event_seq += 1
        return TradeEvent(self.config.runner_id, self.event_seq, kind, self.strategy.name, self.config.symbol, ts, **kw)

    # -- metrics views ---------------------------------------------------------------------------
    def closed_trades(self) -> list[TradeResult]:
        """Trades that count in metrics (the end-of-data close is excluded, SPEC §5.5)."""
        return [t for t in self.trades if not t.end_of_data]

    # -- persistence ------------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """Everything needed to continue bit-identically; JSON-serialisable."""
        return {
            "version": STATE_VERSION,
            "runner_id": self.config.runner_id,
            "strategy": self.strategy.name,
            "capital": self.capital,
            "peak_capital": self.peak_capital,
            "index": self.index,
            "last_ts": self.last_ts,
            "prev": {k: _enc(v) for k, v in self.prev.items()},
            "stopped": self.stopped,
            "stop_reason": self.stop_reason,
            "trade_count": self.trade_offset + len(self.trades),
            "event_seq": self.event_seq,
            "bank": self.bank.to_state(),
            "strategy_state": self._strategy_state(),
        }

    def load_state(self, state: dict[str, Any]) -> None:
        if state.get("version") != STATE_VERSION or state.get("strategy") != self.strategy.name:
            from radar.errors import RadarError

            raise RadarError(f"runner {self.config.runner_id}: saved state is for "
                             f"{state.get('strategy')!r} v{state.get('version')}, not {self.strategy.name!r} v{STATE_VERSION}")
        self.capital = state["capital"]
        self.peak_capital = state["peak_capital"]
        self.index = state["index"]
        self.last_ts = state["last_ts"]
        self.prev = {k: _dec(v) for k, v in state["prev"].items()}
        self.stopped = state["stopped"]
        self.stop_reason = state["stop_reason"]
        self.trades = []
        self.trade_offset = state["trade_count"]
        self.event_seq = state["event_seq"]
        self.bank.load_state(state["bank"])
        self._load_strategy_state(state["strategy_state"])

    @classmethod
    def from_state(cls, strategy: Strategy, config: RunnerConfig, state: dict[str, Any], **kw: Any) -> "RunnerBase":
        runner = cls(strategy, config, **kw)  # type: ignore[call-arg]
        runner.load_state(state)
        return runner

    @abstractmethod
    def _strategy_state(self) -> dict[str, Any]:
        ...

    @abstractmethod
    def _load_strategy_state(self, state: dict[str, Any]) -> None:
        ...


def _enc(v: float) -> float | str:
    # JSON has no NaN; keep the state file strict JSON.
    return "nan" if isinstance(v, float) and math.isnan(v) else v


def _dec(v: float | str) -> float:
    return math.nan if v == "nan" else v
