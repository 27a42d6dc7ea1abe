"""Backtesting: trade metrics (`metrics`) and the fast numba engine (`fast`) kept equal to the runners."""
from radar.backtest.metrics import METRIC_NAMES, Metrics, compute_metrics, metric_row

__all__ = ["METRIC_NAMES", "Metrics", "compute_metrics", "metric_row"]
