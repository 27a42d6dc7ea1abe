"""`radar config check`: load and validate every configuration file, print a summary."""
from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="configuration: check the YAML files")
    csub = p.add_subparsers(dest="config_command", metavar="ACTION")
    csub.required = True
    chk = csub.add_parser("check", help="validate config/*.yaml (file: key.path: reason on error)")
    chk.add_argument("--json", action="store_true")
    chk.set_defaults(func=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    from radar.config import load_config

    cfg = load_config(args.config)
    enabled = [s.name for s in cfg.enabled_strategies()]
    grids = {name: cfg.param_grid(name).n_combos() for name in ("grid_atr",)}
    summary = {"config_dir": str(cfg.config_dir), "enabled_strategies": enabled,
               "assets": len(cfg.assets), "grid_combos": grids}
    print(json.dumps(summary) if args.json else
          f"{cfg.config_dir}: OK - enabled strategies: {', '.join(enabled) or 'none'}; grid_atr grid: {grids['grid_atr']} combos")
    return 0
