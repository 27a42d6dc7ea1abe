"""A walk-forward sweep from request to graded result, independent of where batches run.

    plan = plan_sweep(request, config, candle_source)        # validates everything, no task launched yet
    result = run_sweep(plan, executor, store=..., progress=...)

`plan_sweep` fails early on bad input (unknown strategy, no fast engine, grid typos, empty grid,
windows longer than the data). `run_sweep` prepares each window's indicator cache once in the driver,
lets the executor evaluate the combo batches, persists each window's metrics as soon as the window is
complete (so a re-run with the same job id resumes from what is stored), then aggregates, runs the
robustness checks on the winner and grades it (SPEC §7). Only the driver writes to the database.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from radar.backtest.fast.dispatch import EngineSettings, prepare, run_trades, supports
from radar.backtest.fast.engine import BATCH_COLUMNS
from radar.errors import StrategyError
from radar.events import TradeResult
from radar.models import CandleArrays, timeframe_ms
from radar.optimize.aggregate import WfoAggregate, aggregate
from radar.optimize.errors import OptimizeError
from radar.optimize.execution import BatchExecutor, WindowJob, WindowKey, batch_bounds, choose_batch_size
from radar.optimize.grade import GradeBreakdown, grade
from radar.optimize.grid import ComboGrid, expand_grid
from radar.optimize.robustness import block_bootstrap, deflated_sharpe, fee_stress, parameter_stability, tail_ratio
from radar.optimize.windows import Window, windows
from radar.strategies.registry import strategy_class

PHASES = ("is", "oos")
CandleSource = Callable[[str, str], CandleArrays]  # (symbol, timeframe) -> candles
FundingSource = Callable[[str, np.ndarray], np.ndarray | None]  # (symbol, candle ts) -> rate per candle or None


@dataclass(frozen=True, slots=True)
class SweepRequest:
    strategy: str
    symbols: tuple[str, ...]
    job_id: str | None = None
    exchange: str = "bitget"
    start_ms: int | None = None
    end_ms: int | None = None
    # None -> the `wfo:` block of param_grids.yaml
    is_days: float | None = None
    oos_days: float | None = None
    step_days: float | None = None
    embargo_days: float | None = None
    batch_size: int | None = None  # None -> choose_batch_size

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class SymbolPlan:
    symbol: str
    candles: CandleArrays
    funding: np.ndarray | None
    windows: tuple[Window, ...]
    grid: ComboGrid
    combos: tuple[Any, ...]  # validated parameter models (StrategyParams), the engine's input


@dataclass(frozen=True)
class SweepPlan:
    job_id: str
    request: SweepRequest
    timeframe: str
    settings: EngineSettings
    symbols: tuple[SymbolPlan, ...]
    batch_size: int

    @property
    def total_units(self) -> int:
        """combo x window x phase evaluations: the unit of progress."""
        return sum(len(s.combos) * len(s.windows) * len(PHASES) for s in self.symbols)

    def keys(self) -> list[WindowKey]:
        return [WindowKey(s.symbol, w.index, ph) for s in self.symbols for w in s.windows for ph in PHASES]


class SweepStoreLike(Protocol):
    def start_job(self, plan: SweepPlan) -> None: ...
    def saved_windows(self, job_id: str) -> dict[WindowKey, np.ndarray]: ...
    def save_window(self, job_id: str, key: WindowKey, rows: np.ndarray) -> None: ...
    def progress(self, job_id: str, done: int, total: int) -> None: ...
    def finish_job(self, job_id: str, status: str, error: str | None = None) -> None: ...
    def save_results(self, plan: SweepPlan, results: Sequence["SymbolResult"]) -> None: ...


class CancelLike(Protocol):
    def is_set(self) -> bool: ...


@dataclass(frozen=True)
class SymbolResult:
    symbol: str
    aggregate: WfoAggregate
    best_params: dict[str, Any]
    grade: GradeBreakdown
    oos_trades: tuple[TradeResult, ...]  # the overall best combo on every OOS window
    stitched_equity: tuple[tuple[int, float], ...]  # each window's IS winner on its OOS window, chained
    window_detail: tuple[dict[str, Any], ...]
    robustness: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        best = self.aggregate.best
        return {
            "symbol": self.symbol, "best_params": self.best_params, "grade": self.grade.to_dict(),
            "best": {k: getattr(best, k) for k in best.__slots__},  # type: ignore[attr-defined]
            "windows": list(self.window_detail), "robustness": self.robustness,
            "stitched_equity": [list(p) for p in self.stitched_equity],
        }


@dataclass(frozen=True)
class SweepResult:
    job_id: str
    strategy: str
    results: tuple[SymbolResult, ...]
    combos: int
    windows: int
    evaluations: int  # combo x window x phase computed in this run (0 when everything was resumed)
    resumed: int  # windows taken from the store
    wall_s: float
    cancelled: bool = False
    eval_s: float = 0.0  # time in the executor: windows prepared and batches evaluated (the fan-out part)

    def to_dict(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "strategy": self.strategy, "combos": self.combos, "windows": self.windows,
                "evaluations": self.evaluations, "resumed_windows": self.resumed, "wall_s": self.wall_s,
                "cancelled": self.cancelled, "eval_s": self.eval_s, "results": [r.to_dict() for r in self.results]}


# --------------------------------------------------------------------------------------------- planning
def plan_sweep(request: SweepRequest, config: Any, candles: CandleSource, funding: FundingSource | None = None,
               settings: EngineSettings | None = None, workers: int = 1) -> SweepPlan:
    """Validate the request and build every window and combo; raises before any task is launched."""
    cls = strategy_class(request.strategy)  # unknown strategy -> StrategyError
    if cls.live_only:
        raise StrategyError(f"{request.strategy} is live-only and cannot be optimised")
    if not supports(request.strategy):
        raise StrategyError(f"{request.strategy} has no fast engine yet; WFO needs one")
    if not request.symbols:
        raise OptimizeError("no symbols to optimise")
    grid_cfg = config.param_grid(request.strategy)
    wfo = grid_cfg.wfo
    days = dict(is_days=request.is_days or wfo.is_days, oos_days=request.oos_days or wfo.oos_days,
                step_days=request.step_days or wfo.step_days,
                embargo_days=wfo.embargo_days if request.embargo_days is None else request.embargo_days)
    symbols: list[SymbolPlan] = []
    timeframe = ""
    for symbol in request.symbols:
        base = config.strategy_params(request.strategy, symbol) if symbol in config.assets else None
        grid = expand_grid(grid_cfg, symbol, base)
        tf = grid.params[0].timeframe
        if timeframe and tf != timeframe:
            raise OptimizeError(f"{request.strategy}: symbols resolve to different timeframes ({timeframe}, {tf})")
        timeframe = tf
        arr = candles(symbol, tf)
        if request.start_ms is not None or request.end_ms is not None:
            lo, hi = np.searchsorted(arr.timestamp, [request.start_ms or 0, request.end_ms or 2**62])
            arr = arr.slice(int(lo), int(hi))
        if len(arr) == 0:
            raise OptimizeError(f"{request.strategy} {symbol}: no {tf} candles in the requested range")
        wins = windows(int(arr.timestamp[0]), int(arr.timestamp[-1]), candle_ms=timeframe_ms(tf), **days)
        rates = funding(symbol, arr.timestamp) if funding else None
        combos = grid.params  # validated once here; engines take models without re-validating
        symbols.append(SymbolPlan(symbol, arr, rates, tuple(wins), grid, combos))
    settings = settings or EngineSettings()
    longest = max(_window_len(s, w, "is") for s in symbols for w in s.windows)
    n_windows = sum(len(s.windows) for s in symbols) * len(PHASES)
    batch = request.batch_size or choose_batch_size(max(len(s.combos) for s in symbols), longest, n_windows, workers)
    job_id = request.job_id or _job_id(request)
    return SweepPlan(job_id, request, timeframe, settings, tuple(symbols), int(batch))


def _job_id(request: SweepRequest) -> str:
    return f"wfo-{request.strategy}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"


def _window_len(s: SymbolPlan, w: Window, phase: str) -> int:
    return len(_slice(s, w, phase)[0])


def _slice(s: SymbolPlan, w: Window, phase: str) -> tuple[CandleArrays, np.ndarray | None]:
    start, end = (w.is_start, w.is_end) if phase == "is" else (w.oos_start, w.oos_end)
    lo, hi = np.searchsorted(s.candles.timestamp, [start, end], side="left")
    fund = None if s.funding is None else s.funding[int(lo):int(hi)]
    return s.candles.slice(int(lo), int(hi)), fund


# ---------------------------------------------------------------------------------------------- running
def run_sweep(plan: SweepPlan, executor: BatchExecutor, store: SweepStoreLike | None = None,
              progress: Callable[[int, int], None] | None = None, cancel: CancelLike | None = None) -> SweepResult:
    t0 = time.perf_counter()
    strategy = plan.request.strategy
    by_symbol = {s.symbol: s for s in plan.symbols}
    done_rows: dict[WindowKey, np.ndarray] = {}
    if store is not None:
        store.start_job(plan)
        done_rows = {k: v for k, v in store.saved_windows(plan.job_id).items() if k.symbol in by_symbol}
    total = plan.total_units
    done = sum(len(by_symbol[k.symbol].combos) for k in done_rows)
    if progress:
        progress(done, total)
    jobs: list[WindowJob] = []
    for key in plan.keys():
        if key in done_rows:
            continue
        s = by_symbol[key.symbol]
        part, fund = _slice(s, s.windows[key.window], key.phase)
        if len(part) == 0:
            raise OptimizeError(f"{strategy} {key.symbol}: window {key.window} {key.phase} has no candles")
        jobs.append(WindowJob(key, strategy, part, s.combos, plan.settings, fund,
                              batch_bounds(len(s.combos), plan.batch_size)))
    pending: dict[WindowKey, tuple[np.ndarray, int]] = {
        j.key: (np.full((j.n_combos, len(BATCH_COLUMNS)), np.nan), len(j.batches)) for j in jobs}
    evaluations = 0

    def on_batch(key: WindowKey, a: int, b: int, rows: np.ndarray) -> None:
        nonlocal done, evaluations
        arr, left = pending[key]
        arr[a:b] = rows
        pending[key] = (arr, left - 1)
        done += b - a
        evaluations += b - a
        if left - 1 == 0:
            done_rows[key] = arr
            if store is not None:
                store.save_window(plan.job_id, key, arr)  # resumable from here on
        if progress:
            progress(done, total)
        if store is not None:
            store.progress(plan.job_id, done, total)

    try:
        if cancel is not None and cancel.is_set():
            raise _Cancelled
        t_eval = time.perf_counter()
        executor.run(_cancellable(jobs, cancel), on_batch)
        eval_s = time.perf_counter() - t_eval
        if cancel is not None and cancel.is_set() and len(done_rows) < len(plan.keys()):
            raise _Cancelled
    except _Cancelled:
        if store is not None:
            store.finish_job(plan.job_id, "cancelled")
        return SweepResult(plan.job_id, strategy, (), _n_combos(plan), _n_windows(plan), evaluations,
                           len(plan.keys()) - len(jobs), time.perf_counter() - t0, cancelled=True)
    except Exception as exc:
        if store is not None:
            store.finish_job(plan.job_id, "failed", f"{type(exc).__name__}: {exc}")
        raise
    results = tuple(_symbol_result(plan, s, done_rows) for s in plan.symbols)
    if store is not None:
        store.save_results(plan, results)
        store.finish_job(plan.job_id, "done")
    return SweepResult(plan.job_id, strategy, results, _n_combos(plan), _n_windows(plan), evaluations,
                       len(plan.keys()) - len(jobs), time.perf_counter() - t0, eval_s=eval_s)


class _Cancelled(Exception):
    pass


def _cancellable(jobs: list[WindowJob], cancel: CancelLike | None) -> list[WindowJob]:
    """Executors iterate jobs in order; a cancelled sweep stops handing out new windows."""
    if cancel is None:
        return jobs

    class _Jobs(list):
        def __iter__(self):  # type: ignore[override]
            for j in list.__iter__(self):
                if cancel.is_set():
                    return
                yield j

    return _Jobs(jobs)


def _n_combos(plan: SweepPlan) -> int:
    return max((len(s.combos) for s in plan.symbols), default=0)


def _n_windows(plan: SweepPlan) -> int:
    return max((len(s.windows) for s in plan.symbols), default=0)


# ------------------------------------------------------------------------------------------- aggregation
def _symbol_result(plan: SweepPlan, s: SymbolPlan, rows: Mapping[WindowKey, np.ndarray]) -> SymbolResult:
    is_m = np.stack([rows[WindowKey(s.symbol, w.index, "is")] for w in s.windows])
    oos_m = np.stack([rows[WindowKey(s.symbol, w.index, "oos")] for w in s.windows])
    agg = aggregate(is_m, oos_m, BATCH_COLUMNS, max_windows=_n_windows(plan))
    best = agg.best
    strategy = plan.request.strategy
    oos_trades: list[TradeResult] = []
    stitched: list[tuple[int, float]] = []
    equity = plan.settings.initial_capital
    detail = []
    for w, wb in zip(s.windows, agg.window_best):
        part, fund = _slice(s, w, "oos")
        cache = prepare(strategy, part, [s.combos[best.combo], s.combos[wb.combo]])
        run = run_trades(strategy, cache, s.combos[best.combo], plan.settings, fund, s.symbol)
        oos_trades.extend(run.closed_trades())
        chosen = run_trades(strategy, cache, s.combos[wb.combo], plan.settings, fund, s.symbol)
        equity *= chosen.capital / plan.settings.initial_capital
        stitched.append((int(w.oos_end), float(equity)))
        detail.append({"window": w.index, "is_start": w.is_start, "is_end": w.is_end, "oos_start": w.oos_start,
                       "oos_end": w.oos_end, "best_is_combo": wb.combo, "best_is_params": dict(s.grid.combos[wb.combo]),
                       "is_sharpe": wb.is_sharpe, "is_trades": wb.is_trades, "oos_sharpe": wb.oos_sharpe,
                       "oos_trades": wb.oos_trades, "oos_return_pct": (chosen.capital / plan.settings.initial_capital - 1) * 100})
    returns = np.array([t.return_frac for t in oos_trades], dtype=np.float64)
    mc = block_bootstrap(returns, seed=_seed(strategy, s.symbol, s.combos[best.combo])) if len(returns) else None
    dsr = deflated_sharpe(returns, len(s.combos)) if len(returns) >= 3 else 0.0
    stab = parameter_stability(s.grid.combos, agg.oos_sharpe_mean, best.combo)
    tail = tail_ratio(returns)
    stress = fee_stress([t.gross for t in oos_trades], [t.fees for t in oos_trades],
                        [t.slippage for t in oos_trades]) if oos_trades else None
    g = grade(best.oos_sharpe, best.oos_win_rate, tail, dsr, stab.stability, best.consistency,
              mc.p_value if mc else 1.0, len(s.windows), best.oos_trades)
    robustness = {"monte_carlo_p": mc.p_value if mc else None, "dsr": dsr, "stability": stab.stability,
                  "tail_ratio": None if math.isinf(tail) else tail, "oos_is_ratio": best.oos_is_ratio,
                  "fee_stress": None if stress is None else _plain(stress)}
    return SymbolResult(s.symbol, agg, s.combos[best.combo].model_dump(), g, tuple(oos_trades), tuple(stitched),
                        tuple(detail), robustness)


def _seed(strategy: str, symbol: str, params: Any) -> int:
    # Deterministic per (strategy, symbol, winning combo): any executor, a re-run or a resumed run
    # reproduces the same bootstrap p-value.
    return int.from_bytes(hashlib.sha256(f"{strategy}|{symbol}|{combo_key(params)}".encode()).digest()[:4], "little")


def _plain(obj: Any) -> Any:
    if hasattr(obj, "__slots__"):
        return {k: _plain(getattr(obj, k)) for k in obj.__slots__}
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def combo_key(params: Mapping[str, Any] | Any) -> str:
    if hasattr(params, "model_dump"):
        params = params.model_dump()
    return json.dumps({k: (list(v) if isinstance(v, tuple) else v) for k, v in sorted(params.items())},
                      separators=(",", ":"))
