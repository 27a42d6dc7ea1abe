"""The incremental indicators of one runner, updated once per candle, with serialisable state.

Output names: a single-output indicator is published under its spec name; a multi-output one
under `<name>_<output>` (e.g. `bb_upper`, `adx_plus_di`, `st_dir`). `close`, `high`, `low`,
`open` and `volume` of the last candle are always published too. Specs with `htf` are fed the
completed higher-timeframe candles only (no look-ahead, SPEC §3). Kind `regime` publishes
int(Regime) as a float, NaN while warming up.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from radar.models import Candle, timeframe_ms
from radar.strategies.base import IndicatorSpec

RAW_FIELDS = ("open", "high", "low", "close", "volume")


class IndicatorBank:
    def __init__(self, specs: Mapping[str, IndicatorSpec], base_timeframe: str) -> None:
        from radar.indicators import incremental as inc

        self.specs = dict(specs)
        self.base_timeframe = base_timeframe
        self._inc = inc
        self.indicators: dict[str, Any] = {name: _make(inc, spec) for name, spec in self.specs.items()}
        htfs = sorted({s.htf for s in self.specs.values() if s.htf})
        if htfs:
            from radar.indicators.multi_tf import HigherTimeframe
        self.aggregators: dict[str, Any] = {
            tf: HigherTimeframe(timeframe_ms(base_timeframe), timeframe_ms(tf)) for tf in htfs
        }
        self.values: dict[str, float] = {}
        for name, spec in self.specs.items():
            for key in spec.keys(name):
                self.values[key] = math.nan

    def update(self, candle: Candle) -> dict[str, float]:
        completed = {tf: agg.update_candle(candle) for tf, agg in self.aggregators.items()}
        for name, spec in self.specs.items():
            if spec.htf:
                for htf_candle in completed[spec.htf]:  # usually 0 or 1; 2 when a gap closed a bucket
                    self._publish(name, spec, htf_candle)
            else:
                self._publish(name, spec, candle)
        snap = dict(self.values)
        snap.update(open=candle.open, high=candle.high, low=candle.low, close=candle.close, volume=candle.volume)
        return snap

    def _publish(self, name: str, spec: IndicatorSpec, c: Candle) -> None:
        result = _feed(self.indicators[name], spec, c.open, c.high, c.low, c.close, c.volume)
        keys = spec.keys(name)
        if len(keys) == 1:
            self.values[name] = _as_float(result)
        else:
            for key, val in zip(keys, result):
                self.values[key] = float(val)

    def to_state(self) -> dict[str, Any]:
        return {
            "indicators": {n: ind.to_state() for n, ind in self.indicators.items()},
            "aggregators": {tf: a.to_state() for tf, a in self.aggregators.items()},
            "values": {k: ("nan" if math.isnan(v) else v) for k, v in self.values.items()},
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        for n, s in state["indicators"].items():
            self.indicators[n] = type(self.indicators[n]).from_state(s)
        for tf, s in state["aggregators"].items():
            self.aggregators[tf] = type(self.aggregators[tf]).from_state(s)
        self.values = {k: (math.nan if v == "nan" else v) for k, v in state["values"].items()}


def _as_float(v: Any) -> float:
    # the regime detector answers None while warming up and a Regime (IntEnum) after
    return math.nan if v is None else float(v)


def _make(inc: Any, spec: IndicatorSpec) -> Any:
    k, a = spec.kind, spec.args
    if k in ("sma", "ema", "rsi", "max", "min"):
        cls = {"sma": inc.SMA, "ema": inc.EMA, "rsi": inc.RSI, "max": inc.RollingMax, "min": inc.RollingMin}[k]
        return cls(a[0])
    if k == "atr":
        return inc.ATR(a[0])
    if k == "adx":
        return inc.ADX(a[0])
    if k == "bollinger":
        return inc.Bollinger(a[0], a[1])
    if k == "supertrend":
        return inc.Supertrend(a[0], a[1])
    if k == "vwap":
        return inc.RollingVWAP(a[0])
    if k == "donchian":
        return inc.Donchian(a[0])
    if k == "regime":
        from radar.indicators.regime import RegimeDetector

        return RegimeDetector(adx_period=a[0] if a else 14, atr_period=a[1] if len(a) > 1 else 14)
    raise ValueError(f"unknown indicator kind {k!r}")


def _feed(ind: Any, spec: IndicatorSpec, o: float, h: float, l: float, c: float, v: float) -> Any:
    k = spec.kind
    if k in ("sma", "ema", "rsi", "max", "min", "bollinger"):
        source = spec.args[-1] if spec.args and isinstance(spec.args[-1], str) else "close"
        x = {"open": o, "high": h, "low": l, "close": c, "volume": v}[source]
        return ind.update(x)
    if k == "vwap":
        return ind.update(h, l, c, v)
    if k == "donchian":
        return ind.update(h, l)
    return ind.update(h, l, c)
