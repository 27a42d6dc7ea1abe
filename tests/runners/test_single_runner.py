"""SingleStrategyRunner / PositionManager mechanics (SPEC §5 applied to one position), driven by a
scripted strategy so every price is a round number.

Costs: taker 0.06%, maker 0.02%, slippage 0.05%; capital 10,000; leverage 2 -> notional 20,000.
Candle i opens at T0 + i hours, T0 = 15:00 UTC, so candles 1, 9, 17 are funding candles (16/00/08 UTC).
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import pytest

from radar.events import EventKind
from radar.positions.costs import CostModel
from radar.runners.config import RunnerConfig
from radar.runners.single_runner import SingleStrategyRunner
from radar.strategies.base import IndicatorSpec, Signal, SingleStrategy, StrategyContext
from radar.strategies.params import parse_params
from tests.runners.scripted import candle

COSTS = CostModel(taker_fee=0.0006, maker_fee=0.0002, slippage=0.0005)
NAN = math.nan


class ScriptedSingle(SingleStrategy):
    """Entry signals, rule exits and stop moves keyed by candle index."""

    name = "scripted_single"

    def __init__(self, signals: Mapping[int, Signal] | None = None, exits: Mapping[int, str] | None = None,
                 stops: Mapping[int, tuple[float, float]] | None = None, leverage: int = 2) -> None:
        super().__init__(parse_params("supertrend", {"leverage": leverage}))
        self.signals, self.exits, self.stops = dict(signals or {}), dict(exits or {}), dict(stops or {})
        self.exit_calls: list[int] = []

    def indicator_specs(self) -> dict[str, IndicatorSpec]:
        return {}

    def evaluate(self, ctx: StrategyContext) -> Signal | None:
        return self.signals.get(ctx.index)

    def exit_signal(self, ctx, side, entry_price, memory):
        self.exit_calls.append(ctx.index)
        return self.exits.get(ctx.index)

    def update_stops(self, ctx, side, entry_price, tp, sl, memory):
        new_tp, new_sl = self.stops.get(ctx.index, (tp, sl))
        return new_tp, new_sl, memory


def runner(strategy: SingleStrategy, capital: float = 10_000.0, **cfg) -> SingleStrategyRunner:
    return SingleStrategyRunner(strategy, RunnerConfig("single:BTC", "BTC/USDT:USDT", initial_capital=capital,
                                                       costs=COSTS, **cfg))


def feed(r: SingleStrategyRunner, bars: list[tuple[float, float, float, float]], funding=None) -> list:
    events = []
    for i, (o, h, l, c) in enumerate(bars):
        rate = funding(i) if funding else None
        events.extend(r.on_candle(candle(i, o, h, l, c), rate))
    return events


def opened(events):
    return [e for e in events if e.kind is EventKind.OPEN]


def closed(events):
    return [e for e in events if e.kind is EventKind.CLOSE]


FILL = 100 * 1.0005  # long entry at a close of 100
QTY = 20_000 / FILL
ENTRY_FEE = 20_000 * 0.0006


def test_entry_fills_at_signal_close_plus_slippage_with_all_capital_as_margin():
    r = runner(ScriptedSingle({0: Signal(1, 110.0, 95.0, "go")}))
    ev = feed(r, [(99, 101, 98, 100)])
    (op,) = opened(ev)
    assert op.price == pytest.approx(100.05)
    assert op.quantity == pytest.approx(20_000 / 100.05)
    assert op.extra == {"tp": 110.0, "sl": 95.0}
    assert r.capital == pytest.approx(0.0)
    assert r.book.position.entry_fee == pytest.approx(12.0)


def test_short_entry_fills_below_the_close():
    r = runner(ScriptedSingle({0: Signal(-1, 90.0, 105.0)}))
    (op,) = opened(feed(r, [(99, 101, 98, 100)]))
    assert op.price == pytest.approx(99.95)
    assert op.side == -1


def test_take_profit_fills_at_the_limit_with_maker_fee_and_no_slippage():
    r = runner(ScriptedSingle({0: Signal(1, 110.0, 95.0)}))
    ev = feed(r, [(99, 101, 98, 100), (100, 111, 99, 105)])
    (cl,) = closed(ev)
    t = cl.trade
    assert (t.reason, t.exit_price) == ("tp", 110.0)
    assert t.slippage == 0.0
    gross = (110 - FILL) * QTY
    exit_fee = QTY * 110 * 0.0002
    assert t.gross == pytest.approx(gross)
    assert t.fees == pytest.approx(ENTRY_FEE + exit_fee)
    assert t.net == pytest.approx(gross - ENTRY_FEE - exit_fee)
    assert r.capital == pytest.approx(10_000 + t.net)
    # return = PnL / capital after the margin came back, before adding the PnL
    assert t.return_frac == pytest.approx(t.net / 10_000)


def test_stop_loss_gaps_half_way_to_the_low_and_pays_taker_fee_and_slippage():
    r = runner(ScriptedSingle({0: Signal(1, 110.0, 95.0)}))
    ev = feed(r, [(99, 101, 98, 100), (96, 97, 91, 93)])
    t = closed(ev)[0].trade
    exit_price = 95 - 0.5 * (95 - 91)  # 93
    assert (t.reason, t.exit_price) == ("sl", pytest.approx(exit_price))
    assert t.slippage == pytest.approx(QTY * exit_price * 0.0005)
    assert t.fees == pytest.approx(ENTRY_FEE + QTY * exit_price * 0.0006)
    assert t.net == pytest.approx((exit_price - FILL) * QTY - t.fees - t.slippage)


def test_short_stop_gaps_toward_the_high():
    r = runner(ScriptedSingle({0: Signal(-1, 90.0, 105.0)}))
    t = closed(feed(r, [(99, 101, 98, 100), (104, 109, 103, 108)]))[0].trade
    assert (t.reason, t.exit_price) == ("sl", pytest.approx(107.0))
    assert t.gross == pytest.approx((99.95 - 107.0) * 20_000 / 99.95)


@pytest.mark.parametrize("side, bar, expected", [
    (1, (100, 111, 94, 106), ("tp", 110.0)),            # long, green candle: TP first
    (1, (106, 111, 94, 100), ("sl", 95 - 0.5 * 1)),     # long, red candle: stop first
    (-1, (100, 106, 89, 95), ("tp", 90.0)),              # short, red candle: TP first
    (-1, (95, 106, 89, 100), ("sl", 105 + 0.5 * 1)),    # short, green candle: stop first
])
def test_candle_hitting_both_tp_and_sl_uses_the_ohlc_heuristic(side, bar, expected):
    tp, sl = (110.0, 95.0) if side > 0 else (90.0, 105.0)
    r = runner(ScriptedSingle({0: Signal(side, tp, sl)}))
    t = closed(feed(r, [(99, 101, 98, 100), bar]))[0].trade
    assert (t.reason, t.exit_price) == (expected[0], pytest.approx(expected[1]))


def test_exit_signal_closes_at_the_close_with_taker_fee_and_slippage():
    r = runner(ScriptedSingle({0: Signal(1, 110.0, 95.0)}, exits={2: "sma_cross"}))
    ev = feed(r, [(99, 101, 98, 100), (100, 104, 99, 103), (103, 105, 101, 104)])
    t = closed(ev)[0].trade
    assert (t.reason, t.exit_price, t.exit_ts) == ("sma_cross", 104.0, candle(2, 1, 1, 1, 1).timestamp)
    assert t.slippage == pytest.approx(QTY * 104 * 0.0005)
    assert t.fees == pytest.approx(ENTRY_FEE + QTY * 104 * 0.0006)


def test_tp_or_sl_on_the_candle_takes_precedence_over_the_exit_signal():
    s = ScriptedSingle({0: Signal(1, 110.0, 95.0)}, exits={1: "sma_cross"})
    t = closed(feed(runner(s), [(99, 101, 98, 100), (100, 112, 99, 111)]))[0].trade
    assert t.reason == "tp"
    assert s.exit_calls == []  # the rule exit is not even asked on a candle that hit TP


def test_exit_signal_is_not_asked_on_the_entry_candle():
    s = ScriptedSingle({0: Signal(1, 110.0, 95.0)}, exits={0: "sma_cross"})
    ev = feed(runner(s), [(99, 101, 98, 100)])
    assert closed(ev) == [] and s.exit_calls == []


def test_no_entry_on_the_exit_candle_but_on_the_next_one():
    s = ScriptedSingle({0: Signal(1, 110.0, 95.0), 1: Signal(1, 120.0, 100.0), 2: Signal(-1, 100.0, 115.0)})
    r = runner(s)
    ev = feed(r, [(99, 101, 98, 100), (100, 111, 99, 105), (105, 106, 104, 105)])
    kinds = [(e.kind, e.timestamp) for e in ev]
    assert [k for k, _ in kinds] == [EventKind.OPEN, EventKind.CLOSE, EventKind.OPEN]
    assert opened(ev)[1].side == -1 and opened(ev)[1].timestamp == candle(2, 1, 1, 1, 1).timestamp
    # the second entry sizes with the capital after the first trade
    capital_after = 10_000 + closed(ev)[0].trade.net
    assert opened(ev)[1].quantity == pytest.approx(capital_after * 2 / (105 * 0.9995))


def test_funding_is_charged_on_funding_candles_only_and_recorded_on_the_trade():
    # entry at candle 0 (15:00), held through candle 1 (16:00 funding), exit by rule at candle 3
    s = ScriptedSingle({0: Signal(1, NAN, NAN)}, exits={3: "sma_cross"})
    r = runner(s)
    ev = feed(r, [(100, 100, 100, 100)] * 4, funding=lambda i: 0.001)
    t = closed(ev)[0].trade
    notional = QTY * FILL
    assert t.funding == pytest.approx(0.001 * notional)  # once: candles 2 and 3 are 17:00 and 18:00
    assert r.capital == pytest.approx(10_000 + t.net - t.funding)


def test_short_receives_positive_funding():
    s = ScriptedSingle({0: Signal(-1, NAN, NAN)}, exits={2: "x"})
    r = runner(s)
    t = closed(feed(r, [(100, 100, 100, 100)] * 3, funding=lambda i: 0.001))[0].trade
    assert t.funding == pytest.approx(-0.001 * 20_000)
    assert r.capital == pytest.approx(10_000 + t.net + 0.001 * 20_000)


def test_no_funding_on_the_entry_candle():
    # candle 1 is a funding hour; the position opens at its close, after the funding step
    s = ScriptedSingle({1: Signal(1, NAN, NAN)}, exits={2: "x"})
    t = closed(feed(runner(s), [(100, 100, 100, 100)] * 3, funding=lambda i: 0.01))[0].trade
    assert t.funding == 0.0


def test_missing_funding_rate_uses_the_configured_default():
    s = ScriptedSingle({0: Signal(1, NAN, NAN)}, exits={2: "x"})
    r = runner(s, default_funding_rate=0.0005)
    t = closed(feed(r, [(100, 100, 100, 100)] * 3))[0].trade
    assert t.funding == pytest.approx(0.0005 * 20_000)


def test_kill_switch_stops_trading_after_a_loss_beyond_25_percent():
    # 5x leverage, stop 8% below -> a loss of about 40% of capital
    s = ScriptedSingle({0: Signal(1, NAN, 92.0), 2: Signal(1, NAN, 90.0), 3: Signal(1, NAN, 90.0)}, leverage=5)
    r = runner(s)
    ev = feed(r, [(99, 101, 98, 100), (93, 93, 92, 92.5), (95, 96, 94, 95), (95, 96, 94, 95)])
    assert r.stopped and r.stop_reason == "kill_switch"
    assert r.capital < 7_500
    assert [e.kind for e in ev] == [EventKind.OPEN, EventKind.CLOSE, EventKind.KILL_SWITCH]


def test_run_ends_the_backtest_at_the_kill_switch():
    s = ScriptedSingle({0: Signal(1, NAN, 92.0), 2: Signal(1, NAN, 90.0)}, leverage=5)
    r = runner(s)
    bars = [candle(i, *b) for i, b in enumerate([(99, 101, 98, 100), (93, 93, 92, 92.5), (95, 96, 94, 95)])]
    r.run(bars)
    assert r.index == 1 and len(r.trades) == 1


def test_small_loss_does_not_fire_the_kill_switch():
    s = ScriptedSingle({0: Signal(1, NAN, 95.0)}, leverage=2)  # about -10%
    r = runner(s)
    feed(r, [(99, 101, 98, 100), (96, 96, 94, 95)])
    assert not r.stopped and r.capital == pytest.approx(10_000 + r.trades[0].net)


def test_open_position_at_end_of_data_closes_at_last_close_and_is_excluded_from_metrics():
    s = ScriptedSingle({0: Signal(1, 110.0, 95.0), 2: Signal(1, NAN, NAN)}, exits={1: "x"})
    r = runner(s)
    bars = [candle(i, *b) for i, b in enumerate([(99, 101, 98, 100), (100, 101, 99, 100), (100, 101, 99, 100),
                                                 (100, 104, 99, 103)])]
    r.run(bars)
    assert [t.end_of_data for t in r.trades] == [False, True]
    last = r.trades[-1]
    assert (last.reason, last.exit_price) == ("end_of_data", 103.0)
    assert r.closed_trades() == r.trades[:1]
    assert r.capital == pytest.approx(10_000 + sum(t.net for t in r.trades))
    assert r.book.position is None


def test_update_stops_moves_the_stop_from_the_next_candle_on():
    # stop raised to 104 after candle 1; candle 2's low 103.5 hits it (it would not hit the old 95)
    s = ScriptedSingle({0: Signal(1, NAN, 95.0)}, stops={1: (NAN, 104.0)})
    r = runner(s)
    ev = feed(r, [(99, 101, 98, 100), (100, 106, 103.8, 105), (105, 106, 103.5, 104)])
    t = closed(ev)[0].trade
    assert (t.reason, t.exit_price) == ("sl", pytest.approx(104 - 0.5 * 0.5))
    assert t.exit_ts == candle(2, 1, 1, 1, 1).timestamp


def test_stops_are_checked_against_the_values_set_before_the_candle():
    # update_stops at candle 1 would put the stop above candle 1's low, but it only applies to candle 2
    s = ScriptedSingle({0: Signal(1, NAN, 95.0)}, stops={1: (NAN, 104.0)})
    r = runner(s)
    feed(r, [(99, 101, 98, 100), (100, 106, 103.0, 105)])
    assert r.book.position is not None and r.book.position.sl_price == 104.0


def test_runner_state_round_trips_mid_position():
    s = ScriptedSingle({0: Signal(1, 110.0, 95.0)})
    r = runner(s)
    feed(r, [(99, 101, 98, 100)])
    r2 = SingleStrategyRunner.from_state(s, r.config, r.to_state())
    assert r2.book.position == r.book.position and r2.capital == r.capital
