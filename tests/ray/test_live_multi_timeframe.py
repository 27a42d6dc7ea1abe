"""Strategies on different timeframes in one live system: the feed watches one candle stream per (symbol,
timeframe) any runner trades, and each runner actor gets exactly its timeframe's closed candles, trading as
its radar runner does on those candles."""
from __future__ import annotations

import pytest
import ray
import yaml

from actors.live_system import LiveOptions, LiveSystem, runner_limits
from radar.config import load_config
from radar.data.resample import resample
from radar.data.store import CandleStore
from radar.exchange.emulator import BitgetEmulator, Clock, EmulatorThread, MarketData, load_csv_candles
from radar.live.messages import CandleMsg
from radar.live.runner_host import build_runner_host
from radar.strategies.registry import create_strategy
from tests.conftest import SHARED_DATA
from tests.ray.live_config import GRID_ATR_FAST, write_config
from tests.ray.test_live_portfolio_parity import PREROLL_H, wait_for_subscriptions

pytestmark = [pytest.mark.ray, pytest.mark.slow, pytest.mark.timeout(240)]
SYM, SYM4 = "BTC/USDT:USDT", "ETH/USDT:USDT"
H = 3_600_000
SPEED = 180_000.0  # 50 hourly candles per real second


@pytest.fixture
def two_timeframe_config(tmp_path):
    """grid_atr on BTC 1h and supertrend on ETH 4h, each alone on its asset; the global margin limit and kill
    switch opened wide, so that each runner trades as it would alone (how runners share capital is the
    portfolio's business, tested elsewhere)."""
    cfg = write_config(tmp_path, [SYM], params=GRID_ATR_FAST, risk={"kill_switch": {"global_drawdown_percent": 99.0}})
    risk = yaml.safe_load((cfg / "risk.yaml").read_text())
    risk.update(max_margin_ratio=1.0)
    (cfg / "risk.yaml").write_text(yaml.safe_dump(risk, sort_keys=False))
    doc = yaml.safe_load((cfg / "strategies.yaml").read_text())
    doc["supertrend"].update(enabled=True, symbols=[SYM4])
    doc["supertrend"]["params"].update(timeframe="4h", atr_multiplier=2.0)
    (cfg / "strategies.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return load_config(cfg)


def _reference(cfg, name: str, symbol: str, candles) -> list:
    host = build_runner_host(name, [symbol], lambda s: create_strategy(name, cfg.strategy_params(name, s).model_dump()),
                             capital=float(cfg.risk.initial_capital), n_runners=2, n_assets=2,
                             **runner_limits(cfg.risk))
    for i, c in enumerate(candles):
        host.on_candle(CandleMsg(i + 1, c, 0))
    return [(t.entry_ts, t.exit_ts, round(t.exit_price, 9), round(t.net, 6), t.reason)
            for r in host.runners.values() for t in r.trades]


def test_each_runner_trades_the_closed_candles_of_its_own_timeframe(ray_session, two_timeframe_config, tmp_path):
    # Arrange: 960 real BTC hours as BTC 1h, the same hours as 240 four-hour candles as ETH 4h
    hourly = load_csv_candles(SHARED_DATA / "BTC-USD_1h_bitfinex.csv").slice(3001, 3961)
    four_hourly = resample(hourly, "1h", "4h")
    assert int(four_hourly.timestamp[0]) == int(hourly.timestamp[0])  # aligned: both series start together
    market = MarketData().add("BTCUSDT", "1h", hourly).add("ETHUSDT", "4h", four_hourly)
    start = int(hourly.timestamp[0])
    clock = Clock.replay(start - PREROLL_H * H, SPEED, running=True)
    emulator = BitgetEmulator(market, clock)
    db = f"sqlite:///{tmp_path / 'radar.db'}"
    # every candle but the last of each series closes while the replay runs
    expected = (len(hourly) - 1) + (len(four_hourly) - 1)
    with EmulatorThread(emulator) as url:
        system = LiveSystem(two_timeframe_config, LiveOptions(str(tmp_path / "data"), db, exchange_url=url,
                                                              speed=SPEED, flush_every_s=0.5)).boot()
        try:
            wait_for_subscriptions(emulator, 2)
            clock.set(start + H)
            # Act
            seen = system.wait_for_candles(expected, timeout_s=90)
            ray.get(system.feed.stop.remote())
            health = ray.get(system.feed.health.remote())
            runs = {name: (ray.get(r.status.remote()), ray.get(r.trades.remote())) for name, r in system.runners.items()}
        finally:
            system.shutdown()

    # Assert: one stream per timeframe, each runner fed its own timeframe's closed candles once
    store = CandleStore(db)
    stored = {tf: store.load_candles("bitget", sym, tf).candles(sym, tf) for sym, tf in ((SYM, "1h"), (SYM4, "4h"))}
    assert seen >= expected, (f"{seen} of {expected} published; stored 1h {len(stored['1h'])}/{len(hourly) - 1}, "
                              f"4h {len(stored['4h'])}/{len(four_hourly) - 1}; health {health}")
    assert sorted(health.last_candle_ms) == [f"{SYM}|1h", f"{SYM4}|4h"]
    assert [c.timestamp for c in stored["4h"]] == [int(t) for t in four_hourly.timestamp[:len(stored["4h"])]]
    assert len(stored["1h"]) == len(hourly) - 1 and len(stored["4h"]) == len(four_hourly) - 1
    grid_status, grid_trades = runs["grid_atr"]
    st_status, st_trades = runs["supertrend"]
    assert grid_status["candles"] == len(stored["1h"]) and st_status["candles"] == len(stored["4h"])
    assert grid_status["last_processed"][SYM] == stored["1h"][-1].timestamp
    assert st_status["last_processed"][SYM4] == stored["4h"][-1].timestamp
    # ... and trades as its radar runner does on exactly those candles
    for name, trades, sym, tf in (("grid_atr", grid_trades, SYM, "1h"), ("supertrend", st_trades, SYM4, "4h")):
        assert [(t.entry_ts, t.exit_ts, round(t.exit_price, 9), round(t.net, 6), t.reason) for t in trades] == \
            _reference(two_timeframe_config, name, sym, stored[tf]), name
    assert len(grid_trades) >= 3 and len(st_trades) >= 2
