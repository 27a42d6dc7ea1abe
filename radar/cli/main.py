"""The `radar` command: one entry point, one sub-module per command group.

Each command module exposes `register(subparsers)`; it adds its parser and sets `func` (called with
the parsed args, returns an exit code). User errors (`RadarError`) print one line and exit 2.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from radar.errors import RadarError

# Command modules, in the order they appear in `radar --help`.
_COMMAND_MODULES = ("radar.cli.data_cmd", "radar.cli.config_cmd", "radar.cli.demo_cmd", "radar.cli.backtest_cmd")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="radar", description="Scalp Radar: crypto perpetual-futures trading on Ray.")
    parser.add_argument("--config", metavar="DIR", help="configuration directory (default: $RADAR_CONFIG_DIR or ./config)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    import importlib

    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.config:
        import os

        os.environ["RADAR_CONFIG_DIR"] = args.config
    try:
        return int(args.func(args) or 0)
    except RadarError as exc:
        print(f"radar: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("radar: interrupted", file=sys.stderr)
        return 130
