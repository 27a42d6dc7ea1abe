"""Global kill switch: drawdown from the sliding-window peak, grace after warm-up, freeze, reset, state."""
from __future__ import annotations

import json

import pytest

from radar.config.models import KillSwitch
from radar.live.kill_switch import GlobalKillSwitch

H = 3_600_000


def armed(**kw) -> GlobalKillSwitch:
    ks = GlobalKillSwitch(**kw)
    ks.arm(0)
    return ks


def test_trips_at_45_percent_below_the_window_peak_not_before():
    # Arrange
    ks = armed(drawdown_pct=45.0, window_hours=24, grace_hours=1, freeze_hours=24)
    ks.update(0, 10_000.0)
    ks.update(2 * H, 12_000.0)

    # Act
    near = ks.update(3 * H, 6_700.0)  # (12000 - 6700) / 12000 = 44.17%
    trip = ks.update(3 * H + 1_800_000, 6_600.0)  # exactly 45%

    # Assert
    assert near == [] and ks.drawdown_pct == pytest.approx(45.0)
    assert [(e.kind, e.peak, e.equity, e.frozen_until) for e in trip] == [("trip", 12_000.0, 6_600.0, 27 * H + 1_800_000)]
    assert ks.blocked(27 * H + 1_799_999) and not ks.blocked(27 * H + 1_800_000)


def test_a_peak_older_than_the_window_no_longer_counts():
    # Arrange
    ks = armed()
    ks.update(1 * H, 12_000.0)
    ks.update(10 * H, 8_000.0)

    # Act: 25 h after the 12,000 peak, the window peak is the 8,000 of 10 h
    late = ks.update(25 * H, 6_600.0)

    # Assert
    assert late == []
    assert ks.peak == 8_000.0 and ks.drawdown_pct == pytest.approx(17.5)


def test_the_same_drop_inside_the_window_trips():
    ks = armed()
    ks.update(1 * H, 12_000.0)
    ks.update(10 * H, 8_000.0)

    events = ks.update(24 * H + 1, 6_600.0)  # the 12,000 sample (1 h) is still inside (24 h window)

    assert [e.kind for e in events] == ["trip"]


def test_no_trip_during_the_grace_hour_after_warm_up_nor_before_arming():
    ks = GlobalKillSwitch(grace_hours=1)
    assert ks.update(0, 10_000.0) == []  # not armed: ignored
    ks.arm(5 * H)
    ks.update(5 * H, 10_000.0)

    in_grace = ks.update(5 * H + 3_599_999, 5_000.0)
    after = ks.update(6 * H, 5_000.0)

    assert in_grace == []
    assert [e.kind for e in after] == ["trip"] and ks.trips == 1


def test_freeze_expires_and_is_reported_and_a_persisting_drawdown_trips_again():
    ks = armed(freeze_hours=2, window_hours=24)
    ks.update(1 * H, 10_000.0)
    ks.update(2 * H, 5_000.0)

    released = ks.update(4 * H, 5_000.0)

    assert [e.kind for e in released] == ["release", "trip"]
    assert ks.trips == 2 and ks.frozen_until == 6 * H


def test_reset_unfreezes_and_restarts_the_window():
    ks = armed()
    ks.update(1 * H, 10_000.0)
    ks.update(2 * H, 5_000.0)

    ev = ks.reset(2 * H + 60_000, 5_000.0)
    after = ks.update(3 * H, 4_000.0)

    assert ev.kind == "reset" and not ks.blocked(3 * H)
    assert after == [] and ks.drawdown_pct == pytest.approx(20.0)


def test_state_round_trip_continues_identically():
    # Arrange
    series = [(h * H, eq) for h, eq in enumerate([10_000, 10_500, 11_000, 9_000, 8_000, 7_000, 6_000, 5_900, 7_000, 7_000])]
    whole = armed(freeze_hours=3)
    expected = [e for t, eq in series for e in whole.update(t, eq)]
    first = armed(freeze_hours=3)
    got = [e for t, eq in series[:4] for e in first.update(t, eq)]

    # Act
    second = GlobalKillSwitch(freeze_hours=3)
    second.load_state(json.loads(json.dumps(first.to_state())))
    got += [e for t, eq in series[4:] for e in second.update(t, eq)]

    # Assert
    assert got == expected
    assert [e.kind for e in expected] == ["trip", "release"]


def test_built_from_risk_yaml_settings():
    ks = GlobalKillSwitch.from_config(KillSwitch(global_drawdown_percent=30, global_window_hours=12, grace_hours=2,
                                                 freeze_hours=6))

    assert (ks.drawdown_limit, ks.window_ms, ks.grace_ms, ks.freeze_ms) == (30.0, 12 * H, 2 * H, 6 * H)
