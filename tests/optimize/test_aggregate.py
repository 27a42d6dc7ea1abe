from __future__ import annotations

import numpy as np
import pytest

from radar.backtest.metrics import METRIC_NAMES
from radar.optimize.aggregate import aggregate, best_per_window

COLS = {name: k for k, name in enumerate(METRIC_NAMES)}


def _metrics(sharpe: list[list[float]], trades: list[list[float]], win_rate: list[list[float]] | None = None,
             net: list[list[float]] | None = None, names: tuple[str, ...] = METRIC_NAMES) -> np.ndarray:
    s = np.asarray(sharpe, dtype=float)
    out = np.zeros(s.shape + (len(names),))
    out[:, :, names.index("sharpe")] = s
    out[:, :, names.index("n_trades")] = trades
    out[:, :, names.index("win_rate")] = 0.5 if win_rate is None else win_rate
    if net is not None:
        out[:, :, names.index("net_return_pct")] = net
    return out


def _example() -> tuple[np.ndarray, np.ndarray]:
    # 2 windows x 3 combos.
    is_m = _metrics([[1.0, 2.0, 2.0], [3.0, 1.0, 3.0]], [[10, 5, 8], [7, 9, 7]])
    oos_m = _metrics([[0.5, -1.0, 2.0], [1.5, 2.0, 1.0]], [[20, 30, 40], [50, 2, 80]],
                     [[0.5, 0.2, 0.6], [0.6, 1.0, 0.55]], [[1.0, -2.0, 3.0], [2.0, 0.5, 1.0]])
    return is_m, oos_m


def test_best_is_combo_per_window_breaks_ties_by_trades_then_index() -> None:
    is_m, oos_m = _example()

    result = aggregate(is_m, oos_m)

    # Window 0: combos 1 and 2 tie at 2.0, combo 2 has more trades. Window 1: combos 0 and 2 tie on both -> 0.
    assert [w.combo for w in result.window_best] == [2, 0]
    assert [(w.is_sharpe, w.oos_sharpe, w.oos_trades) for w in result.window_best] == [(2.0, 2.0, 40), (3.0, 1.5, 50)]
    np.testing.assert_array_equal(result.selected_oos_sharpe, [2.0, 1.5])
    np.testing.assert_array_equal(result.times_best_is, [1, 0, 1])


def test_per_combo_oos_aggregates_match_hand_computation() -> None:
    is_m, oos_m = _example()

    result = aggregate(is_m, oos_m)

    np.testing.assert_allclose(result.oos_sharpe_mean, [1.0, 0.5, 1.5])
    np.testing.assert_array_equal(result.oos_trades, [70, 32, 120])
    # Trade-weighted: (0.5*20 + 0.6*50)/70, (0.2*30 + 1.0*2)/32, (0.6*40 + 0.55*80)/120
    np.testing.assert_allclose(result.oos_win_rate, [40 / 70, 8 / 32, 68 / 120])
    np.testing.assert_allclose(result.oos_net_return_pct, [3.0, -1.5, 4.0])
    # Combo 1: window 0 counted and negative, window 1 has 2 trades and is skipped -> 0.
    np.testing.assert_allclose(result.consistency, [1.0, 0.0, 1.0])
    # IS means 2.0, 1.5, 2.5
    np.testing.assert_allclose(result.oos_is_ratio, [0.5, 0.5 / 1.5, 0.6])
    # 1.0*1.0*0.7; 0.5*0.4*0.32; 1.5*1.0*1.0
    np.testing.assert_allclose(result.combo_score, [0.7, 0.064, 1.5])
    assert result.best_combo == 2


def test_best_summary_holds_per_window_sharpes() -> None:
    is_m, oos_m = _example()

    best = aggregate(is_m, oos_m).best

    assert best.combo == 2
    assert best.oos_sharpes == (2.0, 1.0)
    assert best.is_sharpes == (2.0, 3.0)
    assert best.combo_score == pytest.approx(1.5)
    assert best.times_best_is == 1


def test_max_windows_scales_every_combo_score() -> None:
    is_m, oos_m = _example()

    result = aggregate(is_m, oos_m, max_windows=4)

    np.testing.assert_allclose(result.combo_score, [0.35, 0.032, 0.75])


def test_when_every_score_is_zero_the_least_bad_oos_sharpe_wins() -> None:
    is_m = _metrics([[1.0, 1.0, 1.0]], [[10, 10, 10]])
    oos_m = _metrics([[-3.0, -0.5, -0.5]], [[10, 10, 20]])

    result = aggregate(is_m, oos_m)

    np.testing.assert_array_equal(result.combo_score, [0.0, 0.0, 0.0])
    assert result.best_combo == 2  # -0.5 ties with combo 1; more OOS trades


def test_extra_engine_columns_are_accepted_with_their_names() -> None:
    names = METRIC_NAMES + ("stop_code",)
    is_m = _metrics([[1.0, 2.0]], [[5, 5]], names=names)
    oos_m = _metrics([[0.5, 1.0]], [[100, 100]], names=names)

    result = aggregate(is_m, oos_m, names)

    assert result.best_combo == 1
    # One window with 100 trades and a positive Sharpe: consistency 1, trade factor 1 -> score = Sharpe.
    np.testing.assert_allclose(result.combo_score, [0.5, 1.0])


def test_shape_mismatch_and_missing_columns_are_rejected() -> None:
    is_m, oos_m = _example()

    with pytest.raises(ValueError, match="differ in shape"):
        aggregate(is_m, oos_m[:1])
    with pytest.raises(ValueError, match="must be \\[n_windows, n_combos, 14\\]"):
        aggregate(is_m[:, :, :5], oos_m)
    with pytest.raises(ValueError, match="metric 'sharpe' missing"):
        aggregate(is_m[:, :, :2], oos_m[:, :, :2], ("a", "b"))


def test_result_arrays_are_read_only() -> None:
    result = aggregate(*_example())

    with pytest.raises(ValueError):
        result.combo_score[0] = 99.0


def test_best_per_window_on_raw_arrays() -> None:
    sharpe = np.array([[0.1, 0.3, 0.3], [-1.0, -2.0, -0.5]])
    trades = np.array([[1, 4, 4], [9, 9, 9]])

    np.testing.assert_array_equal(best_per_window(sharpe, trades), [1, 2])
