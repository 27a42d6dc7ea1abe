"""Reading a kernel's trade buffer (kernel_common's T_* layout) back into TradeResult objects and Metrics:
the same for the grid, range and single-position engines."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from radar.backtest.fast.kernel_common import (
    T_END_OF_DATA, T_ENTRY_PRICE, T_ENTRY_TS, T_EXIT_PRICE, T_EXIT_TS, T_FEES, T_FUNDING, T_GROSS, T_NET, T_POSITIONS,
    T_QTY, T_REASON, T_RETURN, T_SIDE, T_SLIPPAGE,
)
from radar.backtest.metrics import Metrics, metric_row
from radar.events import TradeResult


def buffer_trades(buf: np.ndarray, n_tr: int, reasons: Mapping[int, str], runner_id: str, strategy: str,
                  symbol: str) -> tuple[TradeResult, ...]:
    """The first n_tr trades of `buf`, seq = their index; `reasons` names the kernel's reason codes."""
    return tuple(_trade(buf[:, k], k, reasons, runner_id, strategy, symbol) for k in range(n_tr))


def buffer_metrics(buf: np.ndarray, n_tr: int, initial_capital: float, first_ts: int, last_ts: int,
                   capital: float) -> Metrics:
    """Metrics of the recorded trades; a final end-of-data close counts in the capital only (SPEC §5.5)."""
    counted = n_tr - (1 if n_tr and buf[T_END_OF_DATA, n_tr - 1] > 0 else 0)
    return Metrics.from_row(metric_row(buf[T_NET], buf[T_RETURN], buf[T_FEES], buf[T_FUNDING], buf[T_SLIPPAGE],
                                       buf[T_ENTRY_TS], buf[T_EXIT_TS], counted, float(initial_capital), first_ts,
                                       last_ts, capital))


def _trade(col: np.ndarray, seq: int, reasons: Mapping[int, str], runner_id: str, strategy: str,
           symbol: str) -> TradeResult:
    return TradeResult(
        runner_id=runner_id, strategy=strategy, symbol=symbol, side=int(col[T_SIDE]),
        entry_ts=int(col[T_ENTRY_TS]), exit_ts=int(col[T_EXIT_TS]), entry_price=float(col[T_ENTRY_PRICE]),
        exit_price=float(col[T_EXIT_PRICE]), quantity=float(col[T_QTY]), positions=int(col[T_POSITIONS]),
        gross=float(col[T_GROSS]), fees=float(col[T_FEES]), slippage=float(col[T_SLIPPAGE]),
        funding=float(col[T_FUNDING]), net=float(col[T_NET]), return_frac=float(col[T_RETURN]),
        reason=reasons[int(col[T_REASON])], end_of_data=bool(col[T_END_OF_DATA]), seq=seq,
    )


__all__ = ["buffer_metrics", "buffer_trades"]
