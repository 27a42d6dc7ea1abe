"""The global kill switch and margin guard of the live system (SPEC §8-§9): every runner actor asks the
PortfolioGuard actor before an entry and reports its book after each candle; a drawdown of the summed
equity over the sliding window freezes new entries everywhere (after the grace hour), the watchdog raises
the alert, and the freeze survives a restart of the system."""
from __future__ import annotations


import pytest
import ray

from actors.live_system import LiveOptions, LiveSystem, status
from radar.config.loader import load_config
from radar.exchange.emulator import BitgetEmulator, Clock, EmulatorThread, MarketData, load_csv_candles
from tests.conftest import SHARED_DATA
from tests.ray.test_live_portfolio_parity import PREROLL_H, wait_for_subscriptions
from tests.ray.live_config import write_config

pytestmark = [pytest.mark.ray, pytest.mark.slow, pytest.mark.timeout(240)]
H = 3_600_000
SPEED = 180_000.0
SYMS = ["BTC/USDT:USDT", "ETH/USDT:USDT"]


@pytest.fixture
def tight_kill_switch_config(tmp_path):
    return load_config(write_config(
        tmp_path, SYMS, params={"leverage": 3, "ma_period": 10, "atr_multiplier_start": 1.0},
        risk={"kill_switch": {"global_drawdown_percent": 1.0, "grace_hours": 1, "freeze_hours": 48}}))


def test_a_portfolio_drawdown_freezes_entries_in_every_runner_and_the_freeze_survives_a_restart(
        ray_session, tight_kill_switch_config, tmp_path):
    # Arrange: the same 600 real BTC hours served as two symbols, so both runners lose together
    candles = load_csv_candles(SHARED_DATA / "BTC-USD_1h_bitfinex.csv").slice(3000, 3600)
    market = MarketData().add("BTCUSDT", "1h", candles).add("ETHUSDT", "1h", candles)
    start = int(candles.timestamp[0])
    clock = Clock.replay(start - PREROLL_H * H, SPEED, running=True)
    db = f"sqlite:///{tmp_path / 'radar.db'}"
    opts = LiveOptions(str(tmp_path / "data"), db, speed=SPEED, flush_every_s=0.5, watchdog_interval_s=0.1,
                       watchdog_ping_timeout_s=2.0)
    emulator = BitgetEmulator(market, clock)
    with EmulatorThread(emulator) as url:
        system = LiveSystem(tight_kill_switch_config, LiveOptions(**{**opts.__dict__, "exchange_url": url})).boot()
        try:
            wait_for_subscriptions(emulator, len(SYMS))
            clock.set(start + H)
            # Act: replay until the switch has tripped and entries were refused for it
            guard_status, st = None, None
            for _ in range(600):
                system.wait_for_candles(ray.get(system.feed.stats.remote())["published"] + 10, timeout_s=5)
                guard_status = ray.get(system.guard.status.remote())
                if guard_status["trips"] and guard_status["refusals"].get("global_kill_switch"):
                    break
            st = status()
            alerts = ray.get(system.watchdog.alerts.remote())
        finally:
            system.shutdown()
    # Assert: tripped after the grace hour on a real drawdown of the summed equity
    assert guard_status["trips"] >= 1, guard_status
    assert guard_status["drawdown_pct"] >= 1.0 or guard_status["frozen_until"] is not None
    assert guard_status["armed_at"] is not None and guard_status["frozen_until"] >= guard_status["armed_at"] + H
    assert guard_status["entries_blocked"]
    refused = {}
    for r in st["runners"]:
        for reason, n in r["guard_refusals"].items():
            refused[reason] = refused.get(reason, 0) + n
    assert refused.get("global_kill_switch", 0) >= 1
    assert st["guard"]["trips"] == guard_status["trips"]
    assert any(a["kind"] == "kill_switch" for a in alerts)

    # Act 2: the system restarts on its saved state, the exchange where it left off: still frozen
    last = max(ts for r in st["runners"] for ts in r["last_processed"].values())
    assert last < guard_status["frozen_until"]
    with EmulatorThread(BitgetEmulator(market, Clock.replay(last + H + 1, 1.0))) as url:
        restarted = LiveSystem(tight_kill_switch_config, LiveOptions(**{**opts.__dict__, "exchange_url": url})).boot()
        try:
            after = ray.get(restarted.guard.status.remote())
        finally:
            restarted.shutdown()
    assert after["entries_blocked"] and after["frozen_until"] == guard_status["frozen_until"]
    assert after["trips"] == guard_status["trips"]
