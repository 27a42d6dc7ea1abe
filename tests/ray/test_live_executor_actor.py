"""The live system booted in live mode against the Bitget emulator (a `radar up --exchange emulator --live`
rehearsal): real candles replayed -> DataFeed -> grid_atr runner -> Executor actor (LiveExecutor, ccxt.pro
with the keys from the environment) -> orders in the emulator's account and rows in `live_orders`; the
emulator's cash equals what the journal's fills say, and every open position has its stop-loss."""
from __future__ import annotations

import time

import pytest
import ray
from sqlalchemy.orm import Session

from actors.live_system import EXECUTOR, LiveOptions, LiveSystem
from radar.config import load_config
from radar.data.schema import OptimizationJobRow, OptimizationResultRow
from radar.data.store import CandleStore
from radar.events import TradeResult
from radar.exchange.emulator import (
    Account, AccountConfig, BitgetEmulator, Clock, ContractSpec, Credentials, EmulatorThread, MarketData,
    load_csv_candles,
)
from radar.live.journal import TradeJournal
from radar.live.order_journal import OrderJournal
from tests.conftest import SHARED_DATA
from tests.ray.live_config import GRID_ATR_FAST, write_config

pytestmark = [pytest.mark.ray, pytest.mark.slow, pytest.mark.timeout(240)]
SYM = "BTC/USDT:USDT"
RUNNER = f"grid_atr:{SYM}"
H = 3_600_000
SPEED = 180_000.0  # 50 hourly candles per second
KEY, SECRET, PASSPHRASE = "rehearsal-key-5d2a", "rehearsal-secret-93be61f0", "rehearsal-pass-0c47"
BALANCE = 10_000.0


@pytest.fixture()
def grid_config(tmp_path):
    return load_config(write_config(tmp_path, [SYM], params=GRID_ATR_FAST))


def _selected(db: str, ts: int) -> None:
    """grid_atr on BTC is live-eligible: a WFO grade A and 20 profitable paper trades (the selector's rules)."""
    store = CandleStore(db)
    with Session(store.engine) as s, s.begin():
        s.add(OptimizationJobRow(id="wfo-1", kind="wfo", strategy="grid_atr", status="done", created_at=ts,
                                 updated_at=ts))
        s.add(OptimizationResultRow(job_id="wfo-1", strategy="grid_atr", symbol=SYM, timeframe="1h", params={},
                                    metrics={}, score=82.0, grade="A", created_at=ts))
    TradeJournal(store.engine).record_trades(
        TradeResult(RUNNER, "grid_atr", SYM, 1, ts - (40 - i) * H, ts - (39 - i) * H, 4000.0, 4040.0, 0.1, 1, 4.0, 0.5,
                    0.2, 0.0, 3.3, 0.001, "tp", seq=i + 1) for i in range(20))


def test_live_mode_against_the_emulator_trades_journals_and_the_money_matches(ray_session, grid_config, tmp_path,
                                                                            monkeypatch):
    # Arrange: 700 real hourly candles, an emulator account with keys that the environment also holds
    candles = load_csv_candles(SHARED_DATA / "BTC-USD_1h_bitfinex.csv").slice(3000, 3700)
    start = int(candles.timestamp[0]) + H
    market = MarketData().add("BTCUSDT", "1h", candles, ContractSpec(base="BTC", price_place=1, volume_place=4))
    account = Account(AccountConfig(balance=BALANCE), specs=market.spec)
    clock = Clock.replay(start, SPEED, running=False)
    emulator = BitgetEmulator(market, clock, account=account, credentials=Credentials(KEY, SECRET, PASSPHRASE))
    for var, value in (("RADAR_LIVE_TRADING", "1"), ("BITGET_API_KEY", KEY), ("BITGET_SECRET", SECRET),
                       ("BITGET_PASSPHRASE", PASSPHRASE)):
        monkeypatch.setenv(var, value)
    db = f"sqlite:///{tmp_path / 'radar.db'}"
    _selected(db, start)
    with EmulatorThread(emulator) as url:
        system = LiveSystem(grid_config, LiveOptions(str(tmp_path / "data"), db, exchange_url=url, speed=SPEED,
                                                     flush_every_s=0.5, mode="live")).boot()
        try:
            # Act: about 150 candles (the runner warms up on the first ones)
            clock.start()
            seen = system.wait_for_candles(150, timeout_s=90)
            clock.pause()
            time.sleep(1.5)  # the last events' orders and fills settle
            status = ray.get(ray.get_actor(EXECUTOR, namespace="scalp_radar").status.remote())
            protected = {t.symbol for t in emulator.account.triggers() if t.is_live and t.plan_type == "pos_loss"}
            positions = emulator.account.positions()
        finally:
            system.shutdown()
        cash = emulator.account.balance().cash
    # Assert
    journal = OrderJournal(CandleStore(db).engine)
    rows = journal.orders(limit=10_000)
    entries = [r for r in rows if r["order_type"] == "market" and not r["reduce_only"]]
    assert seen >= 150
    assert status["mode"] == "live" and status["selector"]["allowed"] == [["grid_atr", SYM]]
    assert len(entries) >= 2 and all(r["status"] == "filled" for r in entries)
    assert not [r for r in rows if r["status"] in ("refused", "rejected", "unknown")]
    assert len(emulator.account.fills()) == sum(len(r["fills"] or []) for r in rows)
    assert {p.symbol for p in positions} <= protected  # never a position without its stop-loss
    # the journal's fills explain the exchange's cash to the cent (an open position's entry cost is still out)
    flows = sum((f["qty"] * f["price"] if f["side"] == "sell" else -f["qty"] * f["price"]) - f["fee"]
                for f in journal.fills())
    open_cost = sum(p.size * p.entry_price * (1 if p.side == "long" else -1) for p in positions)
    assert round(cash, 2) == round(BALANCE + flows + open_cost, 2)
    assert status["stats"]["sl_placed"] >= 1 and status["stats"]["emergency_closes"] == 0
