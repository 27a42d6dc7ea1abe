"""AdaptiveSelector (SPEC §9): only live-eligible (grade A/B by default), active, profitable strategy/symbol
pairs with enough live/paper trades get capital. The executor re-evaluates every `interval_s` (5 minutes)
from the latest WFO grades and the runners' track record; until the first evaluation nothing is allowed,
so a freshly booted executor evaluates before its first entry.

Nothing here is persisted: an evaluation needs only the database and the runners, both of which survive a
restart, so the executor simply evaluates again at boot.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import Engine, func, select

from radar.data.schema import OptimizationResultRow

Pair = tuple[str, str]  # (strategy, symbol)


class Exclusion(str, Enum):
    INACTIVE = "inactive"
    GRADE = "grade"
    TOO_FEW_TRADES = "too_few_trades"
    UNPROFITABLE = "unprofitable"


@dataclass(frozen=True, slots=True)
class StrategyStats:
    """One candidate pair: its latest WFO grade (None = never graded), whether its runner is active, and its
    closed live/paper trades."""

    strategy: str
    symbol: str
    grade: str | None
    active: bool
    trades: int
    net_pnl: float

    def __post_init__(self) -> None:
        if self.trades < 0:
            raise ValueError(f"selector: {self.strategy} on {self.symbol}: trades must be >= 0, got {self.trades}")
        if not math.isfinite(self.net_pnl):
            raise ValueError(f"selector: {self.strategy} on {self.symbol}: net PnL must be finite, got {self.net_pnl}")

    @property
    def pair(self) -> Pair:
        return (self.strategy, self.symbol)


@dataclass(frozen=True, slots=True)
class Excluded:
    strategy: str
    symbol: str
    reason: Exclusion
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"strategy": self.strategy, "symbol": self.symbol, "reason": self.reason.value, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Selection:
    evaluated_at: int
    allowed: tuple[Pair, ...]  # sorted
    excluded: tuple[Excluded, ...]  # sorted by (strategy, symbol)

    def to_dict(self) -> dict[str, Any]:
        return {"evaluated_at": self.evaluated_at, "allowed": [list(p) for p in self.allowed],
                "excluded": [e.to_dict() for e in self.excluded]}


class AdaptiveSelector:
    def __init__(self, min_trades: int = 20, grades: Sequence[str] = ("A", "B"), min_net_pnl: float = 0.0,
                 interval_s: float = 300.0) -> None:
        if min_trades < 0:
            raise ValueError(f"selector: min_trades must be >= 0, got {min_trades}")
        if not grades:
            raise ValueError("selector: grades must name at least one grade (A/B are live-eligible)")
        if interval_s <= 0:
            raise ValueError(f"selector: interval_s must be > 0, got {interval_s}")
        self.min_trades = int(min_trades)
        self.grades = tuple(grades)
        self.min_net_pnl = float(min_net_pnl)
        self.interval_ms = int(interval_s * 1000)
        self.selection: Selection | None = None
        self._allowed: frozenset[Pair] = frozenset()
        self._excluded: dict[Pair, Excluded] = {}

    @classmethod
    def from_config(cls, selector: Any) -> AdaptiveSelector:
        """From `RiskConfig.selector` (radar.config.models.SelectorConfig)."""
        return cls(selector.min_trades, selector.grades, selector.min_net_pnl, selector.interval_s)

    def due(self, now_ms: int) -> bool:
        return self.selection is None or now_ms - self.selection.evaluated_at >= self.interval_ms

    def evaluate(self, now_ms: int, candidates: Sequence[StrategyStats]) -> Selection:
        """Replace the selection; a pair left out of `candidates` is no longer allowed."""
        seen: set[Pair] = set()
        allowed: list[Pair] = []
        excluded: list[Excluded] = []
        for c in candidates:
            if c.pair in seen:
                raise ValueError(f"selector: {c.strategy} on {c.symbol} is listed twice among the candidates")
            seen.add(c.pair)
            why = self._exclusion(c)
            if why is None:
                allowed.append(c.pair)
            else:
                excluded.append(Excluded(c.strategy, c.symbol, *why))
        self.selection = Selection(int(now_ms), tuple(sorted(allowed)),
                                   tuple(sorted(excluded, key=lambda e: (e.strategy, e.symbol))))
        self._allowed = frozenset(allowed)
        self._excluded = {(e.strategy, e.symbol): e for e in excluded}
        return self.selection

    def _exclusion(self, c: StrategyStats) -> tuple[Exclusion, str] | None:
        # Order: the cheapest facts first, and profitability last because it means little on few trades.
        if not c.active:
            return Exclusion.INACTIVE, "runner is not active"
        if c.grade not in self.grades:
            graded = f"grade {c.grade}" if c.grade is not None else "no WFO grade"
            return Exclusion.GRADE, f"{graded}, live needs {' or '.join(self.grades)}"
        if c.trades < self.min_trades:
            return Exclusion.TOO_FEW_TRADES, f"{c.trades} trades, needs {self.min_trades}"
        if c.net_pnl <= self.min_net_pnl:
            return Exclusion.UNPROFITABLE, f"net PnL {c.net_pnl:,.2f} USDT, needs > {self.min_net_pnl:,.2f}"
        return None

    def is_allowed(self, strategy: str, symbol: str) -> bool:
        return (strategy, symbol) in self._allowed

    def why_not(self, strategy: str, symbol: str) -> str:
        """Why a pair gets no capital (for refusal details); empty when it is allowed."""
        if self.is_allowed(strategy, symbol):
            return ""
        if self.selection is None:
            return "the selector has not evaluated yet"
        excluded = self._excluded.get((strategy, symbol))
        if excluded is None:
            return "not among the evaluated candidates"
        return f"{excluded.reason.value}: {excluded.detail}"


def latest_grades(engine: Engine) -> dict[Pair, str | None]:
    """The grade of the newest `optimization_results` row per (strategy, symbol) (by created_at, then id)."""
    r = OptimizationResultRow
    newest = func.row_number().over(partition_by=(r.strategy, r.symbol),
                                    order_by=(r.created_at.desc(), r.id.desc())).label("n")
    ranked = select(r.strategy, r.symbol, r.grade, newest).subquery()
    query = select(ranked.c.strategy, ranked.c.symbol, ranked.c.grade).where(ranked.c.n == 1)
    with engine.connect() as conn:
        return {(s, sym): g for s, sym, g in conn.execute(query)}


def stats_from_arena(entries: Iterable[Any], grades: Mapping[Pair, str | None],
                     inactive: Iterable[Pair] = ()) -> list[StrategyStats]:
    """Candidates from `radar.live.arena.ArenaEntry` rows (one per runner) and `latest_grades`."""
    off = set(inactive)
    return [StrategyStats(e.strategy, e.symbol, grades.get((e.strategy, e.symbol)), (e.strategy, e.symbol) not in off,
                          e.trades, e.net_pnl) for e in entries]
