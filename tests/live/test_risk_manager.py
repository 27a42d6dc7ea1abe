"""LiveRiskManager: one refusal per rule with its reason and detail, exits never refused, the session switch
and its UTC daily reset, the global switch on 5-minute snapshots (grace, freeze, release, manual kill and
reset), JSON state round trip, and a real XRP perpetual equity path checked against a brute-force reference."""
from __future__ import annotations

import json

import numpy as np
import pytest

from radar.config.loader import load_one
from radar.config.models import KillSwitch, LiveRisk, RiskConfig
from radar.live.clock import ManualClock
from radar.live.risk_manager import (
    DAY_MS,
    AccountView,
    EntryRequest,
    LiveRiskManager,
    RefusalReason,
)
from radar.live.selector import AdaptiveSelector, StrategyStats
from tests.conftest import REPO_ROOT

MIN = 60_000
H = 3_600_000
T0 = 1_709_251_200_000  # 2024-03-01 00:00 UTC
ASSETS = load_one("assets", REPO_ROOT / "config" / "assets.yaml")


def manager(risk: RiskConfig | None = None, now: int = T0, selector: AdaptiveSelector | None = None) -> LiveRiskManager:
    return LiveRiskManager(risk or RiskConfig(), ASSETS, ManualClock(now), selector)


def entry(symbol: str = "BTC/USDT:USDT", runner: str | None = None, margin: float = 500.0,
          strategy: str = "grid_atr") -> EntryRequest:
    return EntryRequest(runner or f"{strategy}:{symbol}", strategy, symbol, 1, margin * 3, margin)


def account(equity: float = 10_000.0, used: float = 1_000.0, positions: dict[str, str] | None = None) -> AccountView:
    return AccountView(equity, used, equity - used, positions or {})


def held(*symbols: str) -> dict[str, str]:
    return {s: f"grid_atr:{s}" for s in symbols}


# ------------------------------------------------------------------ allowed, and one refusal per rule


def test_an_entry_within_every_limit_is_allowed():
    rm = manager()

    decision = rm.check_entry(entry("SOL/USDT:USDT"), account(positions=held("BTC/USDT:USDT", "ETH/USDT:USDT")))

    assert (decision.allowed, decision.reason, decision.detail) == (True, None, "")
    assert rm.refusals == {}


def test_max_concurrent_positions_refuses_a_fifth_symbol_but_not_another_level_of_a_held_one():
    # Arrange: 4 positions in 4 different correlation groups, so only the concurrency rule can bind
    rm = manager(RiskConfig(live=LiveRisk(max_concurrent_positions=4)))
    book = account(positions=held("BTC/USDT:USDT", "SOL/USDT:USDT", "XRP/USDT:USDT", "LINK/USDT:USDT"))

    # Act
    fifth = rm.check_entry(entry("DOGE/USDT:USDT"), book)
    add_level = rm.check_entry(entry("SOL/USDT:USDT"), book)

    # Assert
    assert (fifth.allowed, fifth.reason) == (False, RefusalReason.MAX_CONCURRENT_POSITIONS)
    assert fifth.detail == "4 positions open, the limit is 4"
    assert add_level.allowed


def test_correlation_group_limit_refuses_a_fourth_l1_position_and_lists_the_group():
    rm = manager()
    book = account(positions=held("SOL/USDT:USDT", "BNB/USDT:USDT", "AVAX/USDT:USDT"))

    fourth_l1 = rm.check_entry(entry("ADA/USDT:USDT"), book)
    other_group = rm.check_entry(entry("ETH/USDT:USDT"), book)

    assert (fourth_l1.allowed, fourth_l1.reason) == (False, RefusalReason.CORRELATION_GROUP_LIMIT)
    assert fourth_l1.detail == ("3 positions open in correlation group l1 (AVAX/USDT:USDT, BNB/USDT:USDT, "
                                "SOL/USDT:USDT), the limit is 3")
    assert other_group.allowed


def test_free_margin_must_stay_at_20_percent_of_equity_after_the_entry():
    # Arrange: equity 10,000, used 7,500 -> 2,500 free; 20% of equity = 2,000
    rm = manager()
    book = account(10_000.0, 7_500.0)

    # Act
    too_much = rm.check_entry(entry(margin=600.0), book)  # 1,900 left = 19%
    exactly = rm.check_entry(entry(margin=500.0), book)  # 2,000 left = 20%

    # Assert
    assert (too_much.allowed, too_much.reason) == (False, RefusalReason.INSUFFICIENT_FREE_MARGIN)
    assert too_much.detail == "free margin after this entry 1,900.00 USDT = 19.00% of equity 10,000.00 USDT, needs >= 20%"
    assert exactly.allowed


def test_a_symbol_held_by_another_runner_is_refused_as_busy():
    rm = manager()

    decision = rm.check_entry(entry("BTC/USDT:USDT", runner="grid_range:BTC/USDT:USDT"),
                              account(positions=held("BTC/USDT:USDT")))

    assert (decision.reason, decision.detail) == (
        RefusalReason.SYMBOL_BUSY, "BTC/USDT:USDT already holds a position of runner grid_atr:BTC/USDT:USDT")


def test_a_symbol_outside_assets_yaml_is_refused_as_unknown():
    rm = manager()

    decision = rm.check_entry(entry("PEPE/USDT:USDT"), account())

    assert (decision.reason, decision.detail) == (
        RefusalReason.UNKNOWN_SYMBOL, "PEPE/USDT:USDT has no correlation group (not in assets.yaml)")


def test_a_pair_the_selector_does_not_allow_is_refused_with_the_selector_reason():
    # Arrange
    selector = AdaptiveSelector(min_trades=20)
    selector.evaluate(T0, [StrategyStats("grid_atr", "BTC/USDT:USDT", "C", True, 40, 310.5),
                           StrategyStats("grid_atr", "ETH/USDT:USDT", "A", True, 40, 120.0)])
    rm = manager(selector=selector)

    # Act
    btc = rm.check_entry(entry("BTC/USDT:USDT"), account())
    eth = rm.check_entry(entry("ETH/USDT:USDT"), account())
    sol = rm.check_entry(entry("SOL/USDT:USDT"), account())

    # Assert
    assert (btc.reason, btc.detail) == (
        RefusalReason.NOT_SELECTED, "grid_atr on BTC/USDT:USDT gets no capital: grade: grade C, live needs A or B")
    assert eth.allowed
    assert sol.detail == "grid_atr on SOL/USDT:USDT gets no capital: not among the evaluated candidates"


def test_a_selector_that_never_evaluated_allows_nothing():
    rm = manager(selector=AdaptiveSelector())

    decision = rm.check_entry(entry(), account())

    assert decision.detail == "grid_atr on BTC/USDT:USDT gets no capital: the selector has not evaluated yet"


def test_the_kill_switches_come_before_every_other_rule():
    # Arrange: the entry also breaks the margin and group rules
    rm = manager()
    rm.kill("exchange maintenance")
    book = account(10_000.0, 9_000.0, held("SOL/USDT:USDT", "BNB/USDT:USDT", "AVAX/USDT:USDT"))

    # Act
    decision = rm.check_entry(entry("ADA/USDT:USDT"), book)

    # Assert
    assert decision.reason is RefusalReason.GLOBAL_KILL_SWITCH
    assert decision.detail == ("manual kill at 2024-03-01 00:00 UTC: exchange maintenance; "
                               "entries blocked until an operator reset")


def test_exits_are_never_refused_even_with_every_switch_tripped():
    # Arrange: session loss 50%, global drawdown 50% after grace, manual kill
    rm = manager()
    rm.arm(T0)
    rm.on_balance_snapshot(T0, 10_000.0)
    rm.on_balance_snapshot(T0 + 2 * H, 5_000.0)
    rm.kill("operator")
    rm.clock.set(T0 + 2 * H)

    # Act
    exit_decision = rm.check_exit("grid_atr:BTC/USDT:USDT", "BTC/USDT:USDT")

    # Assert
    assert rm.session_trip is not None and rm.global_switch.frozen_until is not None
    assert (exit_decision.allowed, exit_decision.reason) == (True, None)


# ------------------------------------------------------------------ refusal records


def test_every_refusal_is_counted_per_reason_and_kept_as_a_json_record():
    # Arrange
    rm = manager(RiskConfig(live=LiveRisk(max_concurrent_positions=1)))
    book = account(positions=held("BTC/USDT:USDT"))

    # Act
    rm.check_entry(entry("SOL/USDT:USDT"), book)
    rm.check_entry(entry("XRP/USDT:USDT"), book)
    rm.check_entry(entry("PEPE/USDT:USDT"), book)
    rm.check_entry(entry("BTC/USDT:USDT"), book)  # allowed: adds to its own position

    # Assert
    assert rm.refusals == {"max_concurrent_positions": 2, "unknown_symbol": 1}
    record = json.loads(json.dumps(rm.status()["recent_refusals"][0]))
    assert record == {"timestamp": T0, "allowed": False, "reason": "max_concurrent_positions",
                      "detail": "1 positions open, the limit is 1", "runner_id": "grid_atr:SOL/USDT:USDT",
                      "strategy": "grid_atr", "symbol": "SOL/USDT:USDT", "side": 1, "notional": 1500.0,
                      "margin": 500.0}


# ------------------------------------------------------------------ session kill switch


def test_a_10_percent_session_loss_blocks_entries_until_the_utc_day_ends():
    # Arrange: the session starts at 10,000 (first equity of 2024-03-01)
    rm = manager(now=T0 + 5 * MIN)
    rm.check_entry(entry(), account(10_000.0))
    rm.clock.set(T0 + 14 * H)

    # Act
    almost = rm.check_entry(entry(), account(9_001.0))  # 9.99% loss
    tripped = rm.check_entry(entry(), account(9_000.0))  # 10%
    rm.clock.set(T0 + DAY_MS - 1)
    last_ms = rm.check_entry(entry(), account(9_500.0))

    # Assert
    assert almost.allowed
    assert (tripped.reason, tripped.detail) == (
        RefusalReason.SESSION_KILL_SWITCH,
        "session loss 10.00% of the session's starting equity 10,000.00 USDT (limit 10%); "
        "entries blocked until the daily reset at 2024-03-02 00:00 UTC")
    assert last_ms.reason is RefusalReason.SESSION_KILL_SWITCH  # recovering does not lift it


def test_the_session_resets_at_midnight_utc_from_the_equity_seen_then():
    # Arrange: tripped on 2024-03-01
    rm = manager(now=T0 + 5 * MIN)
    rm.on_balance_snapshot(T0 + 5 * MIN, 10_000.0)
    trip_events = rm.on_balance_snapshot(T0 + 10 * H, 8_800.0)

    # Act: the first snapshot of 2024-03-02 starts a new session at 8,800
    release_events = rm.on_balance_snapshot(T0 + DAY_MS, 8_800.0)
    rm.clock.set(T0 + DAY_MS + H)
    allowed = rm.check_entry(entry(), account(8_000.0))  # 9.09% below 8,800
    blocked = rm.check_entry(entry(), account(7_920.0))  # 10% below 8,800

    # Assert
    assert [e.kind for e in trip_events] == ["session_trip"]
    assert [(e.kind, e.timestamp) for e in release_events] == [("session_release", T0 + DAY_MS)]
    assert rm.session_start_equity == 8_800.0
    assert allowed.allowed
    assert blocked.detail.startswith("session loss 10.00% of the session's starting equity 8,800.00 USDT")
    assert [e.kind for e in rm.drain_events()] == ["session_trip"]  # a trip found by an entry check is reported


# ------------------------------------------------------------------ global kill switch


def snapshots(rm: LiveRiskManager, start: int, end: int, equity_at) -> list:
    """Every 5 minutes from `start` to `end` inclusive, only when due, like the executor loop."""
    events = []
    for ts in range(start, end + 1, 5 * MIN):
        if rm.snapshot_due(ts):
            events += rm.on_balance_snapshot(ts, equity_at(ts))
    return events


def test_a_snapshot_is_due_every_5_minutes():
    rm = manager()
    first_due = rm.snapshot_due(T0)
    rm.on_balance_snapshot(T0, 10_000.0)

    assert first_due
    assert not rm.snapshot_due(T0 + 5 * MIN - 1)
    assert rm.snapshot_due(T0 + 5 * MIN)


def test_the_global_switch_trips_on_45_percent_from_the_24h_peak_only_after_the_grace_hour():
    # Arrange: peak 12,000 in the first 30 minutes, then 6,000 (50% down) from minute 35 on; no session limit
    rm = manager(RiskConfig(kill_switch=KillSwitch(max_session_loss_percent=100)))
    rm.arm(T0)
    curve = lambda ts: 12_000.0 if ts < T0 + 35 * MIN else 6_000.0  # noqa: E731

    # Act
    during_grace = snapshots(rm, T0, T0 + 55 * MIN, curve)
    rm.clock.set(T0 + 55 * MIN)
    allowed_in_grace = rm.check_entry(entry(), account(6_000.0, 0.0))
    after_grace = snapshots(rm, T0 + H, T0 + H, curve)
    rm.clock.set(T0 + H + MIN)
    refused = rm.check_entry(entry(), account(6_000.0, 0.0))

    # Assert
    assert during_grace == [] and allowed_in_grace.allowed
    assert [e.kind for e in after_grace] == ["global_trip"]
    assert refused.reason is RefusalReason.GLOBAL_KILL_SWITCH
    assert refused.detail == ("drawdown 50.00% from the 24h peak 12,000.00 USDT (limit 45%); "
                              "entries frozen until 2024-03-02 01:00 UTC")


def test_a_peak_that_left_the_24h_window_no_longer_trips():
    # Arrange: session limit out of the way to isolate the global switch
    rm = manager(RiskConfig(kill_switch=KillSwitch(max_session_loss_percent=100)))
    rm.arm(T0)
    curve = lambda ts: 12_000.0 if ts < T0 + 2 * H else 8_000.0 if ts < T0 + 26 * H + 5 * MIN else 6_000.0  # noqa: E731

    # Act: 6,000 is 50% below 12,000 but only 25% below 8,000, the peak of the last 24 h
    events = snapshots(rm, T0, T0 + 30 * H, curve)

    # Assert
    assert events == []
    assert rm.global_switch.peak == 8_000.0 and rm.global_switch.drawdown_pct == pytest.approx(25.0)


def test_the_freeze_ends_after_24_hours_and_the_next_snapshot_reports_the_release():
    # Arrange: trip at 02:00 with 5,000 vs the 10,000 peak
    rm = manager(RiskConfig(kill_switch=KillSwitch(max_session_loss_percent=100)))
    rm.arm(T0)
    snapshots(rm, T0, T0 + 2 * H, lambda ts: 10_000.0 if ts < T0 + 2 * H else 5_000.0)
    frozen_until = rm.global_switch.frozen_until

    # Act
    rm.clock.set(T0 + 26 * H - 1)
    still = rm.check_entry(entry(), account(5_000.0, 0.0))
    rm.clock.set(T0 + 26 * H)
    free = rm.check_entry(entry(), account(5_000.0, 0.0))
    events = snapshots(rm, T0 + 2 * H + 5 * MIN, T0 + 26 * H, lambda ts: 5_000.0)

    # Assert
    assert frozen_until == T0 + 26 * H
    assert still.reason is RefusalReason.GLOBAL_KILL_SWITCH and free.allowed
    assert [(e.kind, e.timestamp) for e in events] == [("global_release", T0 + 26 * H)]


def test_an_operator_reset_unfreezes_and_forgets_the_old_peak():
    # Arrange
    rm = manager(RiskConfig(kill_switch=KillSwitch(max_session_loss_percent=100)))
    rm.arm(T0)
    snapshots(rm, T0, T0 + 2 * H, lambda ts: 10_000.0 if ts < T0 + 2 * H else 5_000.0)
    rm.clock.set(T0 + 3 * H)

    # Act
    reset = rm.reset_kill_switch()
    allowed = rm.check_entry(entry(), account(5_000.0, 0.0))
    after = snapshots(rm, T0 + 3 * H + 5 * MIN, T0 + 4 * H, lambda ts: 5_000.0)

    # Assert
    assert (reset.kind, reset.equity) == ("reset", 5_000.0)
    assert allowed.allowed
    assert after == [] and rm.global_switch.peak == 5_000.0


def test_a_manual_kill_holds_past_any_freeze_until_the_operator_resets():
    rm = manager()
    event = rm.kill("suspicious fills")
    rm.clock.set(T0 + 72 * H)
    held_on = rm.check_entry(entry(), account())

    rm.reset_kill_switch(10_000.0)
    after_reset = rm.check_entry(entry(), account())

    assert (event.kind, event.detail) == ("manual_kill", "manual kill: suspicious fills")
    assert held_on.reason is RefusalReason.GLOBAL_KILL_SWITCH
    assert after_reset.allowed


# ------------------------------------------------------------------ state


def test_state_round_trips_through_json_and_the_restored_manager_carries_on():
    # Arrange: global trip at 02:00 (5,000 vs 10,000), session trip, two refusals
    rm = manager()
    rm.arm(T0)
    snapshots(rm, T0, T0 + 2 * H, lambda ts: 10_000.0 if ts < T0 + 2 * H else 5_000.0)
    rm.clock.set(T0 + 3 * H)
    rm.check_entry(entry(), account(5_000.0, 0.0))
    rm.check_entry(entry("SOL/USDT:USDT"), account(5_000.0, 0.0))

    # Act
    status = json.loads(json.dumps(rm.status(), allow_nan=False))
    state = json.loads(json.dumps(rm.to_state(), allow_nan=False))
    back = LiveRiskManager.from_state(state, RiskConfig(), ASSETS, ManualClock(T0 + 3 * H))
    same = back.to_state() == rm.to_state()
    back.clock.set(T0 + 26 * H)
    next_day = back.check_entry(entry(), account(5_000.0, 0.0))
    events = back.on_balance_snapshot(T0 + 26 * H, 5_000.0)

    # Assert
    assert status["refusals"] == {"global_kill_switch": 2}
    assert status["global"]["blocked"] and status["global"]["frozen_until"] == T0 + 26 * H
    assert status["session"]["tripped"]["loss_pct"] == pytest.approx(50.0)
    assert same
    assert next_day.allowed  # the freeze ended at 02:00 + 24 h, and 2024-03-02 is a new session
    assert [e.kind for e in events] == ["session_release", "global_release"]


def test_a_restored_manager_refuses_exactly_as_the_original():
    rm = manager()
    rm.arm(T0)
    snapshots(rm, T0, T0 + 2 * H, lambda ts: 10_000.0 if ts < T0 + 2 * H else 5_000.0)
    rm.clock.set(T0 + 3 * H)
    original = rm.check_entry(entry(), account(5_000.0, 0.0))

    back = LiveRiskManager.from_state(json.loads(json.dumps(rm.to_state())), RiskConfig(), ASSETS,
                                      ManualClock(T0 + 3 * H))
    restored = back.check_entry(entry(), account(5_000.0, 0.0))

    assert (restored.reason, restored.detail) == (original.reason, original.detail)
    assert back.refusals == {"global_kill_switch": 2}
    assert back.global_switch.to_state() == rm.global_switch.to_state()
    assert back.session_trip == rm.session_trip and back.armed


def test_a_state_of_another_version_is_refused_by_name():
    with pytest.raises(ValueError, match=r"risk manager state version 7 is not supported \(expected 1\)"):
        LiveRiskManager.from_state({"version": 7}, RiskConfig(), ASSETS, ManualClock(T0))


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"side": 0}, "entry request of r on BTC/USDT:USDT: side must be +1 (long) or -1 (short), got 0"),
    ({"margin": 0.0}, "entry request of r on BTC/USDT:USDT: margin must be > 0, got 0.0"),
    ({"notional": float("nan")}, "entry request of r on BTC/USDT:USDT: notional must be a finite number, got nan"),
])
def test_a_malformed_entry_request_names_the_field(kwargs, message):
    fields = {"runner_id": "r", "strategy": "grid_atr", "symbol": "BTC/USDT:USDT", "side": 1, "notional": 1500.0,
              "margin": 500.0} | kwargs

    with pytest.raises(ValueError) as err:
        EntryRequest(**fields)

    assert str(err.value) == message


def test_a_snapshot_that_goes_back_in_time_or_is_not_finite_is_refused():
    rm = manager()
    rm.on_balance_snapshot(T0, 10_000.0)

    with pytest.raises(ValueError, match="balance snapshot: equity must be a finite number, got inf"):
        rm.on_balance_snapshot(T0 + 5 * MIN, float("inf"))
    with pytest.raises(ValueError, match=f"balance snapshot at {T0} is not after the previous one at {T0}"):
        rm.on_balance_snapshot(T0, 10_000.0)


# ------------------------------------------------------------------ real data


def reference_trips(ts: np.ndarray, equity: np.ndarray, limit: float, window: int, grace: int, freeze: int) -> list[int]:
    """Brute force: drawdown from the max of the samples in (t - window, t], trips after grace, freeze."""
    trips, frozen_until = [], None
    for i, t in enumerate(ts):
        if frozen_until is not None and t >= frozen_until:
            frozen_until = None
        peak = equity[(ts > t - window) & (ts <= t)].max()
        if frozen_until is None and t >= ts[0] + grace and (peak - equity[i]) / peak * 100 >= limit:
            trips.append(int(t))
            frozen_until = t + freeze
    return trips


def reference_session_trips(ts: np.ndarray, equity: np.ndarray, limit: float) -> list[int]:
    trips, day, start, tripped = [], None, 0.0, False
    for t, e in zip(ts, equity):
        if t // DAY_MS != day:
            day, start, tripped = t // DAY_MS, e, False
        elif not tripped and (start - e) / start * 100 >= limit:
            trips.append(int(t))
            tripped = True
    return trips


@pytest.mark.slow
def test_a_4x_long_xrp_perpetual_equity_trips_both_switches_where_a_brute_force_says(shared_data):
    # Arrange: 10,000 USDT at 4x long on Binance XRP/USDT 5m closes, 2021-11-15..21 (1,999 snapshots)
    candles = np.loadtxt(shared_data / "XRP-USDT_5m_futures.csv", delimiter=",", skiprows=1)
    ts, close = candles[:, 0].astype(np.int64), candles[:, 4]
    equity = 10_000.0 * (1.0 + 4.0 * (close / close[0] - 1.0))
    rm = manager(now=int(ts[0]))
    rm.arm(int(ts[0]))

    # Act
    events = []
    for t, e in zip(ts, equity):
        assert rm.snapshot_due(int(t))
        events += rm.on_balance_snapshot(int(t), float(e))

    # Assert
    expected_global = reference_trips(ts, equity, 45.0, 24 * H, H, 24 * H)
    expected_session = reference_session_trips(ts, equity, 10.0)
    assert [e.timestamp for e in events if e.kind == "global_trip"] == expected_global
    assert [e.timestamp for e in events if e.kind == "session_trip"] == expected_session
    assert len(expected_global) >= 1 and len(expected_session) >= 3
