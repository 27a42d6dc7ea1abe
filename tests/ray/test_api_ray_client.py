"""The API over the real paper system (RaySystemClient): the booted actors (emulator replay of real BTC 1h
candles -> feed -> grid_atr runner -> executor/state store, watchdog) answer the REST endpoints and /ws/live
through named-actor lookups and awaited refs; the write endpoints act on the real system: one runner's
kill-switch reset, a history back-fill through the feed's REST client, a portfolio run as a Ray task."""
from __future__ import annotations

import time
import warnings

import pytest

from actors.live_system import LiveOptions, LiveSystem
from radar.config import load_config
from radar.data.store import CandleStore
from radar.exchange.emulator import BitgetEmulator, Clock, EmulatorThread, MarketData, load_csv_candles
from radar.live.journal import TradeJournal
from tests.conftest import SHARED_DATA
from tests.ray.live_config import GRID_ATR_FAST, write_config

warnings.filterwarnings("ignore", message=".*httpx.*starlette.testclient.*")

pytestmark = [pytest.mark.ray, pytest.mark.slow, pytest.mark.timeout(240)]
SYM = "BTC/USDT:USDT"
H = 3_600_000
SPEED = 180_000.0  # 50 hourly candles per second
KEY = {"X-API-Key": "ray-test-key"}


@pytest.fixture()
def config_dir(tmp_path):
    return write_config(tmp_path, [SYM], params=GRID_ATR_FAST)


def test_rest_and_ws_over_the_running_paper_system(ray_session, config_dir, tmp_path):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.ray_client import RaySystemClient
    from api.settings import ApiSettings

    # Arrange: 250 real candles replayed; 200 processed, then the replay clock is paused
    cfg = load_config(config_dir)
    candles = load_csv_candles(SHARED_DATA / "BTC-USD_1h_bitfinex.csv").slice(3000, 3250)
    clock = Clock.replay(int(candles.timestamp[0]) + H, SPEED, running=False)
    db = f"sqlite:///{tmp_path / 'radar.db'}"
    # ETHUSDT is served but not traded: the API's back-fill request fetches its history into the store
    market = MarketData().add("BTCUSDT", "1h", candles).add("ETHUSDT", "1h", candles)
    with EmulatorThread(BitgetEmulator(market, clock)) as url:
        system = LiveSystem(cfg, LiveOptions(str(tmp_path / "data"), db, exchange_url=url, speed=SPEED,
                                             flush_every_s=0.2, watchdog_interval_s=0.2)).boot()
        try:
            clock.start()
            assert system.wait_for_candles(200, timeout_s=60) >= 200
            clock.pause()
            time.sleep(1.0)  # the last candles reach the runner and the database
            client = RaySystemClient(database_url=db, config_dir=config_dir, call_timeout_s=10.0)
            settings = ApiSettings(api_key=KEY["X-API-Key"], database_url=db, config_dir=config_dir,
                                   ws_update_interval_s=0.2)
            with TestClient(create_app(client, settings)) as api:
                # Act
                status = api.get("/api/simulator/status").json()
                grid = api.get("/api/simulator/grid-state").json()
                executor = api.get("/api/executor/status").json()
                positions = api.get("/api/simulator/positions").json()
                ranking = api.get("/api/arena/ranking").json()
                data = api.get("/api/data/status").json()
                trades = api.get("/api/simulator/trades", params={"limit": 1000}).json()
                logs = api.get("/api/logs", params={"level": "DEBUG"})
                writes = {path: api.post(path, json=body, headers=KEY) for path, body in [
                    ("/api/simulator/kill-switch/reset", {"runner_id": f"grid_atr:{SYM}"}),
                    ("/api/executor/kill-switch/reset", None),
                    ("/api/data/backfill", {"symbols": ["ETH/USDT:USDT"], "start_ms": int(candles.timestamp[0])}),
                    ("/api/portfolio/runs", {"strategies": ["grid_atr"], "symbols": [SYM], "name": "api-run"})]}
                unknown_runner = api.post("/api/simulator/kill-switch/reset", json={"runner_id": "grid_atr:XRP/USDT:USDT"},
                                          headers=KEY)
                unknown_symbol = api.post("/api/data/backfill", json={"symbols": ["DOGE/USDT:USDT"], "start_ms": 0},
                                          headers=KEY)
                run_id = writes["/api/portfolio/runs"].json()["run_id"]
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    run = api.get(f"/api/portfolio/runs/{run_id}").json()
                    eth = [x for x in api.get("/api/data/status").json()["series"] if x["symbol"] == "ETH/USDT:USDT"]
                    if run["status"] != "running" and eth:
                        break
                    time.sleep(0.2)
                saved_run = api.get(f"/api/portfolio/backtests/{run['backtest_id']}") if run["backtest_id"] else None
                kill_switch = api.get("/api/live/update").json()["kill_switch"]
                reset = api.post("/api/simulator/kill-switch/reset", headers=KEY)
                job = api.post("/api/wfo/jobs", json={"strategy": "grid_atr", "symbols": [SYM], "job_id": "api-ray"},
                               headers=KEY)
                cancelled = api.post("/api/wfo/jobs/api-ray/cancel", headers=KEY)
                jobs = api.get("/api/wfo/jobs").json()
                with api.websocket_connect("/ws/live") as ws:
                    update = ws.receive_json()
        finally:
            system.shutdown()

    # Assert
    journal = TradeJournal(CandleStore(db).engine)
    [strategy] = status["strategies"]
    [runner] = strategy["runners"]
    assert strategy["name"] == "grid_atr" and strategy["candles"] >= 200 and strategy["timeframe"] == "1h"
    assert runner["runner_id"] == f"grid_atr:{SYM}" and runner["initial_capital"] == cfg.risk.initial_capital
    assert status["total_equity"] == pytest.approx(runner["equity"])
    assert trades["total"] == journal.trade_count() >= 3
    assert ranking[0]["trades"] == len([t for t in trades["items"]])
    assert ranking[0]["net_pnl"] == pytest.approx(sum(t["net_pnl"] for t in trades["items"]), rel=1e-9)
    [g] = grid
    assert g["quantity"] == pytest.approx(sum(p["quantity"] for p in positions), abs=1e-12)
    assert executor["mode"] == "paper" and executor["open_positions"] == len(positions)
    assert executor["fills"] >= 2 * trades["total"]
    # (the paused replay reads as a silent stream: whether the feed calls itself connected is its own business)
    assert data["feed_error"] is None and data["feed"]["last_candle_ms"][f"{SYM}|1h"] >= int(candles.timestamp[199])
    assert [(s["symbol"], s["rows"] >= 200) for s in data["series"]] == [(SYM, True)]
    assert logs.status_code == 200
    # the paper executor has no switch of its own: its reset answers with its status (live: the risk manager's)
    assert writes["/api/executor/kill-switch/reset"].status_code == 200
    assert writes["/api/executor/kill-switch/reset"].json()["mode"] == "paper"
    one = writes["/api/simulator/kill-switch/reset"]
    assert one.status_code == 200 and [r["stopped"] for r in one.json()["runners"]] == [False]
    assert unknown_runner.status_code == 404 and "grid_atr:XRP/USDT:USDT" in unknown_runner.json()["detail"]
    # the back-fill: accepted, then the feed stored ETH's closed candles up to the paused replay clock
    assert writes["/api/data/backfill"].status_code == 202
    assert writes["/api/data/backfill"].json()["status"] == "running"
    assert unknown_symbol.status_code == 400 and "DOGE/USDT:USDT" in unknown_symbol.json()["detail"]
    [eth_series] = eth
    eth_stored = CandleStore(db).load_candles("bitget", "ETH/USDT:USDT", "1h")
    assert eth_series["rows"] == len(eth_stored) >= 200
    assert list(eth_stored.close[:200]) == list(candles.close[:200])
    # the portfolio run: a Ray task on the stored BTC candles, saved and listed
    assert writes["/api/portfolio/runs"].status_code == 202 and writes["/api/portfolio/runs"].json()["status"] == "running"
    assert (run["status"], run["progress"], run["error"]) == ("done", 1.0, None)
    assert saved_run is not None and saved_run.status_code == 200 and saved_run.json()["summary"]["name"] == "api-run"
    # the portfolio guard holds the global switch; the job manager takes sweeps from the API
    assert kill_switch["global_available"] is True and kill_switch["runners"][0]["runner_id"] == f"grid_atr:{SYM}"
    assert reset.status_code == 200 and reset.json()["global_active"] is False
    assert job.status_code == 202 and job.json()["job_id"] == "api-ray" and job.json()["source"] == "api"
    assert cancelled.status_code == 200 and cancelled.json()["job_id"] == "api-ray"
    assert [j["source"] for j in jobs if j["job_id"] == "api-ray"] == ["api"]
    assert update["type"] == "update" and update["unavailable"] == []
    assert update["strategies"][0]["runners"][0]["runner_id"] == f"grid_atr:{SYM}"
    assert update["prices"][SYM] == pytest.approx(float(CandleStore(db).load_candles("bitget", SYM, "1h").close[-1]))
