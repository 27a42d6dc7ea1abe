"""Emulator trading through the unmodified ccxt async clients (REST) and ccxt.pro (private WebSocket).

The market is 400 real hourly BTC candles; the clock is frozen at the open of candle `START` and moved
by hand, so every fill happens at a price the test derives from the candles (the documented path:
open, mid-way, the extremes, close). Expected money is computed from those prices and the fee rates.
"""
from __future__ import annotations

import asyncio
import copy
import json
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import ccxt
import pytest

from radar.cli.emulator_cmd import resolve_credentials
from radar.errors import DataError
from radar.exchange.bitget import make_bitget_client
from radar.exchange.emulator import (
    Account, AccountConfig, BitgetEmulator, Clock, ContractSpec, Credentials, EmulatorThread, MarketData,
    load_csv_candles,
)
from radar.models import CandleArrays
from tests.exchange.waiting import until as _until

SYMBOL = "BTC/USDT:USDT"
H = 3_600_000
START = 101  # the clock starts just after this candle opens
KEY, SECRET, PASSPHRASE = "emu-key-1", "emu-secret-9f2c7a", "emu-pass-71"
MAKER, TAKER = 0.0002, 0.0006
BALANCE = 10_000.0

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def candles(shared_data) -> CandleArrays:
    return load_csv_candles(shared_data / "BTC-USD_1h_bitfinex.csv").slice(2000, 2400)


def _emulator(candles: CandleArrays, **config: Any) -> BitgetEmulator:
    market = MarketData().add("BTCUSDT", "1h", candles, ContractSpec(base="BTC", price_place=2, volume_place=3))
    account = Account(AccountConfig(balance=BALANCE, maker_fee=MAKER, taker_fee=TAKER, **config), specs=market.spec)
    return BitgetEmulator(market, Clock.fixed(int(candles.timestamp[START]) + 1), account=account,
                          credentials=Credentials(KEY, SECRET, PASSPHRASE))


@pytest.fixture()
def emu(candles) -> Iterator[tuple[BitgetEmulator, str]]:
    emulator = _emulator(candles)
    with EmulatorThread(emulator) as url:
        yield emulator, url


@asynccontextmanager
async def _client(url: str, *, pro: bool = False, secret: str = SECRET, passphrase: str = PASSPHRASE,
                  key: str = KEY) -> AsyncIterator[Any]:
    client = make_bitget_client(url, api_key=key, secret=secret, password=passphrase, async_=True, pro=pro)
    client.enableRateLimit = False  # loopback: the 10 requests/s pacing only slows the suite down
    try:
        await client.load_markets()
        yield client
    finally:
        await client.close()


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def _close_of(candles: CandleArrays, k: int) -> int:
    return int(candles.timestamp[k]) + H


def _path(candles: CandleArrays, start: int) -> Iterator[tuple[int, float]]:
    """(candle, price) in replay order after the present (the open of `start`), as documented in marks.py."""
    for k in range(start, len(candles)):
        o, h, lo, c = (float(a[k]) for a in (candles.open, candles.high, candles.low, candles.close))
        if k > start:
            yield k, o
        yield k, (o + c) / 2
        for p in ((lo, h) if c >= o else (h, lo)):
            yield k, p
        yield k, c


def _first_at_or_below(candles: CandleArrays, level: float) -> tuple[int, float]:
    return next((k, p) for k, p in _path(candles, START) if p <= level)


async def _collect(watch: Callable[[], Any], sink: list[Any]) -> None:
    """Every update a ccxt.pro watch_* call returns, until cancelled (a push nobody awaits is missed).
    Copied: ccxt keeps updating the objects it returned."""
    while True:
        sink.append(copy.deepcopy(await watch()))



# ---------------------------------------------------------------- settings
def test_leverage_margin_mode_and_one_way_mode_are_set_and_apply_to_the_next_position(emu, candles):
    emulator, url = emu

    async def body() -> dict[str, Any]:
        async with _client(url) as c:
            await c.set_position_mode(False, SYMBOL)
            await c.set_margin_mode("isolated", SYMBOL)
            await c.set_leverage(7, SYMBOL)
            out = {"lev": await c.fetch_leverage(SYMBOL), "mode": await c.fetch_margin_mode(SYMBOL)}
            with pytest.raises(ccxt.ExchangeError, match="one_way_mode"):
                await c.set_position_mode(True, SYMBOL)
            with pytest.raises(ccxt.InvalidOrder, match="40808"):  # ccxt sends crossed unless told
                await c.create_order(SYMBOL, "market", "buy", 0.02)
            await c.create_order(SYMBOL, "market", "buy", 0.02, None, {"marginMode": "isolated"})
            out["positions"] = await c.fetch_positions([SYMBOL])
            with pytest.raises(ccxt.ExchangeError, match="45117"):
                await c.set_margin_mode("cross", SYMBOL)
            return out

    out = _run(body())

    entry = float(candles.open[START])
    assert (out["lev"]["longLeverage"], out["lev"]["marginMode"], out["mode"]["marginMode"]) == (7, "isolated", "isolated")
    [pos] = out["positions"]
    assert (pos["side"], pos["contracts"], pos["entryPrice"], pos["leverage"], pos["marginMode"]) == (
        "long", 0.02, entry, 7, "isolated")
    assert pos["initialMargin"] == pytest.approx(0.02 * entry / 7, abs=1e-8)


# ---------------------------------------------------------------- fills, fees and money
def test_market_order_fills_at_the_replayed_price_with_the_taker_fee_and_the_balance_moves_to_the_cent(emu, candles):
    emulator, url = emu

    async def body() -> tuple[Any, ...]:
        async with _client(url) as c:
            created = await c.create_order(SYMBOL, "market", "buy", 0.05, None, {"clientOrderId": "entry-1"})
            order = await c.fetch_order(created["id"], SYMBOL)
            trades = await c.fetch_my_trades(SYMBOL)
            balance = await c.fetch_balance()
            return created, order, trades, balance

    created, order, trades, balance = _run(body())

    price = float(candles.open[START])
    fee = 0.05 * price * TAKER
    assert (created["clientOrderId"], order["status"], order["filled"], order["average"]) == ("entry-1", "closed", 0.05, price)
    assert order["fee"]["cost"] == pytest.approx(fee, abs=1e-8)
    [trade] = trades
    assert (trade["order"], trade["price"], trade["amount"], trade["takerOrMaker"], trade["side"]) == (
        created["id"], price, 0.05, "taker", "buy")
    assert trade["fee"] == {"currency": "USDT", "cost": pytest.approx(fee, abs=1e-8)}
    assert round(balance["USDT"]["total"], 2) == round(BALANCE - fee, 2)
    assert balance["USDT"]["free"] == pytest.approx(BALANCE - fee - 0.05 * price / 20, abs=0.005)  # 20x default


def test_limit_order_fills_only_when_the_replayed_price_crosses_it(emu, candles):
    emulator, url = emu
    limit = 3926.0
    j, _ = _first_at_or_below(candles, limit)
    assert j > START  # the price has to travel to the limit

    async def body() -> tuple[list[str], Any]:
        seen = []
        async with _client(url) as c:
            order = await c.create_order(SYMBOL, "limit", "buy", 0.05, limit)
            for k in range(START, j + 1):
                emulator.clock.set(_close_of(candles, k))
                seen.append((await c.fetch_order(order["id"], SYMBOL))["status"])
            return seen, await c.fetch_my_trades(SYMBOL)

    seen, trades = _run(body())

    assert seen == ["open"] * (j - START) + ["closed"]
    [trade] = trades
    assert (trade["price"], trade["takerOrMaker"]) == (limit, "maker")
    assert trade["fee"]["cost"] == pytest.approx(0.05 * limit * MAKER, abs=1e-8)


def test_repeated_client_order_id_is_refused_so_a_retry_cannot_double_the_entry(emu, candles):
    emulator, url = emu

    async def body() -> tuple[Any, ...]:
        async with _client(url) as c:
            first = await c.create_order(SYMBOL, "limit", "buy", 0.02, 3800.0, {"clientOrderId": "grid-7"})
            with pytest.raises(ccxt.ExchangeError) as dup:
                await c.create_order(SYMBOL, "limit", "buy", 0.02, 3800.0, {"clientOrderId": "grid-7"})
            found = await c.fetch_order(None, SYMBOL, {"clientOrderId": "grid-7"})
            return first, dup.value, found, await c.fetch_open_orders(SYMBOL)

    first, dup, found, open_orders = _run(body())

    assert '"40786"' in str(dup) and "Duplicate clientOid" in str(dup)
    assert (found["id"], found["clientOrderId"]) == (first["id"], "grid-7")
    assert [o["id"] for o in open_orders] == [first["id"]]


def test_stop_loss_trigger_fires_on_the_replayed_price_and_closes_the_position(emu, candles):
    emulator, url = emu
    entry = float(candles.open[START])
    stop = 3928.0
    k, exit_price = _first_at_or_below(candles, stop)

    async def body() -> tuple[Any, ...]:
        async with _client(url) as c:
            await c.create_order(SYMBOL, "market", "buy", 0.05, None, {"clientOrderId": "e-1"})
            sl = await c.create_order(SYMBOL, "market", "sell", 0.05, None, {"stopLossPrice": stop, "clientOrderId": "sl-1"})
            listed = await c.fetch_open_orders(SYMBOL, params={"trigger": True, "planType": "profit_loss"})
            emulator.clock.set(_close_of(candles, k - 1))
            still = await c.fetch_positions([SYMBOL])
            emulator.clock.set(_close_of(candles, k))
            return (sl, listed, still, await c.fetch_positions([SYMBOL]), await c.fetch_my_trades(SYMBOL),
                    await c.fetch_open_orders(SYMBOL, params={"trigger": True, "planType": "profit_loss"}),
                    await c.fetch_balance(), await c.fetch_closed_orders(SYMBOL),
                    await c.fetch_closed_orders(SYMBOL, params={"trigger": True, "planType": "profit_loss"}))

    sl, listed, still, after, trades, left, balance, closed, fired = _run(body())

    [listed_sl] = listed
    assert (listed_sl["id"], listed_sl["clientOrderId"], listed_sl["triggerPrice"], listed_sl["side"]) == (
        sl["id"], "sl-1", stop, "sell")
    assert listed_sl["info"]["planType"] == "pos_loss"
    assert [p["contracts"] for p in still] == [0.05]
    assert after == [] and left == []
    close = trades[-1]
    assert (close["side"], close["price"], close["amount"], close["takerOrMaker"]) == ("sell", exit_price, 0.05, "taker")
    fees = 0.05 * entry * TAKER + 0.05 * exit_price * TAKER
    assert round(balance["USDT"]["total"], 2) == round(BALANCE + (exit_price - entry) * 0.05 - fees, 2)
    # History: the SL executed and placed the reduce-only market order that closed the position.
    [fired_sl] = fired
    assert (fired_sl["id"], fired_sl["status"], fired_sl["info"]["planStatus"]) == (sl["id"], "closed", "executed")
    by_id = {o["id"]: o for o in closed}
    sl_close = by_id[fired_sl["info"]["executeOrderId"]]
    assert (sl_close["info"]["orderSource"], sl_close["reduceOnly"], sl_close["average"]) == ("pos_loss_market", True, exit_price)
    assert close["order"] == sl_close["id"]


def test_cancel_and_open_orders_for_normal_and_trigger_orders(emu, candles):
    emulator, url = emu

    async def body() -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with _client(url) as c:
            await c.create_order(SYMBOL, "market", "buy", 0.05)
            limit = await c.create_order(SYMBOL, "limit", "buy", 0.02, 3700.0)
            sl = await c.create_order(SYMBOL, "market", "sell", 0.05, None, {"stopLossPrice": 3800.0})
            tp = await c.create_order(SYMBOL, "market", "sell", 0.05, None, {"takeProfitPrice": 4200.0})
            out["normal"] = await c.fetch_open_orders(SYMBOL)
            out["tpsl"] = await c.fetch_open_orders(SYMBOL, params={"trigger": True, "planType": "profit_loss"})
            out["plans"] = await c.fetch_open_orders(SYMBOL, params={"trigger": True})
            await c.cancel_order(limit["id"], SYMBOL)
            with pytest.raises(ccxt.InvalidOrder, match="43025"):  # the plan type must be the order's own
                await c.cancel_order(sl["id"], SYMBOL, {"trigger": True})
            await c.cancel_order(sl["id"], SYMBOL, {"trigger": True, "planType": "pos_loss"})
            with pytest.raises(ccxt.ExchangeError, match="22001"):
                await c.cancel_order(limit["id"], SYMBOL)
            out["cancelled"] = await c.fetch_order(limit["id"], SYMBOL)
            out["normal_after"] = await c.fetch_open_orders(SYMBOL)
            out["tpsl_after"] = await c.fetch_open_orders(SYMBOL, params={"trigger": True, "planType": "profit_loss"})
            out["ids"] = (limit["id"], sl["id"], tp["id"])
        return out

    out = _run(body())

    limit_id, sl_id, tp_id = out["ids"]
    assert [(o["id"], o["price"], o["status"]) for o in out["normal"]] == [(limit_id, 3700.0, "open")]
    assert sorted((o["id"], o["info"]["planType"]) for o in out["tpsl"]) == sorted([(sl_id, "pos_loss"), (tp_id, "pos_profit")])
    assert out["plans"] == []  # normal_plan is the default list
    assert out["cancelled"]["status"] == "canceled"
    assert out["normal_after"] == []
    assert [o["id"] for o in out["tpsl_after"]] == [tp_id]


def test_positions_value_at_the_mark_and_a_reduce_only_order_closes_them(emu, candles):
    emulator, url = emu
    entry = float(candles.open[START])
    later = START + 5
    mark = float(candles.close[later])

    async def body() -> tuple[Any, ...]:
        async with _client(url) as c:
            await c.create_order(SYMBOL, "market", "sell", 0.1)
            emulator.clock.set(_close_of(candles, later))
            opened = await c.fetch_positions([SYMBOL])
            with pytest.raises(ccxt.ExchangeError, match="40757"):
                await c.create_order(SYMBOL, "market", "buy", 0.2, None, {"reduceOnly": True})
            close = await c.create_order(SYMBOL, "market", "buy", 0.1, None, {"reduceOnly": True})
            return opened, await c.fetch_order(close["id"], SYMBOL), await c.fetch_positions([SYMBOL]), await c.fetch_balance()

    opened, close, after, balance = _run(body())

    [pos] = opened
    assert (pos["side"], pos["contracts"], pos["entryPrice"], pos["markPrice"]) == ("short", 0.1, entry, mark)
    assert pos["unrealizedPnl"] == pytest.approx((entry - mark) * 0.1, abs=1e-8)
    assert (close["reduceOnly"], close["status"], close["average"]) == (True, "closed", mark)
    assert after == []
    fees = 0.1 * entry * TAKER + 0.1 * mark * TAKER
    assert round(balance["USDT"]["total"], 2) == round(BALANCE + (entry - mark) * 0.1 - fees, 2)


def test_stop_loss_moves_with_edit_order_and_close_position_flattens_and_cancels_it(emu, candles):
    emulator, url = emu
    entry = float(candles.open[START])

    async def body() -> tuple[Any, ...]:
        async with _client(url) as c:
            await c.create_order(SYMBOL, "market", "buy", 0.04)
            await c.create_order(SYMBOL, "limit", "buy", 0.02, 3700.0)
            sl = await c.create_order(SYMBOL, "market", "sell", 0.04, None, {"stopLossPrice": 3850.0})
            moved = await c.edit_order(sl["id"], SYMBOL, "market", "sell", 0.04, None, {"stopLossPrice": 3900.5})
            listed = await c.fetch_open_orders(SYMBOL, params={"trigger": True, "planType": "profit_loss"})
            cancelled = await c.cancel_all_orders(SYMBOL)
            closed = await c.close_position(SYMBOL)
            return (sl, moved, listed, cancelled, await c.fetch_order(closed["id"], SYMBOL),
                    await c.fetch_positions([SYMBOL]),
                    await c.fetch_open_orders(SYMBOL, params={"trigger": True, "planType": "profit_loss"}))

    sl, moved, listed, cancelled, closed, positions, stops = _run(body())

    assert moved["id"] == sl["id"]
    assert [(o["id"], o["triggerPrice"]) for o in listed] == [(sl["id"], 3900.5)]
    assert len(cancelled) == 1  # the resting limit; the SL is a plan order and stays
    assert (closed["side"], closed["reduceOnly"], closed["filled"], closed["average"]) == ("sell", True, 0.04, entry)
    assert positions == [] and stops == []


# ---------------------------------------------------------------- private WebSocket
def test_watch_orders_pushes_the_fill_driven_by_the_replay_clock(emu, candles):
    emulator, url = emu
    limit = 3926.0
    j, _ = _first_at_or_below(candles, limit)

    async def body() -> tuple[Any, ...]:
        positions: list[Any] = []
        balances: list[Any] = []
        trades: list[Any] = []
        async with _client(url, pro=True) as c:
            collectors = [asyncio.ensure_future(_collect(c.watch_positions, positions)),
                          asyncio.ensure_future(_collect(c.watch_balance, balances)),
                          asyncio.ensure_future(_collect(lambda: c.watch_my_trades(SYMBOL), trades))]
            orders = asyncio.ensure_future(c.watch_orders(SYMBOL))
            await _until(lambda: emulator.private_ws.subscribed("orders") and emulator.private_ws.subscribed("fill")
                         and positions and balances)
            placed = await c.create_order(SYMBOL, "limit", "buy", 0.05, limit, {"clientOrderId": "grid-1"})
            # ccxt updates a cached order in place: copy each push as it arrives.
            pushes = [dict((await orders)[-1])]
            emulator.clock.set(_close_of(candles, j))  # no REST call: the replay tick matches and pushes
            while pushes[-1]["status"] != "closed":
                pushes.append(dict((await asyncio.wait_for(c.watch_orders(SYMBOL), 5))[-1]))
            await _until(lambda: positions[-1] and balances[-1]["USDT"]["total"] != BALANCE and trades)
            for task in collectors:
                task.cancel()
            return placed, pushes, positions, balances, trades

    placed, pushes, positions, balances, trades = _run(body())

    first, last = pushes[0], pushes[-1]
    assert (first["id"], first["clientOrderId"], first["status"], first["price"]) == (placed["id"], "grid-1", "open", limit)
    assert (last["id"], last["status"], last["amount"], last["remaining"], last["average"]) == (placed["id"], "closed", 0.05, 0.0, limit)
    assert (last["info"]["accBaseVolume"], last["info"]["tradeScope"]) == ("0.05", "M")
    assert last["fee"]["cost"] == pytest.approx(0.05 * limit * MAKER, abs=1e-8)
    [trade] = trades[-1]
    assert (trade["order"], trade["price"], trade["amount"], trade["takerOrMaker"]) == (placed["id"], limit, 0.05, "maker")
    assert positions[0] == []  # the snapshot on subscribe: flat
    [pos] = positions[-1]
    assert (pos["side"], pos["contracts"], pos["entryPrice"]) == ("long", 0.05, limit)
    assert balances[0]["USDT"]["total"] == BALANCE
    upl = (float(candles.close[j]) - limit) * 0.05  # valued at the mark: candle j's close
    assert balances[-1]["USDT"]["total"] == pytest.approx(BALANCE - 0.05 * limit * MAKER + upl, abs=1e-6)


def test_partial_fills_push_each_fill_quantity_with_cumulative_remaining_and_average(candles):
    emulator = _emulator(candles, max_fill_qty=0.02)
    price = float(candles.open[START])

    async def body(url: str) -> tuple[list[Any], Any]:
        pushes: list[Any] = []
        async with _client(url, pro=True) as c:
            watcher = asyncio.ensure_future(_collect(lambda: c.watch_orders(SYMBOL), pushes))
            await _until(lambda: emulator.private_ws.subscribed("orders"))
            order = await c.create_order(SYMBOL, "market", "buy", 0.05)
            await _until(lambda: pushes and pushes[-1][-1]["status"] == "open" and pushes[-1][-1]["filled"])
            emulator.clock.set(_close_of(candles, START))  # the rest fills on the next ticks of the path
            await _until(lambda: pushes[-1][-1]["status"] == "closed")
            watcher.cancel()
            return [p[-1] for p in pushes], await c.fetch_order(order["id"], SYMBOL)

    with EmulatorThread(emulator) as url:
        pushes, final = _run(body(url))

    fills = [p for p in pushes if p["filled"]]
    assert [(p["filled"], p["remaining"], p["info"]["accBaseVolume"]) for p in fills] == [
        (0.02, 0.03, "0.02"), (0.02, 0.01, "0.04"), (0.01, 0.0, "0.05")]  # ccxt's `filled` is this fill's size
    assert fills[0]["average"] == price  # the part filled on arrival, at the mark
    fill_prices = [float(p["info"]["fillPrice"]) for p in fills]
    path = [p for _, p in _path(candles, START)]
    assert fill_prices == [price, path[0], path[1]]  # arrival at the mark, then mid-way, then the first extreme
    average = (0.02 * fill_prices[0] + 0.02 * fill_prices[1] + 0.01 * fill_prices[2]) / 0.05
    assert fills[-1]["average"] == pytest.approx(average, abs=1e-6)
    assert (final["status"], final["filled"], final["average"]) == ("closed", 0.05, pytest.approx(average, abs=1e-6))
    assert final["fee"]["cost"] == pytest.approx(sum(0.02 * p * TAKER for p in fill_prices[:2]) + 0.01 * fill_prices[2] * TAKER,
                                                 abs=1e-8)


def test_watch_orders_with_trigger_true_follows_the_stop_loss_until_it_executes(emu, candles):
    emulator, url = emu
    stop = 3928.0
    k, _ = _first_at_or_below(candles, stop)

    async def body() -> list[Any]:
        async with _client(url, pro=True) as c:
            await c.create_order(SYMBOL, "market", "buy", 0.05)
            algo = asyncio.ensure_future(c.watch_orders(SYMBOL, params={"trigger": True}))
            await _until(lambda: emulator.private_ws.subscribed("orders-algo"))
            await c.create_order(SYMBOL, "market", "sell", 0.05, None, {"stopLossPrice": stop})
            pushes = [dict((await algo)[-1])]
            emulator.clock.set(_close_of(candles, k))
            while pushes[-1]["info"]["status"] == "live":
                pushes.append(dict((await asyncio.wait_for(c.watch_orders(SYMBOL, params={"trigger": True}), 5))[-1]))
            return pushes

    pushes = _run(body())

    assert [(p["info"]["planType"], p["info"]["status"]) for p in pushes] == [("psl", "live"), ("psl", "executed")]
    assert pushes[-1]["triggerPrice"] == stop and pushes[-1]["info"]["executeOrderId"]


# ---------------------------------------------------------------- faults
def test_reject_orders_fault_answers_insufficient_funds_then_trading_resumes(emu):
    emulator, url = emu

    async def body() -> Any:
        async with _client(url) as c:
            emulator.faults.reject_orders(1, code="40762")
            with pytest.raises(ccxt.InsufficientFunds, match="40762"):
                await c.create_order(SYMBOL, "market", "buy", 0.01, None, {"clientOrderId": "e-9"})
            return await c.create_order(SYMBOL, "market", "buy", 0.01, None, {"clientOrderId": "e-9"})

    order = _run(body())

    assert order["clientOrderId"] == "e-9" and len(emulator.account.fills()) == 1


def test_fail_tpsl_fault_fails_the_stop_loss_placement_n_times(emu):
    emulator, url = emu

    async def body() -> tuple[list[str], Any]:
        errors = []
        async with _client(url) as c:
            await c.create_order(SYMBOL, "market", "buy", 0.05)
            emulator.faults.fail_tpsl(2)
            for attempt in range(3):  # place, verify, retry: the executor's loop
                try:
                    await c.create_order(SYMBOL, "market", "sell", 0.05, None,
                                         {"stopLossPrice": 3800.0, "clientOrderId": f"sl-{attempt}"})
                except ccxt.ExchangeError as exc:
                    errors.append(str(exc))
                    continue
                break
            return errors, await c.fetch_open_orders(SYMBOL, params={"trigger": True, "planType": "profit_loss"})

    errors, listed = _run(body())

    assert len(errors) == 2 and all('"40015"' in e for e in errors)
    assert [(o["clientOrderId"], o["info"]["planType"]) for o in listed] == [("sl-2", "pos_loss")]


def test_server_error_on_order_placement_places_nothing_and_the_retry_goes_through(emu):
    emulator, url = emu

    async def body() -> Any:
        async with _client(url) as c:
            emulator.faults.server_error(1, status=503, match="place-order")
            with pytest.raises(ccxt.ExchangeNotAvailable):
                await c.create_order(SYMBOL, "market", "buy", 0.01, None, {"clientOrderId": "e-5"})
            return await c.create_order(SYMBOL, "market", "buy", 0.01, None, {"clientOrderId": "e-5"})

    order = _run(body())

    assert order["clientOrderId"] == "e-5"
    assert [r.status for r in emulator.requests if r.path.endswith("place-order")] == [503, 200]


def test_delay_fills_fault_holds_a_market_order_open_then_fills_it(emu, candles):
    emulator, url = emu

    async def body() -> tuple[str, Any]:
        async with _client(url) as c:
            emulator.faults.delay_fills(0.6)
            order = await c.create_order(SYMBOL, "market", "buy", 0.02)
            held = (await c.fetch_order(order["id"], SYMBOL))["status"]
            await asyncio.sleep(0.7)
            return held, await c.fetch_order(order["id"], SYMBOL)

    held, done = _run(body())

    assert held == "open"
    assert (done["status"], done["average"]) == ("closed", float(candles.open[START]))


def test_drop_private_ws_fault_disconnects_and_ccxt_logs_in_again(emu):
    emulator, url = emu

    async def body() -> Any:
        async with _client(url, pro=True) as c:
            await c.watch_balance()
            pending = asyncio.ensure_future(c.watch_orders(SYMBOL))
            await _until(lambda: emulator.private_ws.subscribed("orders"))
            emulator.faults.drop_private_ws()
            with pytest.raises(ccxt.NetworkError):
                await asyncio.wait_for(pending, 5)
            again = asyncio.ensure_future(c.watch_orders(SYMBOL))
            await _until(lambda: emulator.private_ws.subscribed("orders"))
            await c.create_order(SYMBOL, "market", "buy", 0.01)
            return await asyncio.wait_for(again, 5)

    pushed = _run(body())

    assert pushed[-1]["symbol"] == SYMBOL
    assert emulator.private_ws.logins == 2 and emulator.private_ws.connections_opened == 2


# ---------------------------------------------------------------- authentication
def test_wrong_secret_passphrase_or_key_is_refused_without_echoing_the_secrets(emu):
    emulator, url = emu

    async def refusal(**kw: str) -> ccxt.BaseError:
        async with _client(url, **kw) as c:
            with pytest.raises(ccxt.AuthenticationError) as refused:
                await c.fetch_balance()
            return refused.value

    async def ws_refusal() -> ccxt.BaseError:
        async with _client(url, pro=True, secret="not-the-secret") as c:
            with pytest.raises(ccxt.AuthenticationError) as refused:
                await asyncio.wait_for(c.watch_balance(), 5)
            return refused.value

    errors = {"40009": _run(refusal(secret="not-the-secret")), "40012": _run(refusal(passphrase="wrong-pass")),
              "40037": _run(refusal(key="unknown-key")), "30015": _run(ws_refusal())}

    for code, error in errors.items():
        text = str(error)
        assert code in text
        for secret in (SECRET, PASSPHRASE, "not-the-secret", "wrong-pass"):
            assert secret not in text
    assert emulator.account.orders() == []


def test_without_configured_credentials_every_private_endpoint_answers_40037(candles):
    emulator = BitgetEmulator(MarketData().add("BTCUSDT", "1h", candles), Clock.fixed(int(candles.timestamp[START]) + 1))

    async def body() -> None:
        async with _client(url) as c:
            with pytest.raises(ccxt.AuthenticationError, match="40037"):
                await c.create_order(SYMBOL, "market", "buy", 0.01)

    with EmulatorThread(emulator) as url:
        _run(body())


# ---------------------------------------------------------------- admin and CLI
def test_admin_position_made_behind_the_clients_back_shows_up_without_a_stop_loss(emu, candles):
    emulator, url = emu
    req = urllib.request.Request(url + "/_emulator/account/position", method="POST",
                                 data=json.dumps({"symbol": "BTCUSDT", "side": "short", "size": 0.3}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        made = json.loads(resp.read())

    async def body() -> tuple[Any, Any]:
        async with _client(url) as c:
            return (await c.fetch_positions([SYMBOL]),
                    await c.fetch_open_orders(SYMBOL, params={"trigger": True, "planType": "profit_loss"}))

    positions, stops = _run(body())
    with urllib.request.urlopen(url + "/_emulator/account", timeout=5) as resp:
        state = json.loads(resp.read())

    assert made["ok"] and made["position"]["holdSide"] == "short"
    [pos] = positions
    assert (pos["side"], pos["contracts"], pos["entryPrice"]) == ("short", 0.3, float(candles.open[START]))
    assert stops == []
    assert [(p["symbol"], p["total"]) for p in state["positions"]] == [("BTCUSDT", "0.3")]
    assert state["balance"]["cash"] == BALANCE and state["triggers"] == []


def test_cli_credentials_come_from_flags_or_environment_and_must_be_complete():
    env = {"RADAR_EMULATOR_API_KEY": "k-env", "RADAR_EMULATOR_SECRET": "s-env", "RADAR_EMULATOR_PASSPHRASE": "p-env"}

    from_env = resolve_credentials(None, None, None, env)
    from_flags = resolve_credentials("k", "s", "p", {})

    assert (from_env.api_key, from_env.secret, from_env.passphrase) == ("k-env", "s-env", "p-env")
    assert (from_flags.api_key, from_flags.passphrase) == ("k", "p")
    assert resolve_credentials(None, None, None, {}) is None
    with pytest.raises(DataError, match="--passphrase") as incomplete:
        resolve_credentials("k", "s-secret-value", None, {})
    assert "s-secret-value" not in str(incomplete.value)
