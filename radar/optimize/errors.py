"""User-facing errors of the walk-forward optimiser (one clear line, printed by the CLI without a traceback)."""
from __future__ import annotations

from radar.errors import RadarError


class OptimizeError(RadarError):
    """A walk-forward run cannot start: windows do not fit the data, or the grid is empty after filtering."""
