from __future__ import annotations

import math

import numpy as np
import pytest

from radar.optimize.robustness import (
    NO_NEIGHBOUR_STABILITY, block_bootstrap, block_bootstrap_indices, deflated_sharpe, deflated_sharpe_from_stats,
    expected_max_sharpe, fee_stress, parameter_stability, probabilistic_sharpe, return_moments, stressed_net,
    tail_ratio,
)

# ------------------------------------------------------------------ Monte Carlo


def test_bootstrap_indices_are_runs_of_consecutive_trades() -> None:
    idx = block_bootstrap_indices(20, 50, 7, np.random.default_rng(1))

    assert idx.shape == (50, 20)
    for row in idx:
        for run in (row[0:7], row[7:14], row[14:20]):
            assert 0 <= run[0] <= 13
            np.testing.assert_array_equal(np.diff(run), 1)


def test_all_winning_trades_give_the_smallest_possible_p_value() -> None:
    result = block_bootstrap([0.01, 0.02, 0.005] * 10, n_sims=1000, block=7, seed=3)

    assert result.p_value == pytest.approx(1 / 1001)
    assert result.observed == pytest.approx(0.035 / 3)


def test_all_losing_trades_give_p_value_one() -> None:
    assert block_bootstrap([-0.01] * 15, seed=0).p_value == 1.0


def test_independent_resampling_of_two_values_matches_the_binomial_probability() -> None:
    # Block 1 = i.i.d. bootstrap: the mean of two draws from {-1, +2} is <= 0 only for (-1, -1): p ~ 1/4.
    result = block_bootstrap([-1.0, 2.0], n_sims=1000, block=1, seed=7)

    assert result.p_value == pytest.approx(0.25, abs=0.045)


def test_p_value_of_a_zero_mean_alternating_series_is_far_from_significant() -> None:
    result = block_bootstrap([1.0, -1.0] * 50, seed=11)

    assert result.p_value > 0.3
    assert result.block == 7


def test_bootstrap_is_deterministic_for_a_seed() -> None:
    returns = np.sin(np.arange(60)) + 0.1

    first = block_bootstrap(returns, seed=5)
    again = block_bootstrap(returns, seed=5)

    assert first == again


def test_sharpe_statistic_of_a_constant_winner_is_never_at_or_below_zero() -> None:
    result = block_bootstrap([0.01] * 10, statistic="sharpe", seed=2)

    assert result.p_value == pytest.approx(1 / 1001)


def test_no_trades_give_p_value_one() -> None:
    assert block_bootstrap([]).p_value == 1.0


# ------------------------------------------------------------------ Deflated Sharpe Ratio


def test_expected_max_sharpe_matches_bailey_lopez_de_prado_example() -> None:
    # Paper's example: 100 trials, annualised variance of Sharpes 0.5 over 250 days -> E[max SR] ~ 0.1132/day.
    assert expected_max_sharpe(100, 0.5 / 250) == pytest.approx(0.1132, abs=1e-4)
    assert expected_max_sharpe(1, 0.5) == 0.0


def test_deflated_sharpe_matches_bailey_lopez_de_prado_example() -> None:
    # SR 2.5 annualised over 1250 daily returns, skew -3, kurtosis 10, 100 trials -> DSR ~ 0.9004.
    dsr = deflated_sharpe_from_stats(2.5 / math.sqrt(250), 1250, -3.0, 10.0, 100, 0.5 / 250)

    assert dsr == pytest.approx(0.9004, abs=5e-4)


def test_deflated_sharpe_of_a_short_series_worked_by_hand() -> None:
    # returns 1,2,3,4: mean 2.5, population std sqrt(1.25), SR = sqrt(5), skew 0, kurtosis 2.5625/1.5625 = 1.64.
    # One trial -> PSR vs 0: z = sqrt(5)*sqrt(3)/sqrt(1 + 0.64/4*5) = 3.8730/1.3416 = 2.8868 -> 0.99805.
    moments = return_moments([1.0, 2.0, 3.0, 4.0])

    assert (moments.sharpe, moments.skew, moments.kurtosis) == pytest.approx((math.sqrt(5), 0.0, 1.64))
    assert deflated_sharpe([1.0, 2.0, 3.0, 4.0], n_trials=1) == pytest.approx(0.99805, abs=2e-5)


def test_more_trials_deflate_the_sharpe_further() -> None:
    returns = np.sin(np.arange(200) * 1.3) * 0.02 + 0.004

    few = deflated_sharpe(returns, 10)
    many = deflated_sharpe(returns, 5000)

    assert 0.0 <= many < few <= 1.0


def test_psr_at_the_benchmark_is_one_half_and_degenerate_series_are_handled() -> None:
    assert probabilistic_sharpe(0.3, 0.3, 100, 0.0, 3.0) == pytest.approx(0.5)
    assert deflated_sharpe([0.5], 10) == 0.0
    assert deflated_sharpe([0.01, 0.01, 0.01], 10) == 1.0
    assert deflated_sharpe([-0.01, -0.01, -0.01], 10) == 0.0


# ------------------------------------------------------------------ parameter stability


def _stability_grid() -> tuple[list[dict[str, float]], list[float]]:
    combos, sharpes = [], []
    table = {(7, 15): 0.7, (7, 20): 1.5, (10, 15): 1.0, (10, 20): 2.0, (14, 15): 0.9, (14, 20): 1.8,
             (20, 15): -5.0, (20, 20): -5.0}
    for (ma, sl), s in table.items():
        combos.append({"ma_period": ma, "sl_percent": float(sl)})
        sharpes.append(s)
    return combos, sharpes


def test_stability_is_one_minus_the_worst_neighbour_drop() -> None:
    # Best (10, 20) Sharpe 2.0. ma ±20% -> 8 snaps to 7, 12 ties 10/14 -> 14; ±10% snap back to 10.
    # sl -20% -> 16 snaps to 15. Drops: (7,20) 0.25, (14,20) 0.10, (10,15) 0.50 -> stability 0.5.
    combos, sharpes = _stability_grid()

    result = parameter_stability(combos, sharpes, best=3)

    assert result.stability == pytest.approx(0.5)
    assert result.worst_param == "sl_percent"
    assert result.n_neighbours == 3


def test_stability_is_clipped_to_one_when_neighbours_are_better_and_zero_when_they_collapse() -> None:
    combos = [{"ma_period": 10}, {"ma_period": 12}]

    assert parameter_stability(combos, [1.0, 1.4], best=0).stability == 1.0
    assert parameter_stability(combos, [1.0, -0.5], best=0).stability == 0.0


def test_stability_without_positive_sharpe_is_zero_and_without_neighbours_is_neutral() -> None:
    assert parameter_stability([{"a": 10}, {"a": 12}], [-1.0, -0.5], best=0).stability == 0.0
    # Zero-valued and non-numeric parameters have no relative neighbourhood.
    combos = [{"min_atr_pct": 0.0, "tp_mode": "x"}, {"min_atr_pct": 0.0, "tp_mode": "y"}]
    result = parameter_stability(combos, [2.0, 0.1], best=0)
    assert (result.stability, result.n_neighbours) == (NO_NEIGHBOUR_STABILITY, 0)


# ------------------------------------------------------------------ fee stress, tail ratio


def test_fee_stress_recomputes_net_with_heavier_costs() -> None:
    gross, fees, slippage = [10.0, -5.0, 8.0], [1.0, 1.0, 1.0], [0.5, 0.5, 0.5]

    result = fee_stress(gross, fees, slippage)

    # base 13 - 3 - 1.5 = 8.5; stressed 13 - 3*1.33 - 1.5*2 = 6.01
    assert result.base_net == pytest.approx(8.5)
    assert result.stressed_net == pytest.approx(6.01)
    assert result.extra_cost == pytest.approx(2.49)
    assert result.retention == pytest.approx(6.01 / 8.5)
    assert result.profitable
    np.testing.assert_allclose(stressed_net(gross, fees, slippage), [7.67, -7.33, 5.67])


def test_fee_stress_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="lengths differ"):
        fee_stress([1.0, 2.0], [0.1], [0.0, 0.0])


def test_tail_ratio_of_a_known_series() -> None:
    # -5..15: linear 5th percentile -4, 95th percentile 14.
    assert tail_ratio(np.arange(-5, 16, dtype=float)) == pytest.approx(4 / 14)


def test_tail_ratio_edges() -> None:
    assert tail_ratio([0.01, 0.02, 0.03]) == 0.0
    assert tail_ratio([-0.01, -0.02]) == math.inf
    assert tail_ratio([]) == math.inf
