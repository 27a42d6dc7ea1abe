from __future__ import annotations

import pytest

from radar.config.models import WfoWindows
from radar.errors import RadarError
from radar.optimize.errors import OptimizeError
from radar.optimize.windows import DAY_MS, Window, windows, windows_for

HOUR_MS = 3_600_000
T0 = 1_600_000_000_000


def test_default_lengths_over_400_days_give_three_windows_with_embargo_gap() -> None:
    # Arrange: 400 days of hourly candles -> data end = last open + 1h = T0 + 400 days.
    last_ts = T0 + 400 * DAY_MS - HOUR_MS

    # Act
    result = windows(T0, last_ts, 180, 60, 60, 7, candle_ms=HOUR_MS)

    # Assert: OOS ends at 247, 307, 367 days; the fourth (427) overruns 400.
    assert result == [
        Window(0, T0, T0 + 180 * DAY_MS, T0 + 187 * DAY_MS, T0 + 247 * DAY_MS),
        Window(1, T0 + 60 * DAY_MS, T0 + 240 * DAY_MS, T0 + 247 * DAY_MS, T0 + 307 * DAY_MS),
        Window(2, T0 + 120 * DAY_MS, T0 + 300 * DAY_MS, T0 + 307 * DAY_MS, T0 + 367 * DAY_MS),
    ]
    assert result[0].embargo_ms == 7 * DAY_MS


def test_window_ending_exactly_at_data_end_is_kept_and_one_ms_short_is_dropped() -> None:
    exact = windows(T0, T0 + 367 * DAY_MS, 180, 60, 60, 7)
    short = windows(T0, T0 + 367 * DAY_MS - 1, 180, 60, 60, 7)

    assert len(exact) == 3
    assert len(short) == 2


def test_without_candle_ms_the_last_candle_span_is_not_counted() -> None:
    last_ts = T0 + 367 * DAY_MS - HOUR_MS

    assert len(windows(T0, last_ts, 180, 60, 60, 7)) == 2
    assert len(windows(T0, last_ts, 180, 60, 60, 7, candle_ms=HOUR_MS)) == 3


def test_zero_embargo_makes_oos_start_at_is_end_and_step_can_differ_from_oos() -> None:
    result = windows(0, 100 * DAY_MS, 30, 10, 20, 0)

    assert [w.is_start // DAY_MS for w in result] == [0, 20, 40, 60]
    assert all(w.oos_start == w.is_end for w in result)
    assert result[-1].oos_end == 100 * DAY_MS


def test_data_shorter_than_one_window_raises_a_radar_error_with_needed_and_available_days() -> None:
    with pytest.raises(OptimizeError) as info:
        windows(T0, T0 + 200 * DAY_MS, 180, 60, 60, 7)

    assert isinstance(info.value, RadarError)
    assert str(info.value) == (
        "windows longer than the data: need 247 days (IS 180 + embargo 7 + OOS 60), have 200.0"
    )


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"is_days": 0}, "wfo.is_days: must be > 0 days, got 0"),
    ({"oos_days": -5}, "wfo.oos_days: must be > 0 days, got -5"),
    ({"step_days": 0}, "wfo.step_days: must be > 0 days, got 0"),
    ({"embargo_days": -1}, "wfo.embargo_days: must be >= 0 days, got -1"),
])
def test_invalid_lengths_name_the_key(kwargs: dict[str, int], message: str) -> None:
    args = {"is_days": 180, "oos_days": 60, "step_days": 60, "embargo_days": 7, **kwargs}

    with pytest.raises(OptimizeError, match=message):
        windows(T0, T0 + 1000 * DAY_MS, **args)


def test_windows_for_reads_the_config_block() -> None:
    wfo = WfoWindows(is_days=90, oos_days=30, step_days=30, embargo_days=2)

    result = windows_for(wfo, 0, 200 * DAY_MS)

    # OOS ends at 122, 152, 182 days (212 > 200).
    assert [w.oos_end // DAY_MS for w in result] == [122, 152, 182]
