"""Pure reconciliation planning: local positions + exchange positions + open orders -> decisions."""
from __future__ import annotations

import pytest

from radar.live.exchange_state import ExchangeOrder, ExchangePosition, LocalPosition, ReconcileError
from radar.live.reconcile import DecisionKind, plan_reconciliation

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"
ENTRY = 3936.36


def local(symbol: str = BTC, side: int = 1, qty: float = 0.05, sl: float | None = 3750.0, sl_id: str | None = "sl-1",
          runner: str | None = "grid_atr:BTC/USDT:USDT") -> dict:
    return {"symbol": symbol, "runner_id": runner, "side": side, "qty": qty, "avg_entry": ENTRY, "sl_price": sl,
            "sl_order_id": sl_id, "tp_price": None, "tp_order_id": None}


def held(symbol: str = BTC, side: int = 1, qty: float = 0.05, entry: float = ENTRY, mark: float = 3950.0) -> ExchangePosition:
    return ExchangePosition(symbol, side, qty, entry, mark)


def stop(oid: str = "sl-1", symbol: str = BTC, price: float = 3750.0, hold: int = 1, qty: float = 0.05,
         plan: str = "pos_loss", status: str = "live") -> ExchangeOrder:
    return ExchangeOrder(oid, symbol, "sell" if hold > 0 else "buy", qty, None, price, f"c-{oid}", plan, hold, True, status)


def limit(oid: str, symbol: str = BTC, cid: str | None = None) -> ExchangeOrder:
    return ExchangeOrder(oid, symbol, "buy", 0.02, 3700.0, None, cid or f"c-{oid}")


def kinds(decisions) -> list[tuple[str, str]]:
    return [(d.kind.value, d.symbol) for d in decisions]


# ---------------------------------------------------------------- each case
def test_a_position_only_on_the_exchange_is_adopted_without_a_runner_and_gets_a_stop_at_the_default_distance():
    decisions = plan_reconciliation([], [held(ETH, side=-1, qty=0.3, mark=3940.0)], [], default_sl_pct=5.0)

    assert kinds(decisions) == [("adopt", ETH), ("replace_sl", ETH)]
    adopt, place = decisions
    assert adopt.position.runner_id is None and "adopted" in adopt.detail
    assert (adopt.position.side, adopt.position.qty, adopt.position.avg_entry) == (-1, 0.3, ENTRY)
    assert place.sl_price == pytest.approx(ENTRY * 1.05)  # a short's stop is above the entry
    assert place.order is None and not place.close_now
    assert place.position.sl_price == pytest.approx(4133.178)


def test_a_symbol_s_own_stop_distance_overrides_the_default():
    decisions = plan_reconciliation([], [held(BTC), held(ETH)], [], default_sl_pct=5.0, sl_pct_by_symbol={ETH: 2.0})

    stops = {d.symbol: d.sl_price for d in decisions if d.kind is DecisionKind.REPLACE_SL}
    assert stops == {BTC: pytest.approx(ENTRY * 0.95), ETH: pytest.approx(ENTRY * 0.98)}


def test_an_adopted_position_keeps_the_stop_it_already_has_on_the_exchange():
    decisions = plan_reconciliation([], [held()], [stop("77", price=3800.0)], default_sl_pct=5.0)

    assert kinds(decisions) == [("adopt", BTC)]
    assert (decisions[0].position.sl_price, decisions[0].position.sl_order_id) == (3800.0, "77")


def test_a_position_only_in_the_state_is_dropped_with_the_stop_that_closed_it_as_the_reason():
    fired = ExchangeOrder("sl-1", BTC, "sell", 0.05, None, 3750.0, "c-sl-1", "pos_loss", 1, True, "executed", "9001")

    decisions = plan_reconciliation([local()], [], [], default_sl_pct=5.0, closed_stops=[fired])

    assert kinds(decisions) == [("drop", BTC)]
    d = decisions[0]
    assert d.runner_id == "grid_atr:BTC/USDT:USDT"
    assert "stop-loss at 3750" in d.detail and "plan sl-1 executed -> order 9001" in d.detail


def test_a_position_only_in_the_state_without_history_is_dropped_as_closed_outside_the_executor():
    decisions = plan_reconciliation([local()], [], [], default_sl_pct=5.0)

    assert kinds(decisions) == [("drop", BTC)]
    assert "closed outside the executor" in decisions[0].detail


def test_different_sizes_trust_the_exchange_and_keep_the_runner():
    decisions = plan_reconciliation([local(qty=0.05)], [held(qty=0.08, entry=3900.0)], [stop()], default_sl_pct=5.0)

    assert kinds(decisions) == [("resize", BTC)]
    p = decisions[0].position
    assert (p.qty, p.avg_entry, p.runner_id, p.sl_order_id) == (0.08, 3900.0, "grid_atr:BTC/USDT:USDT", "sl-1")
    assert "0.05" in decisions[0].detail and "0.08" in decisions[0].detail


def test_open_orders_nobody_waits_on_are_orphans_and_pending_entries_are_left_alone():
    orders = [limit("1", cid="rs-abc-7-entry"), limit("2"), limit("3", symbol=ETH)]

    decisions = plan_reconciliation([local()], [held()], [*orders, stop()], default_sl_pct=5.0,
                                    pending_order_ids={"rs-abc-7-entry"})

    assert kinds(decisions) == [("cancel_orphan", BTC), ("ok", BTC), ("cancel_orphan", ETH)]
    assert [d.order.id for d in decisions if d.kind is DecisionKind.CANCEL_ORPHAN] == ["2", "3"]


def test_a_stop_listed_as_pending_still_counts_as_the_position_s_stop():
    decisions = plan_reconciliation([local()], [held()], [stop("sl-1")], default_sl_pct=5.0,
                                    pending_order_ids={"sl-1", "c-sl-1"})

    assert kinds(decisions) == [("ok", BTC)]
    assert decisions[0].position.sl_order_id == "sl-1"


def test_a_stale_stop_of_a_flat_symbol_and_a_second_stop_are_orphans():
    decisions = plan_reconciliation([local()], [held()], [stop("sl-1"), stop("sl-2", price=3700.0, plan="loss_plan"),
                                                          stop("old", symbol=ETH, price=3600.0)], default_sl_pct=5.0)

    assert kinds(decisions) == [("cancel_orphan", BTC), ("ok", BTC), ("cancel_orphan", ETH)]
    assert [d.order.id for d in decisions if d.kind is DecisionKind.CANCEL_ORPHAN] == ["sl-2", "old"]
    assert "second stop-loss" in decisions[0].detail and "flat symbol" in decisions[2].detail


def test_a_position_without_a_stop_gets_the_state_s_stop_placed():
    decisions = plan_reconciliation([local(sl=3750.0)], [held()], [], default_sl_pct=5.0)

    assert kinds(decisions) == [("ok", BTC), ("replace_sl", BTC)]
    d = decisions[1]
    assert (d.sl_price, d.order, d.runner_id) == (3750.0, None, "grid_atr:BTC/USDT:USDT")
    assert "no stop-loss on the exchange" in d.detail


def test_a_stop_at_another_price_is_moved_and_one_within_a_basis_point_is_kept():
    moved = plan_reconciliation([local(sl=3750.0)], [held()], [stop(price=3700.0)], default_sl_pct=5.0)
    close_enough = plan_reconciliation([local(sl=3750.0)], [held()], [stop(price=3750.3)], default_sl_pct=5.0)

    assert kinds(moved) == [("ok", BTC), ("replace_sl", BTC)]
    assert (moved[1].order.id, moved[1].sl_price) == ("sl-1", 3750.0)
    assert kinds(close_enough) == [("ok", BTC)]
    assert close_enough[0].position.sl_price == 3750.3  # the exchange's exact price is what the state keeps


def test_a_state_without_a_stop_price_keeps_the_exchange_s_stop():
    decisions = plan_reconciliation([local(sl=None, sl_id=None)], [held()], [stop("sl-9", price=3790.0)],
                                    default_sl_pct=5.0)

    assert kinds(decisions) == [("ok", BTC)]
    assert (decisions[0].position.sl_price, decisions[0].position.sl_order_id) == (3790.0, "sl-9")


def test_a_partial_stop_smaller_than_the_position_is_replaced():
    decisions = plan_reconciliation([local(qty=0.05)], [held(qty=0.05)], [stop(plan="loss_plan", qty=0.03)],
                                    default_sl_pct=5.0)

    assert kinds(decisions) == [("ok", BTC), ("replace_sl", BTC)]
    assert "covers 0.03 of 0.05" in decisions[1].detail


def test_a_mark_already_beyond_the_stop_closes_the_position_at_market():
    decisions = plan_reconciliation([], [held(mark=3700.0)], [], default_sl_pct=5.0)

    assert kinds(decisions) == [("adopt", BTC), ("replace_sl", BTC)]
    assert decisions[1].close_now and "close at market" in decisions[1].detail


def test_the_opposite_side_on_the_exchange_drops_the_local_position_and_adopts_the_exchange_one():
    decisions = plan_reconciliation([local(side=1)], [held(side=-1, mark=3930.0)], [], default_sl_pct=5.0)

    assert kinds(decisions) == [("drop", BTC), ("adopt", BTC), ("replace_sl", BTC)]
    assert "instead of the local long" in decisions[0].detail
    assert decisions[2].sl_price == pytest.approx(ENTRY * 1.05)


def test_a_matching_protected_position_is_ok_and_no_decision_is_made_for_an_empty_account():
    assert kinds(plan_reconciliation([local()], [held()], [stop()], default_sl_pct=5.0)) == [("ok", BTC)]
    assert plan_reconciliation([], [], [], default_sl_pct=5.0) == []


def test_two_local_positions_on_one_symbol_keep_the_one_the_exchange_holds():
    other = local(qty=0.02, runner="envelope_dca:BTC/USDT:USDT")

    decisions = plan_reconciliation([other, local(qty=0.05)], [held(qty=0.05)], [stop()], default_sl_pct=5.0)

    assert kinds(decisions) == [("drop", BTC), ("ok", BTC)]
    assert decisions[0].runner_id == "envelope_dca:BTC/USDT:USDT" and "duplicate" in decisions[0].detail


# ---------------------------------------------------------------- inputs
def test_ccxt_dicts_become_positions_and_orders():
    pos = ExchangePosition.from_ccxt({"symbol": BTC, "side": "long", "contracts": 0.05, "contractSize": 1.0,
                                      "entryPrice": ENTRY, "markPrice": 3950.5, "marginMode": "isolated", "leverage": 7})
    sl = ExchangeOrder.from_ccxt({"id": "12", "symbol": BTC, "side": "sell", "amount": 0.05, "price": None,
                                  "triggerPrice": 3000.0, "clientOrderId": "sl1", "reduceOnly": True, "status": "open",
                                  "info": {"planType": "pos_loss", "holdSide": "long", "planStatus": "live"}})
    entry = ExchangeOrder.from_ccxt({"id": "13", "symbol": BTC, "side": "buy", "amount": 0.02, "price": 3000.0,
                                     "clientOrderId": "x1", "info": {}})

    assert (pos.side, pos.qty, pos.entry_price, pos.mark_price, pos.margin_mode) == (1, 0.05, ENTRY, 3950.5, "isolated")
    assert (sl.role, sl.hold_side, sl.trigger_price, sl.cancel_params()) == (
        "sl", 1, 3000.0, {"trigger": True, "planType": "pos_loss"})
    assert (entry.role, entry.cancel_params(), entry.matches(["x1"])) == ("order", {}, True)


@pytest.mark.parametrize(("bad", "message"), [
    ({"side": 0}, "side must be"), ({"qty": -1.0}, "qty and avg_entry must be > 0"), ({"avg_entry": None}, "missing avg_entry"),
    ({"sl_price": "abc"}, "could not convert"),
])
def test_a_bad_local_position_is_refused_with_its_name_and_the_reason(bad, message):
    with pytest.raises(ReconcileError, match=message) as err:
        LocalPosition.from_dict({**local(), **bad})
    assert "'BTC/USDT:USDT'" in str(err.value)


@pytest.mark.parametrize("pct", [0, -2.0, 100.0])
def test_a_default_stop_distance_outside_0_to_100_percent_is_refused(pct):
    with pytest.raises(ReconcileError, match="percentage in"):
        plan_reconciliation([], [held()], [], default_sl_pct=pct)


def test_the_same_symbol_twice_on_the_exchange_is_refused_as_not_one_way():
    with pytest.raises(ReconcileError, match="one-way"):
        plan_reconciliation([], [held(), held()], [], default_sl_pct=5.0)
