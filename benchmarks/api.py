"""REST + /ws/live under load on loopback; prints ONE JSON object.

Usage: python benchmarks/api.py [--duration 30] [--rate 200] [--ws-clients 100] [--ws-interval 3]

Server: uvicorn (one process, the production app from `api.app.create_app`) in a subprocess on 127.0.0.1 and
a random free port, over `FakeSystemClient` (simulating a step every second: prices move, trades and progress
events flow) and a SQLite database of real history (api/demo_db.py: production runners trading real BTC 1h
candles, journaled by TradeJournal). The load generator (aiohttp) runs in this process, so the two share the
machine's cores.

Load, all at once for `--duration` seconds:
- open-loop requests at `--rate` per second (request i is sent at t0 + i / rate whether or not earlier ones
  returned), alternating GET /api/simulator/status (system client) and GET /api/simulator/trades (database:
  pages of 50, every 4th filtered by runner). Latency = response complete - scheduled send time, so a stall
  of the server or the client counts in full (no coordinated omission). p50_ms / p99_ms are over both.
- before all of it, 60 unmeasured warm-up requests (the server opens its database on first use).
- a baseline probe: GET /health at `--health-rate` per second on its own schedule in the same run (same
  server, same load); `p99_ratio_vs_health` = p99 of status+trades / p99 of /health.
- `--ws-clients` /ws/live clients, connected before the load starts, recording every `update` they get.
  `ws_clients_all_received`: clients that received every update the server sent while all were connected
  (the union of update timestamps any client saw in that window).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
DATA = REPO_ROOT.parent / "shared" / "data" / "BTC-USD_1h_bitfinex.csv"


# -- server side (subprocess) ---------------------------------------------------------------------------------
def serve(args: argparse.Namespace) -> None:
    import logging

    import uvicorn

    from api.app import create_app
    from api.fake_client import FakeSystemClient
    from api.settings import ApiSettings

    logging.getLogger("radar.api.ws").setLevel(logging.WARNING)
    settings = ApiSettings(database_url=args.db, ws_update_interval_s=args.ws_interval, ws_queue_size=8,
                           ws_send_timeout_s=5.0, dashboard_dir=Path("/nonexistent"))
    app = create_app(FakeSystemClient(seed=11, simulate_every_s=1.0), settings)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False, ws="websockets-sansio")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- load side ------------------------------------------------------------------------------------------------
def pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(q * len(xs)))], 3)


async def ws_client(session: Any, url: str, seen: list[int], stop: asyncio.Event, ready: asyncio.Event,
                    counters: dict[str, int]) -> None:
    async with session.ws_connect(url, heartbeat=None, max_msg_size=0) as ws:
        while not stop.is_set():
            try:
                msg = await asyncio.wait_for(ws.receive(), 0.5)
            except asyncio.TimeoutError:
                continue
            if msg.type.name != "TEXT":
                counters["closed"] += 1
                return
            data = json.loads(msg.data)
            if data["type"] == "update":
                seen.append(int(data["timestamp"]))
                ready.set()
            else:
                counters["events"] += 1


async def run_load(args: argparse.Namespace, base: str, trades_total: int, runners: list[str],
                   server_pid: int) -> dict[str, Any]:
    import aiohttp
    import psutil

    server = psutil.Process(server_pid)

    connector = aiohttp.TCPConnector(limit=256, ttl_dns_cache=300)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        # Warm-up, not measured: the server opens its database and its thread pool on first use.
        for path in ("/health", "/api/simulator/status", "/api/simulator/trades?limit=50") * 20:
            async with session.get(base + path) as r:
                await r.read()
        stop = asyncio.Event()
        counters = {"events": 0, "closed": 0}
        seen: list[list[int]] = [[] for _ in range(args.ws_clients)]
        readies = [asyncio.Event() for _ in range(args.ws_clients)]
        ws_url = base.replace("http", "ws") + "/ws/live"
        ws_tasks = [asyncio.create_task(ws_client(session, ws_url, seen[k], stop, readies[k], counters))
                    for k in range(args.ws_clients)]
        if readies:
            await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 60)
        window_start = time.time() * 1000

        lat: dict[str, list[float]] = {"status": [], "trades": [], "health": []}
        errors: dict[str, int] = {"status": 0, "trades": 0, "health": 0}

        async def one(kind: str, path: str, scheduled: float) -> None:
            try:
                async with session.get(base + path) as r:
                    await r.read()
                    ok = r.status == 200
            except Exception:
                ok = False
            if ok:
                lat[kind].append((time.perf_counter() - scheduled) * 1000)
            else:
                errors[kind] += 1

        def request(i: int) -> tuple[str, str]:
            if i % 2 == 0:
                return "status", "/api/simulator/status"
            page = (i // 2) % max(1, trades_total // 50)
            if i % 8 == 1:
                return "trades", f"/api/simulator/trades?runner_id={runners[(i // 8) % len(runners)]}&limit=50"
            return "trades", f"/api/simulator/trades?limit=50&offset={page * 50}"

        async def schedule(n: int, rate: float, make: Any) -> list[asyncio.Task]:
            tasks = []
            t0 = time.perf_counter()
            for i in range(n):
                at = t0 + i / rate
                delay = at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                kind, path = make(i)
                tasks.append(asyncio.create_task(one(kind, path, at)))
            return tasks

        load_before = os.getloadavg()[0]
        cpu_before = sum(server.cpu_times()[:2])
        t_start = time.perf_counter()
        main, probe = await asyncio.gather(
            schedule(int(args.duration * args.rate), args.rate, request),
            schedule(int(args.duration * args.health_rate), args.health_rate, lambda i: ("health", "/health")))
        sent_s = time.perf_counter() - t_start
        await asyncio.wait_for(asyncio.gather(*main, *probe), 60)
        server_cpu_s = sum(server.cpu_times()[:2]) - cpu_before
        wall_s = time.perf_counter() - t_start
        window_end = time.time() * 1000 - args.ws_interval * 1000  # the last tick may still be in flight
        stop.set()
        await asyncio.gather(*ws_tasks, return_exceptions=True)

    union = {t for s in seen for t in s if window_start < t <= window_end}
    all_received = sum(1 for s in seen if union <= set(s))
    both = lat["status"] + lat["trades"]
    requests = len(both) + errors["status"] + errors["trades"]
    out = {
        "p50_ms": pct(both, 0.50), "p99_ms": pct(both, 0.99), "requests": requests,
        "errors": errors["status"] + errors["trades"], "rate_rps": args.rate,
        "achieved_rps": round(requests / sent_s, 1), "duration_s": args.duration,
        "ws_clients": args.ws_clients, "ws_clients_all_received": all_received,
        "ws_updates_in_window": len(union), "ws_updates_per_client_min": min((len(s) for s in seen), default=0),
        "ws_updates_per_client_max": max((len(s) for s in seen), default=0), "ws_events_received": counters["events"],
        "ws_clients_closed_by_server": counters["closed"], "ws_interval_s": args.ws_interval,
        "endpoints": {k: {"p50_ms": pct(v, 0.5), "p99_ms": pct(v, 0.99), "max_ms": pct(v, 1.0), "n": len(v),
                          "errors": errors[k]} for k, v in lat.items()},
        "health_p50_ms": pct(lat["health"], 0.5), "health_p99_ms": pct(lat["health"], 0.99),
        # the server's own CPU (user+sys) over the load phase: what it costs, whatever else runs on the machine
        "server_cpu_pct_of_one_core": round(100 * server_cpu_s / wall_s, 1),
        "server_cpu_ms_per_request": round(1000 * server_cpu_s / max(1, requests + len(lat["health"])), 3),
        "loadavg_1m_before": round(load_before, 2), "loadavg_1m_after": round(os.getloadavg()[0], 2),
    }
    if out["health_p99_ms"]:
        out["p99_ratio_vs_health"] = round(out["p99_ms"] / out["health_p99_ms"], 2)
        out["p50_ratio_vs_health"] = round(out["p50_ms"] / out["health_p50_ms"], 2)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    p.add_argument("--rate", type=float, default=200.0, help="status+trades requests per second")
    p.add_argument("--health-rate", type=float, default=10.0, help="/health baseline probes per second")
    p.add_argument("--ws-clients", type=int, default=100)
    p.add_argument("--ws-interval", type=float, default=3.0, help="seconds between /ws/live updates")
    p.add_argument("--candles", type=int, default=4000, help="hourly candles per symbol behind the trade history")
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--db", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        serve(args)
        return

    from api.demo_db import seed_demo_db

    with tempfile.TemporaryDirectory(prefix="radar-api-bench-") as tmp:
        t = time.perf_counter()
        demo = seed_demo_db(f"sqlite:///{Path(tmp) / 'radar.db'}", DATA, candles=args.candles,
                            symbols=("BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT", "XRP/USDT:USDT"))
        seed_s = time.perf_counter() - t
        port = free_port()
        server = subprocess.Popen([sys.executable, __file__, "--serve", "--db", demo.url, "--port", str(port),
                                   "--ws-interval", str(args.ws_interval)], cwd=REPO_ROOT,
                                  env={**os.environ, "PYTHONWARNINGS": "ignore"})
        base = f"http://127.0.0.1:{port}"
        try:
            import urllib.request

            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(base + "/health", timeout=1).read()
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit("the API server did not start")
                    time.sleep(0.2)
            result = asyncio.run(run_load(args, base, demo.trades, list(demo.runner_ids), server.pid))
        finally:
            server.terminate()
            server.wait(timeout=10)
    result.update({"db_trades": demo.trades, "db_seed_s": round(seed_s, 2), "server": "uvicorn, 1 process",
                   "cpus": os.cpu_count(), "python": platform.python_version()})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
