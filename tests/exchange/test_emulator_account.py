"""The emulator's pure trading engine (`Account`), its price path (`MarkPrices`), request signatures and
trading faults, without a server. Expected numbers are derived from the inputs (price x size x rate),
not copied from a run."""
from __future__ import annotations

import numpy as np
import pytest

from radar.exchange.emulator import Account, AccountConfig, ContractSpec, MarketData, MarkPrices, TradingError
from radar.exchange.emulator.account import BalanceEvent, OrderEvent, PositionEvent, TriggerEvent
from radar.exchange.emulator.auth import Credentials, sign, verify_rest, verify_ws_login
from radar.exchange.emulator.faults import Faults
from radar.models import CandleArrays

SYM = "BTCUSDT"
SPEC = ContractSpec(base="BTC", price_place=1, volume_place=3, min_trade_num="0.001", max_lever=125)
MAKER, TAKER = 0.0002, 0.0006
T = 1_704_067_200_000


def _account(**config) -> Account:
    cfg = AccountConfig(**{"balance": 10_000.0, "maker_fee": MAKER, "taker_fee": TAKER, **config})
    acc = Account(cfg, specs={SYM: SPEC}.get)
    acc.on_price(SYM, 40_000.0, T)
    return acc


def _code(exc_info: pytest.ExceptionInfo[TradingError]) -> str:
    return exc_info.value.code


# ---------------------------------------------------------------- market and limit orders
def test_market_buy_fills_at_the_mark_with_taker_fee_and_locks_margin():
    acc = _account()

    order = acc.place_order(SYM, "buy", "market", 0.1, now_ms=T, client_oid="entry-1")

    fee = 0.1 * 40_000.0 * TAKER
    margin = 0.1 * 40_000.0 / 20  # default leverage 20
    assert (order.status, order.filled, order.avg_price) == ("filled", 0.1, 40_000.0)
    assert order.fee == pytest.approx(fee, abs=1e-12)
    pos = acc.position(SYM)
    assert (pos.side, pos.size, pos.entry_price, pos.leverage) == ("long", 0.1, 40_000.0, 20)
    bal = acc.balance()
    assert bal.cash == pytest.approx(10_000.0 - fee, abs=1e-9)
    assert bal.position_margin == pytest.approx(margin)
    assert bal.available == pytest.approx(10_000.0 - fee - margin, abs=1e-9)
    [fill] = acc.fills(SYM)
    assert (fill.scope, fill.price, fill.qty, fill.order_id) == ("taker", 40_000.0, 0.1, order.order_id)


def test_limit_buy_rests_until_a_tick_reaches_it_then_fills_at_its_own_price_as_maker():
    acc = _account()
    order = acc.place_order(SYM, "buy", "limit", 0.1, price=39_500.0, now_ms=T)
    frozen = 0.1 * 39_500.0 / 20

    assert acc.balance().frozen == pytest.approx(frozen)
    acc.on_price(SYM, 39_600.0, T + 1)
    assert acc.order(SYM, order_id=order.order_id).status == "live"

    acc.on_price(SYM, 39_400.0, T + 2)  # gaps through the limit: the maker still gets its own price

    done = acc.order(SYM, order_id=order.order_id)
    assert (done.status, done.avg_price) == ("filled", 39_500.0)
    assert done.fee == pytest.approx(0.1 * 39_500.0 * MAKER)
    assert acc.fills(SYM)[0].scope == "maker"
    assert acc.balance().frozen == 0.0


def test_limit_marketable_when_placed_fills_at_the_mark_as_taker():
    acc = _account()

    order = acc.place_order(SYM, "sell", "limit", 0.05, price=39_000.0, now_ms=T)

    assert (order.status, order.avg_price) == ("filled", 40_000.0)
    assert order.fee == pytest.approx(0.05 * 40_000.0 * TAKER)
    assert acc.position(SYM).side == "short"


def test_post_only_that_would_cross_is_cancelled_and_ioc_cancels_its_rest():
    acc = _account()

    post = acc.place_order(SYM, "buy", "limit", 0.05, price=40_100.0, now_ms=T, force="post_only")
    ioc = acc.place_order(SYM, "buy", "limit", 0.05, price=39_000.0, now_ms=T, force="ioc")

    assert (post.status, post.filled) == ("cancelled", 0.0)
    assert (ioc.status, ioc.filled) == ("cancelled", 0.0)
    assert acc.position(SYM) is None


def test_closing_a_long_realises_pnl_and_pays_both_fees():
    acc = _account()
    acc.place_order(SYM, "buy", "market", 0.1, now_ms=T)
    acc.on_price(SYM, 41_250.5, T + 1)

    close = acc.place_order(SYM, "sell", "market", 0.1, now_ms=T + 1, reduce_only=True)

    pnl = (41_250.5 - 40_000.0) * 0.1
    fees = 0.1 * 40_000.0 * TAKER + 0.1 * 41_250.5 * TAKER
    assert close.profit == pytest.approx(pnl)
    assert acc.position(SYM) is None
    bal = acc.balance()
    assert bal.cash == pytest.approx(10_000.0 + pnl - fees, abs=1e-9)
    assert bal.available == pytest.approx(bal.cash, abs=1e-9)


def test_one_way_mode_nets_an_opposite_order_then_opens_the_other_side():
    acc = _account()
    acc.place_order(SYM, "buy", "market", 0.1, now_ms=T)
    acc.on_price(SYM, 39_000.0, T + 1)

    acc.place_order(SYM, "sell", "market", 0.3, now_ms=T + 1)

    pos = acc.position(SYM)
    assert (pos.side, pos.size, pos.entry_price) == ("short", 0.2, 39_000.0)
    assert acc.fills(SYM)[-1].profit == pytest.approx((39_000.0 - 40_000.0) * 0.1)


def test_adding_to_a_position_averages_its_entry():
    acc = _account()
    acc.place_order(SYM, "buy", "market", 0.1, now_ms=T)
    acc.on_price(SYM, 38_000.0, T + 1)

    acc.place_order(SYM, "buy", "market", 0.3, now_ms=T + 1)

    assert acc.position(SYM).entry_price == pytest.approx((0.1 * 40_000.0 + 0.3 * 38_000.0) / 0.4)


# ---------------------------------------------------------------- refusals
def test_reduce_only_needs_an_opposite_position_and_cannot_exceed_it():
    acc = _account()
    with pytest.raises(TradingError) as none:
        acc.place_order(SYM, "sell", "market", 0.1, now_ms=T, reduce_only=True)
    acc.place_order(SYM, "buy", "market", 0.1, now_ms=T)
    acc.place_order(SYM, "sell", "limit", 0.06, price=41_000.0, now_ms=T, reduce_only=True)

    with pytest.raises(TradingError) as too_much:
        acc.place_order(SYM, "sell", "limit", 0.05, price=42_000.0, now_ms=T, reduce_only=True)
    with pytest.raises(TradingError) as same_side:
        acc.place_order(SYM, "buy", "market", 0.01, now_ms=T, reduce_only=True)

    assert (_code(none), _code(too_much), _code(same_side)) == ("22002", "40757", "22002")


def test_reduce_only_limit_is_cancelled_when_another_order_flattens_the_position():
    acc = _account()
    acc.place_order(SYM, "buy", "market", 0.1, now_ms=T)
    tp = acc.place_order(SYM, "sell", "limit", 0.1, price=41_000.0, now_ms=T, reduce_only=True)

    acc.place_order(SYM, "sell", "market", 0.1, now_ms=T, reduce_only=False)  # closed by hand first

    assert acc.order(SYM, order_id=tp.order_id).status == "cancelled"
    assert acc.open_orders(SYM) == []


def test_duplicate_client_oid_is_refused_across_orders_and_triggers_but_a_refused_order_does_not_take_it():
    acc = _account(balance=100.0)
    with pytest.raises(TradingError) as poor:
        acc.place_order(SYM, "buy", "market", 0.1, now_ms=T, client_oid="grid-1")  # 200 margin > 100

    first = acc.place_order(SYM, "buy", "market", 0.01, now_ms=T, client_oid="grid-1")
    with pytest.raises(TradingError) as again:
        acc.place_order(SYM, "buy", "market", 0.01, now_ms=T, client_oid="grid-1")
    with pytest.raises(TradingError) as as_trigger:
        acc.place_trigger(SYM, "pos_loss", trigger_price=39_000.0, size=0.01, hold_side="buy", now_ms=T,
                          client_oid="grid-1")

    assert _code(poor) == "40762"
    assert (_code(again), _code(as_trigger)) == ("40786", "40786")
    assert [o.order_id for o in acc.orders(SYM)] == [first.order_id]


def test_order_needing_more_than_the_available_margin_is_refused_with_40762():
    acc = _account(balance=1_000.0)
    acc.set_leverage(SYM, 2)

    with pytest.raises(TradingError) as refused:
        acc.place_order(SYM, "buy", "limit", 0.05, price=40_000.0, now_ms=T)  # 1000 margin + fee > 1000
    ok = acc.place_order(SYM, "buy", "limit", 0.049, price=39_000.0, now_ms=T)

    assert _code(refused) == "40762"
    assert ok.status == "live"
    assert acc.balance().available == pytest.approx(1_000.0 - 0.049 * 39_000.0 / 2)


def test_size_and_price_precision_and_minimums_are_checked():
    eth = ContractSpec(base="ETH", price_place=2, volume_place=2, min_trade_num="0.05")
    acc = Account(AccountConfig(), specs={SYM: SPEC, "ETHUSDT": eth}.get)
    acc.on_price(SYM, 40_000.0, T)
    acc.on_price("ETHUSDT", 2_000.0, T)
    cases = {
        "40808": (SYM, dict(size=0.0105)),  # 4 decimals, the contract allows 3
        "45111": ("ETHUSDT", dict(size=0.04, price=1_990.0)),  # below the 0.05 minimum
        "45110": (SYM, dict(size=0.001, price=4_000.0)),  # 4 USDT < 5 USDT minimum
    }
    for code, (symbol, kw) in cases.items():
        with pytest.raises(TradingError) as refused:
            acc.place_order(symbol, "buy", "limit", kw["size"], price=kw.get("price", 39_000.0), now_ms=T)
        assert _code(refused) == code, kw
    with pytest.raises(TradingError) as bad_price:
        acc.place_order(SYM, "buy", "limit", 0.01, price=39_000.05, now_ms=T)
    assert _code(bad_price) == "40808"


def test_margin_mode_is_per_symbol_fixed_while_exposed_and_orders_must_match_it():
    acc = _account()
    acc.set_margin_mode(SYM, "isolated")
    with pytest.raises(TradingError) as mismatch:
        acc.place_order(SYM, "buy", "market", 0.01, now_ms=T, margin_mode="crossed")
    acc.place_order(SYM, "buy", "market", 0.01, now_ms=T, margin_mode="isolated")

    with pytest.raises(TradingError) as locked:
        acc.set_margin_mode(SYM, "crossed")

    assert (_code(mismatch), _code(locked)) == ("40808", "45117")
    assert acc.position(SYM).margin_mode == "isolated"


def test_isolated_unrealised_pnl_counts_in_equity_but_not_in_available():
    acc = _account()
    acc.set_margin_mode(SYM, "isolated")
    acc.set_leverage(SYM, 10)
    acc.place_order(SYM, "buy", "market", 0.1, now_ms=T)
    acc.on_price(SYM, 42_000.0, T + 1)

    bal = acc.balance()

    upl = (42_000.0 - 40_000.0) * 0.1
    cash = 10_000.0 - 0.1 * 40_000.0 * TAKER
    assert bal.isolated_unrealized_pnl == pytest.approx(upl)
    assert bal.equity == pytest.approx(cash + upl)
    assert bal.available == pytest.approx(cash - 0.1 * 40_000.0 / 10)


def test_leverage_is_bounded_by_the_contract_and_lowering_it_needs_margin():
    acc = _account(balance=300.0)
    with pytest.raises(TradingError) as too_high:
        acc.set_leverage(SYM, 126)
    acc.place_order(SYM, "buy", "market", 0.1, now_ms=T)  # 200 margin at 20x

    with pytest.raises(TradingError) as no_margin:
        acc.set_leverage(SYM, 10)  # would need 400

    assert (_code(too_high), _code(no_margin)) == ("43050", "40893")
    assert acc.set_leverage(SYM, 25).leverage == 25
    assert acc.position(SYM).leverage == 25


# ---------------------------------------------------------------- trigger orders
def test_position_stop_loss_fires_on_the_mark_and_closes_the_whole_position_at_the_crossing_price():
    acc = _account()
    acc.place_order(SYM, "buy", "market", 0.1, now_ms=T)
    sl = acc.place_trigger(SYM, "pos_loss", trigger_price=39_000.0, size=0.1, hold_side="buy", now_ms=T)
    tp = acc.place_trigger(SYM, "pos_profit", trigger_price=42_000.0, size=0.1, hold_side="buy", now_ms=T)
    acc.place_order(SYM, "buy", "market", 0.05, now_ms=T)  # the position grows after the SL was placed

    acc.on_price(SYM, 39_100.0, T + 1)
    assert acc.trigger(SYM, order_id=sl.order_id).status == "live"
    acc.on_price(SYM, 38_800.0, T + 2)  # gaps below the trigger: fills at the gap price

    fired = acc.trigger(SYM, order_id=sl.order_id)
    close = acc.order(SYM, order_id=fired.executed_order_id)
    assert (fired.status, close.status, close.source, close.reduce_only) == ("executed", "filled", "pos_loss_market", True)
    assert (close.filled, close.avg_price) == (0.15, 38_800.0)
    assert close.fee == pytest.approx(0.15 * 38_800.0 * TAKER)
    assert close.profit == pytest.approx((38_800.0 - 40_000.0) * 0.15)
    assert acc.position(SYM) is None
    assert acc.trigger(SYM, order_id=tp.order_id).status == "cancelled"  # TP/SL die with their position


def test_short_take_profit_and_partial_loss_plan_fire_in_their_directions():
    acc = _account()
    acc.place_order(SYM, "sell", "market", 0.2, now_ms=T)
    loss = acc.place_trigger(SYM, "loss_plan", trigger_price=40_500.0, size=0.05, hold_side="sell", now_ms=T)
    take = acc.place_trigger(SYM, "pos_profit", trigger_price=39_000.0, size=0.2, hold_side="sell", now_ms=T)

    acc.on_price(SYM, 40_600.0, T + 1)
    assert acc.position(SYM).size == pytest.approx(0.15)
    acc.on_price(SYM, 38_950.0, T + 2)

    assert acc.trigger(SYM, order_id=loss.order_id).status == "executed"
    assert acc.trigger(SYM, order_id=take.order_id).status == "executed"
    assert acc.position(SYM) is None
    assert [round(f.price, 1) for f in acc.fills(SYM)] == [40_000.0, 40_600.0, 38_950.0]


def test_tpsl_on_the_wrong_side_of_the_mark_or_without_position_is_refused():
    acc = _account()
    with pytest.raises(TradingError) as no_pos:
        acc.place_trigger(SYM, "pos_loss", trigger_price=39_000.0, size=0.1, hold_side="buy", now_ms=T)
    acc.place_order(SYM, "buy", "market", 0.1, now_ms=T)
    with pytest.raises(TradingError) as above:
        acc.place_trigger(SYM, "pos_loss", trigger_price=40_500.0, size=0.1, hold_side="buy", now_ms=T)
    with pytest.raises(TradingError) as tp_below:
        acc.place_trigger(SYM, "pos_profit", trigger_price=39_500.0, size=0.1, hold_side="buy", now_ms=T)

    assert (_code(no_pos), _code(above), _code(tp_below)) == ("40837", "40917", "40915")


def test_one_position_stop_loss_at_a_time_and_modify_moves_it():
    acc = _account()
    acc.place_order(SYM, "buy", "market", 0.1, now_ms=T)
    sl = acc.place_trigger(SYM, "pos_loss", trigger_price=39_000.0, size=0.1, hold_side="buy", now_ms=T,
                           client_oid="sl-a")
    with pytest.raises(TradingError) as second:
        acc.place_trigger(SYM, "pos_loss", trigger_price=38_000.0, size=0.1, hold_side="buy", now_ms=T)

    moved = acc.modify_trigger(SYM, client_oid="sl-a", trigger_price=39_800.0, now_ms=T + 1)
    acc.on_price(SYM, 39_850.0, T + 2)
    assert acc.position(SYM) is not None
    acc.on_price(SYM, 39_790.0, T + 3)

    assert _code(second) == "43031"
    assert (moved.order_id, moved.trigger_price) == (sl.order_id, 39_800.0)
    assert acc.position(SYM) is None


def test_cancel_triggers_needs_the_exact_plan_type():
    acc = _account()
    acc.place_order(SYM, "buy", "market", 0.1, now_ms=T)
    sl = acc.place_trigger(SYM, "pos_loss", trigger_price=39_000.0, size=0.1, hold_side="buy", now_ms=T)

    wrong, missing = acc.cancel_triggers(SYM, "normal_plan", ids=[(sl.order_id, None)], now_ms=T)
    right, _ = acc.cancel_triggers(SYM, "pos_loss", ids=[(sl.order_id, None)], now_ms=T)

    assert (wrong, missing) == ([], [(sl.order_id, None)])
    assert [t.status for t in right] == ["cancelled"]
    assert acc.triggers(SYM) == []


def test_normal_plan_order_enters_when_the_price_breaks_out():
    acc = _account()
    plan = acc.place_trigger(SYM, "normal_plan", trigger_price=40_800.0, size=0.02, side="buy", now_ms=T)

    acc.on_price(SYM, 40_700.0, T + 1)
    acc.on_price(SYM, 40_900.0, T + 2)

    order = acc.order(SYM, order_id=acc.trigger(SYM, order_id=plan.order_id).executed_order_id)
    assert (plan.direction, order.status, order.avg_price, order.source) == ("up", "filled", 40_900.0, "plan_market")
    assert acc.position(SYM).size == 0.02


# ---------------------------------------------------------------- partial and delayed fills
def test_max_fill_qty_splits_a_limit_over_ticks():
    acc = _account(max_fill_qty=0.04)
    order = acc.place_order(SYM, "buy", "limit", 0.1, price=39_500.0, now_ms=T)

    statuses = []
    for i, price in enumerate((39_400.0, 39_450.0, 39_300.0)):
        acc.on_price(SYM, price, T + 1 + i)
        o = acc.order(SYM, order_id=order.order_id)
        statuses.append((o.status, round(o.filled, 3)))

    assert statuses == [("partially_filled", 0.04), ("partially_filled", 0.08), ("filled", 0.1)]
    assert [f.qty for f in acc.fills(SYM)] == pytest.approx([0.04, 0.04, 0.02])


def test_volume_share_caps_fills_by_the_ticks_volume():
    acc = _account(volume_share=0.1)
    order = acc.place_order(SYM, "buy", "limit", 0.1, price=39_500.0, now_ms=T)

    acc.on_price(SYM, 39_400.0, T + 1, volume=0.6)  # 0.06 may fill
    acc.on_price(SYM, 39_400.0, T + 2, volume=0.0)  # nothing traded, nothing fills

    assert acc.order(SYM, order_id=order.order_id).filled == pytest.approx(0.06)
    acc.on_price(SYM, 39_400.0, T + 3, volume=5.0)
    assert acc.order(SYM, order_id=order.order_id).status == "filled"


def test_market_order_fills_partially_on_arrival_then_on_later_ticks():
    acc = _account(max_fill_qty=0.06)

    order = acc.place_order(SYM, "buy", "market", 0.1, now_ms=T)
    acc.on_price(SYM, 40_100.0, T + 1)

    done = acc.order(SYM, order_id=order.order_id)
    assert (order.status, order.filled) == ("partially_filled", 0.06)
    assert done.status == "filled"
    assert done.avg_price == pytest.approx((0.06 * 40_000.0 + 0.04 * 40_100.0) / 0.1)


def test_delayed_fills_hold_orders_then_fill_what_fell_due():
    acc = _account()
    acc.set_fills_enabled(False, now_ms=T)
    market = acc.place_order(SYM, "buy", "market", 0.05, now_ms=T)
    limit = acc.place_order(SYM, "buy", "limit", 0.05, price=39_500.0, now_ms=T)
    acc.on_price(SYM, 39_400.0, T + 1)
    acc.on_price(SYM, 39_700.0, T + 2)  # the price came back above the limit during the delay
    held = [acc.order(SYM, order_id=o.order_id).status for o in (market, limit)]

    acc.set_fills_enabled(True, now_ms=T + 3)

    assert held == ["live", "live"]
    assert acc.order(SYM, order_id=market.order_id).avg_price == 39_700.0  # the mark when fills resumed
    assert acc.order(SYM, order_id=limit.order_id).avg_price == 39_500.0
    assert acc.position(SYM).size == pytest.approx(0.1)


# ---------------------------------------------------------------- events and admin
def test_events_come_in_order_placed_fill_position_balance():
    acc = _account()
    acc.drain_events()

    acc.place_order(SYM, "buy", "market", 0.01, now_ms=T)
    events = acc.drain_events()

    kinds = [type(e).__name__ for e in events]
    assert kinds == ["OrderEvent", "BalanceEvent", "OrderEvent", "PositionEvent", "BalanceEvent"]
    assert isinstance(events[0], OrderEvent) and events[0].order.status == "live" and events[0].fill is None
    assert isinstance(events[2], OrderEvent) and events[2].fill is not None and events[2].order.status == "filled"
    assert acc.drain_events() == []


def test_trigger_events_and_a_position_made_behind_the_clients_back():
    acc = _account()

    pos = acc.open_position(SYM, "long", 0.2, entry_price=39_000.0, now_ms=T)
    acc.place_trigger(SYM, "pos_loss", trigger_price=38_000.0, size=0.2, hold_side="long", now_ms=T)
    events = acc.drain_events()

    assert (pos.side, pos.size, pos.entry_price) == ("long", 0.2, 39_000.0)
    assert acc.balance().cash == 10_000.0  # no fee, no order: a manual trade elsewhere
    assert any(isinstance(e, PositionEvent) for e in events) and any(isinstance(e, BalanceEvent) for e in events)
    assert isinstance(events[-1], TriggerEvent) and events[-1].trigger.plan_type == "pos_loss"
    assert acc.orders(SYM) == []


def test_no_replayed_price_yet_refuses_orders_with_40823():
    acc = Account(AccountConfig(), specs={SYM: SPEC}.get)

    with pytest.raises(TradingError) as no_mark:
        acc.place_order(SYM, "buy", "market", 0.01, now_ms=T)
    with pytest.raises(TradingError) as unknown:
        acc.place_order("ETHUSDT", "buy", "market", 0.01, now_ms=T)

    assert (_code(no_mark), _code(unknown)) == ("40823", "40034")


@pytest.mark.parametrize("bad", [dict(balance=-1.0), dict(taker_fee=0.2), dict(default_leverage=0),
                                 dict(max_fill_qty=0.0), dict(volume_share=1.5), dict(default_margin_mode="cross")])
def test_account_config_names_the_bad_field(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        AccountConfig(**bad)


# ---------------------------------------------------------------- the price path
def _one_market(o, h, lo, c, v=6.0, n=2) -> MarketData:
    ts = T + 3_600_000 * np.arange(n, dtype=np.int64)
    arr = lambda x: np.full(n, float(x))  # noqa: E731
    return MarketData().add(SYM, "1h", CandleArrays(ts, arr(o), arr(h), arr(lo), arr(c), arr(v)), SPEC)


def test_mark_path_visits_open_mid_then_the_extremes_before_the_close():
    rising = MarkPrices(_one_market(100.0, 110.0, 95.0, 104.0))
    falling = MarkPrices(_one_market(100.0, 103.0, 90.0, 96.0))
    assert [t.price for t in rising.advance(SYM, T)] == [100.0]  # the first call: just the present open
    falling.advance(SYM, T)

    up = rising.advance(SYM, T + 3_600_000)
    down = falling.advance(SYM, T + 3_600_000)

    assert [t.price for t in up] == [102.0, 95.0, 110.0, 104.0, 100.0]  # mid, low, high, close, next open
    assert [t.price for t in down] == [98.0, 103.0, 90.0, 96.0, 100.0]
    assert [t.volume for t in up] == pytest.approx([3.0, 1.0, 1.0, 1.0, 0.0])
    assert [t.ts for t in up] == [T + 1_800_000] + [T + 3_600_000] * 4


def test_mark_path_first_call_and_a_jump_back_give_only_the_present():
    marks = MarkPrices(_one_market(100.0, 110.0, 95.0, 104.0, n=3))

    first = marks.advance(SYM, T + 3_600_000 + 10)
    back = marks.advance(SYM, T + 1)

    assert [t.price for t in first] == [100.0] and marks.mark(SYM, T + 3_600_000 + 10) == 100.0
    assert [t.price for t in back] == [100.0]
    assert marks.advance(SYM, T - 1) == [] and marks.mark(SYM, T - 1) is None


def test_mark_path_skip_moves_on_without_ticks_and_the_next_advance_starts_there():
    marks = MarkPrices(_one_market(100.0, 110.0, 95.0, 104.0, n=3))
    marks.advance(SYM, T)

    skipped_to = marks.skip_to(SYM, T + 3_600_000 * 2 - 1)  # past candle 1's mid-way
    after = marks.advance(SYM, T + 3_600_000 * 2)

    assert skipped_to == 102.0
    assert [t.price for t in after] == [95.0, 110.0, 104.0, 100.0]  # candle 1 closes, candle 2 opens


# ---------------------------------------------------------------- signatures
CREDS = Credentials("k-123", "s3cret-value", "pa55phrase")
NOW = 1_760_000_000_000


def _headers(prehash_tail: str, *, key="k-123", secret="s3cret-value", passphrase="pa55phrase", ts=NOW) -> dict:
    return {"ACCESS-KEY": key, "ACCESS-SIGN": sign(secret, f"{ts}{prehash_tail}"), "ACCESS-TIMESTAMP": str(ts),
            "ACCESS-PASSPHRASE": passphrase}


def test_rest_signature_covers_method_path_query_and_body():
    body = '{"symbol":"BTCUSDT","size":"0.01"}'
    verify_rest(CREDS, _headers("POST/api/v2/mix/order/place-order" + body), "POST", "/api/v2/mix/order/place-order",
                ("",), body, NOW)
    verify_rest(CREDS, _headers("GET/api/v2/mix/order/detail?orderId=1&symbol=BTCUSDT"), "GET",
                "/api/v2/mix/order/detail", ("orderId=1&symbol=BTCUSDT",), "", NOW + 29_000)

    cases = {
        "40037": (_headers("GET/p", key="other"), NOW),
        "40012": (_headers("GET/p", passphrase="wrong"), NOW),
        "40009": (_headers("GET/p", secret="wrong"), NOW),
        "40008": (_headers("GET/p"), NOW + 31_000),
        "40001": ({**_headers("GET/p"), "ACCESS-KEY": ""}, NOW),
        "40005": ({**_headers("GET/p"), "ACCESS-TIMESTAMP": "soon"}, NOW),
    }
    for code, (headers, now) in cases.items():
        with pytest.raises(TradingError) as refused:
            verify_rest(CREDS, headers, "GET", "/p", ("",), "", now)
        assert refused.value.code == code
        assert "s3cret" not in str(refused.value) and "pa55" not in str(refused.value)
    with pytest.raises(TradingError, match="40009"):  # the body is signed too
        verify_rest(CREDS, _headers("POST/p{}"), "POST", "/p", ("",), '{"x":1}', NOW)


def test_ws_login_signature_and_credentials_repr_hides_secrets():
    ts = str(NOW // 1000)
    good = {"apiKey": "k-123", "passphrase": "pa55phrase", "timestamp": ts,
            "sign": sign("s3cret-value", ts + "GET/user/verify")}

    assert verify_ws_login(CREDS, good, NOW) is None
    assert verify_ws_login(CREDS, {**good, "sign": sign("x", ts + "GET/user/verify")}, NOW) == (30015, "Invalid sign")
    assert verify_ws_login(CREDS, {**good, "passphrase": "no"}, NOW)[0] == 30012
    assert verify_ws_login(CREDS, {**good, "apiKey": "no"}, NOW)[0] == 30011
    assert verify_ws_login(CREDS, good, NOW + 60_000)[0] == 30014
    assert "s3cret" not in repr(CREDS) and "pa55" not in repr(CREDS)
    with pytest.raises(ValueError, match="secret"):
        Credentials("k", "", "p")


# ---------------------------------------------------------------- trading faults
def test_trading_faults_queue_and_configure_from_json():
    faults = Faults().configure({"reject_orders": {"count": 2, "code": "43012"}, "fail_tpsl": 1,
                                 "delay_fills": 30, "drop_private_ws": {"abrupt": True}})

    rejects = [faults.take_order_reject() for _ in range(3)]

    assert rejects == [("43012", "Insufficient balance"), ("43012", "Insufficient balance"), None]
    assert faults.take_tpsl_failure() == ("40015", "System is abnormal, please try again later")
    assert faults.take_tpsl_failure() is None
    assert faults.fills_delayed() and faults.take_private_ws_drop() is True and faults.take_private_ws_drop() is None
    faults.reset()
    assert not faults.fills_delayed()
    with pytest.raises(ValueError, match="code"):
        faults.reject_orders(code="insufficient")
