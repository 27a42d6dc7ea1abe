"""Fast (numba) backtest engine: an indicator cache per data window and batch kernels over param combos."""
from radar.backtest.fast.cache import IndicatorCache, funding_candles
from radar.backtest.fast.dispatch import EngineSettings, fast_strategies, prepare, run_batch, run_trades, supports
from radar.backtest.fast.engine import (
    BATCH_COLUMNS, PARAM_COLUMNS, SIDE_CODES, FastRun, batch_metrics, funding_per_candle, params_array, params_row,
    run_grid_atr_batch, run_grid_atr_trades,
)

__all__ = [
    "EngineSettings", "fast_strategies", "prepare", "run_batch", "run_trades", "supports",
    "BATCH_COLUMNS", "PARAM_COLUMNS", "SIDE_CODES", "FastRun", "IndicatorCache", "batch_metrics", "funding_candles",
    "funding_per_candle", "params_array", "params_row", "run_grid_atr_batch", "run_grid_atr_trades",
]
