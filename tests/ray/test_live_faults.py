"""The live paper system under exchange faults injected by the Bitget emulator (SPEC §9): dropped and
stalled websockets, malformed frames, repeated and reordered candles, HTTP 429 on the REST back-fill.
The feed reconnects, back-fills, and every closed candle reaches the runner exactly once, with its final
values: the runner's candle count equals the distinct closed candles and the journal equals the runner
on the stored candles."""
from __future__ import annotations

import time

import pytest
import ray

from actors.live_system import LiveOptions, LiveSystem
from radar.data.store import CandleStore
from radar.exchange.emulator import BitgetEmulator, Clock, EmulatorThread, MarketData, load_csv_candles
from tests.conftest import SHARED_DATA
from tests.ray.test_live_paper import SYM, _journal, _key, _reference_trades, one_symbol_config  # noqa: F401
from tests.ray.test_live_portfolio_parity import PREROLL_H, wait_for_subscriptions

pytestmark = [pytest.mark.ray, pytest.mark.slow, pytest.mark.timeout(240)]
H = 3_600_000
SPEED = 180_000.0  # 50 hourly candles per real second


def _wait_published(system: LiveSystem, n: int) -> int:
    seen = system.wait_for_candles(n, timeout_s=60)
    assert seen >= n, f"the feed published {seen} candles, expected {n}"
    return seen


def test_feed_survives_drops_stalls_malformed_repeated_reordered_frames_and_429_backfill(
        ray_session, one_symbol_config, tmp_path):
    # Arrange: 800 real hourly candles replayed at 50 candles per second
    csv = load_csv_candles(SHARED_DATA / "BTC-USD_1h_bitfinex.csv").slice(3000, 3800)
    # The clock runs from before the data through the boot (a paused exchange clock let the feed's own clock
    # run ahead and close the first candle on its open values): the replay starts once the feed has subscribed.
    clock = Clock.replay(int(csv.timestamp[0]) - PREROLL_H * H, SPEED, running=True)
    emulator = BitgetEmulator(MarketData().add("BTCUSDT", "1h", csv), clock)
    faults = emulator.faults
    db = f"sqlite:///{tmp_path / 'radar.db'}"
    with EmulatorThread(emulator) as url:
        system = LiveSystem(one_symbol_config, LiveOptions(str(tmp_path / "data"), db, exchange_url=url, speed=SPEED,
                                                          flush_every_s=0.5)).boot()
        try:
            wait_for_subscriptions(emulator, 1)
            assert clock.now_ms() < int(csv.timestamp[0]), "boot took longer than the pre-roll"
            clock.set(int(csv.timestamp[0]) + H)
            # Act: one fault after the other while candles stream
            _wait_published(system, 40)
            faults.ws_malformed(2, kind="wrong_shape")
            _wait_published(system, 60)
            faults.ws_repeat(3).ws_reorder(2)
            _wait_published(system, 80)
            faults.ws_malformed(1, kind="invalid_json")  # ccxt.pro's receive loop dies on it: silence
            _wait_published(system, 110)
            candle_requests = len(emulator.candle_requests())
            faults.rate_limit(2, match="candles").ws_drop(abrupt=True)
            _wait_published(system, 170)
            faults.ws_stall(0.4)  # shorter than the close grace and the silence timeout: caught up afterwards
            time.sleep(0.5)
            _wait_published(system, 230)
            faults.ws_drop()
            _wait_published(system, 300)
            ray.get(system.feed.stop.remote())  # stop streaming, hand every queued candle over, flush
            runner = ray.get(system.runners["grid_atr"].status.remote())
            health = ray.get(system.feed.health.remote())
            stats = ray.get(system.feed.stats.remote())
        finally:
            system.shutdown()
    served = emulator.candle_requests()[candle_requests:]
    # Assert: the faults happened
    assert [r.status for r in served[:2]] == [429, 429]  # the reconnect back-fill was rate limited twice ...
    assert any(r.status == 200 and r.candles_served > 0 for r in served[2:])  # ... then retried and served
    assert health.reconnects >= 2 and health.connected
    # the wrong-shape frames: ccxt.pro merges frames that arrive before the watcher wakes into one cache, so
    # two bad frames may reach the feed as one bad row (or the same row twice)
    assert health.rejected.get("malformed_row", 0) >= 1
    assert health.duplicates >= 1  # repeated candles (ccxt's cache absorbs a repeat it has not handed out yet)
    assert health.rejected.get("invalid_json") == 1  # the frame ccxt.pro could not decode, counted once
    assert health.backfilled >= 10  # what closed while the socket was replaced or dropped
    # open interest was polled over REST and reached the runner
    assert stats["open_interest_polls"] >= 2
    assert runner["open_interest"][SYM] == pytest.approx(emulator.market.spec("BTCUSDT").open_interest)
    # Assert: every closed candle reached the runner exactly once, with its final values
    stored = CandleStore(db).load_candles("bitget", SYM, "1h").candles(SYM, "1h")
    ts = [c.timestamp for c in stored]
    assert ts == list(range(ts[0], ts[-1] + H, H)), "a closed candle is missing"
    assert runner["candles"] == len(stored) == stats["published"]
    assert runner["last_processed"][SYM] == ts[-1] == health.last_candle_ms[f"{SYM}|1h"]
    truth = {c.timestamp: c for c in csv.candles(SYM, "1h")}
    differ = [c.timestamp for c in stored
              if (c.open, c.high, c.low, c.close) != (truth[c.timestamp].open, truth[c.timestamp].high,
                                                      truth[c.timestamp].low, truth[c.timestamp].close)]
    # Only the 2 reordered candles may carry earlier values: the next candle's row closes them before
    # their held-back final update arrives (which then counts as a duplicate).
    assert len(differ) <= 2, (f"{len(differ)} candles were closed with partial values: "
                              f"{[(c, truth[c.timestamp]) for c in stored if c.timestamp in differ]}")
    # Assert: the journal equals the runner on the same candles
    journal = _journal(db)
    expected = [t for t in _reference_trades(one_symbol_config, stored) if not t.end_of_data]
    assert len(expected) >= 5
    assert [_key(t) for t in journal] == [_key(t) for t in expected]
