"""Write endpoints: what each does with a valid key, and the refusals — every write route (enumerated from
the app, so a new one cannot escape) is a 401 without the key and with a wrong one, and a 403 naming
RADAR_API_KEY when the server has no key; bad bodies are a 422 naming the field and the reason."""
from __future__ import annotations

import re

import pytest

from api.app import write_routes
from tests.api.conftest import AUTH

# A valid request per write route (path parameters filled in).
VALID = {
    "/api/simulator/kill-switch/reset": ("/api/simulator/kill-switch/reset", {"runner_id": "grid_trend:AVAX/USDT:USDT"}),
    "/api/executor/kill-switch/reset": ("/api/executor/kill-switch/reset", None),
    "/api/data/backfill": ("/api/data/backfill", {"symbols": ["BTC/USDT:USDT"], "start_ms": 1_717_000_000_000}),
    "/api/wfo/jobs": ("/api/wfo/jobs", {"strategy": "grid_atr", "symbols": ["BTC/USDT:USDT"]}),
    "/api/wfo/jobs/{job_id}/cancel": ("/api/wfo/jobs/wfo-x/cancel", None),
    "/api/wfo/jobs/{job_id}/apply": ("/api/wfo/jobs/wfo-x/apply", {"grades": ["A"]}),
    "/api/portfolio/runs": ("/api/portfolio/runs", {"strategies": ["grid_atr"], "symbols": ["BTC/USDT:USDT"]}),
}


def _write_paths(api) -> list[str]:
    return sorted(r.path for r in write_routes(api.app))


def test_every_write_route_has_a_valid_request_here(api):
    assert _write_paths(api) == sorted(VALID)


def test_openapi_declares_the_api_key_on_every_write_operation(api):
    for path, ops in api.app.openapi()["paths"].items():
        for method, op in ops.items():
            declared = op.get("security") == [{"APIKeyHeader": []}]
            assert declared is (method != "get"), f"{method.upper()} {path}"


@pytest.mark.parametrize("headers, detail", [({}, "missing X-API-Key header (write endpoint)"),
                                             ({"X-API-Key": "wrong-key"}, "invalid X-API-Key"),
                                             ({"X-API-Key": ""}, "missing X-API-Key header (write endpoint)")])
def test_every_write_route_refuses_a_missing_or_wrong_key(api, fake, headers, detail):
    jobs_before, fills_before = dict(fake.jobs), fake.fills
    for path in _write_paths(api):
        url, body = VALID[path]
        r = api.post(url, json=body, headers=headers)
        assert r.status_code == 401, path
        assert r.json() == {"detail": detail}, path
    assert fake.jobs == jobs_before and fake.fills == fills_before and fake.backfills == []


def test_without_a_configured_key_every_write_is_refused_naming_the_variable(make_client, fake):
    api = make_client(fake, api_key=None)
    for path in _write_paths(api):
        url, body = VALID[path]
        r = api.post(url, json=body, headers=AUTH)
        assert r.status_code == 403, path
        assert "RADAR_API_KEY is not set" in r.json()["detail"]
    assert fake.jobs == {}


def test_reads_need_no_key(api):
    assert api.get("/api/simulator/status").status_code == 200


def test_simulator_kill_switch_reset_one_runner_then_all(api, fake):
    one = api.post("/api/simulator/kill-switch/reset", json={"runner_id": "grid_trend:AVAX/USDT:USDT"}, headers=AUTH)
    assert one.status_code == 200
    avax = next(r for r in one.json()["runners"] if r["runner_id"] == "grid_trend:AVAX/USDT:USDT")
    assert avax == {"runner_id": "grid_trend:AVAX/USDT:USDT", "stopped": False, "reason": ""}
    assert one.json()["drawdown_pct"] == pytest.approx(3.2)  # one runner: the global switch is untouched

    everything = api.post("/api/simulator/kill-switch/reset", headers=AUTH)
    assert everything.status_code == 200 and everything.json()["drawdown_pct"] == 0.0
    unknown = api.post("/api/simulator/kill-switch/reset", json={"runner_id": "nope:X"}, headers=AUTH)
    assert unknown.status_code == 404 and "no runner 'nope:X'" in unknown.json()["detail"]


def test_executor_kill_switch_reset(api, fake):
    fake.executor_kill_switch = True
    r = api.post("/api/executor/kill-switch/reset", headers=AUTH)
    assert r.status_code == 200 and r.json()["kill_switch_active"] is False and fake.executor_kill_switch is False


def test_backfill_is_accepted_and_queued(api, fake):
    r = api.post("/api/data/backfill", json={"symbols": ["BTC/USDT:USDT", "ETH/USDT:USDT"], "timeframe": "1h",
                                             "start_ms": 1_717_000_000_000, "end_ms": 1_717_200_000_000}, headers=AUTH)
    assert r.status_code == 202
    assert r.json()["status"] == "queued" and r.json()["symbols"] == ["BTC/USDT:USDT", "ETH/USDT:USDT"]
    assert [b.request_id for b in fake.backfills] == [r.json()["request_id"]]


def test_sweep_launch_cancel_and_conflict(api, fake):
    first = api.post("/api/wfo/jobs", json={"strategy": "grid_atr", "symbols": ["BTC/USDT:USDT", "ETH/USDT:USDT"],
                                            "job_id": "wfo-mine"}, headers=AUTH)
    again = api.post("/api/wfo/jobs", json={"strategy": "grid_atr", "symbols": ["BTC/USDT:USDT"], "job_id": "wfo-mine"},
                     headers=AUTH)
    second = api.post("/api/wfo/jobs", json={"strategy": "envelope_dca", "symbols": ["BTC/USDT:USDT"]}, headers=AUTH)
    cancelled = api.post("/api/wfo/jobs/wfo-mine/cancel", headers=AUTH)

    assert first.status_code == 202 and first.json()["status"] == "running" and first.json()["source"] == "api"
    assert again.status_code == 409 and again.json()["detail"] == "job 'wfo-mine' is already running"
    assert second.json()["status"] == "queued"  # one sweep at a time
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert api.post("/api/wfo/jobs/nope/cancel", headers=AUTH).status_code == 404


def test_apply_a_finished_job_and_refuse_an_unfinished_one(api, fake):
    job = api.post("/api/wfo/jobs", json={"strategy": "grid_atr", "symbols": ["BTC/USDT:USDT", "ETH/USDT:USDT",
                                                                          "SOL/USDT:USDT"]}, headers=AUTH).json()
    early = api.post(f"/api/wfo/jobs/{job['job_id']}/apply", headers=AUTH)
    while fake.jobs[job["job_id"]].status != "done":
        fake.step()
    applied = api.post(f"/api/wfo/jobs/{job['job_id']}/apply", json={"grades": ["A", "B"], "dry_run": True},
                       headers=AUTH)

    assert early.status_code == 409 and "only a finished job" in early.json()["detail"]
    assert applied.status_code == 200 and applied.json()["dry_run"] is True
    assert [(a["symbol"], a["grade"]) for a in applied.json()["applied"]] == [("BTC/USDT:USDT", "A"),
                                                                               ("ETH/USDT:USDT", "B")]


def test_portfolio_launch_progresses_to_done(api, fake):
    run = api.post("/api/portfolio/runs", json={"strategies": ["grid_atr", "envelope_dca"], "name": "two",
                                                "symbols": ["BTC/USDT:USDT"], "capital": 5000}, headers=AUTH)
    assert run.status_code == 202 and run.json()["status"] == "running" and run.json()["progress"] == 0.0
    for _ in range(4):
        fake.step()
    assert api.get(f"/api/portfolio/runs/{run.json()['run_id']}").json()["status"] == "done"


# -- 422: bad bodies -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("url, body, expected", [
    ("/api/wfo/jobs", {"strategy": "grid_atx", "symbols": ["BTC/USDT:USDT"]},
     r"^body\.strategy: Input should be 'bollinger_mr', .*'grid_atr', .* or 'vwap_rsi'$"),
    ("/api/wfo/jobs", {"strategy": "grid_atr"}, r"^body\.symbols: Field required$"),
    ("/api/wfo/jobs", {"strategy": "grid_atr", "symbols": []}, r"^body\.symbols: List should have at least 1 item"),
    ("/api/wfo/jobs", {"strategy": "grid_atr", "symbols": ["btc"]}, r"^body\.symbols\.0: String should match pattern"),
    ("/api/wfo/jobs", {"strategy": "grid_atr", "symbols": ["BTC/USDT:USDT", "BTC/USDT:USDT"]},
     r"^body\.symbols: symbols must not repeat$"),
    ("/api/wfo/jobs", {"strategy": "grid_atr", "symbols": ["BTC/USDT:USDT"], "start_ms": 5, "end_ms": 5},
     r"^body: start_ms \(5\) must be before end_ms \(5\)$"),
    ("/api/wfo/jobs", {"strategy": "grid_atr", "symbols": ["BTC/USDT:USDT"], "is_days": 0},
     r"^body\.is_days: Input should be greater than 0$"),
    ("/api/wfo/jobs", {"strategy": "grid_atr", "symbols": ["BTC/USDT:USDT"], "windows": 3},
     r"^body\.windows: Extra inputs are not permitted$"),
    ("/api/wfo/jobs", {"strategy": "liquidation", "symbols": ["BTC/USDT:USDT"]},
     r"^body\.strategy: 'liquidation' has no grid in param_grids\.yaml"),
    ("/api/data/backfill", {"symbols": ["BTC/USDT:USDT"], "timeframe": "7m", "start_ms": 0},
     r"^body\.timeframe: Input should be '1m', '5m', .* or '1d'$"),
    ("/api/data/backfill", {"symbols": ["BTC/USDT:USDT"], "start_ms": -1}, r"^body\.start_ms: Input should be greater"),
    ("/api/portfolio/runs", {"strategies": ["grid_atr"], "symbols": ["BTC/USDT:USDT"], "capital": -5},
     r"^body\.capital: Input should be greater than 0$"),
    ("/api/wfo/jobs/wfo-x/apply", {"grades": ["Z"]}, r"^body\.grades\.0: Input should be 'A', 'B', 'C', 'D' or 'F'$"),
    ("/api/simulator/kill-switch/reset", {"runner_id": ""}, r"^body\.runner_id: String should have at least 1"),
])
def test_bad_bodies_are_422_naming_the_field_and_reason(api, fake, url, body, expected):
    r = api.post(url, json=body, headers=AUTH)

    assert r.status_code == 422
    assert re.search(expected, r.json()["detail"]), r.json()["detail"]
    assert r.json()["errors"][0]["loc"][0] == "body"
    assert fake.jobs == {} and fake.backfills == [] and fake.portfolio == {}


def test_a_body_that_is_not_json_is_a_422(api):
    r = api.post("/api/wfo/jobs", content=b"{strategy: grid_atr", headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code == 422 and "JSON decode error" in r.json()["detail"]
