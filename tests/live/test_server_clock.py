"""The feed's view of the exchange clock: extrapolated at the replay speed between syncs, pulled back on the
next sync, and frozen while the server's clock stands still (a paused replay)."""
from __future__ import annotations

import time

from radar.live.clock import ServerClock

T = 1_700_000_000_000


def test_server_clock_extrapolates_at_the_replay_speed_between_syncs() -> None:
    clock = ServerClock(speed=3_600.0)
    clock.sync(T)
    time.sleep(0.05)
    ahead = clock.now_ms() - T
    assert 0.05 * 3_600_000 <= ahead < 0.5 * 3_600_000  # >= 3 simulated minutes for 50 ms real


def test_two_equal_readings_freeze_the_clock_until_the_server_moves_again() -> None:
    # Arrange: a replay paused at T (the boot of `radar up`)
    clock = ServerClock(speed=180_000.0, detect_pause=True)
    clock.sync(T)
    clock.sync(T)
    # Act
    time.sleep(0.05)
    frozen = clock.now_ms()
    clock.sync(T + 1_000)  # the replay runs again
    time.sleep(0.02)
    running = clock.now_ms()
    # Assert: no 2.5 simulated hours of drift while paused, which would close the open candle on its first values
    assert frozen == T
    assert running >= T + 1_000 + 0.02 * 180_000_000 * 0.9


def test_without_a_sync_the_clock_is_the_wall_clock() -> None:
    assert abs(ServerClock().now_ms() - time.time() * 1000) < 1_000


def test_without_pause_detection_equal_readings_keep_the_clock_running() -> None:
    # the watchdog syncs from the last message time, which stands still while the feed is dead
    clock = ServerClock(speed=3_600.0)
    clock.sync(T)
    clock.sync(T)
    time.sleep(0.02)
    assert clock.now_ms() >= T + 0.02 * 3_600_000 * 0.9
