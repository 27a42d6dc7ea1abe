"""Arena: the live runners ranked by return, drawdown, trade count and win rate (dashboard page, Telegram)."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from radar.events import TradeResult

SORT_KEYS = ("return", "drawdown", "trades", "win_rate")


@dataclass(frozen=True, slots=True)
class ArenaEntry:
    runner_id: str
    strategy: str
    symbol: str
    initial_capital: float
    equity: float
    return_pct: float
    max_drawdown_pct: float  # of the realised equity curve (after each trade) and the current equity
    trades: int
    wins: int
    net_pnl: float
    rank: int = 0

    @property
    def win_rate(self) -> float:
        return self.wins / self.trades if self.trades else 0.0


def entry_from_trades(runner_id: str, strategy: str, symbol: str, initial_capital: float, equity: float,
                      trades: Sequence[TradeResult]) -> ArenaEntry:
    """Performance of one runner from its closed trades (end-of-data closes excluded) and current equity."""
    if initial_capital <= 0:
        raise ValueError(f"arena: runner {runner_id} initial capital must be > 0, got {initial_capital}")
    counted = [t for t in trades if not t.end_of_data]
    peak, dd, level = initial_capital, 0.0, initial_capital
    for t in sorted(counted, key=lambda t: (t.exit_ts, t.seq)):
        level += t.net
        peak = max(peak, level)
        dd = max(dd, (peak - level) / peak * 100.0 if peak > 0 else 0.0)
    dd = max(dd, (peak - equity) / peak * 100.0 if peak > 0 else 0.0)
    return ArenaEntry(runner_id, strategy, symbol, initial_capital, equity, (equity / initial_capital - 1.0) * 100.0,
                      dd, len(counted), sum(1 for t in counted if t.net > 0), sum(t.net for t in counted))


def rank(entries: Iterable[ArenaEntry], by: str = "return") -> list[ArenaEntry]:
    """Best first. Ties fall through return (higher), drawdown (lower), win rate (higher), trades (more),
    then runner id, so the order is total and stable."""
    if by not in SORT_KEYS:
        raise ValueError(f"arena: unknown ranking {by!r}; expected one of {', '.join(SORT_KEYS)}")
    base = lambda e: (-e.return_pct, e.max_drawdown_pct, -e.win_rate, -e.trades, e.runner_id)  # noqa: E731
    primary = {
        "return": lambda e: (),
        "drawdown": lambda e: (e.max_drawdown_pct,),
        "trades": lambda e: (-e.trades,),
        "win_rate": lambda e: (-e.win_rate,),
    }[by]
    ordered = sorted(entries, key=lambda e: (*primary(e), *base(e)))
    return [replace(e, rank=i + 1) for i, e in enumerate(ordered)]
