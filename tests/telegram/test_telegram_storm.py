"""An alert storm: 1,000 anomalies of 8 kinds within a second through CooldownNotifier(TelegramNotifier).
At most one message per kind reaches the (slow) fake Bot API per cooldown, and the inline `send` stays cheap
for the trading code that calls it, also while the sender thread is busy (benchmarks/telegram_storm.py has
the fuller numbers)."""
from __future__ import annotations

import statistics
import time

import pytest

from radar.config.models import AlertCooldowns
from radar.live.clock import WallClock
from radar.live.messages import Alert, CandleMsg
from radar.live.notifier import CooldownNotifier, LogNotifier
from radar.live.runner_host import build_runner_host
from radar.strategies.registry import create_strategy
from radar.telegram import format as fmt
from radar.telegram.notifier import TelegramNotifier
from tests.runners.real_data import candles_for
from tests.telegram.bot_env import make_settings

KINDS = ["feed_disconnected", "data_stale", "runner_dead", "all_stopped", "kill_switch", "missing_sl", "disk",
         "runner_kill_switch"]


def storm_alert(i: int) -> Alert:
    return Alert(KINDS[i % len(KINDS)], f"anomaly #{i}", int(time.time() * 1000), "critical")


def test_a_storm_of_1000_alerts_sends_one_message_per_kind_and_never_blocks_the_caller(api):
    # Arrange: Telegram answers 0.5 s late during the storm; SPEC §9 cooldowns (5 min to 1 h) on the wall clock;
    # the notifier has finished its start-up (in production it starts at boot, long before a storm)
    notifier = TelegramNotifier(make_settings(api)).start()
    assert notifier.warmed.wait(5)
    cooled = CooldownNotifier(notifier, WallClock(), AlertCooldowns())
    api.delay_s = 0.5
    durations_us = []

    # Act
    t0 = time.perf_counter()
    for i in range(1000):
        s = time.perf_counter_ns()
        cooled.send(storm_alert(i))
        durations_us.append((time.perf_counter_ns() - s) / 1000)
    total_s = time.perf_counter() - t0
    api.delay_s = 0.0
    assert notifier.flush(10)
    notifier.close(2)

    # Assert: one message per kind, each the first alert of its kind
    texts = api.texts()
    per_kind = {k: sum(fmt.ALERT_TITLES.get(k, ("", k))[1] in t.split("\n")[0] for t in texts) for k in KINDS}
    assert per_kind == {k: 1 for k in KINDS}
    assert sorted(t.split("\n")[1] for t in texts) == sorted(f"anomaly #{i}" for i in range(8))
    assert sum(cooled.suppressed.values()) == 992 and notifier.dropped == 0
    # ... and no call waited for the network (one that did would take the server's 0.5 s)
    p99, worst = sorted(durations_us)[989], max(durations_us)
    print(f"storm: total {total_s * 1000:.1f} ms, send p99 {p99:.1f} us, max {worst:.1f} us")
    assert total_s < 1.0, total_s
    assert worst < 250_000, worst
    # measured p99 50-130 us when the 2 cores are free, 1.4-2.4 ms with 7 runnable processes on them: the
    # sender thread's share of the GIL; the bound is the interpreter's 5 ms switch interval
    assert p99 < 5_000, p99


def runner_loop_ms(notifier: object, n_candles: int = 1500, alerts: int = 500) -> float:
    """Wall time (ms) of a real grid_atr runner's candle loop over real candles, an alert sent inline every few
    candles with no cooldown (the worst case: every alert is handed to `notifier`)."""
    candles = candles_for("1h", n_candles)
    every = max(1, n_candles // alerts)
    host = build_runner_host("grid_atr", ["BTC/USDT:USDT"], lambda s: create_strategy("grid_atr", {}), capital=10_000.0)
    cooled = CooldownNotifier(notifier, WallClock(), lambda kind: 0.0)
    t0 = time.perf_counter()
    for i, c in enumerate(candles):
        host.on_candle(CandleMsg(i + 1, c, 0))
        if i % every == 0:
            cooled.send(storm_alert(i))
    return (time.perf_counter() - t0) * 1000


@pytest.mark.slow
def test_a_busy_sender_thread_does_not_slow_a_runner_beyond_the_inline_logging(api):
    # Arrange: the same runner and alerts once through a LogNotifier (no Telegram), once through Telegram with
    # no cooldown, where the sender thread then sends back to back (Telegram answering in 50 ms) and drops
    # what overflows its queue of 20, during the whole run
    notifier = TelegramNotifier(make_settings(api, queue_size=20)).start()
    assert notifier.warmed.wait(5)
    api.delay_s = 0.05
    runner_loop_ms(LogNotifier(), n_candles=300)  # warm-up (numba, caches)

    # Act: alternate, so neither variant always runs first
    log_only, telegram = [], []
    for _ in range(3):
        log_only.append(runner_loop_ms(LogNotifier()))
        telegram.append(runner_loop_ms(notifier))
    notifier.close(1)

    # Assert
    base, busy = statistics.median(log_only), statistics.median(telegram)
    print(f"runner loop: {base:.1f} ms with LogNotifier, {busy:.1f} ms with Telegram")
    assert notifier.sent >= 6  # the sender really was busy during the runs
    # measured within -20..+10% (2 shared cores); a send that waited for the network would add 500 x 50 ms
    assert busy < 2.0 * base, (base, busy)
