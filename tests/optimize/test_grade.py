from __future__ import annotations

import math

import pytest

from radar.optimize.grade import cap_letter, grade, letter_for, monte_carlo_points, tail_points, window_penalty


def test_full_breakdown_of_a_strong_result() -> None:
    # Sharpe 5 -> min(20, 17.5) = 17.5; win 0.6 -> 12; tail 0.2 -> 15*(1-0.3) = 10.5; DSR 0.9 -> 13.5;
    # stability 0.8 -> 12; consistency 0.75 -> 7.5; p 0.01 -> 5; 24 windows -> no penalty. Total 78 -> B.
    result = grade(oos_sharpe=5.0, oos_win_rate=0.6, tail_ratio=0.2, dsr=0.9, stability=0.8, consistency=0.75,
                   mc_p_value=0.01, n_windows=24, total_trades=400)

    assert (result.sharpe_points, result.win_rate_points, result.tail_points) == pytest.approx((17.5, 12.0, 10.5))
    assert (result.dsr_points, result.stability_points, result.consistency_points) == pytest.approx((13.5, 12.0, 7.5))
    assert result.monte_carlo_points == 5.0
    assert result.window_penalty == 0.0
    assert result.score == pytest.approx(78.0)
    assert result.letter == "B"
    assert result.live_eligible


def test_perfect_inputs_score_one_hundred_and_grade_a() -> None:
    result = grade(10.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 30, 500)

    assert result.score == pytest.approx(100.0)
    assert result.letter == "A"


def test_shallow_walk_forward_loses_point_eight_per_missing_window() -> None:
    # Same as the perfect case but 14 windows: 100 - 10*0.8 = 92.
    result = grade(10.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 14, 500)

    assert result.window_penalty == pytest.approx(8.0)
    assert result.score == pytest.approx(92.0)
    assert window_penalty(23) == pytest.approx(0.8)
    assert window_penalty(24) == 0.0


def test_trade_count_caps_the_letter() -> None:
    under_30 = grade(10.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 24, 29)
    under_50 = grade(10.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 24, 49)
    at_50 = grade(10.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 24, 50)

    assert (under_30.letter_before_cap, under_30.letter) == ("A", "C")
    assert under_30.cap_reason == "29 OOS trades < 30: capped at C"
    assert not under_30.live_eligible
    assert under_50.letter == "B"
    assert at_50.letter == "A"
    assert cap_letter("D", 5) == ("D", "")


def test_letter_floors() -> None:
    assert [letter_for(s) for s in (85.0, 84.99, 70.0, 55.0, 40.0, 39.99)] == ["A", "B", "B", "C", "D", "F"]


def test_monte_carlo_points_scale_down_linearly_above_five_percent() -> None:
    assert monte_carlo_points(0.049) == 5.0
    assert monte_carlo_points(0.05) == pytest.approx(5.0)
    assert monte_carlo_points(0.525) == pytest.approx(2.5)
    assert monte_carlo_points(1.0) == pytest.approx(0.0)


def test_tail_points_vanish_at_two_thirds_and_beyond() -> None:
    assert tail_points(0.0) == 15.0
    assert tail_points(0.4) == pytest.approx(6.0)
    assert tail_points(2 / 3) == pytest.approx(0.0, abs=1e-12)
    assert tail_points(1.0) == 0.0
    assert tail_points(math.inf) == 0.0


def test_negative_sharpe_subtracts_and_the_score_is_clipped_at_zero() -> None:
    # Sharpe -2 -> -7; win 0.3 -> 6; tail 1 -> 0; p 1 -> 0; 4 windows -> -16. Raw -17 -> score 0, F.
    result = grade(-2.0, 0.3, 1.0, 0.0, 0.0, 0.0, 1.0, 4, 100)

    assert result.sharpe_points == pytest.approx(-7.0)
    assert result.raw_score == pytest.approx(-17.0)
    assert result.score == 0.0
    assert result.letter == "F"


def test_out_of_range_inputs_are_rejected_by_name() -> None:
    with pytest.raises(ValueError, match="oos_win_rate must be in"):
        grade(1.0, 55.0, 0.1, 0.5, 0.5, 0.5, 0.1, 24, 100)
    with pytest.raises(ValueError, match="mc_p_value must be in"):
        grade(1.0, 0.5, 0.1, 0.5, 0.5, 0.5, 1.5, 24, 100)


def test_breakdown_dict_carries_every_component_and_eligibility() -> None:
    d = grade(5.0, 0.6, 0.2, 0.9, 0.8, 0.75, 0.01, 24, 400).to_dict()

    assert d["live_eligible"] is True
    assert {"sharpe_points", "tail_points", "window_penalty", "letter", "cap_reason"} <= set(d)
