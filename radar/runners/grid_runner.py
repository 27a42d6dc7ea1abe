"""GridStrategyRunner: the per-candle state machine of SPEC §5, used unchanged by backtests,
the portfolio backtester, paper trading and live trading.

All mutable state is in this object and round-trips through `to_state()` / `from_state()`.
Time only comes from candles; the runner never reads a clock.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from radar.events import EventKind, TradeEvent, TradeResult
from radar.models import Candle
from radar.positions.grid import ClosedLeg, GridPosition, GridPositionManager
from radar.positions.exits import resolve_exit
from radar.runners.base import RunnerBase, _dec, _enc
from radar.runners.config import RunnerConfig
from radar.strategies.base import GridLevel, GridState, GridStrategy, StrategyContext

FUNDING_HOURS = (0, 8, 16)
_HOUR_MS = 3_600_000


def is_funding_candle(ts: int) -> bool:
    return ts % _HOUR_MS == 0 and (ts // _HOUR_MS) % 24 in FUNDING_HOURS


class GridStrategyRunner(RunnerBase):
    def __init__(self, strategy: GridStrategy, config: RunnerConfig,
                 margin_guard: Callable[[str, float], bool] | None = None) -> None:
        super().__init__(strategy, config)
        self.strategy: GridStrategy = strategy
        self.book = GridPositionManager(config.costs)
        self.first_entry_index = -1
        self.last_exit_index = -(10**9)
        self.extreme = math.nan
        self.memory: dict[str, float] = {}
        # Portfolio/live: a shared guard may refuse margin across runners (SPEC §8 global margin guard).
        self.margin_guard = margin_guard

    # -- views -------------------------------------------------------------------------------
    def grid_state(self) -> GridState:
        b = self.book
        return GridState(
            side=b.side,
            avg_entry=b.avg_entry() if b.is_open else math.nan,
            quantity=b.total_quantity(),
            filled_levels=frozenset(b.filled_levels()),
            first_entry_index=self.first_entry_index,
            entry_prices=tuple(p.entry_price for p in b.positions),
            extreme=self.extreme,
            memory=dict(self.memory),
        )

    @property
    def used_margin(self) -> float:
        return self.book.used_margin()

    def equity(self, price: float) -> float:
        return self.capital + self.book.used_margin() + self.book.unrealized(price)

    def open_positions(self) -> list[GridPosition]:
        return list(self.book.positions)

    # -- the per-candle step -------------------------------------------------------------------
    def _step(self, ctx: StrategyContext) -> list[TradeEvent]:
        s = self.strategy
        c = ctx.candle
        if not s.is_ready(ctx):
            return []  # SPEC §5: indicators of i-1 not ready -> the whole candle is skipped
        events: list[TradeEvent] = []
        if self.book.is_open:
            self._track_extreme(c)
        # Called while flat too: a breakout grid arms its anchor at the signal candle, before any entry.
        mem = s.update_memory(ctx, self.grid_state())
        if mem is not None:
            self.memory = dict(mem)
        if self.book.is_open:
            state = self.grid_state()
            exited = self._exits(ctx, state, events)
            if exited:
                return events  # no new entry on an exit candle
            # funding settles on positions still open
            if is_funding_candle(c.timestamp):
                rate = ctx.funding_rate if ctx.funding_rate is not None else self.config.default_funding_rate
                if rate:
                    self.capital -= self.book.charge_funding(rate)
        if self.stopped or self.capital <= 0:
            return events
        state = self.grid_state()
        if not self.book.is_open and ctx.index - self.last_exit_index < self._cooldown():
            return events
        if not s.entries_allowed(ctx, state):
            return events
        self._entries(ctx, state, events)
        return events

    def _cooldown(self) -> int:
        return int(getattr(self.strategy.params, "cooldown_candles", 0))

    def _track_extreme(self, c: Candle) -> None:
        if self.book.side > 0:
            self.extreme = c.high if math.isnan(self.extreme) else max(self.extreme, c.high)
        else:
            self.extreme = c.low if math.isnan(self.extreme) else min(self.extreme, c.low)

    def _exits(self, ctx: StrategyContext, state: GridState, events: list[TradeEvent]) -> bool:
        s, c = self.strategy, ctx.candle
        if s.exit_mode == "per_position":
            return self._per_position_exits(ctx, state, events)
        side = state.side
        tp = s.get_tp_price(ctx, state)
        sl = s.get_sl_price(ctx, state)
        reason, price = resolve_exit(side, c.open, c.high, c.low, c.close, tp, sl, s.tp_condition(ctx, state))
        if reason is None:
            reason = s.should_close_all(ctx, state)
            price = c.close
        if reason is None:
            return False
        self._close(self.book.close_legs(price), reason, c.timestamp, events)
        return True

    def _per_position_exits(self, ctx: StrategyContext, state: GridState, events: list[TradeEvent]) -> bool:
        s, c = self.strategy, ctx.candle
        closed_any = False
        for pos in list(self.book.positions):
            tp, sl = s.position_exit_prices(ctx, state, pos)  # type: ignore[attr-defined]
            reason, price = resolve_exit(pos.side, c.open, c.high, c.low, c.close, tp, sl)
            if reason is None:
                continue
            self._close(self.book.close_legs(price, [pos]), reason, c.timestamp, events)
            closed_any = True
        return closed_any

    def _close(self, legs: list[ClosedLeg], reason: str, ts: int, events: list[TradeEvent], end_of_data: bool = False) -> None:
        trade = self._settle(legs, reason, ts, end_of_data)
        events.append(self._event(EventKind.CLOSE, ts, side=trade.side, price=trade.exit_price,
                                  quantity=trade.quantity, reason=reason, trade=trade))
        if not self.book.is_open:
            self.first_entry_index = -1
            self.extreme = math.nan
            self.memory = {}
            self.last_exit_index = self.index
        if not end_of_data:
            self._after_exit(ts, events)

    def _settle(self, legs: list[ClosedLeg], reason: str, ts: int, end_of_data: bool) -> TradeResult:
        """Return margin, book PnL, record the trade (SPEC §5: return = PnL / capital before PnL)."""
        margin = sum(l.position.margin for l in legs)
        net = sum(l.net for l in legs)
        qty = sum(l.position.quantity for l in legs)
        self.capital += margin
        ret = net / self.capital if self.capital > 0 else 0.0
        self.capital += net
        entry = sum(l.position.entry_price * l.position.quantity for l in legs) / qty
        trade = TradeResult(
            runner_id=self.config.runner_id, strategy=self.strategy.name, symbol=self.config.symbol,
            side=legs[0].position.side, entry_ts=min(l.position.entry_ts for l in legs), exit_ts=ts,
            entry_price=entry, exit_price=legs[0].exit_price, quantity=qty, positions=len(legs),
            gross=sum(l.gross for l in legs),
            fees=sum(l.position.entry_fee + l.exit_fee for l in legs),
            slippage=sum(l.slippage for l in legs), funding=sum(l.position.funding for l in legs),
            net=net, return_frac=ret, reason=reason, end_of_data=end_of_data, seq=len(self.trades) + self.trade_offset,
        )
        self.trades.append(trade)
        return trade

    def _entries(self, ctx: StrategyContext, state: GridState, events: list[TradeEvent]) -> None:
        s, c, cfg = self.strategy, ctx.candle, self.config
        levels = s.compute_grid(ctx, state)
        if not levels:
            return
        allocation = self.capital if cfg.sizing == "single" else cfg.fixed_allocation
        margin = allocation / self._slots()
        leverage = s.leverage
        side = state.side
        filled = set(state.filled_levels)
        for lvl in levels:
            if lvl.index in filled or math.isnan(lvl.price) or lvl.price <= 0:
                continue
            if side != 0 and lvl.side != side and s.exit_mode == "global":
                continue  # one side active at a time
            touched = c.low <= lvl.price if lvl.side > 0 else c.high >= lvl.price
            if not touched:
                continue
            used = self.book.used_margin()
            if used / (self.capital + used) >= cfg.max_margin_ratio:
                break
            if self.capital < margin:
                continue
            if self.margin_guard is not None and not self.margin_guard(cfg.runner_id, margin):
                break
            fill = cfg.costs.entry_fill(lvl.price, lvl.side)
            pos = self.book.open(lvl.index, lvl.side, fill, margin, leverage, c.timestamp, self.index)
            self.capital -= margin
            filled.add(lvl.index)
            if side == 0 and s.exit_mode == "global":
                side = lvl.side
            if self.first_entry_index < 0:
                self.first_entry_index = self.index
                self.extreme = c.high if lvl.side > 0 else c.low
            events.append(self._event(EventKind.OPEN, c.timestamp, side=lvl.side, price=fill,
                                      quantity=pos.quantity, level=lvl.index, reason="level"))

    def _slots(self) -> int:
        return int(getattr(self.strategy, "slots", self.strategy.num_levels))

    # -- end of data -----------------------------------------------------------------------------
    def close_at_end(self, last: Candle) -> list[TradeEvent]:
        """SPEC §5.5: close at the last close; capital reflects it, metrics exclude the trade."""
        if not self.book.is_open:
            return []
        events: list[TradeEvent] = []
        self._close(self.book.close_legs(last.close), "end_of_data", last.timestamp, events, end_of_data=True)
        return events

    def force_close(self, candle: Candle, reason: str) -> list[TradeEvent]:
        """Close every open position at `candle.close` from outside the step (portfolio cross-margin
        liquidation). Unlike the end-of-data close, the trade counts in metrics."""
        if not self.book.is_open:
            return []
        events: list[TradeEvent] = []
        self._close(self.book.close_legs(candle.close), reason, candle.timestamp, events)
        return events

    # -- persistence ----------------------------------------------------------------------------
    def _strategy_state(self) -> dict[str, Any]:
        return {
            "positions": self.book.to_state(),
            "first_entry_index": self.first_entry_index,
            "last_exit_index": self.last_exit_index,
            "extreme": _enc(self.extreme),
            "memory": dict(self.memory),
        }

    def _load_strategy_state(self, state: dict[str, Any]) -> None:
        self.book.load_state(state["positions"])
        self.first_entry_index = state["first_entry_index"]
        self.last_exit_index = state["last_exit_index"]
        self.extreme = _dec(state["extreme"])
        self.memory = dict(state["memory"])


def run_grid(strategy: GridStrategy, config: RunnerConfig, candles: Iterable[Candle],
             funding: Callable[[int], float | None] | None = None) -> GridStrategyRunner:
    """Drive a runner over candles, closing what is open at the end (a backtest)."""
    runner = GridStrategyRunner(strategy, config)
    runner.run(candles, funding)
    return runner
