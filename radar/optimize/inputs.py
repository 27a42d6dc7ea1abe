"""Where a sweep's inputs come from in production: candles and funding rates from the store (or one CSV
served as every symbol), costs, capital and limits from risk.yaml. Shared by `radar wfo` and the job
manager so both plan a sweep the same way."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from radar.errors import DataError
from radar.models import TIMEFRAME_MS, CandleArrays


def engine_settings(risk: Any, capital: float | None = None) -> Any:  # -> EngineSettings
    """risk.yaml -> the fast engine's costs, capital and safety limits (single-asset backtest mode)."""
    # Imported here: the CLI imports this module at start-up and the engine pulls in numba.
    from radar.backtest.fast.dispatch import EngineSettings
    from radar.positions.costs import CostModel

    return EngineSettings(
        CostModel(taker_fee=risk.fees.taker, maker_fee=risk.fees.maker, slippage=risk.slippage),
        float(risk.initial_capital if capital is None else capital), risk.backtest.default_funding_rate,
        risk.max_margin_ratio, risk.kill_switch.runner_max_loss_percent, risk.backtest.hard_drawdown_percent)


def read_csv_as(path: Path, timeframe: str) -> CandleArrays:
    """Candles of a CSV in `timeframe`: the file's own timeframe (from its name, else `timeframe`),
    resampled up when it is lower."""
    from radar.data.csv_io import read_candle_csv, timeframe_from_filename
    from radar.data.resample import resample

    if not path.is_file():
        raise DataError(f"{path}: no such candle file")
    try:
        file_tf = timeframe_from_filename(path)
    except DataError:
        file_tf = timeframe
    if TIMEFRAME_MS[file_tf] > TIMEFRAME_MS[timeframe]:
        raise DataError(f"{path}: holds {file_tf} candles, cannot backtest on the lower timeframe {timeframe}")
    arr, _report = read_candle_csv(path, file_tf)
    return arr if file_tf == timeframe else resample(arr, file_tf, timeframe)


class StoreInputs:
    """(symbol, timeframe) -> candles and (symbol, candle ts) -> funding per candle, from a CandleStore."""

    def __init__(self, store: Any, exchange: str, default_funding_rate: float, csv: Path | None = None) -> None:
        self.store, self.exchange, self.default_rate, self.csv = store, exchange, default_funding_rate, csv

    def candles(self, symbol: str, timeframe: str) -> CandleArrays:
        if self.csv is not None:
            return read_csv_as(Path(self.csv), timeframe)
        arr = self.store.load_candles(self.exchange, symbol, timeframe)
        if len(arr) == 0:
            raise DataError(f"no {timeframe} candles stored for {symbol} on {self.exchange} "
                            f"(radar data import / radar data fetch, or --csv FILE)")
        return arr

    def funding(self, symbol: str, ts: np.ndarray) -> np.ndarray | None:
        from radar.backtest.single import FundingSource

        f_ts, rates = self.store.load_funding_rates(self.exchange, symbol)
        return FundingSource(f_ts, rates, self.default_rate).per_candle(ts) if len(f_ts) else None
