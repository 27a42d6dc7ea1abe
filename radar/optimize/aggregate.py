"""Walk-forward aggregation over plain metrics arrays (SPEC §7), whatever engine produced them.

Inputs are two arrays [n_windows, n_combos, n_metrics] — every combo's metrics on every IS window and on
every OOS window — laid out as `metric_names` (METRIC_NAMES by default; pass BATCH_COLUMNS for the fast
engine's rows with their extra stop code). Only the `sharpe`, `n_trades` and `win_rate` columns are read
(plus `net_return_pct` when present).

Rules:
- best IS combo per window: highest IS Sharpe; ties go to more IS trades, then to the lower combo index
  (grid order), so the choice never depends on sort stability;
- per combo: mean OOS Sharpe over all windows (a window under 3 trades has Sharpe 0 by the metric rules and
  still counts in the mean), total OOS trades, trade-weighted OOS win rate, consistency (windows under
  `min_trades` skipped), OOS/IS ratio of the mean Sharpes (0 without a positive IS mean), combo_score;
- overall best combo: highest combo_score; ties go to the higher mean OOS Sharpe, then more OOS trades,
  then the lower index.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from radar.backtest.metrics import METRIC_NAMES
from radar.optimize.scoring import MIN_WINDOW_TRADES, combo_scores, consistency_per_combo, oos_is_ratios


@dataclass(frozen=True, slots=True)
class WindowBest:
    """The combo that won one window in-sample, and how it then did out-of-sample."""

    window: int
    combo: int
    is_sharpe: float
    is_trades: int
    oos_sharpe: float
    oos_trades: int


@dataclass(frozen=True, slots=True)
class ComboSummary:
    combo: int
    is_sharpe: float
    oos_sharpe: float
    oos_trades: int
    oos_win_rate: float
    oos_net_return_pct: float
    consistency: float
    oos_is_ratio: float
    combo_score: float
    times_best_is: int
    oos_sharpes: tuple[float, ...]  # per window, for heatmaps
    is_sharpes: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class WfoAggregate:
    """Per-window winners and per-combo aggregates; arrays are read-only, one entry per combo."""

    n_windows: int
    n_combos: int
    window_best: tuple[WindowBest, ...]
    is_sharpe: np.ndarray  # [n_windows, n_combos]
    oos_sharpe: np.ndarray  # [n_windows, n_combos]
    is_sharpe_mean: np.ndarray
    oos_sharpe_mean: np.ndarray
    oos_trades: np.ndarray
    oos_win_rate: np.ndarray
    oos_net_return_pct: np.ndarray
    consistency: np.ndarray
    oos_is_ratio: np.ndarray
    combo_score: np.ndarray
    times_best_is: np.ndarray
    best_combo: int

    def summary(self, combo: int) -> ComboSummary:
        return ComboSummary(
            combo, float(self.is_sharpe_mean[combo]), float(self.oos_sharpe_mean[combo]),
            int(self.oos_trades[combo]), float(self.oos_win_rate[combo]), float(self.oos_net_return_pct[combo]),
            float(self.consistency[combo]), float(self.oos_is_ratio[combo]), float(self.combo_score[combo]),
            int(self.times_best_is[combo]), tuple(self.oos_sharpe[:, combo].tolist()),
            tuple(self.is_sharpe[:, combo].tolist()),
        )

    @property
    def best(self) -> ComboSummary:
        return self.summary(self.best_combo)

    @property
    def selected_oos_sharpe(self) -> np.ndarray:
        """OOS Sharpe of each window's IS winner: the classic walk-forward out-of-sample chain."""
        return np.array([w.oos_sharpe for w in self.window_best])


def _column(names: Sequence[str], name: str) -> int:
    try:
        return list(names).index(name)
    except ValueError:
        raise ValueError(f"aggregate: metric {name!r} missing from metric_names ({', '.join(names)})") from None


def _checked(arr: np.ndarray, what: str, n_names: int) -> np.ndarray:
    a = np.asarray(arr, dtype=np.float64)
    if a.ndim != 3 or a.shape[2] != n_names:
        raise ValueError(f"aggregate: {what} must be [n_windows, n_combos, {n_names}], got shape {a.shape}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"aggregate: {what} has no windows or no combos (shape {a.shape})")
    return a


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a)
    a.flags.writeable = False
    return a


def best_per_window(is_sharpe: np.ndarray, is_trades: np.ndarray) -> np.ndarray:
    """Index of the best IS combo per window ([n_windows, n_combos] inputs; tie-breaks in the module doc)."""
    n_combos = is_sharpe.shape[1]
    idx = np.arange(n_combos)
    out = np.empty(is_sharpe.shape[0], dtype=np.int64)
    for w in range(is_sharpe.shape[0]):
        # lexsort: last key is primary. Negate to sort descending on Sharpe and trades, ascending index.
        out[w] = np.lexsort((idx, -is_trades[w], -is_sharpe[w]))[0]
    return out


def aggregate(is_metrics: np.ndarray, oos_metrics: np.ndarray, metric_names: Sequence[str] = METRIC_NAMES, *,
              min_trades: int = MIN_WINDOW_TRADES, max_windows: int | None = None) -> WfoAggregate:
    """Aggregate IS and OOS metrics arrays [n_windows, n_combos, n_metrics].

    `max_windows` (the most windows any compared symbol has) scales combo_score by n_windows/max_windows;
    None leaves that factor at 1.
    """
    n_names = len(metric_names)
    is_m = _checked(is_metrics, "is_metrics", n_names)
    oos_m = _checked(oos_metrics, "oos_metrics", n_names)
    if is_m.shape != oos_m.shape:
        raise ValueError(f"aggregate: IS and OOS arrays differ in shape: {is_m.shape} vs {oos_m.shape}")
    k_sharpe, k_trades, k_win = (_column(metric_names, n) for n in ("sharpe", "n_trades", "win_rate"))
    for name, k in (("sharpe", k_sharpe), ("n_trades", k_trades), ("win_rate", k_win)):
        for what, arr in (("is_metrics", is_m), ("oos_metrics", oos_m)):
            if not np.isfinite(arr[:, :, k]).all():
                raise ValueError(f"aggregate: {what} column {name!r} has non-finite values")
    n_windows, n_combos = is_m.shape[:2]
    is_s, is_t = is_m[:, :, k_sharpe], is_m[:, :, k_trades]
    oos_s, oos_t, oos_w = oos_m[:, :, k_sharpe], oos_m[:, :, k_trades], oos_m[:, :, k_win]

    best_is = best_per_window(is_s, is_t)
    window_best = tuple(
        WindowBest(w, int(c), float(is_s[w, c]), int(is_t[w, c]), float(oos_s[w, c]), int(oos_t[w, c]))
        for w, c in enumerate(best_is)
    )
    times_best = np.bincount(best_is, minlength=n_combos)

    is_mean = is_s.mean(axis=0)
    oos_mean = oos_s.mean(axis=0)
    trades = oos_t.sum(axis=0)
    wins = (oos_w * oos_t).sum(axis=0)
    win_rate = np.divide(wins, trades, out=np.zeros(n_combos), where=trades > 0)
    net = (oos_m[:, :, _column(metric_names, "net_return_pct")].sum(axis=0)
           if "net_return_pct" in metric_names else np.zeros(n_combos))
    cons = consistency_per_combo(oos_s, oos_t, min_trades)
    ratio = oos_is_ratios(oos_mean, is_mean)
    scores = combo_scores(oos_mean, cons, trades, n_windows if max_windows is not None else None, max_windows)
    best = int(np.lexsort((np.arange(n_combos), -trades, -oos_mean, -scores))[0])

    return WfoAggregate(
        n_windows, n_combos, window_best, _frozen(is_s), _frozen(oos_s), _frozen(is_mean), _frozen(oos_mean),
        _frozen(trades), _frozen(win_rate), _frozen(net), _frozen(cons), _frozen(ratio), _frozen(scores),
        _frozen(times_best), best,
    )
