"""Properties every runner must have, for every registered strategy on real candles:
save/kill/restore mid-position changes nothing, and no decision depends on a later candle."""
from __future__ import annotations

import dataclasses
import json
import random

import pytest

from radar.models import Candle
from radar.runners import RunnerConfig, make_runner
from radar.strategies.registry import create_strategy, strategy_class, strategy_names
from tests.runners.real_data import candles_for

BACKTESTABLE = [n for n in strategy_names() if not strategy_class(n).live_only]


def _runner(name: str):
    strat = create_strategy(name, {})
    return make_runner(strat, RunnerConfig(f"{name}:test", candles_for(strat.timeframe)[0].symbol)), strat


def _events_key(events):
    return [(e.kind, e.timestamp, e.side, e.price, e.quantity, e.level, e.reason,
             None if e.trade is None else dataclasses.replace(e.trade, seq=0)) for e in events]


@pytest.mark.parametrize("name", BACKTESTABLE)
def test_restore_from_state_mid_position_continues_identically(name):
    # Arrange: one uninterrupted run, remembering the state (through JSON, as on disk) at cut points
    runner, strat = _runner(name)
    candles = candles_for(strat.timeframe)
    probe, _ = _runner(name)
    open_at = [i for i, c in enumerate(candles) if probe.on_candle(c) is not None and _has_position(probe)]
    rng = random.Random(7)
    cuts = set(rng.sample(range(50, len(candles) - 50), 6)) | set(rng.sample(open_at, min(6, len(open_at))))
    saved: dict[int, str] = {}
    events_after: dict[int, list] = {k: [] for k in cuts}
    in_position_cuts = 0
    for i, c in enumerate(candles):
        ev = runner.on_candle(c)
        for k in cuts:
            if i > k:
                events_after[k].extend(ev)
        if i in cuts:
            saved[i] = json.dumps(runner.to_state())
            in_position_cuts += _has_position(runner)
    final_capital = runner.capital
    # Act + Assert: a runner restored at each cut produces exactly the same remaining events
    for k in sorted(cuts):
        fresh, _ = _runner(name)
        fresh.load_state(json.loads(saved[k]))
        ev = []
        for c in candles[k + 1:]:
            ev.extend(fresh.on_candle(c))
        assert _events_key(ev) == _events_key(events_after[k]), f"cut at candle {k}"
        assert fresh.capital == final_capital
    if open_at:
        assert in_position_cuts >= 1  # the property is exercised mid-position, not only while flat


def _has_position(runner) -> bool:
    return bool(getattr(runner.book, "positions", None) or getattr(runner.book, "position", None))


def _perturb(c: Candle, rng: random.Random) -> Candle:
    f = rng.uniform(0.8, 1.25)
    o, cl = c.open * f, c.close * rng.uniform(0.8, 1.25)
    return dataclasses.replace(c, open=o, close=cl, high=max(o, cl) * 1.01, low=min(o, cl) * 0.99)


@pytest.mark.parametrize("name", BACKTESTABLE)
def test_changing_future_candles_never_changes_earlier_decisions(name):
    runner, strat = _runner(name)
    candles = list(candles_for(strat.timeframe))
    base = [(c.timestamp, runner.on_candle(c)) for c in candles]
    rng = random.Random(11)
    for cut in rng.sample(range(100, len(candles) - 10), 3):
        altered = candles[:cut + 1] + [_perturb(c, rng) for c in candles[cut + 1:]]
        other, _ = _runner(name)
        for i, c in enumerate(altered):
            ev = other.on_candle(c)
            if i <= cut:
                assert _events_key(ev) == _events_key(base[i][1]), f"candle {i} changed by candles after {cut}"
