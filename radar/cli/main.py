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
_COMMAND_MODULES = (
    "radar.cli.data_cmd",
    "radar.cli.backtest_cmd",
    "radar.cli.wfo_cmd",
    "radar.cli.live_cmd",
    "radar.cli.live_report_cmd",
    "radar.cli.api_cmd",
    "radar.cli.config_cmd",
    "radar.cli.demo_cmd",
    "radar.cli.emulator_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="radar", description="Scalp Radar: crypto perpetual-futures trading on Ray.")
    parser.add_argument("--config", metavar="DIR", help="configuration directory (default: $RADAR_CONFIG_DIR or ./config)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    import importlib

    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _default_wfo_action(argv: list[str]) -> list[str]:
    """`radar wfo --strategy X ...` means `radar wfo run --strategy X ...`."""
    from radar.cli.wfo_cmd import WFO_ACTIONS

    i = next((k for k, a in enumerate(argv) if not a.startswith("-") and (k == 0 or argv[k - 1] != "--config")), None)
    if i is not None and argv[i] == "wfo" and i + 1 < len(argv) and argv[i + 1] not in WFO_ACTIONS \
            and argv[i + 1] not in ("-h", "--help"):
        return argv[:i + 1] + ["run"] + argv[i + 1:]
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    argv = _default_wfo_action(argv)
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
