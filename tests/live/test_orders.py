"""radar.live.orders: deterministic client order ids, contract rounding, intents from trade events, stop prices
and the one-way collision rule (pure functions, no exchange)."""
from __future__ import annotations

import math

import pytest

from radar.events import EventKind, TradeEvent, TradeResult
from radar.live.orders import (
    MAX_CLIENT_OID, ContractRules, OrderSizeError, Purpose, client_order_id, close_intent, collision, entry_intent,
    is_ours, order_side, stop_loss_price, stop_on_right_side,
)

SYM = "BTC/USDT:USDT"
RUNNER = f"grid_atr:{SYM}"
TS = 1_506_470_400_000  # 2017-09-27 00:00 UTC
RULES = ContractRules(SYM, qty_step=0.001, min_qty=0.001, price_tick=0.1, min_notional=5.0)


def _open(seq: int = 7, qty: float = 0.12345, price: float = 3900.0, side: int = 1, level: int = 0,
          extra: dict | None = None) -> TradeEvent:
    return TradeEvent(RUNNER, seq, EventKind.OPEN, "grid_atr", SYM, TS, side=side, price=price, quantity=qty,
                      level=level, reason="level", extra=extra or {})


def _close(seq: int = 9, qty: float = 0.3, side: int = 1) -> TradeEvent:
    trade = TradeResult(RUNNER, "grid_atr", SYM, side, TS, TS + 3_600_000, 3900.0, 4000.0, qty, 3, 30.0, 1.4, 0.2, 0.0,
                        28.4, 0.01, "tp")
    return TradeEvent(RUNNER, seq, EventKind.CLOSE, "grid_atr", SYM, TS + 3_600_000, side=side, price=4000.0,
                      quantity=qty, reason="tp", trade=trade)


# ---------------------------------------------------------------- client order ids
def test_client_order_id_is_the_same_for_the_same_event_and_purpose():
    first = client_order_id(RUNNER, 42, TS, Purpose.ENTRY)
    again = client_order_id(RUNNER, 42, TS, Purpose.ENTRY)

    assert first == again
    assert first.startswith("rs-") and first.endswith("-e") and is_ours(first)
    assert len(first) <= MAX_CLIENT_OID


def test_client_order_id_differs_by_runner_seq_time_purpose_and_recreation():
    base = client_order_id(RUNNER, 42, TS, Purpose.ENTRY)
    others = {
        client_order_id("grid_trend:" + SYM, 42, TS, Purpose.ENTRY),
        client_order_id(RUNNER, 43, TS, Purpose.ENTRY),
        client_order_id(RUNNER, 42, TS + 3_600_000, Purpose.ENTRY),  # a runner restarted from scratch, seq 42 again
        client_order_id(RUNNER, 42, TS, Purpose.STOP_LOSS),
        client_order_id(RUNNER, 42, TS, Purpose.STOP_LOSS, 1),
        client_order_id(RUNNER, 42, TS, Purpose.CLOSE),
        client_order_id(RUNNER, 42, TS, Purpose.TAKE_PROFIT),
    }

    assert base not in others and len(others) == 7


def test_client_order_id_stays_within_bitgets_limit_for_long_runner_ids_and_large_numbers():
    cid = client_order_id("a_very_long_strategy_name_for_testing:DOGE/USDT:USDT" * 3, 10**12, 4_102_444_800_000,
                          Purpose.TAKE_PROFIT, 99)

    assert len(cid) <= MAX_CLIENT_OID


@pytest.mark.parametrize("kwargs, message", [
    ({"runner_id": "", "seq": 1, "timestamp": TS}, "runner id"),
    ({"runner_id": RUNNER, "seq": -1, "timestamp": TS}, "seq"),
    ({"runner_id": RUNNER, "seq": 1, "timestamp": -5}, "timestamp"),
    ({"runner_id": RUNNER, "seq": True, "timestamp": TS}, "seq"),
])
def test_client_order_id_rejects_bad_input_naming_the_field(kwargs, message):
    with pytest.raises(ValueError, match=message):
        client_order_id(purpose=Purpose.ENTRY, **kwargs)


# ---------------------------------------------------------------- contract rules
def test_contract_rules_from_a_ccxt_market():
    market = {"symbol": SYM, "precision": {"amount": 0.0001, "price": 0.1},
              "limits": {"amount": {"min": 0.001}, "cost": {"min": 5.0}}}

    rules = ContractRules.from_ccxt_market(market)

    assert (rules.qty_step, rules.min_qty, rules.price_tick, rules.min_notional) == (0.0001, 0.001, 0.1, 5.0)


def test_contract_rules_without_precision_is_an_error_naming_the_symbol():
    with pytest.raises(ValueError, match="ETH/USDT:USDT"):
        ContractRules.from_ccxt_market({"symbol": "ETH/USDT:USDT", "precision": {}, "limits": {}})


def test_quantities_round_down_and_prices_to_the_nearest_tick():
    assert RULES.floor_qty(0.12399) == 0.123
    assert RULES.floor_qty(0.3) == 0.3  # exact multiples survive binary floating point
    assert RULES.round_price(3901.26) == 3901.3
    assert RULES.round_price(3901.24) == 3901.2


def test_stop_prices_round_away_from_the_market():
    assert RULES.stop_price(3120.49, side=1) == 3120.4  # a long's stop goes down
    assert RULES.stop_price(3120.41, side=-1) == 3120.5  # a short's stop goes up
    assert RULES.stop_price(3120.4, side=1) == 3120.4


def test_entry_quantity_below_the_minimum_size_or_value_is_refused_with_the_numbers():
    with pytest.raises(OrderSizeError, match=r"0\.0009.*below the contract minimum 0\.001"):
        RULES.entry_qty(0.0009, 3900.0)
    with pytest.raises(OrderSizeError, match=r"order value 3\.90 USDT.*minimum 5 USDT"):
        RULES.entry_qty(0.001, 3900.0)
    assert RULES.entry_qty(0.0021, 3900.0) == 0.002


# ---------------------------------------------------------------- intents
def test_grid_level_open_becomes_a_market_buy_with_the_quantity_rounded_down():
    intent = entry_intent(_open(qty=0.12345), RULES)

    assert (intent.purpose, intent.side, intent.order_type, intent.qty, intent.reduce_only) == (
        Purpose.ENTRY, "buy", "market", 0.123, False)
    assert intent.client_oid == client_order_id(RUNNER, 7, TS, Purpose.ENTRY)
    assert intent.notional == pytest.approx(0.123 * 3900.0)
    assert intent.stop_loss is None and intent.take_profit is None  # a grid's stop comes from its rule


def test_single_strategy_open_carries_its_take_profit_and_stop_a_nan_take_profit_is_none():
    with_tp = entry_intent(_open(side=-1, level=-1, extra={"tp": 3700.0, "sl": 4100.0}), RULES)
    trailing = entry_intent(_open(level=-1, extra={"tp": math.nan, "sl": 3500.0}), RULES)

    assert (with_tp.side, with_tp.take_profit, with_tp.stop_loss) == ("sell", 3700.0, 4100.0)
    assert (trailing.take_profit, trailing.stop_loss) == (None, 3500.0)


def test_close_covering_the_position_closes_all_of_it_a_smaller_one_that_much():
    full = close_intent(_close(qty=0.3004), 0.3, RULES)  # the runner's qty is unrounded
    rounding = close_intent(_close(qty=0.2999), 0.3, RULES)  # within one step of what is held
    leg = close_intent(_close(qty=0.1), 0.3, RULES)  # a per-position grid closes one leg

    assert (full.side, full.qty, full.reduce_only, full.purpose) == ("sell", 0.3, True, Purpose.CLOSE)
    assert rounding.qty == 0.3
    assert leg.qty == 0.1


def test_intents_reject_the_wrong_event_kind():
    with pytest.raises(ValueError, match="expected an OPEN event"):
        entry_intent(_close(), RULES)
    with pytest.raises(ValueError, match="expected a CLOSE event"):
        close_intent(_open(), 0.3, RULES)


def test_order_side_of_opening_and_closing_orders():
    assert [order_side(1, False), order_side(1, True), order_side(-1, False), order_side(-1, True)] == [
        "buy", "sell", "sell", "buy"]


# ---------------------------------------------------------------- stops and collisions
def test_grid_stop_is_sl_percent_from_the_average_entry_on_the_losing_side():
    assert stop_loss_price(1, 4000.0, 20.0) == pytest.approx(3200.0)
    assert stop_loss_price(-1, 4000.0, 20.0) == pytest.approx(4800.0)
    with pytest.raises(ValueError, match="sl_percent"):
        stop_loss_price(1, 4000.0, 0.0)


def test_stop_must_be_beyond_the_mark_on_the_losing_side():
    assert stop_on_right_side(1, 3200.0, 3900.0) and not stop_on_right_side(1, 3950.0, 3900.0)
    assert stop_on_right_side(-1, 4800.0, 3900.0) and not stop_on_right_side(-1, 3800.0, 3900.0)


def test_collision_names_the_other_runner_holding_the_symbol():
    holders = {SYM: RUNNER}

    assert collision(SYM, "grid_trend:" + SYM, holders) == RUNNER
    assert collision(SYM, RUNNER, holders) is None  # adding to its own position
    assert collision("ETH/USDT:USDT", "grid_trend:ETH/USDT:USDT", holders) is None
