"""Per-combo walk-forward scores (SPEC §7): consistency, combo_score and the OOS/IS Sharpe ratio.

Scalar functions take one combo's values; the `*_per_combo` twins take [n_windows, n_combos] arrays and
return one value per combo with the same rules (used by `aggregate`).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MIN_WINDOW_TRADES = 3
FULL_TRADES = 100  # trades at which the trade-count factor of combo_score reaches 1


def consistency(sharpes: Sequence[float] | np.ndarray, trades: Sequence[float] | np.ndarray,
                min_trades: int = MIN_WINDOW_TRADES) -> float:
    """Share of OOS windows with Sharpe > 0 among the windows with at least `min_trades` trades (0 if none)."""
    s = np.asarray(sharpes, dtype=np.float64)
    t = np.asarray(trades, dtype=np.float64)
    if s.shape != t.shape or s.ndim != 1:
        raise ValueError(f"consistency: sharpes and trades must be 1-D of one length, got {s.shape} and {t.shape}")
    return float(consistency_per_combo(s.reshape(-1, 1), t.reshape(-1, 1), min_trades)[0])


def consistency_per_combo(sharpes: np.ndarray, trades: np.ndarray, min_trades: int = MIN_WINDOW_TRADES) -> np.ndarray:
    """`consistency` down axis 0 of [n_windows, n_combos] arrays."""
    s = np.asarray(sharpes, dtype=np.float64)
    t = np.asarray(trades, dtype=np.float64)
    if s.shape != t.shape or s.ndim != 2:
        raise ValueError(f"consistency: expected two [n_windows, n_combos] arrays, got {s.shape} and {t.shape}")
    counted = t >= min_trades
    n_counted = counted.sum(axis=0)
    positive = (counted & (s > 0)).sum(axis=0)
    return np.divide(positive, n_counted, out=np.zeros(s.shape[1]), where=n_counted > 0)


def _window_factor(n_windows: int | None, max_windows: int | None) -> float:
    if n_windows is None and max_windows is None:
        return 1.0
    if n_windows is None or max_windows is None:
        raise ValueError("combo_score: give both n_windows and max_windows, or neither")
    if max_windows <= 0 or n_windows < 0:
        raise ValueError(f"combo_score: need n_windows >= 0 and max_windows > 0, got {n_windows} and {max_windows}")
    return min(1.0, n_windows / max_windows)


def combo_score(oos_sharpe: float, consistency: float, trades: float, n_windows: int | None = None,
                max_windows: int | None = None) -> float:
    """max(oos_sharpe, 0) * (0.4 + 0.6*consistency) * min(1, trades/100) * min(1, n_windows/max_windows).

    The window factor is 1 when neither count is given (one symbol, every combo on every window).
    """
    if not 0.0 <= consistency <= 1.0:
        raise ValueError(f"combo_score: consistency must be in [0, 1], got {consistency}")
    if trades < 0:
        raise ValueError(f"combo_score: trades must be >= 0, got {trades}")
    return (max(float(oos_sharpe), 0.0) * (0.4 + 0.6 * consistency) * min(1.0, trades / FULL_TRADES)
            * _window_factor(n_windows, max_windows))


def combo_scores(oos_sharpe: np.ndarray, consistency: np.ndarray, trades: np.ndarray, n_windows: int | None = None,
                 max_windows: int | None = None) -> np.ndarray:
    """`combo_score` element-wise over per-combo arrays (the window factor is shared)."""
    s = np.asarray(oos_sharpe, dtype=np.float64)
    c = np.asarray(consistency, dtype=np.float64)
    t = np.asarray(trades, dtype=np.float64)
    return (np.maximum(s, 0.0) * (0.4 + 0.6 * c) * np.minimum(1.0, t / FULL_TRADES)
            * _window_factor(n_windows, max_windows))


def oos_is_ratio(oos_sharpe: float, is_sharpe: float) -> float:
    """OOS Sharpe / IS Sharpe; 0 when the IS Sharpe is not positive (no in-sample edge to retain)."""
    return float(oos_sharpe) / float(is_sharpe) if is_sharpe > 0 else 0.0


def oos_is_ratios(oos_sharpe: np.ndarray, is_sharpe: np.ndarray) -> np.ndarray:
    """`oos_is_ratio` element-wise."""
    o = np.asarray(oos_sharpe, dtype=np.float64)
    i = np.asarray(is_sharpe, dtype=np.float64)
    return np.divide(o, i, out=np.zeros(np.broadcast(o, i).shape), where=i > 0)
