"""A database with the history a running system writes, made from real candles: for the API tests, the API
benchmark and dashboard development (`radar api --fake --demo-db PATH`).

Production code writes every row: the production runners (`build_runner_host`, live sizing) trade real
candles of one CSV (one slice per symbol, re-stamped onto one timeline ending at the same candle), their
events go through `TradeJournal` (simulation_trades, position_events, equity snapshots), the candles through
`CandleStore`, portfolio backtests through `run_portfolio` + `save_portfolio_result`. WFO jobs/results and
live orders are inserted as rows of their tables with deterministic values (a real sweep needs numba
compilation and minutes).
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert

HOUR = 3_600_000
DEFAULT_SYMBOLS = ("BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT")
DEFAULT_STRATEGIES = ("grid_atr", "envelope_dca")
WFO_JOB = "wfo-grid_atr-demo"


@dataclass(frozen=True)
class DemoDb:
    url: str
    trades: int
    events: int
    snapshots: int
    candles: int
    runner_ids: tuple[str, ...]
    portfolio_ids: tuple[int, ...]
    wfo_job: str
    combos: int
    first_ts: int
    last_ts: int


def seed_demo_db(url: str, csv: str | Path, *, symbols: Sequence[str] = DEFAULT_SYMBOLS,
                 strategies: Sequence[str] = DEFAULT_STRATEGIES, candles: int = 3000, capital: float = 10_000.0,
                 exchange: str = "bitget", snapshot_every: int = 24, portfolio: bool = True) -> DemoDb:
    from radar.config import load_config
    from radar.data.csv_io import read_candle_csv
    from radar.data.store import CandleStore
    from radar.live.clock import ManualClock
    from radar.live.journal import TradeJournal
    from radar.live.runner_host import build_runner_host
    from radar.models import CandleArrays
    from radar.positions.costs import CostModel
    from radar.strategies.registry import create_strategy

    cfg = load_config()
    risk = cfg.risk
    costs = CostModel(taker_fee=risk.fees.taker, maker_fee=risk.fees.maker, slippage=risk.slippage)
    arr, _ = read_candle_csv(csv, "1h")
    if len(arr) < candles * len(symbols):
        candles = len(arr) // len(symbols)
    end_ts = int(arr.timestamp[candles - 1])
    sliced: dict[str, CandleArrays] = {}
    for k, sym in enumerate(symbols):
        part = arr.slice(k * candles, (k + 1) * candles)
        shift = end_ts - int(part.timestamp[-1])
        sliced[sym] = CandleArrays(part.timestamp + shift, part.open, part.high, part.low, part.close, part.volume)

    store = CandleStore(url)
    n_candles = sum(store.upsert_candles(exchange, sym, "1h", a) for sym, a in sliced.items())
    clock = ManualClock(int(sliced[symbols[0]].timestamp[0]))
    journal = TradeJournal(store.engine, clock)
    n_runners = len(symbols) * len(strategies)
    hosts = {}
    for name in strategies:
        params = {sym: cfg.strategy_params(name, sym).model_dump() for sym in symbols}
        hosts[name] = build_runner_host(name, list(symbols), lambda s, n=name, p=params: create_strategy(n, p[s]),
                                        capital=capital, n_runners=n_runners, n_assets=len(symbols), costs=costs,
                                        exchange=exchange)
    n_events = n_trades = n_snaps = 0
    by_sym = {sym: a.candles(sym, "1h", exchange) for sym, a in sliced.items()}
    for i in range(candles):
        batch = []
        for sym in symbols:
            c = by_sym[sym][i]
            for host in hosts.values():
                batch.extend(host.runners[sym].on_candle(c))
        if batch:
            e, t = journal.record_events(batch)
            n_events, n_trades = n_events + e, n_trades + t
        if i % snapshot_every == snapshot_every - 1:
            ts = int(by_sym[symbols[0]][i].timestamp)
            clock.set(ts)
            prices = {sym: by_sym[sym][i].close for sym in symbols}
            equity = sum(h.total_equity(prices) for h in hosts.values())
            margin = sum(r.used_margin for h in hosts.values() for r in h.runners.values())
            cash = sum(r.capital for h in hosts.values() for r in h.runners.values())
            n_snaps += journal.maybe_snapshot("paper", equity, cash, equity - cash - margin, margin)
    portfolio_ids: tuple[int, ...] = ()
    if portfolio:
        portfolio_ids = _portfolios(store, sliced, symbols, strategies, capital, costs)
    combos = _wfo(store.engine, cfg, symbols[:2], end_ts)
    _orders(store.engine, exchange, symbols, end_ts)
    runner_ids = tuple(f"{s}:{sym}" for s in strategies for sym in symbols)
    store.close()
    return DemoDb(url, n_trades, n_events, n_snaps, n_candles, runner_ids, portfolio_ids, WFO_JOB, combos,
                  int(sliced[symbols[0]].timestamp[0]), end_ts)


def _portfolios(store: Any, sliced: dict[str, Any], symbols: Sequence[str], strategies: Sequence[str],
                capital: float, costs: Any) -> tuple[int, ...]:
    from radar.backtest.portfolio import run_portfolio, save_portfolio_result

    ids = []
    for k, strats in enumerate((list(strategies), list(strategies[:1]))):
        result = run_portfolio([f"{s}:{sym}" for s in strats for sym in symbols], sliced, capital=capital, costs=costs,
                               snapshot_every=24)
        ids.append(save_portfolio_result(store.engine, result, name=f"demo-{'+'.join(strats)}",
                                         created_at=result.end_ms + k * HOUR))
    return tuple(ids)


def _wfo(engine: Any, cfg: Any, symbols: Sequence[str], now: int) -> int:
    """One finished grid_atr job: a 2-parameter slice of the real grid per symbol, with smooth made-up
    Sharpe surfaces (the heatmap has structure), per-symbol results graded A and C."""
    from radar.data.schema import OptimizationJobRow, OptimizationResultRow, WfoComboResultRow

    grid = cfg.param_grid("grid_atr")
    ma, mult = grid.default["ma_period"], grid.default["atr_multiplier_start"]
    base = cfg.strategy_params("grid_atr").model_dump(mode="json")
    rows, results = [], []
    for k, sym in enumerate(symbols):
        best = None
        for m, s in itertools.product(ma, mult):
            oos = round(1.6 - 0.02 * (m - 14) ** 2 - 0.9 * (s - 1.5) ** 2 - 0.4 * k, 6)
            params = {**base, "ma_period": m, "atr_multiplier_start": s}
            key = f"atr_multiplier_start={s}|ma_period={m}"
            rows.append({"job_id": WFO_JOB, "symbol": sym, "combo_key": key, "params": params,
                         "is_sharpe": round(oos + 0.7, 6), "oos_sharpe": oos, "consistency": round(0.5 + oos / 4, 6),
                         "n_windows": 6, "n_trades": 40 + m, "metrics": {"combo_score": oos}})
            if best is None or oos > best[0]:
                best = (oos, params)
        assert best is not None
        results.append({"job_id": WFO_JOB, "strategy": "grid_atr", "symbol": sym, "timeframe": "1h",
                        "params": best[1], "metrics": {"oos_sharpe": best[0], "consistency": 0.9},
                        "score": 82.0 - 30 * k, "grade": "A" if k == 0 else "C", "created_at": now})
    total = len(ma) * len(mult) * len(symbols) * 12
    with engine.begin() as conn:
        conn.execute(insert(OptimizationJobRow.__table__), [{
            "id": WFO_JOB, "kind": "wfo", "strategy": "grid_atr", "status": "done", "progress": total, "total": total,
            "created_at": now - 2 * HOUR, "updated_at": now - HOUR,
            "params": {"request": {"strategy": "grid_atr", "symbols": list(symbols)}, "timeframe": "1h"},
            "error": None}])
        conn.execute(insert(WfoComboResultRow.__table__), rows)
        conn.execute(insert(OptimizationResultRow.__table__), results)
    return len(rows)


def _orders(engine: Any, exchange: str, symbols: Sequence[str], now: int) -> None:
    from radar.data.schema import LiveOrderRow

    rows = []
    for k, (sym, status) in enumerate(zip(itertools.cycle(symbols), ("filled", "filled", "open", "cancelled"))):
        rows.append({"client_oid": f"sr-demo-{k:04d}", "exchange_order_id": f"11{k:08d}", "exchange": exchange,
                     "symbol": sym, "runner_id": f"grid_atr:{sym}", "side": "buy", "order_type": "limit",
                     "reduce_only": False, "qty": 0.01 * (k + 1), "price": 60_000.0 - 500 * k, "status": status,
                     "filled_qty": 0.01 * (k + 1) if status == "filled" else 0.0,
                     "avg_fill_price": 60_000.0 - 500 * k if status == "filled" else None,
                     "fills": None, "created_at": now - (10 - k) * HOUR, "updated_at": now - (9 - k) * HOUR,
                     "error": None})
    with engine.begin() as conn:
        conn.execute(insert(LiveOrderRow.__table__), rows)


__all__ = ["DemoDb", "seed_demo_db"]
