"""Watchdog checks and alert cooldowns with a ManualClock; the arena ranking."""
from __future__ import annotations

import logging

import pytest

from radar.config.models import AlertCooldowns, WatchdogConfig
from radar.events import TradeResult
from radar.live.arena import entry_from_trades, rank
from radar.live.clock import ManualClock
from radar.live.kill_switch import GlobalKillSwitch
from radar.live.messages import Alert, FeedHealth
from radar.live.notifier import CooldownNotifier, LogNotifier
from radar.live.watchdog import Watchdog

H = 3_600_000
T0 = 1_700_002_800_000


class Recorder:
    def __init__(self, ok: bool = True) -> None:
        self.ok, self.messages = ok, []

    def send(self, alert: Alert) -> bool:
        self.messages.append((alert.kind, alert.timestamp, alert.message))
        return self.ok


def healthy(now: int) -> FeedHealth:
    return FeedHealth(True, now - 10_000, {"BTC/USDT:USDT|1h": now - now % H - H})


# -- notifier ------------------------------------------------------------------------------------------------
def test_a_thousand_alerts_in_a_second_send_one_message_per_type_and_log_every_one(caplog):
    # Arrange
    clock = ManualClock(T0)
    inner = Recorder()
    notifier = CooldownNotifier(inner, clock, AlertCooldowns())
    kinds = ["missing_sl", "feed_disconnected", "kill_switch", "data_stale"]

    # Act
    with caplog.at_level(logging.INFO, logger="radar.alerts"):
        for i in range(1000):
            notifier.send(Alert(kinds[i % 4], f"alert {i}", clock.now_ms(), "critical"))
            clock.advance(1)

    # Assert
    assert sorted(k for k, _, _ in inner.messages) == sorted(kinds)
    assert notifier.sent == {k: 1 for k in kinds}
    assert notifier.suppressed == {k: 249 for k in kinds}
    assert len([r for r in caplog.records if r.name == "radar.alerts"]) == 1000


def test_each_type_comes_back_after_its_own_cooldown_with_the_suppressed_count():
    # Arrange: an alert of each type every 30 s (the watchdog period) for 2 hours
    clock = ManualClock(T0)
    inner = Recorder()
    notifier = CooldownNotifier(inner, clock, AlertCooldowns())

    # Act
    for _ in range(240):
        for kind in ("missing_sl", "feed_disconnected", "data_stale", "kill_switch", "all_stopped", "disk"):
            notifier.send(Alert(kind, kind, clock.now_ms()))
        clock.advance(30_000)

    # Assert: missing SL 5 min, disconnected/stale 30 min, kill switch/all stopped 1 h, default 10 min
    assert notifier.sent == {"missing_sl": 24, "feed_disconnected": 4, "data_stale": 4, "kill_switch": 2,
                             "all_stopped": 2, "disk": 12}
    sl = [(t - T0, m) for k, t, m in inner.messages if k == "missing_sl"]
    assert sl[:2] == [(0, "missing_sl"), (300_000, "missing_sl (+9 similar alerts suppressed)")]


def test_a_failed_send_is_not_a_send_so_the_next_alert_retries_at_once():
    clock = ManualClock(T0)
    inner = Recorder(ok=False)
    notifier = CooldownNotifier(inner, clock, lambda kind: 300.0)

    notifier.send(Alert("missing_sl", "a", T0))
    inner.ok = True
    clock.advance(1_000)
    sent = notifier.send(Alert("missing_sl", "b", T0 + 1_000))

    assert sent is True and notifier.failed == {"missing_sl": 1} and notifier.sent == {"missing_sl": 1}


def test_log_notifier_writes_at_the_alert_severity(caplog):
    with caplog.at_level(logging.INFO, logger="radar.alerts"):
        LogNotifier().send(Alert("disk", "low disk", T0, "critical"))

    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [(logging.CRITICAL, "[disk] low disk")]


# -- watchdog ------------------------------------------------------------------------------------------------
def test_all_healthy_gives_no_alert():
    now = T0 + 30 * 60_000
    alerts = Watchdog().check(now, healthy(now), {"a": True, "b": True}, False, [], 10 * 1024**3)
    assert alerts == []


def test_each_check_raises_its_alert():
    # Arrange
    now = T0 + 30 * 60_000
    ks = GlobalKillSwitch()
    ks.arm(now - 2 * H)
    ks.update(now - 2 * H, 10_000.0)
    ks.update(now - 60_000, 5_000.0)
    health = FeedHealth(False, now - 301_000, {"BTC/USDT:USDT|1h": now - now % H - H}, reconnects=3)

    # Act
    alerts = Watchdog.from_config(WatchdogConfig()).check(
        now, health, {"a": True, "b": False}, ks, ["grid_atr:ETH/USDT:USDT"], 400 * 1024**2)

    # Assert
    assert [(a.kind, a.severity) for a in alerts] == [
        ("feed_disconnected", "critical"), ("data_stale", "warning"), ("runner_dead", "warning"),
        ("kill_switch", "critical"), ("missing_sl", "critical"), ("disk", "warning")]
    assert alerts[1].message == "market data stale: last message 301 s ago"
    assert "drawdown 50.0% from peak 10000.00" in alerts[3].message
    assert alerts[5].message == "low disk space: 400 MB free (minimum 500 MB)"


def test_a_stream_without_its_next_candle_is_stale_even_if_other_messages_arrive():
    # last closed 1h candle opened at 10:00 -> the 11:00 candle closes at 12:00; stale after 12:05
    last_open = T0
    health = FeedHealth(True, T0 + 2 * H + 299_000, {"BTC/USDT:USDT|1h": last_open, "ETH/USDT:USDT|1h": last_open + H})
    wd = Watchdog(stale_after_s=300)

    on_time = wd.check(T0 + 2 * H + 300_000, health, {})
    late = wd.check(T0 + 2 * H + 300_001, health, {})

    assert on_time == []
    assert [a.message for a in late] == ["no closed candle in time for 1 stream(s): BTC/USDT:USDT|1h"]


def test_all_runners_stopped_is_one_critical_alert():
    alerts = Watchdog().check(T0, None, {"a": False, "b": False})
    assert [(a.kind, a.message) for a in alerts] == [("all_stopped", "all 2 runners stopped")]


# -- arena ---------------------------------------------------------------------------------------------------
def tr(net: float, ts: int, end_of_data: bool = False) -> TradeResult:
    return TradeResult("r", "s", "X", 1, ts - 1, ts, 1.0, 1.0, 1.0, 1, net, 0.0, 0.0, 0.0, net, 0.0, "tp", end_of_data, ts)


def test_arena_entry_measures_return_drawdown_and_win_rate():
    e = entry_from_trades("a", "grid_atr", "BTC", 1_000.0, 1_050.0, [tr(100, 1), tr(-220, 2), tr(170, 3), tr(5, 4, True)])

    assert e.return_pct == pytest.approx(5.0)
    assert e.max_drawdown_pct == pytest.approx(20.0)  # 1100 -> 880
    assert (e.trades, e.wins, e.net_pnl) == (3, 2, 50.0)
    assert e.win_rate == pytest.approx(2 / 3)


def test_arena_ranks_by_the_chosen_measure_with_ties_broken_by_return():
    a = entry_from_trades("a", "s", "X", 1_000.0, 1_100.0, [tr(150, 1), tr(-50, 2)])   # +10%, dd 4.35%, 1/2
    b = entry_from_trades("b", "s", "X", 1_000.0, 1_050.0, [tr(50, 1)])                # +5%, dd 0, 1/1
    c = entry_from_trades("c", "s", "X", 1_000.0, 900.0, [tr(-60, 1), tr(-40, 2), tr(0.0, 3)])  # -10%, dd 10%, 0/3

    assert [(e.runner_id, e.rank) for e in rank([c, b, a])] == [("a", 1), ("b", 2), ("c", 3)]
    assert [e.runner_id for e in rank([a, b, c], by="drawdown")] == ["b", "a", "c"]
    assert [e.runner_id for e in rank([a, b, c], by="trades")] == ["c", "a", "b"]
    assert [e.runner_id for e in rank([a, b, c], by="win_rate")] == ["b", "a", "c"]
    with pytest.raises(ValueError, match="unknown ranking 'sharpe'"):
        rank([a], by="sharpe")
