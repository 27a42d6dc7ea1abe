"""Position bookkeeping: grid (several levels, one average entry) and single positions."""
from radar.positions.costs import CostModel
from radar.positions.grid import GridPosition, GridPositionManager
from radar.positions.exits import resolve_exit, sl_gap_fill

__all__ = ["CostModel", "GridPosition", "GridPositionManager", "resolve_exit", "sl_gap_fill"]
