"""Candle validation (SPEC §3): one rule table used by the vectorised batch check and the live per-candle check.

Every candle entering the system passes through here. Bad candles are dropped and counted per reason,
duplicates keep their first occurrence, unsorted input is sorted (not rejected), and gaps larger than
1.5x the timeframe are recorded.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from radar.models import Candle, CandleArrays, timeframe_ms

# Report at most this many individual rejected rows; the per-reason counts are always complete.
MAX_REJECTED_ROWS = 1000
GAP_FACTOR = 1.5

Rule = Callable[..., object]

# (reason, predicate(o, h, l, c, v) -> True where the candle is BAD). The predicates only use numpy ufuncs
# and comparisons, so the same function works on whole arrays and on a single candle's floats.
# Order matters: a candle is reported under the first rule it breaks.
VALUE_RULES: tuple[tuple[str, Rule], ...] = (
    ("non_finite", lambda o, h, l, c, v: ~(np.isfinite(o) & np.isfinite(h) & np.isfinite(l) & np.isfinite(c) & np.isfinite(v))),
    ("non_positive_open", lambda o, h, l, c, v: o <= 0),
    ("non_positive_close", lambda o, h, l, c, v: c <= 0),
    ("negative_volume", lambda o, h, l, c, v: v < 0),
    ("low_above_high", lambda o, h, l, c, v: l > h),
    ("low_above_open_close", lambda o, h, l, c, v: l > np.minimum(o, c)),
    ("high_below_open_close", lambda o, h, l, c, v: h < np.maximum(o, c)),
)
MISALIGNED = "misaligned_timestamp"
DUPLICATE = "duplicate_timestamp"


@dataclass(frozen=True, slots=True)
class Gap:
    """Missing candles: `start_ms` is the first missing open time, `end_ms` the next present one (exclusive)."""

    start_ms: int
    end_ms: int
    missing: int


@dataclass(frozen=True)
class ValidationReport:
    accepted: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    rejected_rows: tuple[tuple[int, str], ...] = ()  # (row number, reason), first MAX_REJECTED_ROWS
    gaps: tuple[Gap, ...] = ()
    unsorted: bool = False  # input was out of order and has been sorted

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def missing_candles(self) -> int:
        return sum(g.missing for g in self.gaps)

    def merge(self, other: ValidationReport) -> ValidationReport:
        rejected = dict(self.rejected)
        for reason, n in other.rejected.items():
            rejected[reason] = rejected.get(reason, 0) + n
        rows = sorted(self.rejected_rows + other.rejected_rows)[:MAX_REJECTED_ROWS]
        gaps = tuple(sorted(set(self.gaps + other.gaps), key=lambda g: (g.start_ms, g.end_ms)))
        return ValidationReport(
            accepted=self.accepted + other.accepted,
            rejected=rejected,
            rejected_rows=tuple(rows),
            gaps=gaps,
            unsorted=self.unsorted or other.unsorted,
        )

    def summary(self) -> str:
        parts = [f"{self.accepted} accepted", f"{self.rejected_total} rejected"]
        if self.rejected:
            parts[-1] += " (" + ", ".join(f"{r}: {n}" for r, n in sorted(self.rejected.items())) + ")"
        parts.append(f"{len(self.gaps)} gaps ({self.missing_candles} missing candles)")
        if self.unsorted:
            parts.append("input was unsorted (sorted)")
        return ", ".join(parts)


def _first_failing_reason(o: np.ndarray, h: np.ndarray, l: np.ndarray, c: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Index into VALUE_RULES of the first rule each candle breaks, or -1 if it passes all of them."""
    reason_idx = np.full(o.shape[0], -1, dtype=np.int16)
    with np.errstate(invalid="ignore"):
        for k in range(len(VALUE_RULES) - 1, -1, -1):  # reverse, so earlier rules overwrite later ones
            reason_idx[np.asarray(VALUE_RULES[k][1](o, h, l, c, v), dtype=bool)] = k
    return reason_idx


def validate_candle(c: Candle) -> str | None:
    """The rejection reason of one candle (live feed), or None if it is valid. Same rules as the batch."""
    with np.errstate(invalid="ignore"):
        for reason, rule in VALUE_RULES:
            if rule(c.open, c.high, c.low, c.close, c.volume):
                return reason
    if c.timestamp % timeframe_ms(c.timeframe) != 0:
        return MISALIGNED
    return None


def find_gaps(timestamps: np.ndarray, timeframe: str) -> tuple[Gap, ...]:
    """Steps between consecutive (sorted) timestamps larger than 1.5x the timeframe."""
    tf = timeframe_ms(timeframe)
    ts = np.asarray(timestamps, dtype=np.int64)
    if ts.shape[0] < 2:
        return ()
    steps = np.diff(ts)
    where = np.flatnonzero(steps > GAP_FACTOR * tf)
    # Round so an odd step (e.g. 2.6x) still counts whole candles rather than truncating.
    missing = np.rint(steps[where] / tf).astype(np.int64) - 1
    starts = ts[where] + tf
    ends = ts[where + 1]
    return tuple(Gap(int(s), int(e), int(m)) for s, e, m in zip(starts.tolist(), ends.tolist(), missing.tolist()))


def validate_candles(
    candles: CandleArrays, timeframe: str, row_numbers: np.ndarray | None = None
) -> tuple[CandleArrays, ValidationReport]:
    """Drop bad candles (counted per reason), sort by time, drop duplicate timestamps (first kept), find gaps.

    `row_numbers` labels each input candle in the report (e.g. CSV line numbers); default 0..n-1.
    """
    tf = timeframe_ms(timeframe)
    n = len(candles)
    rows = np.arange(n, dtype=np.int64) if row_numbers is None else np.asarray(row_numbers, dtype=np.int64)
    if rows.shape[0] != n:
        raise ValueError(f"row_numbers has {rows.shape[0]} entries for {n} candles")
    ts = np.asarray(candles.timestamp, dtype=np.int64)
    cols = [np.asarray(a, dtype=np.float64) for a in (candles.open, candles.high, candles.low, candles.close, candles.volume)]

    reasons = [name for name, _ in VALUE_RULES] + [MISALIGNED, DUPLICATE]
    reason_idx = _first_failing_reason(*cols)
    reason_idx[(reason_idx < 0) & (ts % tf != 0)] = reasons.index(MISALIGNED)

    ok = np.flatnonzero(reason_idx < 0)
    unsorted = bool(ok.shape[0] > 1 and np.any(np.diff(ts[ok]) < 0))
    if unsorted:
        ok = ok[np.argsort(ts[ok], kind="stable")]  # stable: the first occurrence of a duplicate stays first
    if ok.shape[0] > 1:
        dup = np.concatenate(([False], np.diff(ts[ok]) == 0))
        reason_idx[ok[dup]] = reasons.index(DUPLICATE)
        ok = ok[~dup]

    bad = np.flatnonzero(reason_idx >= 0)
    counts = np.bincount(reason_idx[bad], minlength=len(reasons)) if bad.shape[0] else np.zeros(len(reasons), np.int64)
    rejected = {reasons[k]: int(cnt) for k, cnt in enumerate(counts) if cnt}
    order = bad[np.argsort(rows[bad], kind="stable")][:MAX_REJECTED_ROWS]
    rejected_rows = tuple((int(r), reasons[int(k)]) for r, k in zip(rows[order].tolist(), reason_idx[order].tolist()))

    clean = CandleArrays(ts[ok], *(col[ok] for col in cols))
    report = ValidationReport(
        accepted=len(clean),
        rejected=rejected,
        rejected_rows=rejected_rows,
        gaps=find_gaps(clean.timestamp, timeframe),
        unsorted=unsorted,
    )
    return clean, report
