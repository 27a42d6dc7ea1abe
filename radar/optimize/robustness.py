"""Robustness checks of a walk-forward winner (SPEC §7): Monte Carlo block bootstrap, Deflated Sharpe Ratio,
parameter stability, fee stress and tail ratio. (The OOS/IS Sharpe ratio lives in `scoring`.)

Inputs are plain arrays of per-trade values (the OOS trades of the winning combo, windows concatenated in
time order), so the checks do not depend on which engine produced the trades. Sharpe ratios here are
per trade (mean / population std, not annualised), the unit the Deflated Sharpe Ratio is defined in.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Literal

import numpy as np

EULER_GAMMA = 0.5772156649015329
N_SIMS = 1_000
BLOCK = 7
STABILITY_STEPS = (0.1, 0.2)
NO_NEIGHBOUR_STABILITY = 0.5  # nothing to compare with: neither stable nor fragile
FEE_STRESS = 1.33
SLIPPAGE_STRESS = 2.0

_NORMAL = NormalDist()


def _returns(values: Sequence[float] | np.ndarray, what: str = "returns") -> np.ndarray:
    r = np.asarray(values, dtype=np.float64).reshape(-1)
    if not np.isfinite(r).all():
        raise ValueError(f"{what}: every value must be finite")
    return r


# ------------------------------------------------------------------ Monte Carlo block bootstrap


@dataclass(frozen=True, slots=True)
class MonteCarloResult:
    """`p_value` = (1 + #resamples with statistic <= 0) / (n_sims + 1): small when the edge survives resampling."""

    statistic: str
    observed: float
    p_value: float
    n_sims: int
    block: int
    n_trades: int
    p05: float  # 5th / 95th percentile of the resampled statistic
    p95: float


def block_bootstrap_indices(n: int, n_sims: int, block: int, rng: np.random.Generator) -> np.ndarray:
    """[n_sims, n] indices of a moving-block bootstrap: blocks of `block` consecutive trades (fewer if n < block)
    starting uniformly in [0, n - block], concatenated and cut to n."""
    if n <= 0:
        return np.empty((n_sims, 0), dtype=np.int64)
    block = min(block, n)
    n_blocks = -(-n // block)
    starts = rng.integers(0, n - block + 1, size=(n_sims, n_blocks))
    idx = starts[:, :, None] + np.arange(block)[None, None, :]
    return idx.reshape(n_sims, n_blocks * block)[:, :n]


def _statistic(samples: np.ndarray, statistic: str) -> np.ndarray:
    mean = np.atleast_1d(samples.mean(axis=-1))
    if statistic == "mean":
        return mean
    std = np.atleast_1d(samples.std(axis=-1))
    # A constant resample has an infinite Sharpe of its mean's sign (0 for a flat one).
    out = np.where(mean > 0, np.inf, np.where(mean < 0, -np.inf, 0.0))
    return np.divide(mean, std, out=out, where=std > 0)


def block_bootstrap(returns: Sequence[float] | np.ndarray, n_sims: int = N_SIMS, block: int = BLOCK, seed: int = 0,
                    statistic: Literal["mean", "sharpe"] = "mean") -> MonteCarloResult:
    """Resample the trade returns in blocks (keeping short-range dependence) and count how often the
    resampled mean (or Sharpe) is <= 0. No trades -> p = 1."""
    if n_sims < 1 or block < 1:
        raise ValueError(f"block_bootstrap: n_sims and block must be >= 1, got {n_sims} and {block}")
    if statistic not in ("mean", "sharpe"):
        raise ValueError(f"block_bootstrap: statistic must be 'mean' or 'sharpe', got {statistic!r}")
    r = _returns(returns)
    if r.size == 0:
        return MonteCarloResult(statistic, 0.0, 1.0, n_sims, block, 0, 0.0, 0.0)
    rng = np.random.default_rng(seed)
    stats = _statistic(r[block_bootstrap_indices(r.size, n_sims, block, rng)], statistic)
    observed = float(_statistic(r, statistic)[0])
    p = (1 + int(np.count_nonzero(stats <= 0))) / (n_sims + 1)
    p05, p95 = np.percentile(stats, [5, 95])
    return MonteCarloResult(statistic, observed, p, n_sims, min(block, r.size), int(r.size), float(p05), float(p95))


# ------------------------------------------------------------------ Deflated Sharpe Ratio


def expected_max_sharpe(n_trials: int, sr_variance: float) -> float:
    """Expected maximum of `n_trials` Sharpe estimates of zero-skill strategies whose estimates vary with
    `sr_variance` (Bailey & López de Prado 2014): sqrt(V) * ((1-γ) Z(1 - 1/N) + γ Z(1 - 1/(N e)))."""
    if n_trials < 1:
        raise ValueError(f"expected_max_sharpe: n_trials must be >= 1, got {n_trials}")
    if sr_variance < 0:
        raise ValueError(f"expected_max_sharpe: sr_variance must be >= 0, got {sr_variance}")
    if n_trials == 1:
        return 0.0
    z = _NORMAL.inv_cdf
    return math.sqrt(sr_variance) * ((1 - EULER_GAMMA) * z(1 - 1 / n_trials)
                                     + EULER_GAMMA * z(1 - 1 / (n_trials * math.e)))


def probabilistic_sharpe(sr: float, sr_benchmark: float, n_obs: int, skew: float, kurtosis: float) -> float:
    """P(true Sharpe > benchmark) given the estimate `sr` over `n_obs` returns with their skew and (non-excess)
    kurtosis: Z((sr - sr*) sqrt(T-1) / sqrt(1 - skew sr + (kurt-1)/4 sr^2)). 0 under 2 observations."""
    if n_obs < 2:
        return 0.0
    var = 1 - skew * sr + (kurtosis - 1) / 4 * sr * sr
    # Extreme skew can make the variance term non-positive; treat it as tiny (a sure call either way).
    var = max(var, 1e-12)
    return _NORMAL.cdf((sr - sr_benchmark) * math.sqrt(n_obs - 1) / math.sqrt(var))


def deflated_sharpe_from_stats(sr: float, n_obs: int, skew: float, kurtosis: float, n_trials: int,
                               sr_variance: float | None = None) -> float:
    """DSR in [0, 1]: the PSR against the expected maximum Sharpe of `n_trials` trials.

    `sr_variance` is the variance of the per-observation Sharpe estimates across trials; None uses the
    variance of a zero-skill estimate, 1 / (n_obs - 1).
    """
    if n_obs < 2:
        return 0.0
    variance = 1 / (n_obs - 1) if sr_variance is None else sr_variance
    return probabilistic_sharpe(sr, expected_max_sharpe(n_trials, variance), n_obs, skew, kurtosis)


@dataclass(frozen=True, slots=True)
class ReturnMoments:
    n: int
    mean: float
    std: float  # population
    sharpe: float  # mean / population std, per observation
    skew: float
    kurtosis: float  # non-excess (3 for a normal distribution)


def return_moments(returns: Sequence[float] | np.ndarray) -> ReturnMoments:
    """Population moments of the returns; a constant series has Sharpe/skew 0 and kurtosis 3."""
    r = _returns(returns)
    if r.size == 0:
        return ReturnMoments(0, 0.0, 0.0, 0.0, 0.0, 3.0)
    mean = float(r.mean())
    d = r - mean
    m2 = float(np.mean(d ** 2))
    if m2 <= 0:
        return ReturnMoments(int(r.size), mean, 0.0, 0.0, 0.0, 3.0)
    std = math.sqrt(m2)
    return ReturnMoments(int(r.size), mean, std, mean / std, float(np.mean(d ** 3)) / std ** 3,
                         float(np.mean(d ** 4)) / m2 ** 2)


def deflated_sharpe(returns: Sequence[float] | np.ndarray, n_trials: int, sr_variance: float | None = None) -> float:
    """DSR of a return series picked as the best of `n_trials` (the number of distinct combos tried).

    Under 2 returns: 0. A constant series has no Sharpe estimate: 1 if its return is positive, else 0.
    """
    m = return_moments(returns)
    if m.n < 2:
        return 0.0
    if m.std == 0:
        return 1.0 if m.mean > 0 else 0.0
    return deflated_sharpe_from_stats(m.sharpe, m.n, m.skew, m.kurtosis, n_trials, sr_variance)


# ------------------------------------------------------------------ parameter stability


@dataclass(frozen=True, slots=True)
class StabilityResult:
    stability: float  # 1 - worst relative Sharpe drop among neighbours, in [0, 1]
    worst_drop: float
    worst_param: str
    n_neighbours: int


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _snap(target: float, values: Sequence[float], current: float) -> float:
    # Nearest grid value to the target; on a tie the one away from the current value (a real neighbour).
    return min(values, key=lambda x: (abs(x - target), x == current))


def parameter_stability(combos: Sequence[Mapping[str, Any]], sharpes: Sequence[float] | np.ndarray, best: int,
                        steps: Sequence[float] = STABILITY_STEPS) -> StabilityResult:
    """How much the Sharpe falls when one numeric parameter of the best combo moves by ±10% / ±20%.

    Each perturbed value is snapped to the nearest value of that parameter present in `combos`; the neighbour
    is the combo equal to the best except for that parameter (if it was evaluated). Parameters at 0 have no
    relative neighbourhood and are skipped. stability = clip(1 - max((S_best - S_nb) / S_best), 0, 1);
    0 when the best Sharpe is not positive; NO_NEIGHBOUR_STABILITY (0.5) when no neighbour exists.
    """
    s = np.asarray(sharpes, dtype=np.float64)
    if len(combos) != s.size:
        raise ValueError(f"parameter_stability: {len(combos)} combos but {s.size} Sharpes")
    if not 0 <= best < s.size:
        raise ValueError(f"parameter_stability: best index {best} out of range 0..{s.size - 1}")
    s_best = float(s[best])
    ref = combos[best]
    index = {tuple(sorted(c.items())): i for i, c in enumerate(combos)}
    worst, worst_param, seen = -math.inf, "", set()
    for name, v in ref.items():
        if not _is_number(v) or v == 0:
            continue
        present = sorted({c[name] for c in combos if name in c and _is_number(c[name])})
        for step in steps:
            for factor in (1 - step, 1 + step):
                snapped = _snap(v * factor, present, v)
                if snapped == v:
                    continue
                i = index.get(tuple(sorted({**ref, name: snapped}.items())))
                if i is None or i in seen or not np.isfinite(s[i]):
                    continue
                seen.add(i)
                drop = (s_best - float(s[i])) / s_best if s_best > 0 else math.inf
                if drop > worst:
                    worst, worst_param = drop, name
    if not seen:
        return StabilityResult(NO_NEIGHBOUR_STABILITY, 0.0, "", 0)
    if s_best <= 0:
        return StabilityResult(0.0, math.inf, worst_param, len(seen))
    return StabilityResult(float(min(1.0, max(0.0, 1.0 - worst))), float(worst), worst_param, len(seen))


# ------------------------------------------------------------------ fee stress and tails


@dataclass(frozen=True, slots=True)
class FeeStressResult:
    base_net: float
    stressed_net: float
    extra_cost: float
    retention: float  # stressed / base net (0 when the base is not profitable)

    @property
    def profitable(self) -> bool:
        return self.stressed_net > 0


def stressed_net(gross: Sequence[float] | np.ndarray, fees: Sequence[float] | np.ndarray,
                 slippage: Sequence[float] | np.ndarray, fee_mult: float = FEE_STRESS,
                 slippage_mult: float = SLIPPAGE_STRESS) -> np.ndarray:
    """Per-trade net PnL with fees × `fee_mult` and slippage × `slippage_mult` (net = gross - fees - slippage)."""
    g, f, sl = _returns(gross, "gross"), _returns(fees, "fees"), _returns(slippage, "slippage")
    if not g.shape == f.shape == sl.shape:
        raise ValueError(f"fee stress: gross, fees and slippage lengths differ ({g.size}, {f.size}, {sl.size})")
    return g - f * fee_mult - sl * slippage_mult


def fee_stress(gross: Sequence[float] | np.ndarray, fees: Sequence[float] | np.ndarray,
               slippage: Sequence[float] | np.ndarray, fee_mult: float = FEE_STRESS,
               slippage_mult: float = SLIPPAGE_STRESS) -> FeeStressResult:
    """Total net PnL before and after the stress (fees +33%, slippage ×2 by default)."""
    g, f, sl = _returns(gross, "gross"), _returns(fees, "fees"), _returns(slippage, "slippage")
    stressed = float(stressed_net(g, f, sl, fee_mult, slippage_mult).sum())
    base = float((g - f - sl).sum())
    retention = stressed / base if base > 0 else 0.0
    return FeeStressResult(base, stressed, base - stressed, retention)


def tail_ratio(returns: Sequence[float] | np.ndarray, lower: float = 5.0, upper: float = 95.0) -> float:
    """Size of the loss tail relative to the win tail: |min(P5, 0)| / P95 (numpy linear percentiles).

    0 = no left tail, 1 = symmetric tails; the grade gives tail points only below 2/3. inf when the 95th
    percentile is not positive (no win tail) or there are no returns.
    """
    r = _returns(returns)
    if r.size == 0:
        return math.inf
    lo, hi = np.percentile(r, [lower, upper])
    if hi <= 0:
        return math.inf
    return float(max(0.0, -lo) / hi)
