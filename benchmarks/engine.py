"""Fast grid_atr engine throughput on one core vs the event-driven runner; prints ONE JSON object.

Usage: python benchmarks/engine.py [--data FILE] [--combos N] [--runner-combos K]

- candle_steps_per_s: candles x combos / wall seconds for a batch of the default grid (config/param_grids.yaml)
  with the SPEC safety limits (kill switch, 80% drawdown stop) — what the WFO runs. Many combos stop early at the
  kill switch, so this counts candles a stopped combo never simulates; hence also:
- full_length_candle_steps_per_s: the same combos at leverage 2 with the stops disabled: every combo simulates
  every candle and none runs out of capital (a broke combo only idles, which would flatter the figure);
- runner_candle_steps_per_s: GridStrategyRunner on `--runner-combos` of those full-length combos;
  speedup_vs_runner compares the two full-length figures;
- jit_compile_s: first call in a fresh process with an empty numba cache (NUMBA_CACHE_DIR=tmp);
  jit_cached_second_process_s: first call in a second process reusing that cache (must not recompile);
- peak_rss_mb: this process's peak RSS after the batches (before the runner part).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "BTC-USD_1h_bitfinex.csv"
FULL_LENGTH = {"kill_switch_loss_pct": 1e12, "hard_drawdown_pct": None}  # threshold far below any capital
FULL_LENGTH_LEVERAGE = 2

_FIRST_CALL = textwrap.dedent("""
    import json, sys, time
    t0 = time.perf_counter()
    from radar.backtest.fast import IndicatorCache, params_array, run_grid_atr_batch
    from radar.data.csv_io import read_candle_csv
    arr, _ = read_candle_csv(sys.argv[1])
    arr = arr.slice(0, 500)
    params = params_array([{}, {"sides": ["short"]}])
    cache = IndicatorCache.for_params(arr, params)
    t1 = time.perf_counter()
    run_grid_atr_batch(cache, params)
    t2 = time.perf_counter()
    print(json.dumps({"setup_s": t1 - t0, "first_call_s": t2 - t1}))
""")


def _first_call(data: Path, cache_dir: str) -> dict[str, float]:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, NUMBA_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", _FIRST_CALL, str(data)], env=env, cwd=REPO_ROOT,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="candle CSV (1h)")
    parser.add_argument("--combos", type=int, default=0, help="combos of the default grid (0 = all)")
    parser.add_argument("--runner-combos", type=int, default=3, help="combos timed through the event-driven runner")
    args = parser.parse_args(argv)

    import numba
    import numpy as np

    numba.set_num_threads(1)
    from radar.backtest.fast import BATCH_COLUMNS, PARAM_COLUMNS, IndicatorCache, params_array, run_grid_atr_batch
    from radar.config import load_one
    from radar.data.csv_io import read_candle_csv
    from radar.runners import RunnerConfig, make_runner
    from radar.strategies.registry import create_strategy

    with tempfile.TemporaryDirectory() as numba_cache:
        compile_run = _first_call(args.data, numba_cache)
        cached_run = _first_call(args.data, numba_cache)

    arrays, _ = read_candle_csv(args.data)
    n = len(arrays)
    grid = load_one("param_grids", REPO_ROOT / "config" / "param_grids.yaml")["grid_atr"]
    combos = list(grid.combos())
    if args.combos:
        combos = combos[: args.combos]
    params = params_array(combos)
    t0 = time.perf_counter()
    cache = IndicatorCache.for_params(arrays, params)
    cache_s = time.perf_counter() - t0

    run_grid_atr_batch(cache, params[:2])  # JIT (or cache load) outside the timings
    t0 = time.perf_counter()
    rows = run_grid_atr_batch(cache, params)
    batch_s = time.perf_counter() - t0
    full_params = params.copy()
    full_params[:, PARAM_COLUMNS.index("leverage")] = FULL_LENGTH_LEVERAGE
    t0 = time.perf_counter()
    full_rows = run_grid_atr_batch(cache, full_params, **FULL_LENGTH)
    full_s = time.perf_counter() - t0
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    candles = arrays.candles("BTC/USDT:USDT", "1h")
    picks = np.linspace(0, len(combos) - 1, max(1, args.runner_combos)).astype(int)
    runner_steps = 0
    t0 = time.perf_counter()
    for k in picks:
        runner = make_runner(create_strategy("grid_atr", {**combos[k], "leverage": FULL_LENGTH_LEVERAGE}),
                             RunnerConfig("bench", "BTC/USDT:USDT", **FULL_LENGTH))
        runner.run(candles)
        runner_steps += runner.index + 1
    runner_s = time.perf_counter() - t0

    stops = rows[:, BATCH_COLUMNS.index("stop_code")]
    steps = n * len(combos)
    full_rate = steps / full_s
    runner_rate = runner_steps / runner_s
    print(json.dumps({
        "strategy": "grid_atr",
        "data": args.data.name,
        "candles": n,
        "combos": len(combos),
        "threads": numba.get_num_threads(),
        "candle_steps_per_s": round(steps / batch_s),
        "batch_wall_s": round(batch_s, 4),
        "combos_stopped_early": int((stops != 0).sum()),
        "full_length_candle_steps_per_s": round(full_rate),
        "full_length_wall_s": round(full_s, 4),
        "full_length_leverage": FULL_LENGTH_LEVERAGE,
        "full_length_trades": int(full_rows[:, BATCH_COLUMNS.index("n_trades")].sum()),
        "full_length_combos_broke": int((full_rows[:, BATCH_COLUMNS.index("final_capital")] <= 0).sum()),
        "indicator_cache_s": round(cache_s, 4),
        "runner_candle_steps_per_s": round(runner_rate),
        "runner_combos": len(picks),
        "speedup_vs_runner": round(full_rate / runner_rate, 1),
        "jit_compile_s": round(compile_run["first_call_s"], 3),
        "jit_cached_second_process_s": round(cached_run["first_call_s"], 3),
        "peak_rss_mb": round(peak_rss_mb, 1),
        "target_candle_steps_per_s": 25_000_000,
        "python": platform.python_version(),
        "numba": numba.__version__,
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
