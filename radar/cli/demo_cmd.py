"""`radar demo`: the README's first command — the whole paper system on embedded defaults.

A local Ray, the SQLite store under data/, the loopback Bitget emulator replaying seeded synthetic
candles (or `--data FILE`, e.g. ../shared/data/BTC-USD_1h_bitfinex.csv) at high speed, and the live
status table, with the API and dashboard served on 127.0.0.1:8000 (the URL is printed). Same as
`radar up --exchange emulator`.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="the paper system on the local emulator (same as radar up --exchange emulator)")
    p.add_argument("--data", type=Path, default=None, help="replay this CSV instead of synthetic candles")
    p.add_argument("--speed", type=float, default=3600.0, help="simulated seconds per real second (default 3600)")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--api-port", type=int, default=None, help="API + dashboard port (default 8000)")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from radar.cli.live_cmd import cmd_up

    up = argparse.Namespace(config=args.config, live=False, paper=True, exchange="emulator", data=args.data,
                            synthetic=args.data is None, speed=args.speed, symbols=None, address=None,
                            duration=args.duration, detached=False, json=False, emulator_start=None,
                            api_host=None, api_port=args.api_port, no_api=False)
    return cmd_up(up)
