"""Trades pagination and filters against the journal on the same database, and 422s for bad query/path
parameters (naming the parameter and the reason)."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import text

from radar.data.store import CandleStore


@pytest.fixture(scope="module")
def all_trades(demo_db):
    store = CandleStore(demo_db.url)
    with store.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM simulation_trades"))]
    store.close()
    return rows


def test_pages_walk_every_trade_once_newest_exit_first(api, all_trades):
    seen, offset = [], 0
    while True:
        page = api.get("/api/simulator/trades", params={"limit": 37, "offset": offset}).json()
        assert page["total"] == len(all_trades) and page["limit"] == 37 and page["offset"] == offset
        if not page["items"]:
            break
        seen.extend(page["items"])
        offset += 37

    expected = sorted(all_trades, key=lambda r: (r["exit_ts"], r["id"]), reverse=True)
    assert [t["trade_id"] for t in seen] == [r["trade_id"] for r in expected]
    first = next(r for r in all_trades if r["trade_id"] == seen[0]["trade_id"])
    assert seen[0]["net_pnl"] == first["net_pnl"] and seen[0]["positions"] == json.loads(first["extra"])["positions"]


def test_filters_combine_and_total_counts_the_filtered_set(api, all_trades):
    params = {"strategy": "envelope_dca", "symbol": "SOL/USDT:USDT", "reason": "tp", "limit": 1000}
    page = api.get("/api/simulator/trades", params=params).json()

    expected = [r for r in all_trades if r["strategy"] == "envelope_dca" and r["symbol"] == "SOL/USDT:USDT"
                and r["reason"] == "tp"]
    assert expected, "the seeded data has envelope_dca SOL take-profits"
    assert page["total"] == len(expected) == len(page["items"])
    assert {t["trade_id"] for t in page["items"]} == {r["trade_id"] for r in expected}


def test_time_window_and_runner_filter(api, all_trades):
    ts = sorted(r["exit_ts"] for r in all_trades)
    since, until = ts[len(ts) // 4], ts[3 * len(ts) // 4]
    runner = "grid_atr:BTC/USDT:USDT"
    page = api.get("/api/simulator/trades", params={"since_ms": since, "until_ms": until, "runner_id": runner,
                                                    "limit": 1000}).json()

    expected = [r for r in all_trades if since <= r["exit_ts"] < until and r["runner_id"] == runner]
    assert page["total"] == len(expected)
    assert all(since <= t["exit_ts"] < until and t["runner_id"] == runner for t in page["items"])


def test_sort_by_net_pnl_ascending_puts_the_worst_trade_first(api, all_trades):
    page = api.get("/api/simulator/trades", params={"sort": "net_pnl", "limit": 3}).json()
    worst = sorted(r["net_pnl"] for r in all_trades)[:3]
    assert [t["net_pnl"] for t in page["items"]] == worst


def test_a_filter_that_matches_nothing_is_an_empty_page(api):
    page = api.get("/api/simulator/trades", params={"symbol": "XRP/USDT:USDT"}).json()
    assert page == {"total": 0, "limit": 50, "offset": 0, "items": []}


@pytest.mark.parametrize("url, params, expected", [
    ("/api/simulator/trades", {"limit": 0}, r"^query\.limit: Input should be greater than or equal to 1$"),
    ("/api/simulator/trades", {"limit": 5000}, r"^query\.limit: Input should be less than or equal to 1000$"),
    ("/api/simulator/trades", {"offset": -1}, r"^query\.offset: Input should be greater than or equal to 0$"),
    ("/api/simulator/trades", {"limit": "ten"}, r"^query\.limit: Input should be a valid integer"),
    ("/api/simulator/trades", {"side": "up"}, r"^query\.side: Input should be 'long' or 'short'$"),
    ("/api/simulator/trades", {"sort": "price"}, r"^query\.sort: Input should be '-exit_ts', 'exit_ts'"),
    ("/api/simulator/trades", {"since_ms": 10**16}, r"^query\.since_ms: Input should be less than or equal to"),
    ("/api/arena/ranking", {"by": "luck"}, r"^query\.by: Input should be 'return', 'drawdown', 'trades' or 'win_rate'$"),
    ("/api/logs", {"level": "LOUD"}, r"^query\.level: Input should be 'DEBUG', 'INFO'"),
    ("/api/wfo/jobs", {"status": "paused"}, r"^query\.status: Input should be 'queued', 'running'"),
    ("/api/portfolio/compare", [("ids", 1)], r"^query\.ids: List should have at least 2 items"),
    ("/api/portfolio/compare", [("ids", 1), ("ids", 1)], r"^query\.ids: ids must not repeat$"),
    ("/api/portfolio/compare", [("ids", 1), ("ids", 0)], r"^query\.ids\.1: Input should be greater than or equal to 1$"),
    ("/api/portfolio/backtests/0", {}, r"^path\.backtest_id: Input should be greater than or equal to 1$"),
    ("/api/portfolio/backtests/x", {}, r"^path\.backtest_id: Input should be a valid integer"),
    ("/api/journal/daily-pnl", {"days": 0}, r"^query\.days: Input should be greater than or equal to 1$"),
    ("/api/wfo/jobs/wfo-grid_atr-demo/combos", {"sort": "luck"}, r"^query\.sort: Input should be '-oos_sharpe'"),
])
def test_bad_query_and_path_parameters_are_422_naming_them(api, url, params, expected):
    r = api.get(url, params=params)

    assert r.status_code == 422
    assert re.search(expected, r.json()["detail"]), r.json()["detail"]
    assert r.json()["errors"][0]["loc"][0] in ("query", "path")


def test_db_endpoints_without_a_database_are_503_with_the_reason(make_client, fake):
    api = make_client(fake, database_url=None)

    r = api.get("/api/simulator/trades")
    assert r.status_code == 503 and "no database configured" in r.json()["detail"]
    assert api.get("/api/simulator/equity").json()["curve"] == []  # the live part still answers
    assert api.get("/api/data/status").json()["series"] == []
