"""Candle storage, validation, CSV import and resampling (SPEC §3)."""
from radar.data.csv_io import read_candle_csv, read_funding_csv
from radar.data.resample import resample
from radar.data.store import CandleStore, SeriesStatus
from radar.data.validation import Gap, ValidationReport, find_gaps, validate_candle, validate_candles

__all__ = [
    "CandleStore",
    "Gap",
    "SeriesStatus",
    "ValidationReport",
    "find_gaps",
    "read_candle_csv",
    "read_funding_csv",
    "resample",
    "validate_candle",
    "validate_candles",
]
