"""Every read endpoint with the fake system client and the real-candle database: the numbers the API returns
are checked against the fake's own state and against the project's journal/store readers on the same file."""
from __future__ import annotations

import math

import pytest

from radar.config import load_config
from radar.data.store import CandleStore
from radar.live.journal import TradeJournal

# Every GET route; test_every_read_route_is_covered fails when a new one has no test here.
COVERED = {
    "/health", "/api/simulator/status", "/api/simulator/positions", "/api/simulator/trades",
    "/api/simulator/grid-state", "/api/simulator/equity", "/api/simulator/performance", "/api/executor/status",
    "/api/executor/orders", "/api/arena/ranking", "/api/data/status", "/api/wfo/strategies", "/api/wfo/param-grids",
    "/api/wfo/param-grids/{strategy}", "/api/wfo/jobs", "/api/wfo/jobs/{job_id}", "/api/wfo/jobs/{job_id}/results",
    "/api/wfo/jobs/{job_id}/combos", "/api/portfolio/runs", "/api/portfolio/runs/{run_id}",
    "/api/portfolio/backtests", "/api/portfolio/backtests/{backtest_id}", "/api/portfolio/compare",
    "/api/journal/snapshots", "/api/journal/events", "/api/journal/daily-pnl", "/api/logs", "/api/live/update",
    "/api/data/candles",  # tests/api/test_data_candles.py
}


@pytest.fixture(scope="module")
def journal(demo_db):
    store = CandleStore(demo_db.url)
    yield TradeJournal(store.engine)
    store.close()


def test_every_read_route_is_covered(api):
    paths = {p for p, ops in api.app.openapi()["paths"].items() if "get" in ops}
    assert paths == COVERED


def test_health_names_the_client_and_the_database(api):
    body = api.get("/health").json()
    assert body["status"] == "ok" and body["client"] == "fake" and body["database"] is True
    assert body["ws_clients"] == 0 and body["uptime_s"] >= 0


def test_simulator_status_adds_up_runner_equity(api, fake):
    body = api.get("/api/simulator/status").json()

    expected = sum(r.equity(fake.marks[r.symbol]) for r in fake.runners.values())
    assert body["runners"] == 9 and body["stopped_runners"] == 1 and body["open_positions"] == 4
    assert body["initial_capital"] == pytest.approx(10_000.0)
    assert body["total_equity"] == pytest.approx(expected, rel=1e-12)
    assert body["return_pct"] == pytest.approx((expected / 10_000.0 - 1) * 100, rel=1e-12)
    assert [s["name"] for s in body["strategies"]] == ["grid_atr", "envelope_dca", "grid_trend"]
    btc = body["strategies"][0]["runners"][0]
    assert btc["equity"] == pytest.approx(btc["capital"] + btc["used_margin"]
                                          + fake.runners[btc["runner_id"]].unrealized(fake.marks["BTC/USDT:USDT"]))


def test_positions_value_each_leg_at_the_current_price(api, fake):
    body = api.get("/api/simulator/positions").json()

    assert sorted(p["runner_id"] for p in body) == sorted(r.runner_id for r in fake.runners.values() if r.legs)
    for p in body:
        assert p["unrealized_pnl"] == pytest.approx((p["price"] - p["avg_entry"]) * p["quantity"], rel=1e-12)
        assert p["notional"] == pytest.approx(p["avg_entry"] * p["quantity"], rel=1e-12)
    only_btc = api.get("/api/simulator/positions", params={"symbol": "BTC/USDT:USDT"}).json()
    assert [p["runner_id"] for p in only_btc] == ["grid_atr:BTC/USDT:USDT"]


def test_grid_state_shows_legs_pending_levels_and_stops(api, fake):
    body = api.get("/api/simulator/grid-state", params={"strategy": "grid_atr"}).json()

    assert len(body) == 4
    btc = next(g for g in body if g["symbol"] == "BTC/USDT:USDT")
    runner = fake.runners["grid_atr:BTC/USDT:USDT"]
    assert btc["filled_levels"] == [0, 1] and len(btc["legs"]) == 2 and len(btc["pending_levels"]) == 1
    assert btc["avg_entry"] == pytest.approx(runner.avg, rel=1e-12)
    assert btc["quantity"] == pytest.approx(sum(leg.quantity for leg in runner.legs), rel=1e-12)
    assert btc["sl_price"] == pytest.approx(runner.avg * 0.8, rel=1e-12)
    assert btc["pending_levels"][0] < min(leg["entry_price"] for leg in btc["legs"])  # long grid: next level below
    flat = next(g for g in body if g["symbol"] == "ETH/USDT:USDT")
    assert flat["side"] == "flat" and flat["legs"] == [] and flat["avg_entry"] is None and flat["sl_price"] is None


def test_equity_has_current_runners_and_the_journal_curve(api, journal):
    body = api.get("/api/simulator/equity", params={"points": 50}).json()
    status = api.get("/api/simulator/status").json()

    snaps = journal.snapshots("paper")[-50:]
    assert body["total_equity"] == pytest.approx(status["total_equity"], rel=1e-12)
    assert len(body["runners"]) == 9
    assert [p["timestamp"] for p in body["curve"]] == [s["timestamp"] for s in snaps]
    assert body["curve"][-1]["equity"] == pytest.approx(snaps[-1]["equity"], rel=1e-12)


def test_performance_matches_the_journal_summary(api, journal, demo_db):
    body = api.get("/api/simulator/performance").json()

    summary = journal.summary()
    assert body["totals"]["trades"] == journal.trade_count() == demo_db.trades
    assert body["totals"]["net_pnl"] == pytest.approx(sum(s["net_pnl"] for s in summary.values()), rel=1e-9)
    assert body["totals"]["fees"] == pytest.approx(sum(s["fees"] for s in summary.values()), rel=1e-9)
    for r in body["runners"]:
        s = summary[r["runner_id"]]
        assert (r["trades"], r["wins"]) == (s["trades"], s["wins"])
        assert r["net_pnl"] == pytest.approx(s["net_pnl"], rel=1e-9)
        assert r["win_rate"] == pytest.approx(s["wins"] / s["trades"])
        if r["gross_loss"] > 0:
            assert r["profit_factor"] == pytest.approx(r["gross_profit"] / r["gross_loss"])
    one = api.get("/api/simulator/performance", params={"runner_id": "grid_atr:BTC/USDT:USDT"}).json()
    assert [r["runner_id"] for r in one["runners"]] == ["grid_atr:BTC/USDT:USDT"]
    assert one["totals"]["trades"] == summary["grid_atr:BTC/USDT:USDT"]["trades"]


def test_executor_status_counts_open_positions_and_exposure(api, fake):
    body = api.get("/api/executor/status").json()

    open_runners = [r for r in fake.runners.values() if r.legs]
    assert body["mode"] == "paper" and body["live_trading"] is False and body["kill_switch_active"] is False
    assert body["open_positions"] == len(open_runners) == 4
    assert body["exposure"] == pytest.approx(sum(r.avg * r.qty for r in open_runners), rel=1e-12)
    assert body["fills"] == fake.fills


def test_orders_page_newest_first_and_filter_by_status(api):
    body = api.get("/api/executor/orders").json()
    filled = api.get("/api/executor/orders", params={"status": "filled"}).json()

    assert body["total"] == 4 and [o["client_oid"] for o in body["items"]][0] == "sr-demo-0003"
    assert [o["created_at"] for o in body["items"]] == sorted((o["created_at"] for o in body["items"]), reverse=True)
    assert filled["total"] == 2 and all(o["filled_qty"] == o["qty"] for o in filled["items"])


def test_arena_ranking_orders_by_the_requested_key(api):
    by_return = api.get("/api/arena/ranking").json()
    by_trades = api.get("/api/arena/ranking", params={"by": "trades"}).json()

    assert [e["rank"] for e in by_return] == list(range(1, 10))
    assert [e["return_pct"] for e in by_return] == sorted((e["return_pct"] for e in by_return), reverse=True)
    assert [e["trades"] for e in by_trades] == sorted((e["trades"] for e in by_trades), reverse=True)
    for e in by_return:
        assert e["return_pct"] == pytest.approx((e["equity"] / e["initial_capital"] - 1) * 100, rel=1e-12)
        assert e["win_rate"] == pytest.approx(e["wins"] / e["trades"] if e["trades"] else 0.0)


def test_data_status_lists_stored_series_and_feed_health(api, demo_db):
    body = api.get("/api/data/status").json()

    assert body["feed"]["connected"] is True and body["feed_error"] is None
    assert [(s["symbol"], s["rows"]) for s in body["series"]] == [
        ("BTC/USDT:USDT", 2000), ("ETH/USDT:USDT", 2000), ("SOL/USDT:USDT", 2000)]
    assert all(s["last_ms"] == demo_db.last_ts for s in body["series"])
    assert sum(s["rows"] for s in body["series"]) == demo_db.candles


def test_wfo_strategies_and_grids_come_from_the_config(api):
    cfg = load_config()
    strategies = {s["name"]: s for s in api.get("/api/wfo/strategies").json()}
    grids = api.get("/api/wfo/param-grids").json()
    one = api.get("/api/wfo/param-grids/grid_atr").json()

    assert strategies["grid_atr"]["enabled"] is cfg.strategies["grid_atr"].enabled
    assert strategies["grid_atr"]["symbols"] == list(cfg.strategies["grid_atr"].symbols)
    assert strategies["grid_atr"]["n_combos"] == cfg.param_grid("grid_atr").n_combos() == 4608
    assert strategies["grid_atr"]["params"]["leverage"] == cfg.strategy_params("grid_atr").leverage
    assert [g["strategy"] for g in grids] == sorted(cfg.param_grids)
    assert one["default"]["ma_period"] == [7, 10, 14, 20] and one["wfo"]["is_days"] == 180
    missing = api.get("/api/wfo/param-grids/no_such_strategy")
    assert missing.status_code == 404 and "no grid for strategy 'no_such_strategy'" in missing.json()["detail"]


def test_wfo_jobs_merge_the_job_manager_with_the_database(api, demo_db):
    launched = api.post("/api/wfo/jobs", json={"strategy": "grid_atr", "symbols": ["ETH/USDT:USDT"]},
                        headers={"X-API-Key": "k3y-for-tests-9d1f"}).json()

    jobs = api.get("/api/wfo/jobs").json()
    done = api.get("/api/wfo/jobs", params={"status": "done"}).json()
    stored = api.get(f"/api/wfo/jobs/{demo_db.wfo_job}").json()

    assert {j["job_id"] for j in jobs} == {launched["job_id"], demo_db.wfo_job}
    assert [j["job_id"] for j in done] == [demo_db.wfo_job]
    assert stored["source"] == "db" and stored["progress"] == 1.0 and stored["symbols"] == ["BTC/USDT:USDT", "ETH/USDT:USDT"]
    assert api.get(f"/api/wfo/jobs/{launched['job_id']}").json()["status"] == "running"
    assert api.get("/api/wfo/jobs/nope").status_code == 404


def test_wfo_results_and_combos_for_the_heatmap(api, demo_db):
    results = api.get(f"/api/wfo/jobs/{demo_db.wfo_job}/results").json()
    combos = api.get(f"/api/wfo/jobs/{demo_db.wfo_job}/combos").json()
    btc = api.get(f"/api/wfo/jobs/{demo_db.wfo_job}/combos", params={"symbol": "BTC/USDT:USDT", "limit": 5}).json()

    assert [(r["symbol"], r["grade"]) for r in results] == [("BTC/USDT:USDT", "A"), ("ETH/USDT:USDT", "C")]
    # the seeded surface peaks at ma_period 14, atr_multiplier_start 1.5
    assert (results[0]["params"]["ma_period"], results[0]["params"]["atr_multiplier_start"]) == (14, 1.5)
    assert combos["total"] == demo_db.combos == 24
    assert combos["param_names"] == ["atr_multiplier_start", "ma_period"]
    sharpes = [c["oos_sharpe"] for c in combos["items"]]
    assert sharpes == sorted(sharpes, reverse=True)
    assert btc["total"] == 12 and len(btc["items"]) == 5 and btc["items"][0]["oos_sharpe"] == pytest.approx(1.6)
    assert api.get("/api/wfo/jobs/nope/results").status_code == 404
    assert api.get("/api/wfo/jobs/nope/combos").status_code == 404


def test_portfolio_backtests_list_detail_and_compare(api, demo_db):
    listing = api.get("/api/portfolio/backtests").json()
    a, b = demo_db.portfolio_ids
    detail = api.get(f"/api/portfolio/backtests/{a}").json()
    compare = api.get("/api/portfolio/compare", params=[("ids", a), ("ids", b)]).json()

    assert [p["id"] for p in listing] == [b, a]  # newest first
    s = detail["summary"]
    assert s["strategies"] == ["envelope_dca", "grid_atr"] and len(s["symbols"]) == 3
    assert s["return_pct"] == pytest.approx((s["final_equity"] / s["initial_capital"] - 1) * 100)
    assert detail["equity_curve"][-1]["equity"] == pytest.approx(s["final_equity"], rel=1e-9)
    assert compare["metrics"]["n_trades"] == {str(p["id"]): float(p["trades"]) for p in compare["items"]}
    best = max(compare["items"], key=lambda p: p["return_pct"])
    assert compare["best_return_id"] == best["id"]
    assert api.get("/api/portfolio/backtests/999").status_code == 404
    assert api.get("/api/portfolio/compare", params=[("ids", a), ("ids", 999)]).status_code == 404


def test_portfolio_runs_list_and_detail(api):
    launched = api.post("/api/portfolio/runs", json={"strategies": ["grid_atr"], "symbols": ["BTC/USDT:USDT"]},
                        headers={"X-API-Key": "k3y-for-tests-9d1f"}).json()

    runs = api.get("/api/portfolio/runs").json()
    one = api.get(f"/api/portfolio/runs/{launched['run_id']}").json()

    assert [r["run_id"] for r in runs] == [launched["run_id"]]
    assert one["status"] == "running" and one["name"] == "grid_atr"
    assert api.get("/api/portfolio/runs/pf-nope").status_code == 404


def test_journal_snapshots_events_and_daily_pnl(api, journal, demo_db):
    snaps = api.get("/api/journal/snapshots", params={"limit": 10}).json()
    events = api.get("/api/journal/events", params={"limit": 3}).json()
    opens = api.get("/api/journal/events", params={"kind": "open", "limit": 1}).json()
    days = api.get("/api/journal/daily-pnl", params={"days": 3650}).json()

    assert [s["timestamp"] for s in snaps] == [s["timestamp"] for s in journal.snapshots("paper")[-10:]]
    assert events["total"] == demo_db.events and len(events["items"]) == 3
    assert [e["event_id"] for e in events["items"]] == [e["event_id"] for e in journal.position_events(limit=3)]
    assert opens["items"][0]["kind"] == "open" and opens["items"][0]["level"] is not None
    assert sum(d["trades"] for d in days) == demo_db.trades
    total = sum(s["net_pnl"] for s in journal.summary().values())
    assert days[-1]["cumulative_pnl"] == pytest.approx(total, rel=1e-9)
    assert sum(d["net_pnl"] for d in days) == pytest.approx(total, rel=1e-9)
    assert [d["day"] for d in days] == sorted(d["day"] for d in days)
    assert len(api.get("/api/journal/daily-pnl", params={"days": 5}).json()) == 5


def test_logs_filter_by_minimum_level(api, fake):
    every = api.get("/api/logs").json()
    warnings = api.get("/api/logs", params={"level": "WARNING"}).json()
    last = api.get("/api/logs", params={"limit": 1}).json()

    assert len(every) == len(fake.logs) == 5
    assert [w["level"] for w in warnings] == ["WARNING", "WARNING"]
    assert last == every[-1:]


def test_live_update_has_the_spec_payload(api, fake):
    body = api.get("/api/live/update").json()

    assert body["type"] == "update" and body["unavailable"] == []
    for key in ("strategies", "kill_switch", "simulator_positions", "grid_state", "ranking", "executor", "prices"):
        assert key in body
    assert body["prices"] == pytest.approx(fake.marks)
    assert len(body["grid_state"]) == 9 and len(body["ranking"]) == 9
    assert body["kill_switch"]["runners"][-1] == {"runner_id": "grid_trend:AVAX/USDT:USDT", "stopped": True,
                                                  "reason": fake.runners["grid_trend:AVAX/USDT:USDT"].stop_reason}
    assert not math.isnan(body["executor"]["exposure"])
