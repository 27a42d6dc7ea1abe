"""The 0-100 grade of a walk-forward result and its letter (SPEC §7).

Points (maximum 100):
  Sharpe        min(20, 3.5 * S)                 S = OOS Sharpe (annualised, as in the metrics); negative S
                                                 subtracts, exactly as the formula reads
  win rate      20 * OOS win rate                fraction of winning OOS trades, in [0, 1]
  tail          max(0, 15 * (1 - 1.5 * tail))    tail = robustness.tail_ratio (|P5| / P95)
  DSR           15 * DSR
  stability     15 * parameter stability
  consistency   10 * consistency
  Monte Carlo   5 if p < 0.05, else 5 * (1 - (p - 0.05) / 0.95) clipped to [0, 5] (0 at p = 1)
minus (24 - n) * 0.8 when fewer than 24 OOS windows; the score is the total clipped to [0, 100].
Letters: A >= 85, B >= 70, C >= 55, D >= 40, else F; under 30 OOS trades the letter is at best C, under 50
at best B. A and B are live-eligible.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

FULL_WINDOWS = 24
WINDOW_PENALTY = 0.8
LETTER_FLOORS: tuple[tuple[str, float], ...] = (("A", 85.0), ("B", 70.0), ("C", 55.0), ("D", 40.0))
TRADE_CAPS: tuple[tuple[int, str], ...] = ((30, "C"), (50, "B"))  # under N trades: at best this letter
LIVE_LETTERS = frozenset({"A", "B"})
_ORDER = "ABCDF"


@dataclass(frozen=True, slots=True)
class GradeBreakdown:
    # inputs
    oos_sharpe: float
    oos_win_rate: float
    tail_ratio: float
    dsr: float
    stability: float
    consistency: float
    mc_p_value: float
    n_windows: int
    total_trades: int
    # points
    sharpe_points: float
    win_rate_points: float
    tail_points: float
    dsr_points: float
    stability_points: float
    consistency_points: float
    monte_carlo_points: float
    window_penalty: float
    raw_score: float  # points - penalty, before clipping
    score: float  # clipped to [0, 100]
    letter_before_cap: str
    letter: str
    cap_reason: str  # "" when no trade-count cap applied

    @property
    def live_eligible(self) -> bool:
        return self.letter in LIVE_LETTERS

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "live_eligible": self.live_eligible}


def _unit(name: str, value: float) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"grade: {name} must be in [0, 1], got {value}")
    return value


def monte_carlo_points(p_value: float) -> float:
    p = _unit("mc_p_value", p_value)
    if p < 0.05:
        return 5.0
    return min(5.0, max(0.0, 5.0 * (1.0 - (p - 0.05) / 0.95)))


def tail_points(tail_ratio: float) -> float:
    if math.isnan(tail_ratio) or tail_ratio < 0:
        raise ValueError(f"grade: tail_ratio must be >= 0, got {tail_ratio}")
    return max(0.0, 15.0 * (1.0 - 1.5 * tail_ratio))


def window_penalty(n_windows: int) -> float:
    if n_windows < 0:
        raise ValueError(f"grade: n_windows must be >= 0, got {n_windows}")
    return (FULL_WINDOWS - n_windows) * WINDOW_PENALTY if n_windows < FULL_WINDOWS else 0.0


def letter_for(score: float) -> str:
    # Rounded so that 84.99999999999 from float sums still reads as the 85 it is.
    s = round(score, 9)
    for letter, floor in LETTER_FLOORS:
        if s >= floor:
            return letter
    return "F"


def cap_letter(letter: str, total_trades: int) -> tuple[str, str]:
    """The letter after the trade-count caps and the reason ("" if none applied)."""
    for limit, best in TRADE_CAPS:
        if total_trades < limit and _ORDER.index(letter) < _ORDER.index(best):
            return best, f"{total_trades} OOS trades < {limit}: capped at {best}"
    return letter, ""


def grade(oos_sharpe: float, oos_win_rate: float, tail_ratio: float, dsr: float, stability: float,
          consistency: float, mc_p_value: float, n_windows: int, total_trades: int) -> GradeBreakdown:
    """Score and letter of one strategy × symbol walk-forward result, with every component."""
    if math.isnan(oos_sharpe):
        raise ValueError("grade: oos_sharpe is NaN")
    if total_trades < 0:
        raise ValueError(f"grade: total_trades must be >= 0, got {total_trades}")
    sharpe_pts = min(20.0, 3.5 * float(oos_sharpe))
    win_pts = 20.0 * _unit("oos_win_rate", oos_win_rate)
    tail_pts = tail_points(tail_ratio)
    dsr_pts = 15.0 * _unit("dsr", dsr)
    stab_pts = 15.0 * _unit("stability", stability)
    cons_pts = 10.0 * _unit("consistency", consistency)
    mc_pts = monte_carlo_points(mc_p_value)
    penalty = window_penalty(n_windows)
    raw = sharpe_pts + win_pts + tail_pts + dsr_pts + stab_pts + cons_pts + mc_pts - penalty
    score = min(100.0, max(0.0, raw))
    before = letter_for(score)
    letter, reason = cap_letter(before, total_trades)
    return GradeBreakdown(
        float(oos_sharpe), float(oos_win_rate), float(tail_ratio), float(dsr), float(stability), float(consistency),
        float(mc_p_value), int(n_windows), int(total_trades),
        sharpe_pts, win_pts, tail_pts, dsr_pts, stab_pts, cons_pts, mc_pts, penalty, raw, score, before, letter,
        reason,
    )
