"""`radar data synth`: write seeded synthetic candles to the store or to a CSV file."""
from __future__ import annotations

import argparse
from pathlib import Path

from radar.cli.common import fmt_ms, open_store, parse_date_ms
from radar.errors import DataError
from radar.models import TIMEFRAME_MS

DEFAULT_START = "2024-01-01"
SYNTH_EXCHANGE = "synthetic"


def register_synth(dsub: argparse._SubParsersAction) -> None:
    sy = dsub.add_parser("synth", help="generate seeded synthetic candles (GARCH volatility, jumps, path wicks)")
    sy.add_argument("--symbol", required=True, help="ccxt unified symbol to label them with, e.g. SYN/USDT:USDT")
    sy.add_argument("--timeframe", default="1h", choices=list(TIMEFRAME_MS))
    sy.add_argument("--candles", type=int, required=True, help="how many candles")
    sy.add_argument("--seed", type=int, default=0, help="random seed (same seed, same candles)")
    sy.add_argument("--start", default=DEFAULT_START, help=f"first open time (YYYY-MM-DD or epoch ms; default {DEFAULT_START})")
    sy.add_argument("--start-price", type=float, default=30_000.0)
    sy.add_argument("--hourly-vol", type=float, default=0.006, help="long-run stdev of a 1h log return")
    out = sy.add_mutually_exclusive_group(required=True)
    out.add_argument("--store", action="store_true", help="upsert into the candle store")
    out.add_argument("--out", type=Path, metavar="FILE.csv", help="write a CSV (timestamp,open,high,low,close,volume)")
    sy.add_argument("--exchange", default=SYNTH_EXCHANGE,
                    help=f"exchange label in the store (default {SYNTH_EXCHANGE}, kept apart from real data)")
    sy.set_defaults(func=cmd_synth)


def cmd_synth(args: argparse.Namespace) -> int:
    from radar.data.synth import SynthParams, synth_candles, write_candle_csv

    if args.candles < 1:
        raise DataError(f"data synth: --candles must be >= 1, got {args.candles}")
    start = parse_date_ms(args.start, "--start")
    params = SynthParams(start_price=args.start_price, hourly_vol=args.hourly_vol)
    candles = synth_candles(args.candles, args.timeframe, seed=args.seed, start_ms=start, params=params)
    span = f"{fmt_ms(int(candles.timestamp[0]))} .. {fmt_ms(int(candles.timestamp[-1]))}"
    if args.out is not None:
        write_candle_csv(args.out, candles)
        print(f"{args.out}: {len(candles)} synthetic {args.timeframe} candles (seed {args.seed}), {span} UTC")
    else:
        new = open_store().upsert_candles(args.exchange, args.symbol, args.timeframe, candles)
        print(f"{args.symbol} on {args.exchange}: {len(candles)} synthetic {args.timeframe} candles (seed {args.seed}), "
              f"{span} UTC; {new} new rows stored")
    return 0
