"""Serve the API + dashboard over the in-memory fake system: `radar api --fake` for the browser tests.

`radar/cli/main.py` does not register the `api` command module yet, so this runs that module's own
parser and handler (the same code path as `radar api --fake --demo-db DB --data CSV --port N`).
"""
from __future__ import annotations

import argparse
import sys

from radar.cli import api_cmd


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="radar")
    parser.add_argument("--config", default=None)
    api_cmd.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["api", *argv])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
