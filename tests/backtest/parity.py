"""What the fast-engine parity tests (test_fast_parity_*.py) share: the BTC hourly data, sampled combos of a
default grid, running the reference runner (with a per-candle funding series) and the grid family's fast engine
on the same candles, and the trade-for-trade / metrics comparisons with their tolerances.

Tolerances (every parity test): timestamps, sides, reasons, leg counts, end-of-data flags and strategy names exact;
prices and quantities to 1e-12 relative; PnL, fees, funding, returns, capital and metrics to 1e-9 relative.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pytest

from radar.backtest.fast.engine import BATCH_COLUMNS
from radar.backtest.fast.grid_family import cache_for, run_grid_trades
from radar.backtest.metrics import Metrics, compute_metrics
from radar.config import load_one
from radar.data.csv_io import read_candle_csv
from radar.models import CandleArrays
from radar.runners import RunnerConfig, make_runner
from radar.strategies.registry import create_strategy
from tests.conftest import REPO_ROOT, SHARED_DATA

BTC_SYMBOL = "BTC/USDT:USDT"
NO_STOPS: dict[str, Any] = {"kill_switch_loss_pct": 100.0, "hard_drawdown_pct": None}  # capital < 0 still stops
SIDES = (("long", "short"), ("long",), ("short",), ("short", "long"))
STOP_CODES = {"": 0, "kill_switch": 1, "hard_drawdown": 2}
# (field, relative tolerance) of the float fields compared trade by trade; abs 1e-9 for values near zero
TRADE_FLOAT_TOLERANCES = (("entry_price", 1e-12), ("exit_price", 1e-12), ("quantity", 1e-12), ("net", 1e-9),
                          ("gross", 1e-9), ("fees", 1e-9), ("slippage", 1e-9), ("funding", 1e-9),
                          ("return_frac", 1e-9))


@lru_cache(maxsize=1)
def btc() -> CandleArrays:
    arr, _ = read_candle_csv(SHARED_DATA / "BTC-USD_1h_bitfinex.csv", "1h")
    return arr


@lru_cache(maxsize=1)
def btc_candles() -> tuple:
    return tuple(btc().candles(BTC_SYMBOL, "1h"))


@lru_cache(maxsize=None)
def default_grid_combos(strategy: str) -> tuple[dict, ...]:
    """Every combo of the strategy's default grid (config/param_grids.yaml), in grid order."""
    return tuple(load_one("param_grids", REPO_ROOT / "config" / "param_grids.yaml")[strategy].combos())


def combo_id(idx: int, params: dict, limits: dict) -> str:
    """`combo<idx>[-<sides>]-x<leverage>-<stops|long_run>`: the test id of a sampled combo."""
    sides = f"-{'+'.join(params['sides'])}" if "sides" in params else ""
    return f"combo{idx}{sides}-x{params['leverage']}-{'stops' if not limits else 'long_run'}"


def sample_grid(strategy: str, size: int, seed: int, vary: Callable[[int, dict], dict],
                stops_every: int = 4) -> tuple[tuple[str, dict, dict], ...]:
    """`size` combos of the default grid picked with `seed`, in grid order: (test id, params, limits).
    `vary(k, params)` adjusts the k-th pick (leverage, sides, ...); every `stops_every`-th runs with the SPEC
    stops, the others without (NO_STOPS) so they run long."""
    combos = default_grid_combos(strategy)
    picks = np.random.default_rng(seed).choice(len(combos), size=size, replace=False)
    out = []
    for k, idx in enumerate(sorted(int(i) for i in picks)):
        params = vary(k, dict(combos[idx]))
        limits = {} if k % stops_every == 0 else NO_STOPS
        out.append((combo_id(idx, params, limits), params, limits))
    return tuple(out)


def run_reference(strategy: Any, cfg: RunnerConfig, candles: Sequence, funding_rates: np.ndarray | None = None):
    """The event-driven runner over `candles`; `funding_rates` (one per candle, NaN = none published) is what
    the runner's funding callback answers."""
    runner = make_runner(strategy, cfg)
    if funding_rates is None:
        runner.run(candles)
    else:
        by_ts = {c.timestamp: (None if math.isnan(r) else float(r)) for c, r in zip(candles, funding_rates)}
        runner.run(candles, funding=lambda ts: by_ts[ts])
    return runner


def run_grid_both(strategy: str, params: dict, limits: dict | None = None, funding_rates: np.ndarray | None = None,
                  default_funding_rate: float = 0.0, arr: CandleArrays | None = None, symbol: str = BTC_SYMBOL,
                  runner_id: str | None = None):
    """(runner, fast run, cache) of one grid-family combo on `arr` (default: the BTC hourly file)."""
    limits = limits or {}
    arr = btc() if arr is None else arr
    candles = btc_candles() if arr is btc() and symbol == BTC_SYMBOL else tuple(arr.candles(symbol, "1h"))
    cfg = RunnerConfig(runner_id or f"{strategy}:BTC", symbol, default_funding_rate=default_funding_rate, **limits)
    runner = run_reference(create_strategy(strategy, params), cfg, candles, funding_rates)
    cache = cache_for(strategy, arr, [params])
    fast = run_grid_trades(strategy, cache, params, funding_rates=funding_rates,
                           default_funding_rate=default_funding_rate, **limits)
    return runner, fast, cache


def assert_same_trades(runner, fast) -> None:
    assert len(fast.trades) == len(runner.trades)
    for k, (f, r) in enumerate(zip(fast.trades, runner.trades)):
        where = f"trade {k} (entry {r.entry_ts})"
        assert (f.entry_ts, f.exit_ts, f.side, f.reason, f.positions, f.end_of_data, f.strategy) == \
               (r.entry_ts, r.exit_ts, r.side, r.reason, r.positions, r.end_of_data, r.strategy), where
        for name, rel in TRADE_FLOAT_TOLERANCES:
            fv, rv = getattr(f, name), getattr(r, name)
            assert fv == pytest.approx(rv, rel=rel, abs=1e-9), f"{where}: {name} fast={fv!r} runner={rv!r}"
    assert fast.capital == pytest.approx(runner.capital, rel=1e-9, abs=1e-12)
    assert fast.stop_reason == runner.stop_reason


def _span(window: Any) -> tuple[int, int]:
    """(first, last) candle timestamp of a cache (first_ts / last_ts) or of CandleArrays."""
    if isinstance(window, CandleArrays):
        return int(window.timestamp[0]), int(window.timestamp[-1])
    return window.first_ts, window.last_ts


def assert_same_metrics(runner, fast, window: Any) -> None:
    """The fast run's metrics == compute_metrics of the runner's trades over `window` (a cache or the candles)."""
    first, last = _span(window)
    ref = compute_metrics(runner.trades, runner.config.initial_capital, first, last, runner.capital)
    for name, value in ref.to_dict().items():
        assert getattr(fast.metrics, name) == pytest.approx(value, rel=1e-9, abs=1e-12), name


def assert_batch_row_matches(row: np.ndarray, runner, window: Any, where: Any) -> None:
    """A batch result row (BATCH_COLUMNS) == the runner's metrics (initial capital 10,000) and stop reason."""
    first, last = _span(window)
    ref = compute_metrics(runner.trades, 10_000.0, first, last, runner.capital)
    got = Metrics.from_row(row)
    for name, value in ref.to_dict().items():
        assert getattr(got, name) == pytest.approx(value, rel=1e-9, abs=1e-12), (where, name)
    assert row[BATCH_COLUMNS.index("stop_code")] == STOP_CODES[runner.stop_reason]
