"""to_state/from_state: strict JSON, and a restored indicator continues bit-identically."""
from __future__ import annotations

import json
import math
from collections.abc import Callable

import pytest

from radar.errors import DataError
from radar.indicators import incremental as inc
from radar.indicators.regime import RegimeDetector
from radar.models import CandleArrays

FACTORIES: dict[str, tuple[Callable[[], object], str]] = {
    "sma": (lambda: inc.SMA(20), "c"),
    "ema": (lambda: inc.EMA(20), "c"),
    "rsi": (lambda: inc.RSI(14), "c"),
    "bollinger": (lambda: inc.Bollinger(20, 2.0), "c"),
    "max": (lambda: inc.RollingMax(30), "c"),
    "min": (lambda: inc.RollingMin(30), "c"),
    "tr": (lambda: inc.TrueRange(), "hlc"),
    "atr": (lambda: inc.ATR(14), "hlc"),
    "adx": (lambda: inc.ADX(14), "hlc"),
    "supertrend": (lambda: inc.Supertrend(10, 3.0), "hlc"),
    "regime": (lambda: RegimeDetector(), "hlc"),
    "vwap": (lambda: inc.RollingVWAP(24), "hlcv"),
    "donchian": (lambda: inc.Donchian(20), "hl"),
}


def rows(btc: CandleArrays, shape: str, start: int, stop: int) -> list[tuple[float, ...]]:
    cols = {"h": btc.high, "l": btc.low, "c": btc.close, "v": btc.volume}
    return list(zip(*(cols[k][start:stop].tolist() for k in shape)))


def same(a: object, b: object) -> bool:
    # Bit-identical, treating NaN == NaN; Regime/None compared by value.
    if isinstance(a, tuple):
        return isinstance(b, tuple) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == b and type(a) is type(b)


@pytest.mark.parametrize("name", sorted(FACTORIES))
@pytest.mark.parametrize("cut", [5, 3000])  # mid warm-up and well after it
def test_restored_indicator_continues_bit_identically(btc: CandleArrays, name: str, cut: int) -> None:
    factory, shape = FACTORIES[name]
    original = factory()
    for r in rows(btc, shape, 0, cut):
        original.update(*r)  # type: ignore[attr-defined]
    text = json.dumps(original.to_state(), allow_nan=False)  # type: ignore[attr-defined]
    restored = type(original).from_state(json.loads(text))  # type: ignore[attr-defined]
    assert same(restored.value, original.value)  # type: ignore[attr-defined]
    for r in rows(btc, shape, cut, cut + 2000):
        a, b = original.update(*r), restored.update(*r)  # type: ignore[attr-defined]
        assert same(a, b), f"{name} diverged after restore: {a} != {b}"


def test_from_state_rejects_another_indicators_state() -> None:
    with pytest.raises(DataError, match="kind is 'EMA', expected 'SMA'"):
        inc.SMA.from_state(inc.EMA(3).to_state())


def test_from_state_names_a_missing_field() -> None:
    state = inc.ATR(3).to_state()
    del state["seed"]
    with pytest.raises(DataError, match="ATR state: missing or invalid field.*seed"):
        inc.ATR.from_state(state)
