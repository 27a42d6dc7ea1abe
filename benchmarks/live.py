"""Live (paper) actor system under replay load; prints ONE JSON object.

Usage: python benchmarks/live.py [--per-strategy 2] [--candles 4000] [--rate 150] [--latency-rate 10]

Real data: the BTC 1h reference series, one slice per symbol (evenly spaced offsets, re-stamped onto one
timeline), served by the Bitget emulator as swap symbols, replayed through unmodified ccxt.pro -> DataFeed ->
6 StrategyRunner actors (6 strategies, each on its own `--per-strategy` symbols) -> StateStore journal / paper
Executor. Disjoint symbol sets because live sizing is the portfolio's: every runner gets C0 / n_runners of
capital but a fixed allocation of min(C0 / n_assets, 25% C0) per entry step, so with several strategies on the
same symbols no grid level fits in a runner's capital and nothing would trade. Two boots of the system:

1. latency run (`--latency-rate` candles/s per symbol, well under capacity): latency_p50_ms / latency_p99_ms =
   wall time from the DataFeed detecting a closed candle (its `_queue`) to the last subscribed runner's
   `on_candles` call returning, as the production feed records it (`DataFeed.latency_samples`). A runner
   returns only after the executor's `on_events` for that candle's trade events returned (the fill applied
   and executor_state.json written), so this is an upper bound of "candle -> decision recorded by the
   executor"; decision_latency_* restricts it to candles that produced at least one trade event.
2. throughput + memory run (`--rate` candles/s per symbol offered, more than the system takes):
   throughput_candles_per_s = closed candles the feed published to the 6 runner actors (each candle to its
   strategy's actor, the call returned) per wall second between 10% and 100% of the replay;
   rss_*: summed RSS (psutil) of every actor process of the system (state store, executor, feed, runners,
   watchdog) after warm-up (10% of the candles), at 25/50/75%, and after the whole replay has drained;
   rss_growth_mb = end - warm-up, rss_growth_second_half_mb = end - 50%.
"""
from __future__ import annotations

import argparse
import dataclasses
from array import array
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import ray
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import psutil  # noqa: E402  (vendored by ray[default], importable once ray is imported)

import actors.live_system as live_system  # noqa: E402
from radar.config import load_config  # noqa: E402
from radar.exchange.emulator import BitgetEmulator, Clock, EmulatorThread, MarketData, load_csv_candles  # noqa: E402
from radar.models import CandleArrays  # noqa: E402

DATA = REPO_ROOT.parent / "shared" / "data" / "BTC-USD_1h_bitfinex.csv"
BASES = ["BTC", "ETH", "SOL", "XRP", "DOGE", "LINK", "AVAX", "ADA", "BNB", "DOT", "LTC", "TRX", "XLM", "ETC",
         "ATOM", "NEAR", "FIL", "APT"]
STRATEGIES = ["grid_atr", "grid_trend", "envelope_dca", "bollinger_mr", "donchian_breakout", "supertrend"]
H = 3_600_000


def series(n: int, n_symbols: int) -> dict[str, CandleArrays]:
    """Slice k of the real BTC 1h series for symbol k, all re-stamped onto the timeline of slice 0."""
    btc = load_csv_candles(DATA)
    if n > len(btc):
        raise SystemExit(f"--candles {n}: the BTC series has only {len(btc)} candles")
    step = (len(btc) - n) // max(1, n_symbols - 1)
    ts = btc.timestamp[:n].copy()
    out = {}
    for k, base in enumerate(BASES[:n_symbols]):
        s = btc.slice(k * step, k * step + n)
        out[base] = CandleArrays(ts, s.open.copy(), s.high.copy(), s.low.copy(), s.close.copy(), s.volume.copy())
    return out


def make_config(root: Path, symbols: list[str], per_strategy: int) -> Any:
    cfg = root / "config"
    shutil.copytree(REPO_ROOT / "config", cfg)
    assets = yaml.safe_load((cfg / "assets.yaml").read_text())
    for sym in symbols:
        assets.setdefault(sym, {"timeframes": ["1h"], "correlation_group": "bench", "min_order_size": 0.001,
                                "tick_size": 0.1, "max_leverage": 50})
    (cfg / "assets.yaml").write_text(yaml.safe_dump(assets, sort_keys=False))
    doc = yaml.safe_load((cfg / "strategies.yaml").read_text())
    for name, entry in doc.items():
        entry["enabled"] = name in STRATEGIES
        if name in STRATEGIES:
            i = STRATEGIES.index(name)
            entry["symbols"] = symbols[i * per_strategy:(i + 1) * per_strategy]
            entry["per_asset"] = {}
    (cfg / "strategies.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return load_config(cfg)


def actor_pids(system: Any) -> dict[str, int]:
    handles = {"state_store": system.state_store, "executor": system.executor, "feed": system.feed,
               **{f"runner:{k}": h for k, h in system.runners.items()}, "watchdog": system.watchdog}
    pids = ray.get([h.__ray_call__.remote(lambda self: os.getpid()) for h in handles.values()])
    return dict(zip(handles, pids))


def rss_by_actor(pids: dict[str, int]) -> dict[str, float]:
    return {name: psutil.Process(p).memory_info().rss / 1024 / 1024 for name, p in pids.items()}


def rss_mb(pids: dict[str, int]) -> float:
    return sum(rss_by_actor(pids).values())


def wait_subscribed(emulator: BitgetEmulator, n: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while len(set(emulator.ws.channels())) < n:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(emulator.ws.channels())} of {n} streams subscribed after {timeout_s} s")
        time.sleep(0.02)


def replay(cfg: Any, data: dict[str, CandleArrays], speed: float, workdir: Path, *,
           warm_fraction: float = 0.1, stall_s: float = 15.0) -> dict[str, Any]:
    """Boot the system on the emulator, replay everything but each series' last candle, measure, shut down."""
    symbols = list(data)
    market = MarketData()
    for base, arr in data.items():
        market.add(f"{base}USDT", "1h", arr)
    start = int(next(iter(data.values())).timestamp[0])
    total = sum(len(a) - 1 for a in data.values())
    # Run the emulator clock from before boot, far before the data (the feed syncs to a running clock), then jump
    # to the first close once every stream is subscribed: nothing is missed, and the feed's clock lags, never leads.
    clock = Clock.replay(start - 100_000 * H, speed, running=True)
    emulator = BitgetEmulator(market, clock)
    wd = Path(tempfile.mkdtemp(dir=workdir))
    opts = live_system.LiveOptions(str(wd / "data"), f"sqlite:///{wd / 'radar.db'}", speed=speed, flush_every_s=5.0)
    out: dict[str, Any] = {}
    with EmulatorThread(emulator) as url:
        t_boot = time.perf_counter()
        system = live_system.LiveSystem(cfg, dataclasses.replace(opts, exchange_url=url)).boot()
        out["boot_s"] = time.perf_counter() - t_boot
        try:
            pids = actor_pids(system)
            wait_subscribed(emulator, len(symbols))
            if clock.now_ms() >= start:
                raise SystemExit("boot outlasted the pre-roll: the replay would have skipped candles")
            clock.set(start + H)
            trace: list[tuple[float, int]] = []
            rss_warm = None
            rss_marks: dict[str, float] = {}
            last_progress = time.perf_counter()
            while True:
                time.sleep(0.2)
                n = ray.get(system.feed.published_count.remote())
                now = time.perf_counter()
                if not trace or n > trace[-1][1]:
                    last_progress = now
                trace.append((now, n))
                if rss_warm is None and n >= warm_fraction * total:
                    warm_by_actor = rss_by_actor(pids)
                    rss_warm = sum(warm_by_actor.values())
                    out["rss_by_actor_warm"] = warm_by_actor
                    out["rss_warm_candles"] = n
                for q in (0.25, 0.5, 0.75):
                    if f"{q:.2f}" not in rss_marks and n >= q * total:
                        by_actor = rss_by_actor(pids)
                        rss_marks[f"{q:.2f}"] = sum(by_actor.values())
                        out[f"rss_by_actor_{q:.2f}"] = by_actor
                if n >= total or now - last_progress > stall_s:
                    break
            ray.get(system.feed.drain.remote(30.0))
            out["published"] = trace[-1][1]
            out["expected"] = total
            out["trace"] = trace
            out["rss_warm_mb"] = rss_warm
            out["rss_end_mb"] = rss_mb(pids)
            out["rss_marks"] = rss_marks
            out["rss_by_actor_end"] = {k: round(v, 1) for k, v in rss_by_actor(pids).items()}
            # after the RSS reading: materialising the samples in the feed costs it ~100 bytes each
            out["samples"] = ray.get(system.feed.latency_samples.remote())
            st = [ray.get(r.status.remote()) for r in system.runners.values()]
            out["runner_candles"] = sum(s["candles"] for s in st)
            out["runner_events"] = sum(s["events"] for s in st)
            out["runner_actors"] = len(system.runners)
            out["trades"] = ray.get(system.state_store.trade_count.remote())
        finally:
            system.shutdown()
    return out


def pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-strategy", type=int, default=2, help="symbols per strategy (disjoint sets)")
    ap.add_argument("--candles", type=int, default=4000, help="per symbol, throughput/memory run")
    ap.add_argument("--rate", type=float, default=250.0, help="candles/s per symbol offered in the throughput run")
    ap.add_argument("--latency-candles", type=int, default=150, help="per symbol, latency run")
    ap.add_argument("--latency-rate", type=float, default=10.0, help="candles/s per symbol in the latency run")
    args = ap.parse_args(argv)
    n_symbols = args.per_strategy * len(STRATEGIES)
    if not 1 <= n_symbols <= len(BASES):
        raise SystemExit(f"--per-strategy must be 1..{len(BASES) // len(STRATEGIES)}")

    workdir = Path(tempfile.mkdtemp(prefix="radar-bench-live-"))
    ray.init("local", num_cpus=2, include_dashboard=False, object_store_memory=150 * 1024 * 1024,
             log_to_driver=False, namespace=live_system.NAMESPACE)
    try:
        symbols = [f"{b}/USDT:USDT" for b in BASES[:n_symbols]]
        cfg = make_config(workdir, symbols, args.per_strategy)
        lat = replay(cfg, series(args.latency_candles, n_symbols), args.latency_rate * 3600, workdir)
        thr = replay(cfg, series(args.candles, n_symbols), args.rate * 3600, workdir)
    finally:
        ray.shutdown()
        shutil.rmtree(workdir, ignore_errors=True)

    lat_all = [ms for ms, _ in lat["samples"]]
    lat_dec = [ms for ms, ev in lat["samples"] if ev > 0]
    trace = thr["trace"]
    i0 = next(i for i, (_, n) in enumerate(trace) if n >= 0.1 * thr["expected"])
    i1 = next((i for i, (_, n) in enumerate(trace) if n >= thr["published"]), len(trace) - 1)
    dt = trace[i1][0] - trace[i0][0]
    throughput = (trace[i1][1] - trace[i0][1]) / dt if dt > 0 else None
    result = {
        "benchmark": "live_paper_system",
        "runner_actors": thr["runner_actors"],
        "strategies": STRATEGIES,
        "symbols": n_symbols,
        "latency_p50_ms": pct(lat_all, 50),
        "latency_p99_ms": pct(lat_all, 99),
        "latency_samples": len(lat_all),
        "latency_offered_candles_per_s": args.latency_rate * n_symbols,
        "decision_latency_p50_ms": pct(lat_dec, 50),
        "decision_latency_p99_ms": pct(lat_dec, 99),
        "decision_samples": len(lat_dec),
        "throughput_candles_per_s": throughput,
        "throughput_offered_candles_per_s": args.rate * n_symbols,
        "throughput_candles": thr["published"],
        "throughput_expected_candles": thr["expected"],
        "loaded_latency_p50_ms": pct([ms for ms, _ in thr["samples"]], 50),
        "loaded_latency_p99_ms": pct([ms for ms, _ in thr["samples"]], 99),
        "trade_events": thr["runner_events"],
        "journal_trades": thr["trades"],
        "rss_after_warmup_mb": thr["rss_warm_mb"],
        "rss_after_replay_mb": thr["rss_end_mb"],
        "rss_growth_mb": None if thr["rss_warm_mb"] is None else thr["rss_end_mb"] - thr["rss_warm_mb"],
        "rss_growth_second_half_mb": thr["rss_end_mb"] - thr["rss_marks"]["0.50"] if "0.50" in thr["rss_marks"] else None,
        "rss_at_replay_fraction_mb": {"0.10": thr["rss_warm_mb"], **thr["rss_marks"], "1.00": thr["rss_end_mb"]},
        "rss_growth_by_actor_mb": {k: round(v - thr["rss_by_actor_warm"][k], 1) for k, v in thr["rss_by_actor_end"].items()},
        "rss_by_actor_at_replay_fraction_mb": {
            q: {k: round(v, 1) for k, v in thr[f"rss_by_actor_{q}"].items() if not k.startswith("runner:")}
            for q in ("0.25", "0.50", "0.75") if f"rss_by_actor_{q}" in thr},
        "rss_by_actor_end_mb": thr["rss_by_actor_end"],
        "rss_processes": len(thr["rss_by_actor_end"]),
        "boot_s": thr["boot_s"],
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
