"""What a strategy is: a stateless rule set over a context of indicator values.

Strategies hold only their (frozen, validated) parameters. Everything that changes candle by
candle (indicator state, positions, capital) lives in the runner, which is what makes a runner
serialisable and the same strategy object usable by the runner, the portfolio backtester and live.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel

from radar.models import Candle


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    """One incremental indicator a strategy needs, e.g. IndicatorSpec("sma", (14,)).

    `htf` names a higher timeframe ("4h", "15m") the indicator runs on: it is fed completed
    higher-timeframe candles only, so its value is visible once its bucket has closed.
    """

    kind: str
    args: tuple[Any, ...] = ()
    htf: str | None = None

    @property
    def outputs(self) -> tuple[str, ...]:
        return INDICATOR_OUTPUTS.get(self.kind, ("",))

    def keys(self, name: str) -> tuple[str, ...]:
        """Names under which the bank publishes this indicator: `name` or `name_<output>`."""
        return tuple(name if out == "" else f"{name}_{out}" for out in self.outputs)


# Multi-output indicators and the suffixes of their published values (single-output: "").
INDICATOR_OUTPUTS: dict[str, tuple[str, ...]] = {
    "adx": ("", "plus_di", "minus_di"),
    "bollinger": ("mid", "upper", "lower"),
    "supertrend": ("", "dir"),
    "donchian": ("upper", "lower"),
}


@dataclass(frozen=True, slots=True)
class StrategyContext:
    """What a strategy sees when candle `index` closes: the candle, indicator values after the
    previous candle (`prev`, the basis of resting orders) and after this one (`cur`)."""

    candle: Candle
    index: int
    prev: Mapping[str, float]
    cur: Mapping[str, float]
    funding_rate: float | None = None
    extra: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GridLevel:
    index: int
    price: float
    side: int  # +1 long, -1 short


@dataclass(frozen=True, slots=True)
class GridState:
    """Read-only view of a runner's grid for the strategy."""

    side: int  # 0 when flat
    avg_entry: float
    quantity: float
    filled_levels: frozenset[int]
    first_entry_index: int
    entry_prices: tuple[float, ...] = ()
    extreme: float = math.nan  # high-water mark (long) / low-water mark (short) since the first entry
    memory: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Signal:
    """A single-position entry decision."""

    side: int
    tp_price: float = math.nan
    sl_price: float = math.nan
    reason: str = ""


def _published(specs: Mapping[str, IndicatorSpec]) -> list[str]:
    return [k for name, spec in specs.items() for k in spec.keys(name)]


def finite(*values: float) -> bool:
    return all(v is not None and not math.isnan(v) for v in values)


class Strategy(ABC):
    name: ClassVar[str]
    kind: ClassVar[str]  # "grid" | "single"
    live_only: ClassVar[bool] = False

    def __init__(self, params: BaseModel) -> None:
        self.params = params

    @property
    def timeframe(self) -> str:
        return getattr(self.params, "timeframe", "1h")

    @property
    def leverage(self) -> float:
        return float(self.params.leverage)

    @abstractmethod
    def indicator_specs(self) -> dict[str, IndicatorSpec]:
        """Named indicators this strategy reads from `ctx.prev` / `ctx.cur`."""


class GridStrategy(Strategy):
    """A multi-level strategy. The runner applies SPEC §5 around these hooks."""

    kind: ClassVar[str] = "grid"
    # "global": one TP/SL on the average entry, all levels close together; "per_position": each
    # level has its own TP/SL (grid_range_atr).
    exit_mode: ClassVar[str] = "global"

    @property
    def num_levels(self) -> int:
        return int(self.params.num_levels)

    def is_ready(self, ctx: StrategyContext) -> bool:
        """False skips the whole candle, exits included (SPEC §5: indicators of i-1 not ready)."""
        return all(finite(ctx.prev.get(k, math.nan)) for k in _published(self.indicator_specs()))

    @abstractmethod
    def compute_grid(self, ctx: StrategyContext, state: GridState) -> list[GridLevel]:
        """Resting entry levels for candle `ctx.index`, from indicators of the previous candle."""

    @abstractmethod
    def get_tp_price(self, ctx: StrategyContext, state: GridState) -> float:
        """Take-profit price for the open grid (NaN: none)."""

    @abstractmethod
    def get_sl_price(self, ctx: StrategyContext, state: GridState) -> float:
        """Stop-loss price for the open grid (NaN: none)."""

    def tp_condition(self, ctx: StrategyContext, state: GridState) -> bool:
        """Extra condition for TP (min_profit_pct)."""
        return True

    def should_close_all(self, ctx: StrategyContext, state: GridState) -> str | None:
        """A reason to close everything at this candle's close (direction flip, signal), else None."""
        return None

    def entries_allowed(self, ctx: StrategyContext, state: GridState) -> bool:
        """Filters evaluated on candle i itself (min_atr_pct, regime, neutral zone)."""
        return True

    def update_memory(self, ctx: StrategyContext, state: GridState) -> Mapping[str, float] | None:
        """Per-cycle values the strategy wants the runner to keep (e.g. a trailing stop)."""
        return None


class SingleStrategy(Strategy):
    """One position per symbol with its own TP/SL (server-side in live)."""

    kind: ClassVar[str] = "single"

    def is_ready(self, ctx: StrategyContext) -> bool:
        return all(finite(ctx.cur.get(k, math.nan)) for k in _published(self.indicator_specs()))

    @abstractmethod
    def evaluate(self, ctx: StrategyContext) -> Signal | None:
        """Entry decision at the close of `ctx.candle` (filled at that close)."""

    def exit_signal(self, ctx: StrategyContext, side: int, entry_price: float, memory: Mapping[str, float]) -> str | None:
        """A rule-based exit at this candle's close (e.g. SMA cross), else None."""
        return None

    def update_stops(self, ctx: StrategyContext, side: int, entry_price: float, tp: float, sl: float,
                     memory: Mapping[str, float]) -> tuple[float, float, Mapping[str, float]]:
        """Move TP/SL after a candle (trailing stops). Default: unchanged."""
        return tp, sl, memory
