"""LiveExecutor against the Bitget emulator through the unmodified ccxt.pro client (REST + private WebSocket).

The market is 400 real hourly BTC candles (also served as ETH for the two-symbol risk rules); the clock is
frozen at the open of candle `START` and moved by hand, so market orders fill at candle opens the test
knows and stops fire where the replayed path (open, mid-way, extremes, close) crosses them. Trade events
are built by hand as a runner would send them.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import ccxt
import pytest
from sqlalchemy import create_engine, text

from api.views import executor_status
from radar.config.models import LiveRisk, RiskConfig
from radar.events import EventKind, TradeEvent
from radar.exchange.bitget import make_bitget_client
from radar.exchange.emulator import (
    Account, AccountConfig, BitgetEmulator, Clock, ContractSpec, Credentials, EmulatorThread, MarketData,
    load_csv_candles,
)
from radar.live.live_book import ExecutorConfig
from radar.live.live_executor import LiveExecutor
from radar.live.messages import Alert
from radar.live.order_journal import OrderJournal
from radar.live.orders import ContractRules, Purpose, client_order_id
from radar.live.selector import AdaptiveSelector, StrategyStats
from radar.models import CandleArrays
from tests.exchange.waiting import until as _until

SYM, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"
RUNNER, OTHER = f"grid_atr:{SYM}", f"grid_trend:{SYM}"
H = 3_600_000
START = 101
KEY, SECRET, PASSPHRASE = "live-key-4f1d9c", "live-secret-8b27e0aa51", "live-pass-3c5d77"
TAKER = 0.0006
BALANCE = 10_000.0
RULES = ContractRules(SYM, qty_step=0.001, min_qty=0.001, price_tick=0.01)
CONFIG = ExecutorConfig({SYM: 6, ETH: 6}, {"grid_atr": 20.0, "grid_trend": 20.0}, fill_timeout_s=5.0, poll_after_s=0.3,
                        maintenance_s=0.1, position_poll_s=0.5, retry_backoff_s=0.2, sl_backoff_s=0.05)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def candles(shared_data) -> CandleArrays:
    return load_csv_candles(shared_data / "BTC-USD_1h_bitfinex.csv").slice(2000, 2400)


@pytest.fixture()
def emulator(candles) -> BitgetEmulator:
    spec = {"price_place": 2, "volume_place": 3}
    market = (MarketData().add("BTCUSDT", "1h", candles, ContractSpec(base="BTC", **spec))
              .add("ETHUSDT", "1h", candles, ContractSpec(base="ETH", **spec)))
    account = Account(AccountConfig(balance=BALANCE, taker_fee=TAKER), specs=market.spec)
    return BitgetEmulator(market, Clock.fixed(int(candles.timestamp[START]) + 1), account=account,
                          credentials=Credentials(KEY, SECRET, PASSPHRASE))


@pytest.fixture()
def url(emulator):
    with EmulatorThread(emulator) as base_url:
        yield base_url


class Harness:
    def __init__(self, emulator: BitgetEmulator, url: str, db: Path) -> None:
        self.emulator, self.url, self.db = emulator, url, db
        self.alerts: list[Alert] = []

    @asynccontextmanager
    async def executor(self, *, risk: RiskConfig | None = None, assets: dict[str, str] | None = None,
                       config: ExecutorConfig = CONFIG, selector: AdaptiveSelector | None = None,
                       source: Callable[[], list[StrategyStats]] | None = None, db: Path | None = None,
                       secret: str = SECRET, key: str = KEY, timeout_ms: int = 5000) -> AsyncIterator[LiveExecutor]:
        client = make_bitget_client(self.url, api_key=key, secret=secret, password=PASSPHRASE, pro=True,
                                    timeout_ms=timeout_ms)
        client.enableRateLimit = False
        journal = OrderJournal(create_engine(f"sqlite:///{db or self.db}"), clock=self.emulator.clock)
        ex = LiveExecutor(client, journal, risk or RiskConfig(), assets or {SYM: "majors", ETH: "majors"},
                          self.emulator.clock, config, notifier=self.alerts.append, selector=selector,
                          selector_source=source)
        try:
            await ex.start()
            yield ex
        finally:
            await ex.stop()


@pytest.fixture()
def harness(emulator, url, tmp_path) -> Harness:
    return Harness(emulator, url, tmp_path / "live.db")


def _open(candles: CandleArrays, seq: int, k: int, qty: float, *, level: int = 0, runner: str = RUNNER,
          symbol: str = SYM, side: int = 1, extra: dict[str, float] | None = None) -> TradeEvent:
    """An OPEN as the runner sends it after candle k closed (its level price: 1% away from the open)."""
    strategy = runner.split(":")[0]
    return TradeEvent(runner, seq, EventKind.OPEN, strategy, symbol, int(candles.timestamp[k]), side=side,
                      price=float(candles.open[k]) * (1 - side * 0.01), quantity=qty, level=level,
                      reason="level" if level >= 0 else "signal", extra=extra or {})


def _close(candles: CandleArrays, seq: int, k: int, qty: float, reason: str = "tp", *, runner: str = RUNNER,
           side: int = 1) -> TradeEvent:
    return TradeEvent(runner, seq, EventKind.CLOSE, runner.split(":")[0], SYM, int(candles.timestamp[k]), side=side,
                      price=float(candles.close[k]), quantity=qty, reason=reason)


def _at_open(emulator: BitgetEmulator, candles: CandleArrays, k: int) -> None:
    emulator.clock.set(int(candles.timestamp[k]) + 1)  # the mark is candle k's open


def _first_candle_at_or_below(candles: CandleArrays, price: float, after: int) -> int:
    return next(k for k in range(after, len(candles)) if float(candles.low[k]) <= price)


def _first_candle_at_or_above(candles: CandleArrays, price: float, after: int) -> int:
    return next(k for k in range(after, len(candles)) if float(candles.high[k]) >= price)



def _journal_cash(journal: OrderJournal) -> float:
    """The account's cash as the journal's fills say (exact once flat): start + sells - buys - fees."""
    cash = BALANCE
    for f in journal.fills():
        value = f["qty"] * f["price"]
        cash += (value if f["side"] == "sell" else -value) - f["fee"]
    return cash


def _stops(emulator: BitgetEmulator, plan: str = "pos_loss") -> list[Any]:
    return [t for t in emulator.account.triggers() if t.is_live and t.plan_type == plan]


def _entries(emulator: BitgetEmulator) -> list[Any]:
    return [o for o in emulator.account.orders() if not o.reduce_only]


# ---------------------------------------------------------------- the full grid cycle
def test_three_grid_levels_each_move_the_stop_then_tp_flattens_and_the_money_matches_to_the_cent(harness, candles):
    emulator = harness.emulator
    ks = (START, START + 3, START + 6)
    tp_k = START + 9

    async def body() -> tuple[list[Any], dict[str, Any], list[dict[str, Any]]]:
        seen = []
        async with harness.executor() as ex:
            for seq, k in enumerate(ks, start=1):
                _at_open(emulator, candles, k)
                sent = await ex.on_events([_open(candles, seq, k, 0.1, level=seq - 1)])
                [pos] = emulator.account.positions()
                seen.append((sent, pos.size, pos.entry_price, [t.trigger_price for t in _stops(emulator)],
                             ex.local_positions()[0]["sl_price"]))
            _at_open(emulator, candles, tp_k)
            sent = await ex.on_events([_close(candles, 4, tp_k - 1, 0.3)])
            return seen + [sent], ex.status(), ex.journal.orders()

    seen, status, rows = asyncio.run(body())

    opens = [float(candles.open[k]) for k in ks]
    for i, (sent, size, entry, stops, local_sl) in enumerate(seen[:3]):
        avg = sum(opens[: i + 1]) / (i + 1)
        expected_sl = RULES.stop_price(avg * 0.8, 1)
        assert (sent, size) == (1, pytest.approx(0.1 * (i + 1)))
        assert entry == pytest.approx(avg, abs=1e-9)
        assert stops == [expected_sl] and local_sl == expected_sl  # one stop, at 20% under the new average
    assert seen[3] == 1
    assert emulator.account.positions() == [] and _stops(emulator) == []  # flat, the stop cancelled
    by_cid = {r["client_oid"]: r for r in rows}
    entries = [by_cid[client_order_id(RUNNER, s, int(candles.timestamp[k]), Purpose.ENTRY)] for s, k in enumerate(ks, 1)]
    assert [(r["status"], r["filled_qty"], r["avg_fill_price"]) for r in entries] == [
        ("filled", 0.1, p) for p in opens]
    close = by_cid[client_order_id(RUNNER, 4, int(candles.timestamp[tp_k - 1]), Purpose.CLOSE)]
    assert (close["status"], close["side"], close["reduce_only"], close["avg_fill_price"]) == (
        "filled", "sell", True, float(candles.open[tp_k]))
    stop = by_cid[client_order_id(RUNNER, 1, int(candles.timestamp[START]), Purpose.STOP_LOSS)]
    assert (stop["order_type"], stop["status"], stop["price"]) == (
        "stop_loss", "cancelled", RULES.stop_price(sum(opens) / 3 * 0.8, 1))
    assert (status["stats"]["sl_placed"], status["stats"]["sl_moved"], status["stats"]["emergency_closes"]) == (1, 2, 0)
    # money: emulator cash == what the journal's fills say == what the candle prices say, to the cent
    exit_price = float(candles.open[tp_k])
    expected = BALANCE + 0.3 * exit_price - 0.1 * sum(opens) - TAKER * (0.1 * sum(opens) + 0.3 * exit_price)
    cash = emulator.account.balance().cash
    assert round(cash, 2) == round(_journal_cash(OrderJournal(create_engine(f"sqlite:///{harness.db}"))), 2)
    assert round(cash, 2) == round(expected, 2)
    assert len(emulator.account.fills()) == 4


# ---------------------------------------------------------------- the stop-loss guarantee
def test_stop_loss_failing_twice_then_placed_leaves_the_position_protected(harness, candles):
    emulator = harness.emulator
    emulator.faults.fail_tpsl(2)

    async def body() -> dict[str, Any]:
        async with harness.executor() as ex:
            await ex.on_events([_open(candles, 1, START, 0.1)])
            return ex.status()

    status = asyncio.run(body())

    [pos] = emulator.account.positions()
    assert [t.trigger_price for t in _stops(emulator)] == [RULES.stop_price(pos.entry_price * 0.8, 1)]
    assert (status["stats"]["sl_failures"], status["stats"]["sl_placed"], status["stats"]["emergency_closes"]) == (2, 1, 0)
    assert status["positions"][0]["protected"] is True
    assert not [a for a in harness.alerts if a.kind == "missing_sl"]


def test_stop_loss_failing_three_times_closes_the_position_at_market_and_alerts(harness, candles):
    emulator = harness.emulator
    emulator.faults.fail_tpsl(3)

    async def body() -> tuple[dict[str, Any], int, list[dict[str, Any]]]:
        async with harness.executor() as ex:
            await ex.on_events([_open(candles, 1, START, 0.1)])
            await _until(lambda: SYM not in ex.positions)
            _at_open(emulator, candles, START + 1)
            later = await ex.on_events([_open(candles, 2, START + 1, 0.1, level=1)])  # the runner's next level
            return ex.status(), later, ex.journal.orders()

    status, later, rows = asyncio.run(body())

    assert emulator.account.positions() == [] and _stops(emulator) == []
    [alert] = [a for a in harness.alerts if a.kind == "missing_sl"]
    assert alert.severity == "critical" and "could not be placed after 3 attempts" in alert.message
    kinds = {r["order_type"]: r for r in rows}
    assert (kinds["close_position"]["status"], kinds["close_position"]["filled_qty"]) == ("filled", 0.1)
    assert kinds["stop_loss"]["status"] == "failed" and "40015" in kinds["stop_loss"]["error"]
    assert [c["reason"] for c in status["closed"]] == ["emergency_close"]
    # the runner still thinks it holds the grid: its next level is skipped until its own close
    assert later == 0 and status["refusals"][-1]["reason"] == "emergency_close"
    assert len(_entries(emulator)) == 1
    assert round(emulator.account.balance().cash, 2) == round(_journal_cash(OrderJournal(create_engine(
        f"sqlite:///{harness.db}"))), 2)


# ---------------------------------------------------------------- idempotent submission
def _crash_before_the_acks(db: Path) -> None:
    """The journal as a crash between sending the entries and hearing back leaves it: rows `new`, no exchange id."""
    with create_engine(f"sqlite:///{db}").begin() as conn:
        conn.execute(text("UPDATE live_orders SET status = 'new', exchange_order_id = NULL, filled_qty = 0, "
                          "avg_fill_price = NULL, fills = '[]' WHERE order_type = 'market'"))


def test_the_same_events_sent_again_never_create_a_second_order(harness, candles):
    emulator = harness.emulator
    events = [_open(candles, 1, START, 0.1), _open(candles, 2, START, 0.1, level=1)]

    async def body() -> tuple[int, int, int, dict[str, Any]]:
        async with harness.executor() as ex:
            first = await ex.on_events(events)
            again = await ex.on_events(events)  # a Ray task retry on the same actor: seqs already seen
        async with harness.executor() as restarted:  # state lost, journal kept: the journal says they are done
            after_restart = await restarted.on_events(events)
        _crash_before_the_acks(harness.db)
        async with harness.executor() as crashed:  # state lost, rows `new`: re-sent, 40786, looked up
            adopted = await crashed.on_events(events)
            return first + again, after_restart, adopted, crashed.status()

    sent, after_restart, adopted, status = asyncio.run(body())

    assert sent == 2 and after_restart == 0
    assert adopted == 2  # both adopted, not placed again
    assert len(_entries(emulator)) == 2
    assert [p.size for p in emulator.account.positions()] == [pytest.approx(0.2)]
    assert len(_stops(emulator)) == 1  # the stop that was there was adopted (43031) instead of a second one
    place = [r for r in emulator.requests if r.path.endswith("place-order")]
    assert [r.status for r in place] == [200, 200, 400, 400]  # the last two: "Duplicate clientOid" (40786)
    assert status["positions"][0]["qty"] == pytest.approx(0.2) and status["positions"][0]["protected"]
    rows = OrderJournal(create_engine(f"sqlite:///{harness.db}")).orders(statuses=["filled"])
    assert sorted(r["exchange_order_id"] for r in rows) == sorted(o.order_id for o in _entries(emulator))


def test_a_timeout_after_the_exchange_accepted_the_order_is_retried_without_a_duplicate(harness, candles):
    emulator = harness.emulator

    async def body() -> dict[str, Any]:
        async with harness.executor() as ex:
            place = ex.client.create_order
            lost = []

            async def answer_lost(*args: Any, **kwargs: Any) -> Any:
                placed = await place(*args, **kwargs)
                if not lost and "clientOrderId" in (args[5] if len(args) > 5 else {}):
                    lost.append(placed["id"])  # the exchange has it, the answer never arrives
                    raise ccxt.RequestTimeout("bitget POST place-order request timeout (test)")
                return placed

            ex.client.create_order = answer_lost
            assert await ex.on_events([_open(candles, 1, START, 0.1)]) == 1
            return ex.status() | {"lost": lost}

    status = asyncio.run(body())

    cid = client_order_id(RUNNER, 1, int(candles.timestamp[START]), Purpose.ENTRY)
    [entry] = _entries(emulator)
    assert (entry.client_oid, entry.order_id) == (cid, status["lost"][0])
    place = [r for r in emulator.requests if r.path.endswith("place-order")]
    assert [r.status for r in place] == [200, 400]  # accepted, then the re-send refused as "Duplicate clientOid"
    assert status["stats"]["submit_retries"] == 1
    assert status["positions"][0]["qty"] == 0.1 and status["positions"][0]["protected"]
    row = OrderJournal(create_engine(f"sqlite:///{harness.db}")).get(cid)
    assert (row["status"], row["exchange_order_id"], row["filled_qty"]) == ("filled", entry.order_id, 0.1)


def test_a_stalled_order_request_that_times_out_is_sent_again_once(harness, candles):
    emulator = harness.emulator
    slow = ExecutorConfig({SYM: 6}, {"grid_atr": 20.0}, poll_after_s=0.3, maintenance_s=0.1, retry_backoff_s=0.3,
                          sl_backoff_s=0.05)

    async def body() -> dict[str, Any]:
        async with harness.executor(config=slow, timeout_ms=400) as ex:
            emulator.faults.stall(1, seconds=1.0, match="place-order")  # the client gives up after 0.4 s
            assert await ex.on_events([_open(candles, 1, START, 0.1)]) == 1
            await asyncio.sleep(1.0)  # the stalled request reaches the handler meanwhile
            return ex.status()

    status = asyncio.run(body())

    cid = client_order_id(RUNNER, 1, int(candles.timestamp[START]), Purpose.ENTRY)
    assert [o.client_oid for o in _entries(emulator)] == [cid]
    assert status["stats"]["submit_retries"] >= 1 and status["positions"][0]["qty"] == 0.1


def test_a_rejected_entry_is_journalled_with_the_exchange_reason_and_no_position(harness, candles):
    emulator = harness.emulator

    async def body() -> tuple[int, dict[str, Any]]:
        async with harness.executor() as ex:
            emulator.faults.reject_orders(1, code="40762")
            sent = await ex.on_events([_open(candles, 1, START, 0.1)])
            return sent, ex.status()

    sent, status = asyncio.run(body())

    cid = client_order_id(RUNNER, 1, int(candles.timestamp[START]), Purpose.ENTRY)
    row = OrderJournal(create_engine(f"sqlite:///{harness.db}")).get(cid)
    assert sent == 0 and status["positions"] == [] and emulator.account.positions() == []
    assert row["status"] == "rejected" and "InsufficientFunds" in row["error"] and "40762" in row["error"]


# ---------------------------------------------------------------- fills without the socket
def test_fills_are_found_by_rest_when_the_private_socket_is_down(harness, candles):
    emulator = harness.emulator

    async def dead_socket(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0.05)
        raise ccxt.NetworkError("private socket down (test)")

    async def body() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        async with harness.executor() as ex:
            ex.client.watch_orders = dead_socket
            await _until(lambda: ex.stats["ws_errors"] >= 1 and not ex.ws_connected)
            emulator.faults.delay_fills(0.5)  # accepted now, filled later: only a poll can see it
            await ex.on_events([_open(candles, 1, START, 0.1)])
            return ex.status(), ex.journal.orders()

    status, rows = asyncio.run(body())

    [entry] = [r for r in rows if r["order_type"] == "market"]
    assert (entry["status"], entry["filled_qty"]) == ("filled", 0.1)
    assert [f["source"] for f in entry["fills"]] == ["poll"]
    assert status["stats"]["polls"] >= 1 and status["positions"][0]["protected"]
    assert len(_stops(emulator)) == 1


def test_a_dropped_private_socket_reconnects_and_trading_goes_on(harness, candles):
    emulator = harness.emulator

    async def body() -> dict[str, Any]:
        async with harness.executor() as ex:
            await _until(lambda: ex.ws_connected and emulator.private_ws.subscribed("orders"))
            assert ex.ws_connected
            emulator.faults.drop_private_ws()
            await _until(lambda: ex.stats["ws_errors"] >= 1)
            await ex.on_events([_open(candles, 1, START, 0.1)])
            await _until(lambda: emulator.private_ws.subscribed("orders"))
            _at_open(emulator, candles, START + 2)
            await ex.on_events([_open(candles, 2, START + 2, 0.1, level=1)])
            return ex.status()

    status = asyncio.run(body())

    assert emulator.private_ws.logins >= 2
    assert status["positions"][0]["qty"] == pytest.approx(0.2) and status["positions"][0]["protected"]
    assert len(_stops(emulator)) == 1 and len(_entries(emulator)) == 2


# ---------------------------------------------------------------- stops firing on the exchange
def test_a_stop_that_fires_on_the_exchange_leaves_the_position_flat_and_journalled(harness, candles):
    emulator = harness.emulator
    tight = ExecutorConfig({SYM: 6}, {"grid_atr": 2.0}, poll_after_s=0.3, maintenance_s=0.1, sl_backoff_s=0.05)
    entry = float(candles.open[START])
    stop = RULES.stop_price(entry * 1.02, -1)  # a short: the stop is 2% above the entry
    k = _first_candle_at_or_above(candles, stop, START)

    async def body() -> tuple[dict[str, Any], list[dict[str, Any]], int]:
        async with harness.executor(config=tight) as ex:
            await ex.on_events([_open(candles, 1, START, 0.1, side=-1)])
            emulator.clock.set(int(candles.timestamp[k]) + H)  # the replay crosses the stop inside candle k
            await _until(lambda: SYM not in ex.positions)
            runner_close = await ex.on_events([_close(candles, 2, k, 0.1, reason="sl", side=-1)])  # the runner's SL
            await _until(lambda: not ex.status()["cleanup_pending"])
            return ex.status(), ex.journal.orders(), runner_close

    status, rows, runner_close = asyncio.run(body())

    assert emulator.account.positions() == [] and runner_close == 0
    by_type = {r["order_type"]: r for r in rows}
    fired = [r for r in rows if r["error"] and "pos_loss_market" in r["error"]]
    assert len(fired) == 1 and (fired[0]["status"], fired[0]["filled_qty"], fired[0]["side"], fired[0]["reduce_only"]) == (
        "filled", 0.1, "buy", True)
    assert fired[0]["avg_fill_price"] >= stop
    assert (by_type["stop_loss"]["status"], by_type["stop_loss"]["price"]) == ("executed", stop)
    assert [c["reason"] for c in status["closed"]] == ["exchange_stop_loss"]
    assert status["stats"]["exchange_closes"] == 1 and status["halted"] == []  # the runner's close ended the cycle
    assert [a.kind for a in harness.alerts] == ["exchange_close"]
    assert round(emulator.account.balance().cash, 2) == round(_journal_cash(OrderJournal(create_engine(
        f"sqlite:///{harness.db}"))), 2)


def test_single_strategy_gets_take_profit_and_stop_server_side_and_the_take_profit_closes_it(harness, candles):
    emulator = harness.emulator
    entry = float(candles.open[START])
    tp, sl = round(entry * 1.02, 2), round(entry * 0.9, 2)
    k = _first_candle_at_or_above(candles, tp, START)
    assert k > START  # the price has to travel to the take-profit

    async def body() -> tuple[list[Any], list[Any], dict[str, Any], list[dict[str, Any]]]:
        async with harness.executor() as ex:
            await ex.on_events([_open(candles, 1, START, 0.1, level=-1, extra={"tp": tp, "sl": sl})])
            stops, tps = _stops(emulator), _stops(emulator, "pos_profit")
            emulator.clock.set(int(candles.timestamp[k]) + H)
            await _until(lambda: SYM not in ex.positions)
            await _until(lambda: not ex.status()["cleanup_pending"])
            return stops, tps, ex.status(), ex.journal.orders()

    stops, tps, status, rows = asyncio.run(body())

    assert [t.trigger_price for t in stops] == [sl] and [t.trigger_price for t in tps] == [tp]
    assert emulator.account.positions() == [] and _stops(emulator) == []
    by_type = {r["order_type"]: r for r in rows}
    assert (by_type["take_profit"]["status"], by_type["stop_loss"]["status"]) == ("executed", "cancelled")
    assert [c["reason"] for c in status["closed"]] == ["exchange_take_profit"]
    assert round(emulator.account.balance().cash, 2) == round(_journal_cash(OrderJournal(create_engine(
        f"sqlite:///{harness.db}"))), 2)


# ---------------------------------------------------------------- collisions and risk refusals
def test_a_second_runner_on_a_held_symbol_is_refused_and_reported_as_a_collision(harness, candles):
    emulator = harness.emulator

    async def body() -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
        async with harness.executor() as ex:
            await ex.on_events([_open(candles, 1, START, 0.1)])
            refused = await ex.on_events([_open(candles, 1, START, 0.05, runner=OTHER),
                                          _open(candles, 2, START, 0.05, runner=OTHER, level=1)])
            await ex.on_events([_open(candles, 2, START, 0.1, level=1)])  # the holder goes on adding levels
            return refused, ex.status(), ex.journal.orders(statuses=["refused"])

    refused, status, rows = asyncio.run(body())

    assert refused == 0
    [c] = status["collisions"]
    assert (c["symbol"], c["holder"], c["runner_id"], c["seq"]) == (SYM, RUNNER, OTHER, 1)
    assert [r["reason"] for r in status["refusals"]] == ["symbol_busy", "symbol_busy"]
    assert "earlier entry of this" in status["refusals"][1]["detail"]
    assert [r["runner_id"] for r in rows] == [OTHER, OTHER] and all(r["error"].startswith("symbol_busy") for r in rows)
    assert [a.kind for a in harness.alerts] == ["collision"]
    assert [(p.size, p.side) for p in emulator.account.positions()] == [(pytest.approx(0.2), "long")]


def _external_eth(emulator: BitgetEmulator) -> None:
    emulator.account.open_position("ETHUSDT", "long", 0.5, now_ms=emulator.clock.now_ms())


REFUSALS: dict[str, dict[str, Any]] = {
    "global_kill_switch": {"setup": lambda ex, emu: ex.risk.kill("operator test")},
    "session_kill_switch": {"setup": lambda ex, emu: ex.risk.on_balance_snapshot(ex.clock.now_ms() + 1_000, 8_500.0)},
    "not_selected": {"selector": True},
    "unknown_symbol": {"assets": {ETH: "majors"}},
    "symbol_busy": {"setup": lambda ex, emu: emu.account.open_position("BTCUSDT", "short", 0.2,
                                                                       now_ms=emu.clock.now_ms())},
    "max_concurrent_positions": {"risk": RiskConfig(live=LiveRisk(max_concurrent_positions=1)),
                                 "setup": lambda ex, emu: _external_eth(emu)},
    "correlation_group_limit": {"risk": RiskConfig(live=LiveRisk(max_positions_per_correlation_group=1)),
                                "setup": lambda ex, emu: _external_eth(emu)},
    "insufficient_free_margin": {"risk": RiskConfig(live=LiveRisk(min_free_margin_percent=95.0)), "qty": 2.0},
}


@pytest.mark.parametrize("reason", sorted(REFUSALS))
def test_each_risk_rule_refuses_the_entry_with_its_reason_in_the_journal_and_the_status(harness, candles, reason):
    emulator = harness.emulator
    case = REFUSALS[reason]
    selector = AdaptiveSelector(min_trades=20) if case.get("selector") else None
    source = (lambda: [StrategyStats("grid_atr", SYM, "C", True, 40, 250.0)]) if selector else None

    async def body() -> tuple[int, dict[str, Any]]:
        async with harness.executor(risk=case.get("risk"), assets=case.get("assets"), selector=selector,
                                    source=source) as ex:
            case.get("setup", lambda ex, emu: None)(ex, emulator)
            sent = await ex.on_events([_open(candles, 1, START, case.get("qty", 0.1))])
            return sent, ex.status()

    sent, status = asyncio.run(body())

    cid = client_order_id(RUNNER, 1, int(candles.timestamp[START]), Purpose.ENTRY)
    row = OrderJournal(create_engine(f"sqlite:///{harness.db}")).get(cid)
    assert sent == 0 and _entries(emulator) == []
    assert row["status"] == "refused" and row["error"].startswith(f"{reason}: ") and len(row["error"]) > len(reason) + 10
    [refusal] = status["refusals"]
    assert (refusal["reason"], refusal["client_oid"]) == (reason, cid)
    assert status["refusal_counts"] == {reason: 1}
    assert status["risk"]["refusals"] == {reason: 1}
    # ... and the API's executor status shows it with its numbers
    api_status = executor_status(status, live_trading=True)
    assert api_status.refusals == {reason: 1}
    assert [(r.reason, r.runner_id, r.detail) for r in api_status.recent_refusals] == [
        (reason, RUNNER, refusal["detail"])]


def test_an_account_that_cannot_be_read_refuses_the_entry_instead_of_guessing(harness, candles):
    emulator = harness.emulator

    async def body() -> tuple[int, dict[str, Any]]:
        async with harness.executor() as ex:
            emulator.faults.server_error(3, status=503, match="account/accounts")  # every pre-trade read fails
            sent = await ex.on_events([_open(candles, 1, START, 0.1)])
            return sent, ex.status()

    sent, status = asyncio.run(body())

    assert sent == 0 and _entries(emulator) == []
    [refusal] = status["refusals"]
    assert refusal["reason"] == "exchange_unavailable" and "ExchangeNotAvailable" in refusal["detail"]


# ---------------------------------------------------------------- state and secrets
def test_state_round_trips_and_a_restarted_executor_keeps_protecting_the_position(harness, candles):
    emulator = harness.emulator

    async def body() -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
        async with harness.executor() as ex:
            await ex.on_events([_open(candles, 1, START, 0.1)])
            state = json.loads(json.dumps(ex.to_state()))  # what executor_state.json holds
        _at_open(emulator, candles, START + 2)
        async with harness.executor() as restarted:
            restarted.restore(state)
            await restarted.on_events([_open(candles, 1, START, 0.1), _open(candles, 2, START + 2, 0.1, level=1)])
            return state, restarted.local_positions(), restarted.status()

    state, positions, status = asyncio.run(body())

    [saved] = state["positions"]
    assert set(saved) == {"symbol", "runner_id", "side", "qty", "avg_entry", "sl_price", "sl_order_id", "tp_price",
                          "tp_order_id"}
    assert (saved["side"], saved["qty"], saved["sl_order_id"]) == (1, 0.1, _stops(emulator)[0].order_id)
    assert state["last_seq"] == {RUNNER: 1}
    [pos] = positions
    assert pos["qty"] == pytest.approx(0.2) and pos["sl_order_id"] == saved["sl_order_id"]  # moved, not replaced
    assert pos["sl_price"] == RULES.stop_price(emulator.account.positions()[0].entry_price * 0.8, 1)
    assert status["stats"]["duplicates"] == 1 and len(_entries(emulator)) == 2


def test_secrets_never_reach_logs_errors_alerts_or_the_status(harness, candles, caplog, capsys):
    emulator = harness.emulator
    caplog.set_level(logging.DEBUG)
    wrong = "not-the-secret-6e1f0b"

    async def body() -> list[str]:
        texts = []
        async with harness.executor() as ex:
            emulator.faults.fail_tpsl(3)
            emulator.faults.reject_orders(1)
            await ex.on_events([_open(candles, 1, START, 0.1)])  # rejected
            await ex.on_events([_open(candles, 2, START, 0.1)])  # filled, stop fails 3x, emergency close
            texts.append(json.dumps(ex.status(), default=str))
            texts.extend(str(r["error"]) for r in ex.journal.orders())
        for bad in ({"secret": wrong}, {"key": "unknown-key-77aa"}):
            with pytest.raises(PermissionError) as refused:
                async with harness.executor(**bad):
                    pass
            texts.append(str(refused.value))
        return texts

    texts = asyncio.run(body())

    captured = capsys.readouterr()
    everything = "\n".join([caplog.text, captured.out, captured.err, *texts, *(a.message for a in harness.alerts)])
    assert "'ACCESS-KEY': '***'" in caplog.text and "'ACCESS-PASSPHRASE': '***'" in caplog.text  # ccxt's request log
    assert "refused the API credentials" in everything and "40009" in everything and "40037" in everything
    assert [a.kind for a in harness.alerts] == ["missing_sl"]  # the emergency close path ran too
    for secret in (KEY, SECRET, PASSPHRASE, wrong, "unknown-key-77aa"):
        assert secret not in everything


def test_reconcile_puts_back_a_stop_lost_on_the_exchange_and_adopts_an_unknown_position(harness, candles):
    emulator = harness.emulator

    async def body() -> tuple[Any, list[dict[str, Any]], str]:
        async with harness.executor() as ex:
            await ex.on_events([_open(candles, 1, START, 0.1)])
            lost = ex.local_positions()[0]["sl_order_id"]
            emulator.account.cancel_triggers("BTCUSDT", "pos_loss", now_ms=emulator.clock.now_ms())  # behind its back
            emulator.account.open_position("ETHUSDT", "short", 0.5, now_ms=emulator.clock.now_ms())  # a manual trade
            report = await ex.reconcile(journal=lambda decision: None)
            return report, ex.local_positions(), lost

    report, positions, lost = asyncio.run(body())

    assert report.kinds() == {"ok": [SYM], "replace_sl": [SYM, ETH], "adopt": [ETH]} and not report.failed
    by_symbol = {p["symbol"]: p for p in positions}
    btc, eth = by_symbol[SYM], by_symbol[ETH]
    assert btc["runner_id"] == RUNNER and btc["sl_order_id"] not in (None, lost)
    assert (eth["runner_id"], eth["side"], eth["qty"]) == (None, -1, 0.5)
    stops = {t.symbol: t for t in _stops(emulator)}
    assert set(stops) == {"BTCUSDT", "ETHUSDT"}
    assert stops["BTCUSDT"].order_id == btc["sl_order_id"] and stops["ETHUSDT"].order_id == eth["sl_order_id"]
    assert eth["sl_price"] == pytest.approx(float(candles.open[START]) * 1.2, rel=1e-3)  # 20% above a short's entry
