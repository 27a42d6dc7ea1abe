"""`radar data fetch`: download history from Bitget (or the emulator) into the candle store."""
from __future__ import annotations

import argparse
import sys

from radar.cli.common import fmt_ms, open_store, parse_date_ms
from radar.errors import DataError, RadarError


def run_fetch(args: argparse.Namespace) -> int:
    """Fetch every `--symbols` entry; a failing symbol does not stop the others. Exit 2 if any failed.

    The store is the one `DATABASE_URL` names (else the embedded SQLite file); `--exchange-url` points
    ccxt at a Bitget-compatible server such as the emulator.
    """
    from radar.data.fetch import fetch_history
    from radar.exchange.bitget import make_bitget_client

    symbols = [s.strip() for s in str(args.symbols).split(",") if s.strip()]
    if not symbols:
        raise RadarError("--symbols: give at least one ccxt symbol, e.g. BTC/USDT:USDT")
    since = parse_date_ms(args.since, "--since")
    until = parse_date_ms(args.until, "--until") if getattr(args, "until", None) else None
    progress = not getattr(args, "no_progress", False)
    client = make_bitget_client(getattr(args, "exchange_url", None))
    failures = 0
    with open_store() as store:
        for symbol in symbols:
            try:
                r = fetch_history(store, client, symbol, args.timeframe, since, until, progress=progress)
            except DataError as exc:
                failures += 1
                print(f"radar: error: {exc}", file=sys.stderr)
                continue
            start = f"resumed at {fmt_ms(r.resumed_from_ms)}" if r.resumed_from_ms is not None else f"from {fmt_ms(r.start_ms)}"
            rejected = f", rejected {sum(r.rejected.values())} ({', '.join(f'{k}: {v}' for k, v in sorted(r.rejected.items()))})" if r.rejected else ""
            missing = f", {r.missing_candles} missing" if r.missing_candles else ""
            print(f"{symbol} {r.timeframe}: {start}, {r.pages} pages, {r.fetched} fetched, {r.stored} new rows, "
                  f"{r.retries} retries{rejected}{missing}")
    return 2 if failures else 0
