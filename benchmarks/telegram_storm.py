"""Telegram alert storm; prints ONE JSON object.

Usage: python benchmarks/telegram_storm.py [--alerts 1000] [--delay-ms 50] [--candles 3000]

The fake Bot API (tests/telegram/fake_bot_api.py) runs in a subprocess on 127.0.0.1 and answers every call
`--delay-ms` late (a slow Telegram); this process holds only what a trading actor would: the real PTB client
in TelegramNotifier's loop thread, behind CooldownNotifier with the SPEC §9 cooldowns, logging to a file.

1. storm: `--alerts` watchdog-kind alerts (8 kinds, round robin) sent back to back from the main thread, as a
   trading actor would call `send` inline: calls, total_ms, p50_us / p99_us / max_us per call; after a flush,
   messages_sent and per_kind = what the fake server received (at most one per kind per cooldown).
2. runner: a real grid_atr RunnerHost over `--candles` real BTC 1h candles (shared data), timed per candle
   (`on_candle` only), four ways: alone (baseline); log_only = the same alerts spread over the run (one every
   candles/alerts candles) through CooldownNotifier(LogNotifier), i.e. the inline work without Telegram;
   storm = through CooldownNotifier(TelegramNotifier), cooldowns on; unthrottled = cooldown 0, so every alert
   goes to the sender thread, which then works flat out (HTTP, queue-full drops). runner_*_us_per_candle are
   medians of per-candle medians over 6 repetitions (order alternated); slowdown_pct compares to the
   baseline (storm vs log_only isolates the Telegram thread); send_us_p99_in_loop is the inline `send` cost.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from radar.config.models import AlertCooldowns  # noqa: E402
from radar.live.clock import WallClock  # noqa: E402
from radar.live.messages import Alert, CandleMsg  # noqa: E402
from radar.live.notifier import CooldownNotifier, LogNotifier  # noqa: E402
from radar.live.runner_host import build_runner_host  # noqa: E402
from radar.strategies.registry import create_strategy  # noqa: E402
from radar.telegram.notifier import TelegramNotifier  # noqa: E402
from radar.telegram.settings import TelegramSettings  # noqa: E402
from tests.runners.real_data import candles_for  # noqa: E402

TOKEN = "7000000001:AAHbenchTOKEN"
KINDS = ["feed_disconnected", "data_stale", "runner_dead", "all_stopped", "kill_switch", "missing_sl", "disk",
         "runner_kill_switch"]
SYM = "BTC/USDT:USDT"


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def start_server(delay_s: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.telegram.fake_bot_api", TOKEN, str(delay_s)],
                            cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def server_calls(url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{url}/_calls", timeout=10) as r:
        return json.loads(r.read())


def alert(i: int, now_ms: int) -> Alert:
    return Alert(KINDS[i % len(KINDS)], f"anomaly #{i}", now_ms, "critical")


def storm(notifier: TelegramNotifier, n: int) -> dict[str, Any]:
    cooled = CooldownNotifier(notifier, WallClock(), AlertCooldowns())
    clock = WallClock()
    durations = []
    t0 = time.perf_counter()
    for i in range(n):
        s = time.perf_counter_ns()
        cooled.send(alert(i, clock.now_ms()))
        durations.append((time.perf_counter_ns() - s) / 1000)
    total_ms = (time.perf_counter() - t0) * 1000
    return {"calls": n, "total_ms": round(total_ms, 2), "p50_us": round(pct(durations, 0.5), 1),
            "p99_us": round(pct(durations, 0.99), 1), "max_us": round(max(durations), 1),
            "accepted": sum(cooled.sent.values()), "suppressed": sum(cooled.suppressed.values())}


def runner_pass(candles: Any, notifier: Any, alerts: int, cooldown: bool) -> tuple[float, list[float]]:
    """Median microseconds per candle of on_candle; inline send durations (us). `notifier` None: no alerts."""
    host = build_runner_host("grid_atr", [SYM], lambda s: create_strategy("grid_atr", {}), capital=10_000.0)
    cooled = None
    if notifier is not None:
        cooled = CooldownNotifier(notifier, WallClock(), AlertCooldowns() if cooldown else (lambda kind: 0.0))
    every = max(1, len(candles) // max(1, alerts))
    per_candle, sends = [], []
    clock = WallClock()
    for i, c in enumerate(candles):
        s = time.perf_counter_ns()
        host.on_candle(CandleMsg(i + 1, c, 0))
        per_candle.append((time.perf_counter_ns() - s) / 1000)
        if cooled is not None and i % every == 0:
            s = time.perf_counter_ns()
            cooled.send(alert(i, clock.now_ms()))
            sends.append((time.perf_counter_ns() - s) / 1000)
    return statistics.median(per_candle), sends


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--alerts", type=int, default=1000)
    ap.add_argument("--delay-ms", type=float, default=50.0)
    ap.add_argument("--candles", type=int, default=3000)
    args = ap.parse_args()

    log_dir = tempfile.mkdtemp(prefix="tg-storm-")
    handler = logging.FileHandler(os.path.join(log_dir, "radar.log"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    proc, url = start_server(args.delay_ms / 1000)
    try:
        settings = TelegramSettings(bot_token=TOKEN, chat_id=4242, api_url=url, backoff_initial_s=0.05,
                                    backoff_max_s=0.5, max_attempts=3)
        candles = candles_for("1h", args.candles)

        notifier = TelegramNotifier(settings).start()
        notifier.warmed.wait(10)  # started at boot in production, long before a storm
        load_before = os.getloadavg()[0]
        result = storm(notifier, args.alerts)
        flushed = notifier.flush(30)
        calls = [c for c in server_calls(url) if c["method"] == "sendMessage" and c["status"] == 200]
        per_kind: dict[str, int] = {}
        for c in calls:
            for kind, title in (("feed_disconnected", "Feed disconnected"), ("data_stale", "Market data stale"),
                                ("runner_dead", "Runner not responding"), ("all_stopped", "All runners stopped"),
                                ("kill_switch", "Global kill switch"), ("missing_sl", "without stop-loss"),
                                ("disk", "Low disk space"), ("runner_kill_switch", "Runner kill switch")):
                if title in c["text"]:
                    per_kind[kind] = per_kind.get(kind, 0) + 1
        result |= {"flushed": flushed, "messages_sent": len(calls), "per_kind": per_kind,
                   "notifier": notifier.stats() | {"sent_by_kind": None}}

        variants = {"baseline": (None, True), "log_only": (LogNotifier(), True), "storm": (notifier, True),
                    "unthrottled": (notifier, False)}
        runs: dict[str, list[float]] = {k: [] for k in variants}
        sends: dict[str, list[float]] = {k: [] for k in variants}
        runner_pass(candles[:500], None, 0, True)  # warm-up (numba, caches)
        for rep in range(6):
            order = list(variants) if rep % 2 == 0 else list(reversed(variants))  # no variant always runs first
            for name in order:
                target, cooldown = variants[name]
                us, s = runner_pass(candles, target, args.alerts, cooldown)
                runs[name].append(us)
                sends[name] += s
        base = statistics.median(runs["baseline"])
        result["runner"] = {"candles": len(candles), "alerts_per_pass": args.alerts,
                            "baseline_us_per_candle": round(base, 2)}
        for name in ("log_only", "storm", "unthrottled"):
            us = statistics.median(runs[name])
            result["runner"][f"{name}_us_per_candle"] = round(us, 2)
            result["runner"][f"{name}_slowdown_pct"] = round((us / base - 1) * 100, 1)
            result["runner"][f"{name}_send_us_p99_in_loop"] = round(pct(sends[name], 0.99), 1)
        stats = notifier.stats()
        result["notifier_after_runner_passes"] = {k: stats[k] for k in ("sent", "retried", "dropped", "drop_reasons")}
        notifier.close(2)
        result["server_delay_ms"] = args.delay_ms
        result["cpu_count"] = os.cpu_count()
        result["load_avg_1m"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]  # other work on the machine
        print(json.dumps(result))
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
