"""Market regime: the classification rule and batch == incremental on BTC."""
from __future__ import annotations

import math

import numpy as np
import pytest

from radar.indicators.regime import WARMUP, Regime, RegimeDetector, classify_regime, regime_series
from radar.models import CandleArrays


@pytest.mark.parametrize(
    ("adx", "pdi", "mdi", "atr_pct", "expected"),
    [
        (40.0, 30.0, 10.0, 5.0, Regime.HIGH_VOLATILITY),  # volatility wins over trend
        (25.0, 30.0, 10.0, 1.0, Regime.TRENDING_UP),  # ADX exactly at the threshold counts as trending
        (30.0, 10.0, 30.0, 1.0, Regime.TRENDING_DOWN),
        (24.9, 30.0, 10.0, 1.0, Regime.RANGING),
        (10.0, 20.0, 20.0, 3.0, Regime.RANGING),  # atr% equal to the threshold is not "above" it
    ],
)
def test_classify_regime_rule(adx: float, pdi: float, mdi: float, atr_pct: float, expected: Regime) -> None:
    assert classify_regime(adx, pdi, mdi, atr_pct, adx_trend=25.0, atr_pct_high=3.0) is expected


def test_classify_regime_refuses_warm_up_values() -> None:
    with pytest.raises(ValueError, match="NaN"):
        classify_regime(math.nan, 1.0, 1.0, 1.0)


def test_regime_series_equals_detector_and_visits_every_regime_on_btc(btc: CandleArrays) -> None:
    series = regime_series(btc.high, btc.low, btc.close, adx_period=14, atr_period=14)
    det = RegimeDetector(adx_period=14, atr_period=14)
    got = [det.update(h, l, c) for h, l, c in zip(btc.high.tolist(), btc.low.tolist(), btc.close.tolist())]
    assert [WARMUP if g is None else int(g) for g in got] == series.tolist()
    assert (series[:27] == WARMUP).all() and series[27] != WARMUP  # ADX(14) first value at 2*14-1
    counts = {r: int((series == r).sum()) for r in Regime}
    assert all(v > 100 for v in counts.values()), counts
