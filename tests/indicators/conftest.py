"""Fixtures for the indicator tests: the BTC hourly reference series as arrays."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from radar.models import CandleArrays


@pytest.fixture(scope="session")
def btc(shared_data: Path) -> CandleArrays:
    raw = np.loadtxt(shared_data / "BTC-USD_1h_bitfinex.csv", delimiter=",", skiprows=1)
    return CandleArrays(raw[:, 0].astype(np.int64), *(np.ascontiguousarray(raw[:, k]) for k in range(1, 6)))
