"""The live portfolio guard: the backtester's margin rules over every runner, the global kill switch on the
summed equity (grace after the first live candle, freeze, release), manual kill/reset, state round trip."""
from __future__ import annotations

import pytest

from radar.live.kill_switch import GlobalKillSwitch
from radar.live.portfolio_guard import GLOBAL_KILL_SWITCH, MANUAL_KILL, PortfolioGuard, RunnerReport
from radar.positions.portfolio_limits import ASSET_CAP, MARGIN_LIMIT, MarginLimits

H = 3_600_000
T0 = 1_700_000_000_000 - 1_700_000_000_000 % H


def _guard(drawdown_pct: float = 10.0, grace_h: float = 1.0, freeze_h: float = 4.0) -> PortfolioGuard:
    runners = {"grid_atr:BTC": "BTC", "grid_trend:BTC": "BTC", "grid_atr:ETH": "ETH"}
    return PortfolioGuard(MarginLimits(10_000.0, 0.70, 0.25),
                          GlobalKillSwitch(drawdown_pct, window_hours=24, grace_hours=grace_h, freeze_hours=freeze_h),
                          runners)


def _report_all(guard: PortfolioGuard, ts: int, equities: tuple[float, float, float]) -> list:
    ids = ["grid_atr:BTC", "grid_trend:BTC", "grid_atr:ETH"]
    return guard.report([RunnerReport(rid, ts, eq, guard.margins[rid]) for rid, eq in zip(ids, equities)])


def test_margin_limits_refuse_the_global_limit_before_the_asset_cap() -> None:
    limits = MarginLimits(10_000.0, 0.70, 0.25)
    assert limits.refusal(total_margin=6_000.0, asset_margin=0.0, margin=999.0) is None
    assert limits.refusal(total_margin=6_000.0, asset_margin=0.0, margin=1_000.0) == MARGIN_LIMIT  # 7,000 is not < 7,000
    assert limits.refusal(total_margin=0.0, asset_margin=2_000.0, margin=500.0) is None  # exactly on the 2,500 cap
    assert limits.refusal(total_margin=0.0, asset_margin=2_000.0, margin=500.01) == ASSET_CAP


def test_margin_limits_reject_a_nonsensical_configuration() -> None:
    with pytest.raises(ValueError, match="capital must be > 0"):
        MarginLimits(0.0)
    with pytest.raises(ValueError, match="max_margin_ratio"):
        MarginLimits(1_000.0, max_margin_ratio=1.5)


def test_an_allowed_entry_reserves_its_margin_so_a_second_runner_on_the_asset_hits_the_cap() -> None:
    # Arrange
    guard = _guard()
    # Act
    first = guard.check_entry("grid_atr:BTC", 2_000.0)
    second = guard.check_entry("grid_trend:BTC", 600.0)  # 2,600 > 2,500 on BTC
    other_asset = guard.check_entry("grid_atr:ETH", 600.0)
    # Assert
    assert (first, second, other_asset) == (None, ASSET_CAP, None)
    assert guard.margins == {"grid_atr:BTC": 2_000.0, "grid_trend:BTC": 0.0, "grid_atr:ETH": 600.0}
    assert guard.refusals == {ASSET_CAP: 1}


def test_a_report_replaces_the_reservation_with_the_runners_real_margin() -> None:
    guard = _guard()
    guard.check_entry("grid_atr:BTC", 2_000.0)
    guard.report([RunnerReport("grid_atr:BTC", T0, 3_300.0, 0.0)])  # the position closed
    assert guard.check_entry("grid_trend:BTC", 2_400.0) is None


def test_global_kill_switch_waits_for_every_runner_and_the_grace_hour_then_freezes_entries() -> None:
    # Arrange: 3 runners at 3,333.33 each; a 12 % fall of the total inside the grace hour, then after it
    guard = _guard(drawdown_pct=10.0, grace_h=1.0, freeze_h=4.0)
    assert guard.report([RunnerReport("grid_atr:BTC", T0, 3_333.33, 0.0)]) == []  # not everyone reported: not armed
    assert guard.kill_switch.armed_at is None
    _report_all(guard, T0, (3_333.33, 3_333.33, 3_333.34))  # armed at T0
    # Act
    in_grace = _report_all(guard, T0 + H // 2, (2_933.33, 2_933.33, 2_933.34))  # -12 % in the grace hour
    after_grace = _report_all(guard, T0 + 2 * H, (2_900.0, 2_900.0, 2_900.0))  # -13 % from the 10,000 peak
    # Assert
    assert in_grace == []
    assert [e.kind for e in after_grace] == ["trip"]
    assert after_grace[0].peak == pytest.approx(10_000.0)
    assert after_grace[0].drawdown_pct == pytest.approx(13.0)
    assert guard.entries_blocked()
    assert guard.check_entry("grid_atr:ETH", 10.0) == GLOBAL_KILL_SWITCH
    assert guard.status()["frozen_until"] == T0 + 6 * H


def test_the_freeze_lifts_after_freeze_hours_of_candle_time_unless_the_drawdown_is_still_there() -> None:
    guard = _guard(drawdown_pct=10.0, grace_h=0.0, freeze_h=4.0)
    _report_all(guard, T0, (3_000.0, 3_000.0, 4_000.0))
    _report_all(guard, T0 + H, (2_500.0, 2_500.0, 3_500.0))  # -15 %: trip, frozen until T0 + 5h
    assert guard.check_entry("grid_atr:ETH", 10.0) == GLOBAL_KILL_SWITCH
    # Act: a candle past the freeze with the drawdown at 8.5 % (released), then 15 % again a day later (re-trip)
    released = guard.report([RunnerReport("grid_atr:ETH", T0 + 5 * H, 4_150.0, 0.0)])  # total 9,150
    allowed = guard.check_entry("grid_atr:ETH", 10.0)
    again = _report_all(guard, T0 + 6 * H, (2_500.0, 2_500.0, 3_500.0))
    # Assert
    assert [e.kind for e in released] == ["release"] and allowed is None
    assert [e.kind for e in again] == ["trip"] and guard.kill_switch.trips == 2


def test_manual_kill_blocks_until_reset_and_reset_restarts_the_window_from_current_equity() -> None:
    guard = _guard(drawdown_pct=10.0, grace_h=0.0)
    _report_all(guard, T0, (3_000.0, 3_000.0, 4_000.0))
    guard.kill("operator: /kill")
    assert guard.check_entry("grid_atr:BTC", 10.0) == MANUAL_KILL
    assert guard.status()["manual_kill"] == "operator: /kill"
    # Act
    event = guard.reset()
    after = _report_all(guard, T0 + H, (2_950.0, 2_950.0, 3_950.0))  # -1.5 % of the reset equity: no trip
    # Assert
    assert event is not None and event.kind == "reset" and event.equity == pytest.approx(10_000.0)
    assert after == [] and guard.check_entry("grid_atr:BTC", 10.0) is None


def test_state_round_trip_keeps_a_freeze_across_a_restart() -> None:
    guard = _guard(drawdown_pct=10.0, grace_h=0.0, freeze_h=4.0)
    _report_all(guard, T0, (3_000.0, 3_000.0, 4_000.0))
    _report_all(guard, T0 + H, (2_500.0, 2_500.0, 3_500.0))
    guard.check_entry("grid_atr:BTC", 10.0)
    # Act
    restored = _guard(drawdown_pct=10.0, grace_h=0.0, freeze_h=4.0)
    restored.load_state(guard.to_state())
    # Assert
    assert restored.entries_blocked()
    assert restored.check_entry("grid_atr:BTC", 10.0) == GLOBAL_KILL_SWITCH
    assert restored.refusals == {GLOBAL_KILL_SWITCH: 2}
    assert restored.kill_switch.trips == 1


def test_unknown_runner_and_bad_state_fail_with_the_name() -> None:
    guard = _guard()
    with pytest.raises(KeyError, match="unknown runner 'momentum:SOL'"):
        guard.check_entry("momentum:SOL", 1.0)
    with pytest.raises(ValueError, match="version 99"):
        guard.load_state({"version": 99})


def test_the_asking_runners_current_margin_replaces_its_candle_old_report() -> None:
    # Arrange: the runner's last report holds a full 2,500 grid on BTC; within the next candle it closed it
    guard = _guard()
    guard.report([RunnerReport("grid_atr:BTC", T0, 3_400.0, 2_500.0)])
    # Act
    stale = guard.check_entry("grid_atr:BTC", 833.33)
    current = guard.check_entry("grid_atr:BTC", 833.33, used_margin=0.0)
    # Assert
    assert stale == ASSET_CAP and current is None
    assert guard.margins["grid_atr:BTC"] == pytest.approx(833.33)


def test_the_snapshot_splits_equity_into_cash_margin_and_unrealised_pnl_once_everyone_reported() -> None:
    guard = _guard()
    guard.report([RunnerReport("grid_atr:BTC", T0, 3_450.0, 800.0, 2_600.0)])
    assert guard.snapshot() is None  # two runners have not reported yet
    guard.report([RunnerReport("grid_trend:BTC", T0, 3_300.0, 0.0, 3_300.0),
                  RunnerReport("grid_atr:ETH", T0 + H, 3_280.0, 500.0, 2_800.0)])
    snap = guard.snapshot()
    assert snap["now_ms"] == T0 + H and snap["equity"] == pytest.approx(10_030.0)
    assert (snap["cash"], snap["margin_used"]) == (pytest.approx(8_700.0), pytest.approx(1_300.0))
    assert snap["unrealized_pnl"] == pytest.approx(10_030.0 - 8_700.0 - 1_300.0)
    assert snap["payload"]["runners"]["grid_atr:ETH"] == 3_280.0
