"""Shared test fixtures. Real market data lives outside the repo in ../shared/data (never copied in)."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data directory. Missing data is a broken checkout, so fail loudly instead of skipping."""
    if not (SHARED_DATA / "BTC-USD_1h_bitfinex.csv").is_file():
        pytest.fail(f"shared market data not found at {SHARED_DATA} (expected ../shared/data next to the repo)")
    return SHARED_DATA
