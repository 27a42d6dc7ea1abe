"""`radar backtest` (one strategy, one symbol) and `radar portfolio` (strategies x symbols, shared capital).

Candles come from the store, or straight from CSV files (`--csv FILE`, `--csv-dir DIR`) without an import;
a CSV of a lower timeframe is resampled to the backtest's. Costs, capital and safety limits come from
risk.yaml, strategy parameters from strategies.yaml (`--param name=value` overrides, validated).
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from radar.optimize.inputs import read_csv_as
from radar.cli.common import fmt_ms, parse_date_ms
from radar.errors import DataError, RadarError, StrategyError
from radar.models import TIMEFRAME_MS, CandleArrays


def register(sub: argparse._SubParsersAction) -> None:
    bt = sub.add_parser("backtest", help="backtest one strategy on one symbol (metrics table, JSON, HTML report)")
    bt.add_argument("--strategy", required=True, help="strategy name, e.g. grid_atr")
    bt.add_argument("--symbol", required=True, help="ccxt unified symbol, e.g. BTC/USDT:USDT")
    bt.add_argument("--exchange", default="bitget", help="exchange of the stored candles (default bitget)")
    _add_window(bt)
    bt.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                    help="override a strategy parameter (repeatable), e.g. --param ma_period=20")
    bt.add_argument("--csv", type=Path, default=None, metavar="FILE",
                    help="read candles from this CSV instead of the store (timeframe from the file name)")
    bt.add_argument("--funding-csv", type=Path, default=None, metavar="FILE",
                    help="funding rates CSV (timestamp,funding_rate) to use with --csv")
    bt.add_argument("--timeframe", default=None, choices=list(TIMEFRAME_MS),
                    help="candle timeframe of the backtest (default: the strategy's timeframe parameter)")
    bt.add_argument("--capital", type=float, default=None, help="initial capital (default: risk.yaml initial_capital)")
    bt.add_argument("--leverage", type=int, default=None, help="override the strategy's leverage")
    bt.add_argument("--engine", choices=("fast", "runner"), default="fast",
                    help="fast: the numba engine where one exists (grid_atr), else the runner; runner: always the runner")
    bt.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    bt.add_argument("--report", type=Path, default=None, metavar="FILE.html", help="write an HTML report")
    bt.set_defaults(func=cmd_backtest)

    pf = sub.add_parser("portfolio", help="portfolio backtest of strategies x symbols on shared capital (SPEC §8)")
    pf.add_argument("--strategies", required=True, help="comma-separated strategy names")
    pf.add_argument("--symbols", required=True, help="comma-separated ccxt symbols")
    pf.add_argument("--capital", type=float, default=None, help="portfolio capital (default: risk.yaml initial_capital)")
    pf.add_argument("--exchange", default="bitget", help="exchange of the stored candles (default bitget)")
    _add_window(pf)
    pf.add_argument("--csv-dir", type=Path, default=None, metavar="DIR",
                    help="read candles from DIR instead of the store: symbol ETH/BTC -> ETH-BTC_<tf>*.csv "
                         "(a lower timeframe is resampled)")
    pf.add_argument("--timeframe", default="1h", choices=list(TIMEFRAME_MS), help="candle timeframe (default 1h)")
    pf.add_argument("--name", default="", help="name of the saved portfolio_backtests row")
    pf.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    pf.add_argument("--report", type=Path, default=None, metavar="FILE.html", help="write an HTML report")
    pf.set_defaults(func=cmd_portfolio)


def _add_window(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="date_from", default=None, help="first candle (YYYY-MM-DD, ISO time or epoch ms)")
    p.add_argument("--to", dest="date_to", default=None, help="end of the window, exclusive")


# -- shared helpers --------------------------------------------------------------------------------
def _window(args: argparse.Namespace) -> tuple[int | None, int | None]:
    start = parse_date_ms(args.date_from, "--from") if args.date_from else None
    end = parse_date_ms(args.date_to, "--to") if args.date_to else None
    if start is not None and end is not None and end <= start:
        raise DataError(f"empty date range: --to {args.date_to} is not after --from {args.date_from}")
    return start, end


def _clip(arr: CandleArrays, start: int | None, end: int | None) -> CandleArrays:
    ts = arr.timestamp
    lo = 0 if start is None else int(np.searchsorted(ts, start, side="left"))
    hi = len(arr) if end is None else int(np.searchsorted(ts, end, side="left"))
    return arr.slice(lo, max(lo, hi))


def _check_report_path(path: Path | None) -> None:
    # Before the run, so a typo in the report path does not cost a long backtest.
    if path is not None and not path.parent.is_dir():
        raise DataError(f"--report {path}: directory {path.parent} does not exist")


def _window_text(start: int | None, end: int | None) -> str:
    return f"from {fmt_ms(start) if start is not None else 'the start'} to {fmt_ms(end) if end is not None else 'the end'}"


def _costs(cfg: Any):  # -> CostModel
    from radar.backtest.stored_portfolio import costs_of

    return costs_of(cfg)


def _capital(value: float | None, cfg: Any) -> float:
    capital = cfg.risk.initial_capital if value is None else value
    if not (math.isfinite(capital) and capital > 0):
        raise RadarError(f"--capital must be a number > 0, got {value}")
    return float(capital)


def _finite(x: Any) -> Any:
    """Strict JSON: an infinite profit factor (no losing trade) becomes null."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x


def _print_table(title: str, rows: list[tuple[str, str]], notes: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in rows:
        table.add_row(k, v)
    console = Console()
    console.print(table)
    for note in notes:
        console.print(note, highlight=False)


def _num(v: Any, fmt: str = ",.2f", suffix: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and math.isinf(v):
        return "inf"
    return f"{v:{fmt}}{suffix}"


# -- radar backtest ----------------------------------------------------------------------------------
def parse_param_overrides(strategy: str, items: list[str]) -> dict[str, Any]:
    """`--param name=value` strings -> validated values (StrategyError names the bad one)."""
    from radar.strategies.params import coerce_param_value

    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise StrategyError(f"--param {item!r}: expected NAME=VALUE, e.g. ma_period=20")
        out[name] = coerce_param_value(strategy, name, text.strip())
    return out


def cmd_backtest(args: argparse.Namespace) -> int:
    from radar.backtest.single import BacktestLimits, FundingSource, run_backtest
    from radar.config import load_config
    from radar.strategies.registry import strategy_class

    cls = strategy_class(args.strategy)  # unknown name -> StrategyError before any file is read
    if cls.live_only:
        raise StrategyError(f"strategy {args.strategy!r} is live-only (it reads inputs only a live feed "
                            f"has, such as open interest) and cannot be backtested")
    cfg = load_config()
    params = cfg.strategy_params(args.strategy, args.symbol).model_dump()
    params.update(parse_param_overrides(args.strategy, args.param))
    if args.timeframe:
        params["timeframe"] = args.timeframe
    timeframe = str(params.get("timeframe", "1h"))
    start, end = _window(args)
    capital = _capital(args.capital, cfg)
    _check_report_path(args.report)
    if args.leverage is not None:
        from radar.strategies.params import coerce_param_value

        coerce_param_value(args.strategy, "leverage", str(args.leverage))  # range check, named like --param

    funding = FundingSource(default_rate=cfg.risk.backtest.default_funding_rate)
    if args.csv is not None:
        candles = _clip(read_csv_as(args.csv, timeframe), start, end)
        where = f"{args.csv}"
        if args.funding_csv is not None:
            from radar.data.csv_io import read_funding_csv

            if not args.funding_csv.is_file():
                raise DataError(f"{args.funding_csv}: no such funding file")
            fts, rates, _ = read_funding_csv(args.funding_csv)
            funding = FundingSource(fts, rates, funding.default_rate)
    else:
        from radar.cli.common import open_store

        store = open_store()
        candles = store.load_candles(args.exchange, args.symbol, timeframe, start, end)
        where = f"the store ({args.exchange} {args.symbol} {timeframe})"
        fts, rates = store.load_funding_rates(args.exchange, args.symbol, None, end)
        if len(fts):
            funding = FundingSource(fts, rates, funding.default_rate)
    if len(candles) == 0:
        raise DataError(f"backtest: no {timeframe} candles for {args.symbol} in {where} {_window_text(start, end)}"
                        + ("" if args.csv else " (radar data import / radar data fetch)"))

    risk = cfg.risk
    limits = BacktestLimits(max_margin_ratio=risk.max_margin_ratio,
                            kill_switch_loss_pct=risk.kill_switch.runner_max_loss_percent,
                            hard_drawdown_pct=risk.backtest.hard_drawdown_percent)
    result = run_backtest(args.strategy, candles, params, engine=args.engine, capital=capital, leverage=args.leverage,
                          costs=_costs(cfg), funding=funding, limits=limits, symbol=args.symbol)
    summary = result.summary()
    if args.report is not None:
        from radar.backtest.report import ReportData, write_report

        metrics = {k: v for k, v in summary.items() if k not in ("params", "funding_note", "strategy", "symbol")}
        sub = (f"{args.symbol} {result.timeframe}, {fmt_ms(result.first_ts)} - {fmt_ms(result.last_ts)} UTC, "
               f"engine {result.engine}; params: " + ", ".join(f"{k}={v}" for k, v in summary["params"].items()))
        write_report(args.report, ReportData(f"Backtest {args.strategy} {args.symbol}", sub, metrics,
                                             result.equity_ts, result.equity, result.initial_capital, result.trades,
                                             (result.funding_note,)))
        summary["report"] = str(args.report)
    if args.json:
        print(json.dumps(_finite(summary), allow_nan=False))
        return 0
    m = result.metrics
    rows = [
        ("window (UTC)", f"{fmt_ms(result.first_ts)} - {fmt_ms(result.last_ts)} ({len(result.equity)} candles)"),
        ("engine", result.engine), ("trades", str(m.n_trades)),
        ("net return", _num(m.net_return_pct, ".2f", " %")), ("win rate", _num(m.win_rate * 100, ".1f", " %")),
        ("profit factor", _num(m.profit_factor, ".3f")), ("sharpe", _num(m.sharpe, ".3f")),
        ("sortino", _num(m.sortino, ".3f")), ("calmar", _num(m.calmar, ".3f")),
        ("max drawdown", _num(m.max_drawdown_pct, ".2f", " %")), ("expectancy", _num(m.expectancy)),
        ("fees", _num(m.fees)), ("slippage", _num(m.slippage)), ("funding", _num(m.funding)),
        ("exposure", _num(m.exposure * 100, ".1f", " %")),
        ("initial capital", _num(result.initial_capital)), ("final capital", _num(m.final_capital)),
    ]
    if result.stop_reason:
        rows.append(("stopped by", result.stop_reason))
    notes = [f"params: {', '.join(f'{k}={v}' for k, v in summary['params'].items())}", f"funding: {result.funding_note}"]
    if args.report is not None:
        notes.append(f"report: {args.report}")
    _print_table(f"Backtest {args.strategy} {args.symbol} {result.timeframe}", rows, notes)
    return 0


# -- radar portfolio ---------------------------------------------------------------------------------
def _split(text: str, what: str) -> list[str]:
    items = [x.strip() for x in text.split(",") if x.strip()]
    if not items:
        raise RadarError(f"{what}: give at least one name")
    return list(dict.fromkeys(items))


def _csv_for_symbol(directory: Path, symbol: str, timeframe: str) -> Path:
    """ETH/BTC or ETH/BTC:BTC -> DIR/ETH-BTC_<tf>*.csv, the highest timeframe not above `timeframe`."""
    base = symbol.split(":")[0].replace("/", "-")
    best: tuple[int, Path] | None = None
    for p in sorted(directory.glob(f"{base}_*.csv")):
        tokens = [t for t in p.stem.split("_")[1:] if t in TIMEFRAME_MS]
        if len(tokens) != 1 or TIMEFRAME_MS[tokens[0]] > TIMEFRAME_MS[timeframe] or \
                TIMEFRAME_MS[timeframe] % TIMEFRAME_MS[tokens[0]]:
            continue
        if best is None or TIMEFRAME_MS[tokens[0]] > best[0]:
            best = (TIMEFRAME_MS[tokens[0]], p)
    if best is None:
        raise DataError(f"{directory}: no candle file for {symbol} (expected {base}_<timeframe>.csv with a "
                        f"timeframe <= {timeframe})")
    return best[1]


def cmd_portfolio(args: argparse.Namespace) -> int:
    from radar.backtest.stored_portfolio import check_strategies, load_inputs, run_and_save
    from radar.cli.common import open_store
    from radar.config import load_config

    strategies = _split(args.strategies, "--strategies")
    symbols = _split(args.symbols, "--symbols")
    check_strategies(strategies)
    cfg = load_config()
    capital = _capital(args.capital, cfg)
    start, end = _window(args)
    _check_report_path(args.report)
    if args.csv_dir is not None and not args.csv_dir.is_dir():
        raise DataError(f"--csv-dir {args.csv_dir}: no such directory")
    store = open_store()
    default_rate = cfg.risk.backtest.default_funding_rate
    if args.csv_dir is not None:
        candles: dict[str, CandleArrays] = {}
        for sym in symbols:
            arr = _clip(read_csv_as(_csv_for_symbol(args.csv_dir, sym, args.timeframe), args.timeframe), start, end)
            if len(arr) == 0:
                raise DataError(f"portfolio: no {args.timeframe} candles for {sym} in {args.csv_dir} "
                                f"{_window_text(start, end)}")
            candles[sym] = arr
        funding: dict[str, Any] = {sym: (lambda ts, r=default_rate: r) for sym in symbols}
        stored_funding: list[str] = []
    else:
        inputs = load_inputs(store, cfg, symbols, args.timeframe, args.exchange, start, end)
        candles, funding, stored_funding = inputs.candles, inputs.funding, inputs.stored_funding
    row_id, result = run_and_save(store, cfg, strategies, symbols, candles, funding, timeframe=args.timeframe,
                                  capital=capital, name=args.name)
    no_funding = [s for s in symbols if s not in stored_funding]
    parts = [f"stored funding rates for {', '.join(stored_funding)} (the default rate {default_rate:g} per 8h "
             f"before their first)"] if stored_funding else []
    if no_funding:
        parts.append(f"no funding rates stored for {', '.join(no_funding)}: charged the default rate {default_rate:g} "
                     f"per 8h (risk.yaml backtest.default_funding_rate)")
    funding_note = "; ".join(parts)
    m = result.metrics
    summary = {
        "id": row_id, "runners": list(result.runner_ids), "symbols": list(result.symbols),
        "timeframe": result.timeframe, "from": result.start_ms, "to": result.end_ms,
        "initial_capital": result.initial_capital, "final_equity": result.final_equity,
        "return_pct": result.return_pct, "max_drawdown_pct": m["equity_max_drawdown_pct"],
        "trades": int(m["n_trades"]), "win_rate": m["win_rate"], "profit_factor": m["profit_factor"],
        "sharpe": m["sharpe"], "benchmark_symbol": result.benchmark_symbol,
        "benchmark_return_pct": result.benchmark_return_pct, "alpha_pct": result.alpha_pct,
        "freezes": sum(f.kind == "freeze" for f in result.freezes), "liquidations": len(result.liquidations),
        "guard_refusals": result.guard_refusals, "peak_margin_ratio": m["peak_margin_ratio"],
        "runner_final_capital": dict(result.runner_final_capital), "funding_note": funding_note,
    }
    if args.report is not None:
        from radar.backtest.report import ReportData, write_report

        shown = {k: v for k, v in summary.items() if k not in ("runners", "symbols", "runner_final_capital",
                                                                 "funding_note")}
        shown.update({f"final {rid}": v for rid, v in result.runner_final_capital.items()})
        write_report(args.report, ReportData(
            f"Portfolio {', '.join(strategies)}", f"{', '.join(symbols)} {result.timeframe}, "
            f"{fmt_ms(result.start_ms)} - {fmt_ms(result.end_ms)} UTC", shown,
            np.array([s.timestamp for s in result.snapshots], dtype=np.int64),
            np.array([s.equity for s in result.snapshots]), result.initial_capital, result.trades, (funding_note,)))
        summary["report"] = str(args.report)
    if args.json:
        print(json.dumps(_finite(summary), allow_nan=False))
        return 0
    rows = [
        ("window (UTC)", f"{fmt_ms(result.start_ms)} - {fmt_ms(result.end_ms)}"),
        ("runners", str(len(result.runner_ids))), ("trades", str(summary["trades"])),
        ("return", _num(result.return_pct, ".2f", " %")),
        ("max drawdown (equity)", _num(summary["max_drawdown_pct"], ".2f", " %")),
        ("benchmark", "-" if result.benchmark_symbol is None else
         f"{result.benchmark_symbol} {_num(result.benchmark_return_pct, '.2f', ' %')}"),
        ("alpha", _num(result.alpha_pct, ".2f", " %")), ("win rate", _num(m["win_rate"] * 100, ".1f", " %")),
        ("profit factor", _num(m["profit_factor"], ".3f")), ("sharpe", _num(m["sharpe"], ".3f")),
        ("peak margin ratio", _num(m["peak_margin_ratio"] * 100, ".1f", " %")),
        ("freezes", str(summary["freezes"])), ("liquidations", str(summary["liquidations"])),
        ("guard refusals", str(result.guard_refusals)),
        ("initial capital", _num(result.initial_capital)), ("final equity", _num(result.final_equity)),
    ]
    rows += [(f"  {rid}", _num(v)) for rid, v in result.runner_final_capital.items()]
    notes = [f"funding: {funding_note}", f"saved as portfolio_backtests id {row_id}"]
    if args.report is not None:
        notes.append(f"report: {args.report}")
    _print_table(f"Portfolio {', '.join(strategies)} on {len(symbols)} symbols ({result.timeframe})", rows, notes)
    return 0
