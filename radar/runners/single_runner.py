"""SingleStrategyRunner: one position at a time, entries at the signal candle's close, TP/SL
checked on later candles with the OHLC heuristic of SPEC §5, rule exits at the close."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from radar.events import EventKind, TradeEvent, TradeResult
from radar.indicators.regime import Regime
from radar.models import Candle
from radar.positions.exits import resolve_exit
from radar.positions.single import PositionManager, SingleClose
from radar.runners.base import RunnerBase
from radar.runners.config import RunnerConfig
from radar.runners.grid_runner import is_funding_candle
from radar.strategies.base import SingleStrategy, StrategyContext

_TRENDING = (Regime.TRENDING_UP, Regime.TRENDING_DOWN)


class SingleStrategyRunner(RunnerBase):
    def __init__(self, strategy: SingleStrategy, config: RunnerConfig,
                 margin_guard: Callable[[str, float], bool] | None = None) -> None:
        super().__init__(strategy, config)
        self.strategy: SingleStrategy = strategy
        self.book = PositionManager(config.costs)
        self.last_exit_index = -(10**9)
        self.memory: dict[str, float] = {}
        self.regime: str = ""
        # Portfolio/live: a shared guard may refuse margin across runners (SPEC §8 global margin guard).
        self.margin_guard = margin_guard

    @property
    def used_margin(self) -> float:
        return self.book.position.margin if self.book.position else 0.0

    def equity(self, price: float) -> float:
        return self.capital + self.used_margin + self.book.unrealized(price)

    def _step(self, ctx: StrategyContext) -> list[TradeEvent]:
        s, c = self.strategy, ctx.candle
        events: list[TradeEvent] = []
        regime_change = self._track_regime(ctx)
        if not s.is_ready(ctx):
            return events
        pos = self.book.position
        if pos is not None:
            reason, price = resolve_exit(pos.side, c.open, c.high, c.low, c.close, pos.tp_price, pos.sl_price)
            if reason is None:
                reason = s.exit_signal(ctx, pos.side, pos.entry_price, self.memory)
                if reason is None and regime_change:
                    reason = "regime_change"
                price = c.close
            if reason is not None:
                self._close(self.book.close(price, reason), reason, c.timestamp, events)
                return events  # no new entry on an exit candle
            if is_funding_candle(c.timestamp):
                rate = ctx.funding_rate if ctx.funding_rate is not None else self.config.default_funding_rate
                if rate:
                    self.capital -= self.book.charge_funding(rate)
            tp, sl, mem = s.update_stops(ctx, pos.side, pos.entry_price, pos.tp_price, pos.sl_price, self.memory)
            self.book.set_stops(tp, sl)
            self.memory = dict(mem)
            return events
        if self.stopped or self.capital <= 0:
            return events
        if ctx.index - self.last_exit_index < int(getattr(s.params, "cooldown_candles", 0)):
            return events
        sig = s.evaluate(ctx)
        if sig is None or sig.side not in _allowed_sides(s):
            return events
        cfg = self.config
        margin = self.capital if cfg.sizing == "single" else cfg.fixed_allocation
        if margin <= 0 or self.capital < margin:
            return events
        if self.margin_guard is not None and not self.margin_guard(cfg.runner_id, margin):
            return events
        fill = cfg.costs.entry_fill(c.close, sig.side)
        p = self.book.open(sig.side, fill, margin, s.leverage, c.timestamp, self.index, sig.tp_price, sig.sl_price)
        self.capital -= margin
        self.memory = {"extreme": c.close}
        events.append(self._event(EventKind.OPEN, c.timestamp, side=sig.side, price=fill, quantity=p.quantity,
                                  reason=sig.reason or "signal", extra={"tp": p.tp_price, "sl": p.sl_price}))
        return events

    def _track_regime(self, ctx: StrategyContext) -> bool:
        """True on a RANGING -> TRENDING change (SPEC §6), when the strategy publishes a regime."""
        r = ctx.cur.get("regime")
        if r is None or (isinstance(r, float) and math.isnan(r)):
            return False
        name = Regime(int(r)).name if not isinstance(r, str) else r
        changed = self.regime == Regime.RANGING.name and name in {x.name for x in _TRENDING}
        self.regime = name
        return changed and getattr(self.strategy, "close_on_regime_change", False)

    def _close(self, closed: SingleClose, reason: str, ts: int, events: list[TradeEvent], end_of_data: bool = False) -> None:
        p = closed.position
        self.capital += p.margin
        ret = closed.net / self.capital if self.capital > 0 else 0.0
        self.capital += closed.net
        trade = TradeResult(
            runner_id=self.config.runner_id, strategy=self.strategy.name, symbol=self.config.symbol, side=p.side,
            entry_ts=p.entry_ts, exit_ts=ts, entry_price=p.entry_price, exit_price=closed.exit_price,
            quantity=p.quantity, positions=1, gross=closed.gross, fees=p.entry_fee + closed.exit_fee,
            slippage=closed.slippage, funding=p.funding, net=closed.net, return_frac=ret, reason=reason,
            end_of_data=end_of_data, seq=len(self.trades) + self.trade_offset,
        )
        self.trades.append(trade)
        self.last_exit_index = self.index
        self.memory = {}
        events.append(self._event(EventKind.CLOSE, ts, side=p.side, price=closed.exit_price, quantity=p.quantity,
                                  reason=reason, trade=trade))
        if not end_of_data:
            self._after_exit(ts, events)

    def close_at_end(self, last: Candle) -> list[TradeEvent]:
        if self.book.position is None:
            return []
        events: list[TradeEvent] = []
        self._close(self.book.close(last.close, "end_of_data"), "end_of_data", last.timestamp, events, end_of_data=True)
        return events

    def force_close(self, candle: Candle, reason: str) -> list[TradeEvent]:
        """Close the open position at `candle.close` from outside the step (portfolio cross-margin
        liquidation): a market order (taker fee + slippage). Unlike the end-of-data close, it counts."""
        if self.book.position is None:
            return []
        events: list[TradeEvent] = []
        self._close(self.book.close(candle.close, reason), reason, candle.timestamp, events)
        return events

    def _strategy_state(self) -> dict[str, Any]:
        return {"position": self.book.to_state(), "last_exit_index": self.last_exit_index,
                "memory": dict(self.memory), "regime": self.regime}

    def _load_strategy_state(self, state: dict[str, Any]) -> None:
        self.book.load_state(state["position"])
        self.last_exit_index = state["last_exit_index"]
        self.memory = dict(state["memory"])
        self.regime = state["regime"]


def _allowed_sides(s: SingleStrategy) -> tuple[int, ...]:
    sides = getattr(s.params, "sides", ("long", "short"))
    return tuple(1 if x == "long" else -1 for x in sides)
