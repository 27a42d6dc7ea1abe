"""Walk-forward windows (SPEC §7): in-sample, an embargo gap, then out-of-sample, stepped through the data.

All timestamps are epoch ms. Intervals are half-open: IS [is_start, is_end), OOS [oos_start, oos_end).
The data end is `last_ts + candle_ms` — pass the timeframe in ms so that the last candle counts whole
(with the default 0 the last candle's own span is left out, which is the conservative reading).
"""
from __future__ import annotations

from dataclasses import dataclass

from radar.config.models import WfoWindows
from radar.optimize.errors import OptimizeError

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Window:
    """One walk-forward window; `index` counts from 0 in time order."""

    index: int
    is_start: int
    is_end: int
    oos_start: int
    oos_end: int

    @property
    def embargo_ms(self) -> int:
        return self.oos_start - self.is_end


def _check_days(name: str, value: float, allow_zero: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise OptimizeError(f"wfo.{name}: expected a number of days, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero) or value != value:
        bound = ">= 0" if allow_zero else "> 0"
        raise OptimizeError(f"wfo.{name}: must be {bound} days, got {value}")


def windows(first_ts: int, last_ts: int, is_days: float, oos_days: float, step_days: float,
            embargo_days: float = 0, *, candle_ms: int = 0) -> list[Window]:
    """Every window whose OOS end is at or before the data end (`last_ts + candle_ms`), first at `first_ts`.

    Raises OptimizeError when not even one window fits ("need X days, have Y").
    """
    for name, value, zero_ok in (("is_days", is_days, False), ("oos_days", oos_days, False),
                                 ("step_days", step_days, False), ("embargo_days", embargo_days, True)):
        _check_days(name, value, zero_ok)
    if candle_ms < 0:
        raise OptimizeError(f"candle_ms must be >= 0, got {candle_ms}")
    data_end = int(last_ts) + int(candle_ms)
    if data_end <= first_ts:
        raise OptimizeError(f"no data to walk forward: first timestamp {first_ts} is not before the end {data_end}")
    is_ms = round(is_days * DAY_MS)
    oos_ms = round(oos_days * DAY_MS)
    step_ms = round(step_days * DAY_MS)
    embargo_ms = round(embargo_days * DAY_MS)
    out: list[Window] = []
    start = int(first_ts)
    while True:
        is_end = start + is_ms
        oos_start = is_end + embargo_ms
        oos_end = oos_start + oos_ms
        if oos_end > data_end:
            break
        out.append(Window(len(out), start, is_end, oos_start, oos_end))
        start += step_ms
    if not out:
        need = is_days + embargo_days + oos_days
        have = (data_end - first_ts) / DAY_MS
        raise OptimizeError(
            f"windows longer than the data: need {need:g} days (IS {is_days:g} + embargo {embargo_days:g} + "
            f"OOS {oos_days:g}), have {have:.1f}"
        )
    return out


def windows_for(wfo: WfoWindows, first_ts: int, last_ts: int, *, candle_ms: int = 0) -> list[Window]:
    """`windows` with the lengths of a param_grids.yaml `wfo:` block."""
    return windows(first_ts, last_ts, wfo.is_days, wfo.oos_days, wfo.step_days, wfo.embargo_days,
                   candle_ms=candle_ms)
