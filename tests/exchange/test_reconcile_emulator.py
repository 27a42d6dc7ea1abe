"""Boot reconciliation and the watchdog's stop-loss guard against the Bitget emulator, through the unmodified
ccxt async client. Three contracts replay the same 400 real hourly BTC candles (prices ~3,900 USDT); the
clock is frozen and moved by hand. Every assertion on the outcome reads the emulator's own account.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from radar.exchange.bitget import make_bitget_client
from radar.exchange.emulator import (
    Account,
    AccountConfig,
    BitgetEmulator,
    Clock,
    ContractSpec,
    Credentials,
    EmulatorThread,
    MarketData,
    load_csv_candles,
)
from radar.live.reconcile import fix_missing_sl, positions_without_sl, reconcile
from radar.live.reconcile_journal import ReconcileJournal
from radar.live.sl_guard import StopLossGuard
from radar.models import CandleArrays

BTC, ETH, LTC = "BTC/USDT:USDT", "ETH/USDT:USDT", "LTC/USDT:USDT"
H = 3_600_000
START = 101  # the clock starts just after this candle opens (open 3936.36)
KEY, SECRET, PASSPHRASE = "emu-key-r", "emu-secret-r", "emu-pass-r"
RUNNER = "grid_atr:LTC/USDT:USDT"

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def candles(shared_data: Path) -> CandleArrays:
    return load_csv_candles(shared_data / "BTC-USD_1h_bitfinex.csv").slice(2000, 2400)


@pytest.fixture()
def emu(candles: CandleArrays) -> Iterator[tuple[BitgetEmulator, str]]:
    market = MarketData()
    for base in ("BTC", "ETH", "LTC"):
        market.add(f"{base}USDT", "1h", candles, ContractSpec(base=base, price_place=2, volume_place=3))
    account = Account(AccountConfig(balance=10_000.0), specs=market.spec)
    emulator = BitgetEmulator(market, Clock.fixed(int(candles.timestamp[START]) + 1), account=account,
                              credentials=Credentials(KEY, SECRET, PASSPHRASE))
    with EmulatorThread(emulator) as url:
        yield emulator, url


@asynccontextmanager
async def _client(url: str) -> AsyncIterator[Any]:
    client = make_bitget_client(url, api_key=KEY, secret=SECRET, password=PASSPHRASE, async_=True)
    client.enableRateLimit = False  # loopback
    try:
        await client.load_markets()
        yield client
    finally:
        await client.close()


class Alerts:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def __call__(self, kind: str, text: str) -> None:
        self.sent.append((kind, text))


def _bitget(symbol: str) -> str:
    return symbol.split("/")[0] + "USDT"


def _stops(emulator: BitgetEmulator) -> dict[str, tuple[str, float]]:
    return {t.symbol: (t.plan_type, t.trigger_price) for t in emulator.account.triggers() if t.is_live}


def _held(emulator: BitgetEmulator) -> dict[str, tuple[str, float]]:
    return {p.symbol: (p.side, p.size) for p in emulator.account.positions()}


def test_restart_adopts_drops_cancels_orphans_and_places_the_missing_stop(emu, candles):
    # Arrange: before the "restart" the executor held BTC (stop 3928) and LTC (stop never placed).
    emulator, url = emu
    journal = ReconcileJournal(create_engine("sqlite://"))
    alerts = Alerts()

    async def body() -> Any:
        async with _client(url) as c:
            await c.create_order(BTC, "market", "buy", 0.05, None, {"clientOrderId": "rs-btc-1-e"})
            sl = await c.create_order(BTC, "market", "sell", 0.05, None, {"stopLossPrice": 3928.0, "clientOrderId": "rs-btc-1-sl"})
            # While the executor is down: BTC's low of 3925 in candle 102 fires its stop ...
            emulator.clock.set(int(candles.timestamp[START + 1]) + H)
            # ... someone opens ETH by hand, LTC is bought but its stop never placed, and orders are left behind.
            emulator.account.open_position("ETHUSDT", "short", 0.3, now_ms=emulator.clock.now_ms())
            await c.create_order(LTC, "market", "buy", 0.1, None, {"clientOrderId": "rs-ltc-1-e"})
            await c.create_order(LTC, "limit", "buy", 0.02, 3500.0, {"clientOrderId": "manual-leftover"})
            await c.create_order(LTC, "limit", "buy", 0.02, 3600.0, {"clientOrderId": "rs-ltc-2-e"})
            local = [
                {"symbol": BTC, "runner_id": "grid_atr:BTC/USDT:USDT", "side": 1, "qty": 0.05, "avg_entry": 3936.36,
                 "sl_price": 3928.0, "sl_order_id": sl["id"], "tp_price": None, "tp_order_id": None},
                {"symbol": LTC, "runner_id": RUNNER, "side": 1, "qty": 0.1, "avg_entry": 3941.0, "sl_price": 3800.0,
                 "sl_order_id": None, "tp_price": None, "tp_order_id": None},
            ]
            # Act
            report = await reconcile(c, local, default_sl_pct=5.0, journal=journal.record, alert=alerts,
                                     pending_order_ids={"rs-ltc-2-e"})
            return sl, report, await positions_without_sl(c)

    sl, report, unprotected = asyncio.run(body())

    # Assert: the emulator's account after the reconciliation
    eth = emulator.account.position("ETHUSDT")
    assert _held(emulator) == {"ETHUSDT": ("short", 0.3), "LTCUSDT": ("long", 0.1)}
    assert _stops(emulator) == {"ETHUSDT": ("pos_loss", round(eth.entry_price * 1.05, 2)),
                                "LTCUSDT": ("pos_loss", 3800.0)}
    assert [o.client_oid for o in emulator.account.open_orders()] == ["rs-ltc-2-e"]
    assert unprotected == [] and report.problems == [] and report.failed == []
    # The decisions, the new local state, the journal and the alert.
    assert report.kinds() == {"drop": [BTC], "adopt": [ETH], "replace_sl": [ETH, LTC], "cancel_orphan": [LTC], "ok": [LTC]}
    state = {p["symbol"]: p for p in report.positions}
    assert set(state) == {ETH, LTC}
    assert (state[ETH]["runner_id"], state[ETH]["side"], state[ETH]["qty"]) == (None, -1, 0.3)
    assert state[ETH]["sl_price"] == round(eth.entry_price * 1.05, 2)
    assert (state[LTC]["runner_id"], state[LTC]["sl_price"]) == (RUNNER, 3800.0)
    assert {state[s]["sl_order_id"] for s in state} == {t.order_id for t in emulator.account.triggers() if t.is_live}
    drop = next(o for o in report.outcomes if o.decision.kind.value == "drop")
    assert f"stop-loss at 3928 (plan {sl['id']} executed -> order" in drop.decision.detail
    rows = journal.events()
    assert sorted((r["kind"], r["symbol"], r["outcome"]) for r in rows) == sorted(
        [("drop", BTC, "done"), ("adopt", ETH, "done"), ("replace_sl", ETH, "done"), ("cancel_orphan", LTC, "done"),
         ("ok", LTC, "done"), ("replace_sl", LTC, "done")])
    assert next(r for r in rows if r["kind"] == "drop")["runner_id"] == "grid_atr:BTC/USDT:USDT"
    [(kind, text)] = alerts.sent
    assert kind == "reconcile" and "6 decision(s)" in text
    assert all(f"{r['symbol']} {r['kind']} [done]" in text for r in rows)


def test_a_size_mismatch_trusts_the_exchange_and_a_stop_at_the_wrong_price_is_moved(emu):
    emulator, url = emu
    alerts = Alerts()

    async def body() -> Any:
        async with _client(url) as c:
            await c.create_order(LTC, "market", "buy", 0.08)
            wrong = await c.create_order(LTC, "market", "sell", 0.08, None, {"stopLossPrice": 3700.0})
            local = [{"symbol": LTC, "runner_id": RUNNER, "side": 1, "qty": 0.05, "avg_entry": 3930.0,
                      "sl_price": 3850.5, "sl_order_id": wrong["id"]}]
            return wrong, await reconcile(c, local, default_sl_pct=5.0, journal=lambda e: None, alert=alerts)

    wrong, report = asyncio.run(body())

    assert report.kinds() == {"resize": [LTC], "replace_sl": [LTC]}
    [pos] = report.positions
    assert (pos["qty"], pos["avg_entry"], pos["sl_price"], pos["sl_order_id"]) == (0.08, 3936.36, 3850.5, wrong["id"])
    assert _stops(emulator) == {"LTCUSDT": ("pos_loss", 3850.5)}  # the same stop, moved in place
    assert _held(emulator) == {"LTCUSDT": ("long", 0.08)}


def test_an_adopted_position_already_past_its_default_stop_is_closed_at_market(emu):
    emulator, url = emu
    emulator.account.open_position("ETHUSDT", "long", 0.2, now_ms=emulator.clock.now_ms(), entry_price=4300.0)
    alerts = Alerts()

    async def body() -> Any:
        async with _client(url) as c:
            return await reconcile(c, [], default_sl_pct=5.0, journal=lambda e: None, alert=alerts)

    report = asyncio.run(body())

    assert _held(emulator) == {} and _stops(emulator) == {}
    assert report.positions == [] and [o.outcome for o in report.outcomes] == ["done", "closed"]
    assert "already beyond the stop 4085" in report.outcomes[1].detail
    assert "[closed]" in alerts.sent[0][1]


def test_the_guard_finds_a_position_made_behind_the_executors_back_and_protects_it(emu):
    emulator, url = emu
    journal = ReconcileJournal(create_engine("sqlite://"), source="watchdog")
    alerts = Alerts()

    async def body() -> Any:
        async with _client(url) as c:
            await c.create_order(BTC, "market", "buy", 0.05)
            await c.create_order(BTC, "market", "sell", 0.05, None, {"stopLossPrice": 3900.0})
            emulator.account.open_position("ETHUSDT", "short", 0.3, now_ms=emulator.clock.now_ms())
            guard = StopLossGuard(c, 5.0, alerts, journal=journal.record)
            first = await guard.check_and_fix()
            second = await guard.check_and_fix()
            return first, second, guard

    first, second, guard = asyncio.run(body())

    eth = emulator.account.position("ETHUSDT")
    assert (first, second) == ([ETH], [])
    assert _stops(emulator) == {"BTCUSDT": ("pos_loss", 3900.0), "ETHUSDT": ("pos_loss", round(eth.entry_price * 1.05, 2))}
    assert [(o.decision.symbol, o.outcome) for o in guard.fixes] == [(ETH, "done")]
    [row] = journal.events()
    assert (row["source"], row["kind"], row["symbol"], row["outcome"]) == ("watchdog", "replace_sl", ETH, "done")
    assert alerts.sent[0][0] == "reconcile" and "found without a stop-loss" in alerts.sent[0][1]


def test_the_guard_waits_for_its_grace_period_before_fixing(emu):
    emulator, url = emu
    now = [100.0]

    async def body() -> Any:
        async with _client(url) as c:
            emulator.account.open_position("LTCUSDT", "long", 0.1, now_ms=emulator.clock.now_ms())
            guard = StopLossGuard(c, 3.0, Alerts(), grace_s=10.0, clock=lambda: now[0])
            seen = [await guard.check_and_fix()]
            stops_before = _stops(emulator)
            now[0] += 10.0
            seen.append(await guard.check_and_fix())
            return seen, stops_before

    seen, stops_before = asyncio.run(body())

    entry = emulator.account.position("LTCUSDT").entry_price
    assert seen == [[LTC], [LTC]]
    assert stops_before == {}
    assert _stops(emulator) == {"LTCUSDT": ("pos_loss", round(entry * 0.97, 2))}


def test_fix_missing_sl_leaves_a_protected_or_flat_symbol_alone(emu):
    emulator, url = emu

    async def body() -> Any:
        async with _client(url) as c:
            await c.create_order(BTC, "market", "buy", 0.05)
            await c.create_order(BTC, "market", "sell", 0.05, None, {"stopLossPrice": 3900.0})
            return await fix_missing_sl(c, BTC, 5.0), await fix_missing_sl(c, ETH, 5.0)

    assert asyncio.run(body()) == (None, None)
    assert _stops(emulator) == {"BTCUSDT": ("pos_loss", 3900.0)}


def test_a_failing_stop_placement_is_retried_then_the_position_is_closed(emu):
    emulator, url = emu
    emulator.account.open_position("BTCUSDT", "long", 0.05, now_ms=emulator.clock.now_ms())
    emulator.faults.fail_tpsl(3)

    async def body() -> Any:
        async with _client(url) as c:
            return await fix_missing_sl(c, BTC, 5.0, backoff_s=0.01)

    out = asyncio.run(body())

    assert out.outcome == "closed" and "not placed after 3 attempts" in out.detail
    assert _held(emulator) == {} and _stops(emulator) == {}


def test_the_watchdog_round_reports_missing_sl_and_its_guard_fixes_it(emu, tmp_path):
    from actors.live_watchdog import WatchdogService
    from radar.live.messages import FeedHealth

    emulator, url = emu
    now = emulator.clock.now_ms()

    class Remote:
        def __init__(self, value: Any) -> None:
            self.value = value

        def remote(self, *_: Any) -> Any:
            async def answer() -> Any:
                return self.value
            return answer()

    class Feed:
        health = Remote(FeedHealth(True, now, {}))

    async def body() -> Any:
        async with _client(url) as c:
            emulator.account.open_position("ETHUSDT", "short", 0.3, now_ms=now)
            service = WatchdogService(Feed(), {}, str(tmp_path), initial_capital_per_runner=1000.0,
                                      sl_guard=lambda: StopLossGuard(c, 5.0))
            alerts = await service.check_now()
            return alerts, service

    alerts, service = asyncio.run(body())

    assert [(a.kind, a.severity) for a in alerts] == [("missing_sl", "critical")]
    assert "ETH/USDT:USDT" in alerts[0].message
    assert set(_stops(emulator)) == {"ETHUSDT"}
    assert [h["kind"] for h in service.alerts()] == ["reconcile", "missing_sl"]  # the fix, then the round's report
    assert service.stats()["sl_fixes"] == 1


def test_the_guard_factory_pickles_reads_the_keys_in_the_actor_and_journals_the_fix(emu, tmp_path, monkeypatch):
    import pickle

    from actors.live_watchdog import WatchdogService
    from radar.errors import ConfigError
    from radar.live.messages import FeedHealth
    from radar.live.sl_guard import guard_factory

    emulator, url = emu
    now = emulator.clock.now_ms()
    db = f"sqlite:///{tmp_path / 'radar.db'}"
    factory = pickle.loads(pickle.dumps(guard_factory(url, 5.0, grace_s=0.0, sl_pct_by_symbol={ETH: 2.0},
                                                      database_url=db)))
    emulator.account.open_position("ETHUSDT", "short", 0.3, now_ms=now)

    class Feed:
        class health:  # mimics an actor method handle
            @staticmethod
            def remote() -> Any:
                async def answer() -> FeedHealth:
                    return FeedHealth(True, now, {})
                return answer()

    for var in ("BITGET_API_KEY", "BITGET_SECRET", "BITGET_PASSPHRASE"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ConfigError, match="BITGET_API_KEY, BITGET_SECRET, BITGET_PASSPHRASE not set"):
        factory()
    monkeypatch.setenv("BITGET_API_KEY", KEY)
    monkeypatch.setenv("BITGET_SECRET", SECRET)
    monkeypatch.setenv("BITGET_PASSPHRASE", PASSPHRASE)

    async def body() -> Any:
        service = WatchdogService(Feed(), {}, str(tmp_path), initial_capital_per_runner=1000.0, sl_guard=factory)
        alerts = await service.check_now()
        await service.stop()
        return alerts

    alerts = asyncio.run(body())

    entry = emulator.account.position("ETHUSDT").entry_price
    assert [a.kind for a in alerts] == ["missing_sl"]
    assert _stops(emulator) == {"ETHUSDT": ("pos_loss", round(entry * 1.02, 2))}  # ETH's own 2 %
    [row] = ReconcileJournal(create_engine(db)).events()
    assert (row["source"], row["kind"], row["symbol"], row["outcome"]) == ("watchdog", "replace_sl", ETH, "done")
