"""`radar wfo ...`: walk-forward optimisation sweeps (local, multiprocessing or Ray), job status, apply.

The sweep maths and orchestration live in `radar.optimize`; the Ray executor is loaded from
`actors.sweep` only when `--executor ray` (the default) is used, so the domain library stays Ray-free.
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from radar.cli.backtest_cmd import _add_window, _capital, _window
from radar.cli.common import open_store
from radar.errors import DataError, RadarError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("wfo", help="walk-forward optimisation: run a sweep, show a job, apply the winners")
    wsub = p.add_subparsers(dest="wfo_command", metavar="ACTION")
    wsub.required = True

    run = wsub.add_parser("run", help="run a sweep (full grid of param_grids.yaml x every IS/OOS window)")
    run.add_argument("--strategy", required=True, help="a strategy, or several comma-separated (one job each)")
    run.add_argument("--symbols", required=True, help="comma-separated ccxt symbols")
    run.add_argument("--exchange", default="bitget", help="exchange of the stored candles (default bitget)")
    run.add_argument("--csv", type=Path, default=None, help="a candle CSV served as every symbol (no import needed)")
    _add_window(run)
    run.add_argument("--executor", choices=("ray", "process", "serial"), default="ray",
                     help="where batches run: Ray tasks (default), a multiprocessing pool, or this process")
    run.add_argument("--address", default=None,
                     help="Ray cluster: auto | ray://host:10001 (default $RAY_ADDRESS, else a local Ray)")
    run.add_argument("--workers", type=int, default=None, help="local workers (default: all cores)")
    run.add_argument("--job-id", default=None, help="resume (or name) a job: same id + same request = resume")
    run.add_argument("--batch-size", type=int, default=None, help="combos per task (default: sized to ~0.5 s)")
    run.add_argument("--capital", type=float, default=None)
    run.add_argument("--json", action="store_true", help="print the result as one JSON object")
    run.add_argument("--report", type=Path, default=None, help="write an HTML report (grade, windows, heatmap)")
    run.add_argument("--report-json", type=Path, default=None, help="write the full result as a JSON report")
    run.add_argument("--heatmap", default=None, metavar="X,Y",
                     help="the two parameters of the heatmap (default: the two with the most values)")
    run.add_argument("--no-progress", action="store_true")
    run.set_defaults(func=cmd_run)

    st = wsub.add_parser("status", help="a job's status and progress")
    st.add_argument("job_id")
    st.set_defaults(func=cmd_status)

    ap = wsub.add_parser("apply", help="write a job's winning params into strategies.yaml per_asset (A/B only)")
    ap.add_argument("job_id")
    ap.add_argument("--grades", default="A,B", help="grades to apply (default A,B: the live-eligible ones)")
    ap.add_argument("--dry-run", action="store_true")
    ap.set_defaults(func=cmd_apply)

# `radar wfo --strategy ...` (options, no action) is the common form: main() reads it as `wfo run`.
WFO_ACTIONS = ("run", "status", "apply")


def _split(text: str) -> tuple[str, ...]:
    items = tuple(s.strip() for s in text.split(",") if s.strip())
    if not items:
        raise RadarError(f"give at least one name, got {text!r}")
    return items


def _executor(args: argparse.Namespace) -> Any:
    from radar.optimize.execution import ProcessPoolBatchExecutor, SerialExecutor

    if args.executor == "serial":
        return SerialExecutor()
    if args.executor == "process":
        return ProcessPoolBatchExecutor(args.workers or os.cpu_count() or 1)
    import importlib

    sweep = importlib.import_module("actors.sweep")  # Ray is only imported here
    return sweep.RayExecutor.connect(address=args.address, workers=args.workers)


def cmd_run(args: argparse.Namespace) -> int:
    from radar.config import load_config
    from radar.optimize.inputs import StoreInputs, engine_settings
    from radar.optimize.job_store import SweepStore
    from radar.optimize.sweep import SweepRequest, plan_sweep

    cfg = load_config(args.config)
    start, end = _window(args)
    symbols = _split(args.symbols)
    strategies = _split(args.strategy)
    store = open_store()
    inputs = StoreInputs(store, args.exchange, cfg.risk.backtest.default_funding_rate, args.csv)
    axes = _axes(args.heatmap)
    for path in (args.report, args.report_json):
        if path is not None and not path.parent.is_dir():
            raise DataError(f"report {path}: directory {path.parent} does not exist")
    if args.job_id and len(strategies) > 1:
        raise RadarError("--job-id names one sweep: give one --strategy with it")
    settings = engine_settings(cfg.risk, _capital(args.capital, cfg))
    # Every strategy's sweep is validated here, before Ray starts or a task exists.
    plans = [plan_sweep(SweepRequest(name, symbols, job_id=args.job_id, exchange=args.exchange, start_ms=start,
                                     end_ms=end, batch_size=args.batch_size),
                        cfg, inputs.candles, inputs.funding, settings, workers=args.workers or os.cpu_count() or 1)
             for name in strategies]
    executor = _executor(args)
    summaries = []
    for plan in plans:
        result = _run_with_progress(plan, executor, SweepStore(store.engine), not (args.no_progress or args.json))
        if not result.cancelled:
            from radar.optimize import report

            suffix = "" if len(plans) == 1 else f".{plan.request.strategy}"
            if args.report is not None:
                report.write_html(_suffixed(args.report, suffix), result, plan, axes)
            if args.report_json is not None:
                report.write_json(_suffixed(args.report_json, suffix), result, plan, axes)
        summaries.append(_summary(result))
        if not args.json:
            _print(result)
    if args.json:
        print(json.dumps(summaries[0] if len(summaries) == 1 else summaries))
    return 0


def _suffixed(path: Path, suffix: str) -> Path:
    return path if not suffix else path.with_name(f"{path.stem}{suffix}{path.suffix}")


def _axes(text: str | None) -> tuple[str, str] | None:
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) != 2:
        raise RadarError(f"--heatmap: give two parameter names as X,Y, got {text!r}")
    return parts[0], parts[1]


def _run_with_progress(plan: Any, executor: Any, store: Any, show: bool) -> Any:
    from radar.optimize.sweep import run_sweep

    if not show:
        return run_sweep(plan, executor, store)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(TextColumn(f"WFO {plan.request.strategy} [{plan.job_id}]"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("combo-windows"), TimeElapsedColumn(), TimeRemainingColumn()) as bar:
        task = bar.add_task("sweep", total=plan.total_units)
        return run_sweep(plan, executor, store, progress=lambda done, total: bar.update(task, completed=done))


def _summary(result: Any) -> dict[str, Any]:
    out = {"job_id": result.job_id, "strategy": result.strategy, "combos": result.combos, "windows": result.windows,
           "evaluations": result.evaluations, "resumed_windows": result.resumed, "wall_s": round(result.wall_s, 3),
           "cancelled": result.cancelled, "results": []}
    for r in result.results:
        b = r.aggregate.best
        out["results"].append({"symbol": r.symbol, "grade": r.grade.letter, "score": round(r.grade.score, 2),
                               "live_eligible": r.grade.live_eligible, "best_params": r.best_params,
                               "oos_sharpe": b.oos_sharpe, "consistency": b.consistency, "oos_trades": b.oos_trades,
                               "combo_score": b.combo_score, "robustness": r.robustness})
    return json.loads(json.dumps(out, default=_plain))


def _plain(x: Any) -> Any:
    if isinstance(x, tuple):
        return list(x)
    return str(x)


def _print(result: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"WFO {result.strategy}: {result.combos} combos x {result.windows} windows "
                    f"({result.wall_s:.1f} s, job {result.job_id})")
    for col in ("symbol", "grade", "score", "OOS Sharpe", "consistency", "OOS trades", "best params"):
        t.add_column(col)
    for r in result.results:
        b = r.aggregate.best
        t.add_row(r.symbol, r.grade.letter, f"{r.grade.score:.1f}", f"{b.oos_sharpe:.2f}", f"{b.consistency:.2f}",
                  str(b.oos_trades), ", ".join(f"{k}={v}" for k, v in sorted(r.best_params.items())
                                               if k not in ("timeframe",)))
    Console().print(t)


def cmd_status(args: argparse.Namespace) -> int:
    from radar.optimize.job_store import SweepStore

    job = SweepStore(open_store().engine).job(args.job_id)
    if job is None:
        raise RadarError(f"no WFO job {args.job_id!r}")
    print(json.dumps(job))
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    from radar.config.loader import resolve_config_dir
    from radar.optimize.apply import apply_results
    from radar.optimize.job_store import SweepStore

    results = SweepStore(open_store().engine).results(args.job_id)
    if not results:
        raise RadarError(f"no results stored for WFO job {args.job_id!r}")
    grades = {g.strip().upper() for g in args.grades.split(",") if g.strip()}
    path = resolve_config_dir(args.config) / "strategies.yaml"
    applied, backup = apply_results(path, results, grades, dry_run=args.dry_run)
    for item in applied:
        print(f"{'would apply' if args.dry_run else 'applied'} {item['strategy']} {item['symbol']} "
              f"(grade {item['grade']}): {item['params']}")
    if not applied:
        print(f"nothing to apply: no result graded {', '.join(sorted(grades))}")
    if backup is not None:
        print(f"backup: {backup}")
    return 0
