"""`radar demo`: the README's first command. The live actor system is not built yet."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the whole system on embedded defaults (not available yet)")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    print("radar demo: not available yet - the live actor system (emulator replay, runners, dashboard) "
          "lands with a later issue.\nWhat works today: radar data import/fetch/status/resample (see README.md).")
    return 0
