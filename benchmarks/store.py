"""Candle store throughput on SQLite: insert, reload and idempotent re-import.

Replicates one real CSV under several symbols (~200k rows) into a temporary database and prints ONE
JSON object. Usage: python benchmarks/store.py [--data FILE] [--copies N]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from radar.data.csv_io import read_candle_csv, timeframe_from_filename
from radar.data.store import CandleStore

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "BTC-USD_1h_bitfinex.csv"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="candle CSV to replicate")
    parser.add_argument("--copies", type=int, default=12, help="number of symbols the file is stored under")
    args = parser.parse_args(argv)

    candles, _ = read_candle_csv(args.data)
    timeframe = timeframe_from_filename(args.data)
    symbols = [f"BENCH{i}/USDT:USDT" for i in range(args.copies)]
    with tempfile.TemporaryDirectory() as tmp:
        store = CandleStore(f"sqlite:///{tmp}/bench.db")
        try:
            t0 = time.perf_counter()
            inserted = sum(store.upsert_candles("bench", s, timeframe, candles) for s in symbols)
            insert_s = time.perf_counter() - t0

            t0 = time.perf_counter()
            loaded = sum(len(store.load_candles("bench", s, timeframe)) for s in symbols)
            load_s = time.perf_counter() - t0

            t0 = time.perf_counter()
            reimported = sum(store.upsert_candles("bench", s, timeframe, candles) for s in symbols)
            reimport_s = time.perf_counter() - t0

            check = store.load_candles("bench", symbols[-1], timeframe)
            identical = all(
                np.array_equal(getattr(check, f), getattr(candles, f))
                for f in ("timestamp", "open", "high", "low", "close", "volume")
            )
        finally:
            store.close()

    print(json.dumps({
        "db": "sqlite",
        "data": args.data.name,
        "rows": inserted,
        "loaded_rows": loaded,
        "insert_candles_per_s": round(inserted / insert_s),
        "load_candles_per_s": round(loaded / load_s),
        "reimport_new_rows": reimported,
        "reimport_candles_per_s": round(len(candles) * len(symbols) / reimport_s),
        "roundtrip_identical": identical,
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, Python {platform.python_version()}, "
                   f"SQLite {sqlite3.sqlite_version}, shared with other jobs (numbers are indicative)",
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
