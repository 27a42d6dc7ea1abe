"""The Watchdog actor inside the booted paper system (emulator, one grid_atr runner): with a 0.1 s interval and
a 1 s "disconnected" cooldown, a feed actor killed for good yields a feed_disconnected alert once per cooldown
(the rest are logged but held back), live runners raise nothing, and a runner killed for good raises an
all_stopped alert once. status() carries the watchdog's counters and the Arena ranking."""
from __future__ import annotations

import dataclasses
import time

import pytest
import ray

from actors.live_system import LiveOptions, LiveSystem, status
from actors.live_watchdog import cooldowns_from
from radar.config import load_config
from radar.exchange.emulator import BitgetEmulator, Clock, EmulatorThread, MarketData, load_csv_candles
from tests.conftest import SHARED_DATA
from tests.ray.live_config import write_config

pytestmark = [pytest.mark.ray, pytest.mark.slow, pytest.mark.timeout(180)]
SYM = "BTC/USDT:USDT"
H = 3_600_000
COOLDOWN_S = 1.0


@pytest.fixture()
def one_symbol_config(tmp_path):
    return load_config(write_config(tmp_path, [SYM]))


def _wait(pred, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_dead_feed_alerts_once_per_cooldown_and_a_dead_runner_alerts_all_stopped(ray_session, one_symbol_config, tmp_path):
    # Arrange: the paper system at replay speed 1 (no candle closes during the test), watchdog every 0.1 s
    candles = load_csv_candles(SHARED_DATA / "BTC-USD_1h_bitfinex.csv").slice(3000, 3100)
    clock = Clock.replay(int(candles.timestamp[50]) + H // 2, 1.0)
    opts = LiveOptions(str(tmp_path / "data"), f"sqlite:///{tmp_path / 'radar.db'}", speed=1.0,
                       watchdog_interval_s=0.1, watchdog_ping_timeout_s=2.0,
                       watchdog_cooldowns=cooldowns_from({"disconnected": COOLDOWN_S}, default=3600.0))
    with EmulatorThread(BitgetEmulator(MarketData().add("BTCUSDT", "1h", candles), clock)) as url:
        system = LiveSystem(one_symbol_config, dataclasses.replace(opts, exchange_url=url)).boot()
        watchdog = system.watchdog
        try:
            assert _wait(lambda: ray.get(watchdog.stats.remote())["checks"] >= 3, 20)
            healthy = ray.get(watchdog.alerts.remote())
            before = status()

            # Act 1: the feed dies for good; watch for 3.5 cooldowns
            ray.kill(system.feed, no_restart=True)
            system.feed = None
            t_kill = time.monotonic()
            assert _wait(lambda: any(a["kind"] == "feed_disconnected" for a in ray.get(watchdog.alerts.remote())), 10)
            first_alert_s = time.monotonic() - t_kill
            time.sleep(3.5 * COOLDOWN_S)
            outage = ray.get(watchdog.alerts.remote())
            feed_alerts = [a for a in outage if a["kind"] == "feed_disconnected"]
            stats = ray.get(watchdog.stats.remote())

            # Act 2: the only runner dies for good
            ray.kill(system.runners["grid_atr"], no_restart=True)
            system.runners = {}
            assert _wait(lambda: sum(a["kind"] == "all_stopped" for a in ray.get(watchdog.alerts.remote())) >= 3, 10)
            stopped = [a for a in ray.get(watchdog.alerts.remote()) if a["kind"] == "all_stopped"]
        finally:
            system.shutdown()

    # Assert: healthy system -> no feed / runner alert (data may be "stale": nothing closes at speed 1)
    assert not [a for a in healthy if a["kind"] in ("feed_disconnected", "runner_dead", "all_stopped")]
    assert before["watchdog"]["checks"] >= 3
    assert [(r["runner_id"], r["rank"], r["trades"]) for r in before["ranking"]] == [("grid_atr:BTC/USDT:USDT", 1, 0)]
    assert before["ranking"][0]["return_pct"] == pytest.approx(0.0)
    # every round logs the alert; only one per cooldown goes out
    assert first_alert_s < 2.0
    sent = [a for a in feed_alerts if a["sent"]]
    assert 3 <= len(sent) <= 5  # ~4.5 s of outage / 1 s cooldown
    assert all(b["timestamp"] - a["timestamp"] >= COOLDOWN_S * 1000 for a, b in zip(sent, sent[1:]))
    assert len(feed_alerts) >= 4 * len(sent)  # 10 rounds per cooldown, the rest held back
    assert stats["sent"]["feed_disconnected"] == len(sent)
    assert stats["suppressed"]["feed_disconnected"] == len(feed_alerts) - len(sent)
    assert not [a for a in outage if a["kind"] in ("runner_dead", "all_stopped")]
    # the dead runner: logged every round, sent once (1 h cooldown)
    assert [a["sent"] for a in stopped][:3] == [True, False, False]
