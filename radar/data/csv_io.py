"""Reading candle and funding CSVs in the format of ../shared/data (ms open time, UTC, header required).

A corrupt row (text in a number column, wrong number of fields) is not fatal: it is reported with its line
number and reason and the rest of the file is kept. A wrong header or a missing file is fatal (DataError).
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from radar.data.validation import MAX_REJECTED_ROWS, ValidationReport, validate_candles
from radar.errors import DataError
from radar.models import CandleArrays, TIMEFRAME_MS

CANDLE_HEADER = ("timestamp", "open", "high", "low", "close", "volume")
FUNDING_HEADER = ("timestamp", "funding_rate")
UNPARSEABLE = "unparseable"
SECONDS_LIMIT = 100_000_000_000  # epoch ms passed this in 1973; epoch seconds will not reach it for millennia
WRONG_FIELD_COUNT = "wrong_field_count"


def _read_rows(path: Path, header: tuple[str, ...]) -> tuple[list[list[str]], list[int]]:
    """Data rows and their 1-based line numbers (the header is line 1); blank lines are skipped."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            first = next(reader, None)
            got = tuple(h.strip().lower() for h in first) if first is not None else None
            if got != header:
                shown = "nothing (empty file)" if first is None else ",".join(first)
                raise DataError(f"{path}: expected header {','.join(header)}, got {shown}")
            rows: list[list[str]] = []
            lines: list[int] = []
            for row in reader:
                if row:
                    rows.append(row)
                    lines.append(reader.line_num)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, expected a CSV file") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: not a readable CSV file ({exc})") from None
    except PermissionError:
        raise DataError(f"{path}: permission denied") from None
    return rows, lines


def _parse_columns(
    rows: list[list[str]], lines: list[int], n_fields: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int], list[tuple[int, str]]]:
    """(int64 timestamps, float64 value matrix, line numbers, rejected counts, rejected rows) of the parseable rows."""
    try:
        if any(len(r) != n_fields for r in rows):
            raise ValueError("ragged")
        # Fast path: numpy converts whole columns of strings at C speed.
        table = np.array(rows, dtype=str).reshape(len(rows), n_fields)
        ts = table[:, 0].astype(np.int64)
        values = table[:, 1:].astype(np.float64)
        return ts, values, np.asarray(lines, dtype=np.int64), {}, []
    except ValueError:
        pass
    # Slow path, only for files with bad rows: find exactly which lines are unusable.
    ts_list: list[int] = []
    value_list: list[list[float]] = []
    good_lines: list[int] = []
    rejected: dict[str, int] = {}
    rejected_rows: list[tuple[int, str]] = []
    for row, line in zip(rows, lines):
        reason = None
        if len(row) != n_fields:
            reason = WRONG_FIELD_COUNT
        else:
            try:
                t = int(row[0].strip())
                vals = [float(x) for x in row[1:]]
            except ValueError:
                reason = UNPARSEABLE
        if reason is not None:
            rejected[reason] = rejected.get(reason, 0) + 1
            if len(rejected_rows) < MAX_REJECTED_ROWS:
                rejected_rows.append((line, reason))
            continue
        ts_list.append(t)
        value_list.append(vals)
        good_lines.append(line)
    values = np.array(value_list, dtype=np.float64).reshape(len(value_list), n_fields - 1)
    return np.array(ts_list, dtype=np.int64), values, np.array(good_lines, dtype=np.int64), rejected, rejected_rows


def read_candle_csv(path: str | Path, timeframe: str | None = None) -> tuple[CandleArrays, ValidationReport]:
    """Valid candles of a CSV (sorted, deduplicated) and a report of everything dropped, by line number.

    The timeframe (for alignment and gap checks) is taken from `timeframe` or else from the file name
    (`BTC-USD_1h_bitfinex.csv` -> 1h).
    """
    path = Path(path)
    tf = timeframe or timeframe_from_filename(path)
    rows, lines = _read_rows(path, CANDLE_HEADER)
    ts, values, good_lines, rejected, rejected_rows = _parse_columns(rows, lines, len(CANDLE_HEADER))
    if ts.shape[0] and int(np.max(ts)) < SECONDS_LIMIT:
        raise DataError(f"{path}: timestamps look like seconds (line {good_lines[0]}: {ts[0]}); expected epoch milliseconds")
    parsed = CandleArrays(ts, *(np.ascontiguousarray(values[:, k]) for k in range(5)))
    candles, report = validate_candles(parsed, tf, row_numbers=good_lines)
    parse_report = ValidationReport(rejected=rejected, rejected_rows=tuple(rejected_rows))
    return candles, parse_report.merge(report)


def read_funding_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray, ValidationReport]:
    """(timestamps int64 ms, funding rates float64, report) of a `timestamp,funding_rate` CSV, sorted and
    deduplicated. Funding times are kept exactly as published (exchanges stamp them a few ms late)."""
    path = Path(path)
    rows, lines = _read_rows(path, FUNDING_HEADER)
    ts, values, good_lines, rejected, rejected_rows = _parse_columns(rows, lines, len(FUNDING_HEADER))
    rates = values[:, 0]
    bad = ~np.isfinite(rates)
    order = np.argsort(ts[~bad], kind="stable")
    ts_ok, rates_ok, lines_ok = ts[~bad][order], rates[~bad][order], good_lines[~bad][order]
    dup = np.concatenate(([False], np.diff(ts_ok) == 0)) if ts_ok.shape[0] else np.zeros(0, dtype=bool)
    for reason, mask, where in (("non_finite", bad, good_lines), ("duplicate_timestamp", dup, lines_ok)):
        if mask.any():
            rejected[reason] = rejected.get(reason, 0) + int(mask.sum())
            rejected_rows.extend((int(line), reason) for line in where[mask].tolist())
    report = ValidationReport(
        accepted=int((~dup).sum()),
        rejected=rejected,
        rejected_rows=tuple(sorted(rejected_rows)[:MAX_REJECTED_ROWS]),
        unsorted=bool(ts_ok.shape[0] > 1 and np.any(np.diff(ts[~bad]) < 0)),
    )
    return ts_ok[~dup], rates_ok[~dup], report


def timeframe_from_filename(path: Path) -> str:
    """The timeframe token in a file name such as `ETH-BTC_5m.csv` or `XRP-USDT_1h_futures.csv`."""
    tokens = [t for t in path.stem.split("_") if t in TIMEFRAME_MS]
    if len(tokens) != 1:
        raise DataError(
            f"{path}: cannot tell the timeframe from the file name; pass it explicitly "
            f"(one of {', '.join(TIMEFRAME_MS)})"
        )
    return tokens[0]


__all__ = ["read_candle_csv", "read_funding_csv", "timeframe_from_filename"]
