"""WFO sweep benchmark: the full grid_atr grid x every IS and OOS window of a candle file.

Prints ONE JSON object. `wall_s` is what a user waits for `radar wfo --executor ray` on a fresh local
Ray: Ray start-up + planning + the sweep (windows prepared and batches evaluated on 2 workers) +
aggregation, robustness, grading and the database writes. The same sweep then runs on 1 Ray worker
(`speedup_2_vs_1`: the fan-out part,
windows prepared + batches evaluated, which is what workers parallelise; the whole-sweep ratio includes
the driver's serial aggregation/robustness/DB work), on a plain multiprocessing pool of 2 (`multiprocessing_wall_s`, pool start-up
included) and serially in this process, all in the same run and all checked to give the same winner.

    .venv/bin/python benchmarks/wfo.py [--data FILE] [--strategy grid_atr]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DEFAULT_DATA = REPO.parent / "shared" / "data" / "BTC-USD_1h_bitfinex.csv"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--strategy", default="grid_atr")
    ap.add_argument("--symbol", default="BTC/USDT:USDT")
    args = ap.parse_args()

    t_start = time.perf_counter()
    import numpy as np
    import ray

    from actors.sweep import RayExecutor
    from radar.config import load_config
    from radar.data.csv_io import read_candle_csv
    from radar.data.store import CandleStore
    from radar.optimize.execution import ProcessPoolBatchExecutor, SerialExecutor
    from radar.optimize.job_store import SweepStore
    from radar.optimize.sweep import SweepRequest, plan_sweep, run_sweep

    candles = read_candle_csv(args.data)[0]
    cfg = load_config(REPO / "config")
    tmp = tempfile.mkdtemp(prefix="wfo-bench-")
    store = SweepStore(CandleStore(f"sqlite:///{tmp}/bench.db").engine)

    def plan(job: str, workers: int):
        return plan_sweep(SweepRequest(args.strategy, (args.symbol,), job_id=job), cfg, lambda s, tf: candles,
                          workers=workers)

    # 1. What the user waits for: fresh local Ray (2 CPUs) + sweep + results written.
    t0 = time.perf_counter()
    ray_executor = RayExecutor.connect(workers=2)
    ray_start_s = time.perf_counter() - t0
    p2 = plan("bench-ray2", 2)
    t1 = time.perf_counter()
    r2 = run_sweep(p2, ray_executor, store)
    sweep_2_s = time.perf_counter() - t1
    wall_s = time.perf_counter() - t0
    ray_peak_in_flight = ray_executor.stats.peak_in_flight
    nodes = dict(ray_executor.stats.batches_per_node)

    # 2. The same sweep on one Ray worker (same cluster, warm workers for both: a fair ratio).
    t1 = time.perf_counter()
    r2b = run_sweep(plan("bench-ray2b", 2), RayExecutor(workers=2), store)
    sweep_2_warm_s = time.perf_counter() - t1
    t1 = time.perf_counter()
    r1 = run_sweep(plan("bench-ray1", 1), RayExecutor(workers=1, max_in_flight=1), store)
    sweep_1_s = time.perf_counter() - t1
    ray.shutdown()

    # 3. Baselines in the same run: a multiprocessing pool of 2, and this process alone.
    t1 = time.perf_counter()
    rm = run_sweep(plan("bench-mp", 2), ProcessPoolBatchExecutor(2), store)
    mp_s = time.perf_counter() - t1
    t1 = time.perf_counter()
    rs = run_sweep(plan("bench-serial", 1), SerialExecutor(), store)
    serial_s = time.perf_counter() - t1

    results = [r2, r2b, r1, rm, rs]
    same = all(np.array_equal(r.results[0].aggregate.oos_sharpe, rs.results[0].aggregate.oos_sharpe)
               and r.results[0].best_params == rs.results[0].best_params for r in results)
    combos, windows = r2.combos, r2.windows
    evaluations = combos * windows * 2
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rss_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    best = rs.results[0]
    print(json.dumps({
        "strategy": args.strategy, "data": args.data.name, "candles": len(candles),
        "combos": combos, "windows": windows, "evaluations": evaluations,
        "wall_s": round(wall_s, 3), "ray_start_s": round(ray_start_s, 3), "sweep_2_workers_s": round(sweep_2_s, 3),
        "combo_windows_per_s": round(evaluations / wall_s, 1),
        "combo_windows_per_s_sweep_only": round(evaluations / sweep_2_warm_s, 1),
        "sweep_2_workers_warm_s": round(sweep_2_warm_s, 3), "sweep_1_worker_s": round(sweep_1_s, 3),
        "speedup_2_vs_1": round(r1.eval_s / r2b.eval_s, 3),
        "speedup_2_vs_1_whole_sweep": round(sweep_1_s / sweep_2_warm_s, 3),
        "eval_2_workers_s": round(r2b.eval_s, 3), "eval_1_worker_s": round(r1.eval_s, 3),
        "eval_multiprocessing_s": round(rm.eval_s, 3), "eval_serial_s": round(rs.eval_s, 3),
        "multiprocessing_wall_s": round(mp_s, 3), "serial_wall_s": round(serial_s, 3),
        "ray_vs_multiprocessing": round(mp_s / sweep_2_warm_s, 3),
        "identical_results": bool(same), "peak_in_flight": ray_peak_in_flight, "batches_per_node": nodes,
        "batch_size": p2.batch_size, "grade": best.grade.letter, "best_params": best.best_params,
        "peak_rss_mb": round(rss, 1), "peak_rss_children_mb": round(rss_children, 1),
        "total_benchmark_s": round(time.perf_counter() - t_start, 1),
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, Python {platform.python_version()}, "
                   f"ray {ray.__version__}",
    }, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
