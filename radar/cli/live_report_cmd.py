"""`radar live report`: paper vs live divergence (slippage, fill delay, fees) from the journals in the
database (`radar.live.divergence`). `live` is a command group so later live tools can join it."""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any

from radar.errors import RadarError


def register(sub: argparse._SubParsersAction) -> None:
    live = sub.add_parser("live", help="live trading tools: the paper vs live divergence report")
    actions = live.add_subparsers(dest="live_action", metavar="ACTION")
    actions.required = True
    rep = actions.add_parser("report", help="paper vs live fills: slippage (bps), fill delay, fees, unmatched fills")
    rep.add_argument("--since", default=None, help="only fills from this time (YYYY-MM-DD, ISO time or epoch ms)")
    rep.add_argument("--runner", default=None, help="only this runner (e.g. grid_atr:BTC/USDT:USDT)")
    rep.add_argument("--symbol", default=None, help="only this symbol (e.g. BTC/USDT:USDT)")
    rep.add_argument("--timeframe", default=None,
                     help="the runners' timeframe (their decision time is the candle's close; default: each "
                          "strategy's from strategies.yaml)")
    rep.add_argument("--max-delay", type=float, default=3600.0,
                     help="seconds after the paper decision a live fill may come and still pair by time")
    rep.add_argument("--rows", type=int, default=20, help="pairs shown in the table (the JSON has all)")
    rep.add_argument("--json", action="store_true", help="print the whole report as JSON")
    rep.set_defaults(func=cmd_report)


def _costs_and_delays(args: argparse.Namespace) -> tuple[Any, float, list[str]]:
    """(decision delay per (strategy, symbol), taker fee, notes) from --timeframe or the configuration."""
    from radar.live.divergence import DEFAULT_TAKER_FEE
    from radar.models import timeframe_ms

    if args.timeframe is not None:
        try:
            fixed = timeframe_ms(args.timeframe)
        except RadarError as exc:
            raise RadarError(f"--timeframe: {exc}") from None
        return fixed, DEFAULT_TAKER_FEE, []
    try:
        from radar.config import load_config

        cfg = load_config(getattr(args, "config", None))
    except RadarError as exc:
        note = f"configuration not loaded ({exc}): delays measured from the candle open, paper fees at {DEFAULT_TAKER_FEE:g}"
        return 0, DEFAULT_TAKER_FEE, [note]

    def delay(strategy: str, symbol: str) -> int:
        try:
            return timeframe_ms(cfg.strategy_params(strategy, symbol).timeframe)
        except RadarError:
            return 0  # a strategy this configuration does not know: measured from the candle open

    return delay, float(cfg.risk.fees.taker), []


def cmd_report(args: argparse.Namespace) -> int:
    from radar.cli.common import open_store, parse_date_ms
    from radar.live.divergence import divergence_report

    since = parse_date_ms(args.since, "--since") if args.since else None
    if args.max_delay < 0:
        raise RadarError(f"--max-delay must be >= 0 seconds, got {args.max_delay}")
    delays, taker, notes = _costs_and_delays(args)
    with open_store() as store:
        report = divergence_report(store.engine, since_ms=since, runner_id=args.runner, symbol=args.symbol,
                                   decision_delay_ms=delays, taker_fee=taker, max_delay_ms=int(args.max_delay * 1000))
    report = dataclasses.replace(report, notes=[*report.notes, *notes])
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        _print(report, args.rows)
    return 0


def _num(v: float | None, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def _print(report: Any, rows: int) -> None:
    from rich.console import Console
    from rich.table import Table

    from radar.cli.common import fmt_ms

    console = Console()
    s = report.summary()
    sl, dl = s["slippage_bps"], s["delay_ms"]
    console.print(f"[bold]paper vs live[/bold]: {s['pairs']} paired fill(s) ({s['matched_by_client_oid']} by client "
                  f"order id), {s['paper_only']} paper only, {s['live_only']} live only")
    console.print(f"slippage bps: mean {_num(sl['mean'], '.2f')}  p50 {_num(sl['p50'], '.2f')}  "
                  f"p95 {_num(sl['p95'], '.2f')}  (positive = live worse)")
    mean_s, p50_s, p95_s = (None if dl[k] is None else dl[k] / 1000 for k in ("mean", "p50", "p95"))
    console.print(f"fill delay: mean {_num(mean_s, '.2f')} s  p50 {_num(p50_s, '.2f')} s  p95 {_num(p95_s, '.2f')} s;  "
                  f"fees live - paper: {s['fee_diff_total']:+.4f} USDT")
    if report.pairs:
        table = Table(title=f"pairs (first {min(rows, len(report.pairs))} of {len(report.pairs)})")
        for col in ("time", "runner", "action", "paper", "live", "slip bps", "delay s", "fee diff", "by"):
            table.add_column(col, justify="right" if col in ("paper", "live", "slip bps", "delay s", "fee diff") else "left")
        for p in report.pairs[:rows]:
            table.add_row(fmt_ms(p.paper.time_ms), str(p.paper.runner_id), f"{p.paper.action} {'long' if p.paper.side > 0 else 'short'}",
                          f"{p.paper.price:g}", f"{p.live.price:g}", f"{p.slippage_bps:+.2f}", f"{p.delay_ms / 1000:.2f}",
                          f"{p.fee_diff:+.4f}", p.matched_by)
        console.print(table)
    for f in report.paper_only[:rows]:
        why = report.unfilled.get(f.ref)
        console.print(f"paper only: {fmt_ms(f.time_ms)} {f.runner_id} {f.action} {f.qty:g} @ {f.price:g}"
                      + (f" (live order {why})" if why else ""))
    for f in report.live_only[:rows]:
        console.print(f"live only: {fmt_ms(f.time_ms)} {f.runner_id or 'no runner'} {f.symbol} {f.action} {f.qty:g} @ {f.price:g}")
    for n in report.notes:
        print(f"note: {n}", file=sys.stderr)
