"""The live actor system in paper mode against the Bitget emulator (unmodified ccxt.pro over a real
websocket): candles replayed through emulator -> DataFeed -> StrategyRunner -> Executor/StateStore give
exactly the trades the same runner code gives on the stored candles, and a restart continues seamlessly."""
from __future__ import annotations


import pytest
import ray

from actors.live_system import LiveOptions, LiveSystem, status
from radar.config import load_config
from radar.data.store import CandleStore
from radar.exchange.emulator import BitgetEmulator, Clock, EmulatorThread, MarketData, load_csv_candles
from radar.live.messages import CandleMsg
from radar.live.runner_host import build_runner_host
from radar.strategies.registry import create_strategy
from tests.conftest import SHARED_DATA
from tests.ray.live_config import GRID_ATR_FAST, write_config

pytestmark = [pytest.mark.ray, pytest.mark.slow, pytest.mark.timeout(240)]
SYM = "BTC/USDT:USDT"
H = 3_600_000
SPEED = 180_000.0  # simulated seconds per real second: 50 hourly candles per second


@pytest.fixture()
def one_symbol_config(tmp_path):
    return load_config(write_config(tmp_path, [SYM], params=GRID_ATR_FAST))


def _reference_trades(cfg, candles):
    host = build_runner_host("grid_atr", [SYM], lambda s: create_strategy("grid_atr", cfg.strategy_params("grid_atr", s).model_dump()),
                             capital=float(cfg.risk.initial_capital), n_runners=1, n_assets=1)
    for i, c in enumerate(candles):
        host.on_candle(CandleMsg(i + 1, c, 0))
    return [t for r in host.runners.values() for t in r.trades]


def _key(t):
    if isinstance(t, dict):  # a simulation_trades row
        return t["entry_ts"], t["exit_ts"], round(t["exit_price"], 9), round(t["net_pnl"], 6), t["reason"]
    return t.entry_ts, t.exit_ts, round(t.exit_price, 9), round(t.net, 6), t.reason


def test_paper_trading_through_the_emulator_equals_the_runner_on_the_same_candles(ray_session, one_symbol_config, tmp_path):
    # Arrange: 700 real hourly candles replayed at 50 candles per second
    candles = load_csv_candles(SHARED_DATA / "BTC-USD_1h_bitfinex.csv").slice(3000, 3700)
    clock = Clock.replay(int(candles.timestamp[0]) + H, SPEED, running=False)  # starts once the system is up
    emulator = BitgetEmulator(MarketData().add("BTCUSDT", "1h", candles), clock)
    db = f"sqlite:///{tmp_path / 'radar.db'}"
    with EmulatorThread(emulator) as url:
        system = LiveSystem(one_symbol_config, LiveOptions(str(tmp_path / "data"), db, exchange_url=url, speed=SPEED,
                                                          flush_every_s=0.5)).boot()
        try:
            # Act
            clock.start()
            seen = system.wait_for_candles(500, timeout_s=60)
            st = status()
        finally:
            system.shutdown()
    # Assert
    assert seen >= 500
    assert st["feed"]["connected"] and st["runners"][0]["candles"] >= 500
    stored = CandleStore(db).load_candles("bitget", SYM, "1h")
    assert len(stored) >= seen
    journal = [t for t in _journal(db)]
    expected = [t for t in _reference_trades(one_symbol_config, stored.candles(SYM, "1h")) if not t.end_of_data]
    assert len(expected) >= 5
    assert [_key(t) for t in journal] == [_key(t) for t in expected][:len(journal)], st["runners"][0].get("guard_refusals")
    assert len(journal) >= len(expected) - 1  # a trade may close on the last candle before shutdown
    # the portfolio guard journals a snapshot per 5 minutes of candle time (one per hourly candle here)
    from radar.live.journal import TradeJournal

    snaps = TradeJournal(CandleStore(db).engine).snapshots("portfolio")
    assert len(snaps) >= 400
    assert [s["timestamp"] for s in snaps] == sorted({s["timestamp"] for s in snaps})
    last = snaps[-1]
    assert last["equity"] == pytest.approx(last["cash"] + last["margin_used"] + last["unrealized_pnl"])
    assert abs(last["equity"] - float(one_symbol_config.risk.initial_capital)) < 0.5 * float(one_symbol_config.risk.initial_capital)


def _journal(db):
    from radar.live.journal import TradeJournal

    return sorted(TradeJournal(CandleStore(db).engine).trades(limit=100_000), key=lambda t: t["exit_ts"])
