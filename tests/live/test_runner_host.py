"""RunnerHost: exactly-once intake of sequence-numbered candles (re-delivery, seq gaps), restore after a
crash equals an uninterrupted run, kill-switch hook blocks entries, funding/OI forwarding, live sizing."""
from __future__ import annotations

import json

import pytest

from radar.errors import RadarError
from radar.events import EventKind
from radar.live.messages import CandleMsg, FundingMsg, OpenInterestMsg
from radar.live.runner_host import RunnerHost, build_runner_host, live_runner_config
from radar.models import Candle
from radar.strategies.registry import create_strategy
from tests.runners.real_data import candles_for

SYM = "BTC/USDT:USDT"


def host(name: str = "grid_atr", blocked=None) -> RunnerHost:
    return build_runner_host(name, [SYM], lambda s: create_strategy(name, {}), capital=10_000.0, n_runners=1,
                             n_assets=4, entries_blocked=blocked)


def reference_events(name: str, candles) -> list[dict]:
    r = host(name).runners[SYM]
    return [e.to_dict() for c in candles for e in r.on_candle(c)]


def test_redeliveries_are_ignored_and_seq_gaps_recorded_with_the_same_trades_as_a_backtest():
    # Arrange: 3,000 real BTC 1h candles; every 7th message is delivered twice, seq jumps by 2 every 500th
    candles = candles_for("1h", 3000)
    h = host()
    msgs, seq = [], 0
    for i, c in enumerate(candles):
        seq += 2 if i and i % 500 == 0 else 1
        msgs.append(CandleMsg(seq, c, c.timestamp + 3_600_000))

    # Act
    events = []
    for i, m in enumerate(msgs):
        events.extend(h.on_candle(m))
        if i % 7 == 6:
            events.extend(h.on_candle(m))

    # Assert
    ref = reference_events("grid_atr", candles)
    assert len(ref) > 100
    assert [e.to_dict() for e in events] == ref
    assert h.redelivered == 3000 // 7
    assert [(g.first_missing, g.last_missing) for g in h.seq_gaps] == [(501, 501), (1002, 1002), (1503, 1503),
                                                                      (2004, 2004), (2505, 2505)]
    assert h.last_seq == {f"{SYM}|1h": 3005}


def test_restart_from_the_last_saved_state_with_replayed_messages_equals_an_uninterrupted_run():
    # Arrange: state saved after message 1400, the process dies after 1500, the feed re-delivers from 1401
    candles = candles_for("1h", 3000)
    msgs = [CandleMsg(i + 1, c, 0) for i, c in enumerate(candles)]
    first = host()
    before = []
    for m in msgs[:1400]:
        before.extend(first.on_candle(m))
    saved = json.loads(json.dumps(first.state(), allow_nan=False))
    for m in msgs[1400:1500]:
        first.on_candle(m)  # lost with the process

    # Act
    second = host()
    restored = second.restore(saved)
    after = []
    for m in msgs[1300:]:  # the feed replays a little more than needed
        after.extend(second.on_candle(m))

    # Assert
    assert restored == [SYM]
    assert second.redelivered == 100
    assert [e.to_dict() for e in before + after] == reference_events("grid_atr", candles)


@pytest.mark.parametrize("name", ["grid_atr", "donchian_breakout"])
def test_entries_blocked_by_the_global_kill_switch_open_nothing_but_exits_still_run(name):
    # Arrange: block entries for 1,000 candles, starting right after an entry (a position is open)
    candles = candles_for("1h", 3000)
    index = {c.timestamp: i for i, c in enumerate(candles)}
    first_open = next(e for e in reference_events(name, candles) if e["kind"] == "open" and index[e["timestamp"]] >= 1000)
    start = index[first_open["timestamp"]] + 1
    state = {"blocked": False}
    h = host(name, blocked=lambda: state["blocked"])
    events = []

    # Act
    for i, c in enumerate(candles):
        state["blocked"] = start <= i < start + 1000
        events.extend(h.on_candle(CandleMsg(i + 1, c, 0)))

    # Assert
    lo, hi = candles[start].timestamp, candles[start + 999].timestamp
    opens = [e for e in events if e.kind is EventKind.OPEN]
    assert not [e for e in opens if lo <= e.timestamp <= hi]
    assert [e for e in opens if e.timestamp > hi] and [e for e in opens if e.timestamp < lo]
    assert h.blocked_entries > 0
    assert [e for e in events if e.kind is EventKind.CLOSE and lo <= e.timestamp <= hi]  # the open position exits


class RecordingRunner:
    """Captures what the host forwards to a runner."""

    def __init__(self, symbol: str) -> None:
        from radar.runners import RunnerConfig

        self.config = RunnerConfig(f"rec:{symbol}", symbol)
        self.capital, self.stopped, self.last_ts, self.margin_guard = 100.0, False, None, None
        self.calls: list[tuple[int, float | None, dict | None]] = []

    def on_candle(self, candle, funding_rate=None, extra=None):
        self.calls.append((candle.timestamp, funding_rate, extra))
        return []

    used_margin = 0.0


def test_latest_funding_rate_and_open_interest_are_forwarded_per_symbol():
    # Arrange
    btc, eth = RecordingRunner(SYM), RecordingRunner("ETH/USDT:USDT")
    h = RunnerHost("rec", {SYM: btc, "ETH/USDT:USDT": eth})
    c = lambda ts, sym=SYM: Candle(ts, 1.0, 1.0, 1.0, 1.0, 1.0, sym, "1h")

    # Act
    h.on_candle(CandleMsg(1, c(0), 0))
    h.on_funding(FundingMsg(1, SYM, 0, 0.0001))
    h.on_funding(FundingMsg(2, SYM, 28_800_000, 0.0003))
    stale = h.on_funding(FundingMsg(2, SYM, 28_800_000, 0.9))
    h.on_open_interest(OpenInterestMsg(1, SYM, 0, 12_345.0))
    h.on_candle(CandleMsg(2, c(3_600_000), 0))
    h.on_candle(CandleMsg(1, c(3_600_000, "ETH/USDT:USDT"), 0))
    h.on_candle(CandleMsg(1, c(0, "SOL/USDT:USDT"), 0))

    # Assert
    assert stale is False
    assert btc.calls == [(0, None, None), (3_600_000, 0.0003, {"open_interest": 12_345.0})]
    assert eth.calls == [(3_600_000, None, None)]
    assert h.foreign == 1


def test_restore_refuses_another_strategys_state():
    with pytest.raises(RadarError, match="saved state is for 'grid_atr'"):
        host("donchian_breakout").restore(host("grid_atr").state())


def test_live_sizing_is_an_even_capital_split_with_a_capped_fixed_allocation():
    few = live_runner_config("grid_atr", SYM, capital=10_000.0, n_runners=3, n_assets=2)
    many = live_runner_config("grid_atr", SYM, capital=10_000.0, n_runners=8, n_assets=8)

    assert few.runner_id == "grid_atr:BTC/USDT:USDT" and few.sizing == "fixed" and few.hard_drawdown_pct is None
    assert few.initial_capital == pytest.approx(3_333.333333333) and few.fixed_allocation == 2_500.0
    assert (many.initial_capital, many.fixed_allocation) == (1_250.0, 1_250.0)


def test_a_shared_margin_guard_is_asked_after_the_kill_switch_check():
    # Arrange: a system-wide guard that accepts at most 3 entries
    asked: list[tuple[str, float]] = []

    def guard(runner_id: str, margin: float) -> bool:
        asked.append((runner_id, margin))
        return len(asked) <= 3

    h = build_runner_host("grid_atr", [SYM], lambda s: create_strategy("grid_atr", {}), capital=10_000.0,
                          n_runners=1, n_assets=4, margin_guard=guard)

    # Act
    events = [e for i, c in enumerate(candles_for("1h", 3000)) for e in h.on_candle(CandleMsg(i + 1, c, 0))]

    # Assert: grid_atr has 3 levels, margin per level = 2,500 / 3
    assert len([e for e in events if e.kind is EventKind.OPEN]) == 3
    assert asked[0] == ("grid_atr:BTC/USDT:USDT", pytest.approx(2_500.0 / 3))


def test_one_stopped_runner_is_reset_by_its_id_and_an_unknown_id_is_refused():
    # Arrange: the runner's own kill switch tripped
    h = host()
    r = h.runners[SYM]
    r.stopped, r.stop_reason = True, "kill_switch"

    # Act
    status = h.reset_kill_switch(f"grid_atr:{SYM}")

    # Assert
    assert (r.stopped, r.stop_reason) == (False, "")
    assert (status.runner_id, status.stopped, status.stop_reason) == (f"grid_atr:{SYM}", False, "")
    assert h.state()["runners"][SYM]["stopped"] is False
    with pytest.raises(RadarError, match="unknown runner 'grid_atr:ETH/USDT:USDT'"):
        h.reset_kill_switch("grid_atr:ETH/USDT:USDT")
