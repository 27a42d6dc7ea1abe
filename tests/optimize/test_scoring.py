from __future__ import annotations

import numpy as np
import pytest

from radar.optimize.scoring import (
    combo_score, combo_scores, consistency, consistency_per_combo, oos_is_ratio, oos_is_ratios,
)


def test_combo_score_known_value_full_trades() -> None:
    # 7.5 * (0.4 + 0.6*0.93) * min(1, 300/100) = 7.5 * 0.958 = 7.185
    assert combo_score(7.5, 0.93, 300) == pytest.approx(7.185, abs=1e-9)


def test_combo_score_known_value_few_trades() -> None:
    # 8.8 * 0.778 = 6.8464; * 0.32 = 2.190848
    assert combo_score(8.8, 0.63, 32) == pytest.approx(2.191, abs=1e-3)
    assert combo_score(8.8, 0.63, 32) == pytest.approx(2.190848, abs=1e-9)


def test_combo_score_window_factor_and_negative_sharpe() -> None:
    assert combo_score(7.5, 0.93, 300, n_windows=6, max_windows=12) == pytest.approx(3.5925, abs=1e-9)
    assert combo_score(7.5, 0.93, 300, n_windows=20, max_windows=12) == pytest.approx(7.185, abs=1e-9)
    assert combo_score(-2.0, 1.0, 300) == 0.0


def test_combo_score_rejects_half_given_window_counts_and_bad_consistency() -> None:
    with pytest.raises(ValueError, match="both n_windows and max_windows"):
        combo_score(1.0, 0.5, 10, n_windows=3)
    with pytest.raises(ValueError, match="consistency must be in"):
        combo_score(1.0, 1.5, 10)


def test_combo_scores_matches_the_scalar_known_values() -> None:
    result = combo_scores(np.array([7.5, 8.8, -1.0]), np.array([0.93, 0.63, 1.0]), np.array([300, 32, 500]))

    np.testing.assert_allclose(result, [7.185, 2.190848, 0.0], atol=1e-9)


def test_consistency_skips_windows_under_three_trades() -> None:
    # Windows: +1.2 (10 trades), -0.5 (8), +3.0 (2 -> not counted), +0.1 (3), 0.0 (5 -> counted, not > 0)
    sharpes = [1.2, -0.5, 3.0, 0.1, 0.0]
    trades = [10, 8, 2, 3, 5]

    assert consistency(sharpes, trades) == pytest.approx(2 / 4)


def test_consistency_is_zero_when_no_window_has_enough_trades() -> None:
    assert consistency([2.0, 1.0], [0, 2]) == 0.0


def test_consistency_per_combo_reduces_down_the_windows() -> None:
    sharpes = np.array([[1.0, -1.0], [2.0, 1.0], [-3.0, 1.0]])
    trades = np.array([[5, 5], [5, 1], [5, 5]])

    np.testing.assert_allclose(consistency_per_combo(sharpes, trades), [2 / 3, 1 / 2])


def test_oos_is_ratio_is_zero_without_an_in_sample_edge() -> None:
    assert oos_is_ratio(1.5, 3.0) == 0.5
    assert oos_is_ratio(-1.0, 2.0) == -0.5
    assert oos_is_ratio(1.5, 0.0) == 0.0
    assert oos_is_ratio(1.5, -2.0) == 0.0
    np.testing.assert_allclose(oos_is_ratios(np.array([1.5, 1.5]), np.array([3.0, -1.0])), [0.5, 0.0])
