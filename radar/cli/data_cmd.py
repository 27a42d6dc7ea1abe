"""`radar data ...`: import CSV files, fetch history from Bitget, show what is stored, resample."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from radar.cli.common import fmt_ms, open_store
from radar.errors import DataError
from radar.models import TIMEFRAME_MS


def register(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="candle data: import, fetch, status, resample")
    dsub = data.add_subparsers(dest="data_command", metavar="ACTION")
    dsub.required = True

    imp = dsub.add_parser("import", help="import a CSV file (timestamp,open,high,low,close,volume)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--symbol", required=True, help="ccxt unified symbol, e.g. BTC/USDT:USDT")
    imp.add_argument("--timeframe", default=None, choices=list(TIMEFRAME_MS),
                     help="candle timeframe (default: read from the file name, e.g. *_1h_*.csv)")
    imp.add_argument("--exchange", default="bitget", help="exchange the candles come from (default bitget)")
    imp.add_argument("--funding", action="store_true", help="the file holds funding rates (timestamp,funding_rate)")
    imp.add_argument("--json", action="store_true", help="print the import report as JSON")
    imp.set_defaults(func=cmd_import)

    fetch = dsub.add_parser("fetch", help="fetch history from Bitget through ccxt (resumes where the store ends)")
    fetch.add_argument("--symbols", required=True, help="comma-separated ccxt symbols")
    fetch.add_argument("--timeframe", default="1h", choices=list(TIMEFRAME_MS))
    fetch.add_argument("--since", required=True, help="start date (YYYY-MM-DD or epoch ms)")
    fetch.add_argument("--until", default=None, help="end date (exclusive; default: now)")
    fetch.add_argument("--exchange-url", default=None, help="base URL of a Bitget-compatible server (the emulator)")
    fetch.add_argument("--no-progress", action="store_true", help="no progress bar")
    fetch.set_defaults(func=cmd_fetch)

    st = dsub.add_parser("status", help="list stored series: symbol, timeframe, first, last, rows, gaps")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_status)

    rs = dsub.add_parser("resample", help="build a higher timeframe from stored candles (UTC buckets)")
    rs.add_argument("--symbol", required=True)
    rs.add_argument("--from", dest="from_tf", default="1h", choices=list(TIMEFRAME_MS))
    rs.add_argument("--to", dest="to_tf", required=True, choices=list(TIMEFRAME_MS))
    rs.add_argument("--exchange", default="bitget")
    rs.set_defaults(func=cmd_resample)

    from radar.cli.synth_cmd import register_synth

    register_synth(dsub)


def cmd_import(args: argparse.Namespace) -> int:
    from radar.data.csv_io import read_candle_csv, read_funding_csv, timeframe_from_filename

    store = open_store()
    if args.funding:
        ts, rates, report = read_funding_csv(args.file)
        new = store.upsert_funding_rates(args.exchange, args.symbol, ts, rates)
        out = {"file": str(args.file), "symbol": args.symbol, "kind": "funding", "accepted": report.accepted,
               "new_rows": new, "rejected": report.rejected}
    else:
        tf = args.timeframe or timeframe_from_filename(args.file)
        candles, report = read_candle_csv(args.file, tf)
        new = store.upsert_candles(args.exchange, args.symbol, tf, candles)
        out = {"file": str(args.file), "symbol": args.symbol, "timeframe": tf, "exchange": args.exchange,
               "accepted": report.accepted, "new_rows": new, "rejected": report.rejected,
               "rejected_rows": [list(r) for r in report.rejected_rows[:20]], "gaps": len(report.gaps),
               "missing_candles": report.missing_candles,
               "stored_total": store.count(args.exchange, args.symbol, tf)}
    if args.json:
        print(json.dumps(out))
    else:
        print(f"{args.file}: {report.summary()}; {new} new rows stored")
        for row, reason in report.rejected_rows[:20]:
            print(f"  row {row}: rejected ({reason})")
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    from radar.cli.data_fetch_cmd import run_fetch

    return run_fetch(args)


def cmd_status(args: argparse.Namespace) -> int:
    rows = open_store().series_status()
    if args.json:
        print(json.dumps([
            {"exchange": r.exchange, "symbol": r.symbol, "timeframe": r.timeframe, "first": r.first_ms,
             "last": r.last_ms, "rows": r.rows, "gaps": r.gaps, "missing_candles": r.missing_candles} for r in rows]))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Stored candles")
    for col in ("exchange", "symbol", "tf", "first (UTC)", "last (UTC)", "rows", "gaps", "missing"):
        table.add_column(col, justify="right" if col in ("rows", "gaps", "missing") else "left")
    for r in rows:
        table.add_row(r.exchange, r.symbol, r.timeframe, fmt_ms(r.first_ms), fmt_ms(r.last_ms), f"{r.rows:,}",
                      str(r.gaps), str(r.missing_candles))
    Console().print(table if rows else "no candles stored yet (radar data import / radar data fetch)")
    return 0


def cmd_resample(args: argparse.Namespace) -> int:
    from radar.data.resample import resample

    if TIMEFRAME_MS[args.to_tf] <= TIMEFRAME_MS[args.from_tf]:
        raise DataError(f"resample: --to {args.to_tf} must be a higher timeframe than --from {args.from_tf}")
    store = open_store()
    src = store.load_candles(args.exchange, args.symbol, args.from_tf)
    if len(src) == 0:
        raise DataError(f"resample: no {args.from_tf} candles stored for {args.symbol} on {args.exchange}")
    out = resample(src, args.from_tf, args.to_tf)
    new = store.upsert_candles(args.exchange, args.symbol, args.to_tf, out)
    print(f"{args.symbol}: {len(src)} {args.from_tf} candles -> {len(out)} {args.to_tf} candles ({new} new)")
    return 0
