"""Incremental indicators: O(1) per candle, NaN during warm-up, exact JSON state.

Each class replays the operation sequence of its kernel in `batch.py` (same additions in the same
order, same compensated sums), so batch and incremental agree bit-for-bit on the same candles.

State: `to_state()` returns a JSON-serialisable dict (floats kept as-is — JSON round-trips a float's
repr exactly; NaN is stored as None so the JSON stays standard) and `Cls.from_state(d)` restores an
object whose subsequent values are bit-identical to the original's.
"""
from __future__ import annotations

import math
from collections import deque
from typing import Any, ClassVar, Self

from radar.errors import DataError
from radar.indicators.batch import neumaier_add

NAN = math.nan


def _enc(x: float) -> float | None:
    return None if math.isnan(x) else x


def _dec(x: float | None) -> float:
    return NAN if x is None else float(x)


def _check_period(name: str, n: int, minimum: int) -> int:
    if not isinstance(n, int) or isinstance(n, bool) or n < minimum:
        raise ValueError(f"{name}: period must be an integer >= {minimum}, got {n!r}")
    return n


class Indicator:
    """Base of the incremental indicators: a `value` property plus exact JSON state."""

    kind: ClassVar[str] = ""

    def to_state(self) -> dict[str, Any]:
        return {"kind": type(self).__name__, **self._state()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Self:
        if not isinstance(state, dict):
            raise DataError(f"{cls.__name__} state: expected a dict, got {type(state).__name__}")
        if state.get("kind") != cls.__name__:
            raise DataError(f"{cls.__name__} state: kind is {state.get('kind')!r}, expected {cls.__name__!r}")
        try:
            return cls._restore(state)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{cls.__name__} state: missing or invalid field ({exc!r})") from None

    def _state(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def _restore(cls, state: dict[str, Any]) -> Self:  # pragma: no cover - abstract
        raise NotImplementedError


class SMA(Indicator):
    """Mean of the last n values (compensated running sum)."""

    def __init__(self, n: int) -> None:
        self.n = _check_period("SMA", n, 1)
        self._win: deque[float] = deque()
        self._s = 0.0
        self._c = 0.0
        self._value = NAN

    @property
    def value(self) -> float:
        return self._value

    def update(self, x: float) -> float:
        x = float(x)
        if len(self._win) == self.n:
            self._s, self._c = neumaier_add(self._s, self._c, -self._win.popleft())
        self._win.append(x)
        self._s, self._c = neumaier_add(self._s, self._c, x)
        if len(self._win) == self.n:
            self._value = (self._s + self._c) / self.n
        return self._value

    def _state(self) -> dict[str, Any]:
        return {"n": self.n, "win": list(self._win), "s": self._s, "c": self._c, "value": _enc(self._value)}

    @classmethod
    def _restore(cls, st: dict[str, Any]) -> Self:
        obj = cls(st["n"])
        obj._win = deque(float(v) for v in st["win"])
        obj._s, obj._c, obj._value = float(st["s"]), float(st["c"]), _dec(st["value"])
        return obj


VolumeSMA = SMA


class EMA(Indicator):
    """EMA, alpha 2/(n+1), seeded with the plain mean of the first n values."""

    def __init__(self, n: int) -> None:
        self.n = _check_period("EMA", n, 1)
        self._k = 2.0 / (n + 1)
        self._count = 0
        self._seed = 0.0
        self._value = NAN

    @property
    def value(self) -> float:
        return self._value

    def update(self, x: float) -> float:
        x = float(x)
        self._count += 1
        if self._count < self.n:
            self._seed += x
        elif self._count == self.n:
            self._seed += x
            self._value = self._seed / self.n
        else:
            self._value = (x - self._value) * self._k + self._value
        return self._value

    def _state(self) -> dict[str, Any]:
        return {"n": self.n, "count": self._count, "seed": self._seed, "value": _enc(self._value)}

    @classmethod
    def _restore(cls, st: dict[str, Any]) -> Self:
        obj = cls(st["n"])
        obj._count, obj._seed, obj._value = int(st["count"]), float(st["seed"]), _dec(st["value"])
        return obj


def _true_range(high: float, low: float, prev_close: float) -> float:
    # Same comparison sequence as batch.true_range.
    tr = high - low
    v = abs(prev_close - high)
    if v > tr:
        tr = v
    v = abs(prev_close - low)
    if v > tr:
        tr = v
    return tr


class TrueRange(Indicator):
    """TR of the latest candle; the first candle's TR is high - low."""

    def __init__(self) -> None:
        self._prev_close = NAN
        self._value = NAN

    @property
    def value(self) -> float:
        return self._value

    def update(self, high: float, low: float, close: float) -> float:
        high, low = float(high), float(low)
        if math.isnan(self._prev_close):
            self._value = high - low
        else:
            self._value = _true_range(high, low, self._prev_close)
        self._prev_close = float(close)
        return self._value

    def _state(self) -> dict[str, Any]:
        return {"prev_close": _enc(self._prev_close), "value": _enc(self._value)}

    @classmethod
    def _restore(cls, st: dict[str, Any]) -> Self:
        obj = cls()
        obj._prev_close, obj._value = _dec(st["prev_close"]), _dec(st["value"])
        return obj


class ATR(Indicator):
    """Wilder ATR (TA-Lib): first value on the (n+1)-th candle = mean(TR[1..n]), then (prev*(n-1)+TR)/n."""

    def __init__(self, n: int) -> None:
        self.n = _check_period("ATR", n, 1)
        self._count = 0
        self._prev_close = NAN
        self._seed = 0.0
        self._value = NAN

    @property
    def value(self) -> float:
        return self._value

    def update(self, high: float, low: float, close: float) -> float:
        high, low, close = float(high), float(low), float(close)
        i = self._count
        self._count += 1
        if i > 0:
            tr = _true_range(high, low, self._prev_close)
            if i < self.n:
                self._seed += tr
            elif i == self.n:
                self._seed += tr
                self._value = self._seed / self.n
            else:
                v = self._value * (self.n - 1)
                v = v + tr
                self._value = v / self.n
        self._prev_close = close
        return self._value

    def _state(self) -> dict[str, Any]:
        return {"n": self.n, "count": self._count, "prev_close": _enc(self._prev_close),
                "seed": self._seed, "value": _enc(self._value)}

    @classmethod
    def _restore(cls, st: dict[str, Any]) -> Self:
        obj = cls(st["n"])
        obj._count, obj._prev_close = int(st["count"]), _dec(st["prev_close"])
        obj._seed, obj._value = float(st["seed"]), _dec(st["value"])
        return obj


class ADX(Indicator):
    """Wilder ADX / +DI / -DI exactly as `batch.adx` (TA-Lib): DIs from the (n+1)-th candle, ADX from the 2n-th.

    `update` and `value` return (adx, plus_di, minus_di).
    """

    def __init__(self, n: int) -> None:
        self.n = _check_period("ADX", n, 2)
        self._count = 0
        self._prev_h = NAN
        self._prev_l = NAN
        self._prev_c = NAN
        self._pdm = 0.0
        self._mdm = 0.0
        self._tr = 0.0
        self._sum_dx = 0.0
        self._adx = NAN
        self._pdi = NAN
        self._mdi = NAN

    @property
    def value(self) -> tuple[float, float, float]:
        return self._adx, self._pdi, self._mdi

    def update(self, high: float, low: float, close: float) -> tuple[float, float, float]:
        high, low, close = float(high), float(low), float(close)
        i = self._count
        self._count += 1
        n = self.n
        if i == 0:
            self._prev_h, self._prev_l, self._prev_c = high, low, close
            return self.value
        diff_p = high - self._prev_h
        diff_m = self._prev_l - low
        self._prev_h, self._prev_l = high, low
        tr = _true_range(high, low, self._prev_c)
        self._prev_c = close
        if i < n:
            if diff_m > 0 and diff_p < diff_m:
                self._mdm += diff_m
            elif diff_p > 0 and diff_p > diff_m:
                self._pdm += diff_p
            self._tr += tr
            return self.value
        self._mdm -= self._mdm / n
        self._pdm -= self._pdm / n
        if diff_m > 0 and diff_p < diff_m:
            self._mdm += diff_m
        elif diff_p > 0 and diff_p > diff_m:
            self._pdm += diff_p
        trs = self._tr - (self._tr / n) + tr
        self._tr = trs
        if trs != 0.0:
            mdi = 100.0 * (self._mdm / trs)
            pdi = 100.0 * (self._pdm / trs)
        else:
            mdi = 0.0
            pdi = 0.0
        self._pdi, self._mdi = pdi, mdi
        di_sum = mdi + pdi
        has_dx = trs != 0.0 and di_sum != 0.0
        dx = 100.0 * (abs(mdi - pdi) / di_sum) if has_dx else 0.0
        if i < 2 * n - 1:
            if has_dx:
                self._sum_dx += dx
        elif i == 2 * n - 1:
            if has_dx:
                self._sum_dx += dx
            self._adx = self._sum_dx / n
        elif has_dx:
            self._adx = ((self._adx * (n - 1)) + dx) / n
        return self.value

    def _state(self) -> dict[str, Any]:
        return {"n": self.n, "count": self._count, "prev_h": _enc(self._prev_h), "prev_l": _enc(self._prev_l),
                "prev_c": _enc(self._prev_c), "pdm": self._pdm, "mdm": self._mdm, "tr": self._tr,
                "sum_dx": self._sum_dx, "adx": _enc(self._adx), "pdi": _enc(self._pdi), "mdi": _enc(self._mdi)}

    @classmethod
    def _restore(cls, st: dict[str, Any]) -> Self:
        obj = cls(st["n"])
        obj._count = int(st["count"])
        obj._prev_h, obj._prev_l, obj._prev_c = _dec(st["prev_h"]), _dec(st["prev_l"]), _dec(st["prev_c"])
        obj._pdm, obj._mdm, obj._tr, obj._sum_dx = float(st["pdm"]), float(st["mdm"]), float(st["tr"]), float(st["sum_dx"])
        obj._adx, obj._pdi, obj._mdi = _dec(st["adx"]), _dec(st["pdi"]), _dec(st["mdi"])
        return obj


class Bollinger(Indicator):
    """(mid, upper, lower) = SMA(n) ± k * population std of the last n values."""

    def __init__(self, n: int, k: float) -> None:
        self.n = _check_period("Bollinger", n, 1)
        self.k = float(k)
        self._win: deque[float] = deque()
        self._s1 = self._c1 = self._s2 = self._c2 = 0.0
        self._value: tuple[float, float, float] = (NAN, NAN, NAN)

    @property
    def value(self) -> tuple[float, float, float]:
        return self._value

    def update(self, x: float) -> tuple[float, float, float]:
        x = float(x)
        if len(self._win) == self.n:
            old = self._win.popleft()
            self._s1, self._c1 = neumaier_add(self._s1, self._c1, -old)
            self._s2, self._c2 = neumaier_add(self._s2, self._c2, -(old * old))
        self._win.append(x)
        self._s1, self._c1 = neumaier_add(self._s1, self._c1, x)
        self._s2, self._c2 = neumaier_add(self._s2, self._c2, x * x)
        if len(self._win) == self.n:
            mean = (self._s1 + self._c1) / self.n
            var = (self._s2 + self._c2) / self.n - mean * mean
            std = math.sqrt(var) if var > 0.0 else 0.0
            band = self.k * std
            self._value = (mean, mean + band, mean - band)
        return self._value

    def _state(self) -> dict[str, Any]:
        return {"n": self.n, "k": self.k, "win": list(self._win), "s1": self._s1, "c1": self._c1,
                "s2": self._s2, "c2": self._c2, "value": [_enc(v) for v in self._value]}

    @classmethod
    def _restore(cls, st: dict[str, Any]) -> Self:
        obj = cls(st["n"], st["k"])
        obj._win = deque(float(v) for v in st["win"])
        obj._s1, obj._c1, obj._s2, obj._c2 = float(st["s1"]), float(st["c1"]), float(st["s2"]), float(st["c2"])
        mid, up, lo = (_dec(v) for v in st["value"])
        obj._value = (mid, up, lo)
        return obj


class Supertrend(Indicator):
    """Supertrend(n, mult), same rule as `batch.supertrend`; `update`/`value` give (line, direction)."""

    def __init__(self, n: int, mult: float) -> None:
        self.mult = float(mult)
        self._atr = ATR(n)
        self.n = self._atr.n
        self._prev_close = NAN
        self._fu = NAN
        self._fl = NAN
        self._dir = NAN
        self._line = NAN

    @property
    def value(self) -> tuple[float, float]:
        return self._line, self._dir

    def update(self, high: float, low: float, close: float) -> tuple[float, float]:
        high, low, close = float(high), float(low), float(close)
        a = self._atr.update(high, low, close)
        if not math.isnan(a):
            hl2 = (high + low) / 2.0
            band = self.mult * a
            bu = hl2 + band
            bl = hl2 - band
            if math.isnan(self._dir):
                self._fu, self._fl, self._dir = bu, bl, 1.0
            else:
                pc, fu, fl = self._prev_close, self._fu, self._fl
                if not (bu < fu or pc > fu):
                    bu = fu
                if not (bl > fl or pc < fl):
                    bl = fl
                self._fu, self._fl = bu, bl
                if self._dir > 0.0:
                    if close < bl:
                        self._dir = -1.0
                elif close > bu:
                    self._dir = 1.0
            self._line = self._fl if self._dir > 0.0 else self._fu
        self._prev_close = close
        return self.value

    @property
    def final_bands(self) -> tuple[float, float]:
        """(final upper, final lower) after the latest candle."""
        return self._fu, self._fl

    def _state(self) -> dict[str, Any]:
        return {"n": self.n, "mult": self.mult, "atr": self._atr.to_state(), "prev_close": _enc(self._prev_close),
                "fu": _enc(self._fu), "fl": _enc(self._fl), "dir": _enc(self._dir), "line": _enc(self._line)}

    @classmethod
    def _restore(cls, st: dict[str, Any]) -> Self:
        obj = cls(st["n"], st["mult"])
        obj._atr = ATR.from_state(st["atr"])
        obj._prev_close, obj._fu, obj._fl = _dec(st["prev_close"]), _dec(st["fu"]), _dec(st["fl"])
        obj._dir, obj._line = _dec(st["dir"]), _dec(st["line"])
        return obj


class RSI(Indicator):
    """Wilder RSI (TA-Lib): first value on the (n+1)-th value; 0 when nothing moved."""

    def __init__(self, n: int) -> None:
        self.n = _check_period("RSI", n, 2)
        self._count = 0
        self._prev = NAN
        self._gain = 0.0
        self._loss = 0.0
        self._value = NAN

    @property
    def value(self) -> float:
        return self._value

    def update(self, x: float) -> float:
        x = float(x)
        i = self._count
        self._count += 1
        n = self.n
        if i == 0:
            self._prev = x
            return self._value
        d = x - self._prev
        self._prev = x
        if i > n:
            self._loss *= n - 1
            self._gain *= n - 1
        if d < 0:
            self._loss -= d
        else:
            self._gain += d
        if i >= n:
            self._loss /= n
            self._gain /= n
            tot = self._gain + self._loss
            self._value = 100.0 * (self._gain / tot) if tot != 0.0 else 0.0
        return self._value

    def _state(self) -> dict[str, Any]:
        return {"n": self.n, "count": self._count, "prev": _enc(self._prev), "gain": self._gain,
                "loss": self._loss, "value": _enc(self._value)}

    @classmethod
    def _restore(cls, st: dict[str, Any]) -> Self:
        obj = cls(st["n"])
        obj._count, obj._prev = int(st["count"]), _dec(st["prev"])
        obj._gain, obj._loss, obj._value = float(st["gain"]), float(st["loss"]), _dec(st["value"])
        return obj


class RollingVWAP(Indicator):
    """Volume-weighted typical price (h+l+c)/3 over the last n candles; NaN if the window has no volume."""

    def __init__(self, n: int) -> None:
        self.n = _check_period("RollingVWAP", n, 1)
        self._win: deque[tuple[float, float]] = deque()
        self._spv = self._cpv = self._sv = self._cv = 0.0
        self._nonzero = 0
        self._value = NAN

    @property
    def value(self) -> float:
        return self._value

    def update(self, high: float, low: float, close: float, volume: float) -> float:
        high, low, close, v = float(high), float(low), float(close), float(volume)
        if len(self._win) == self.n:
            pvo, vo = self._win.popleft()
            self._spv, self._cpv = neumaier_add(self._spv, self._cpv, -pvo)
            self._sv, self._cv = neumaier_add(self._sv, self._cv, -vo)
            if vo != 0.0:
                self._nonzero -= 1
        pv = ((high + low + close) / 3.0) * v
        self._win.append((pv, v))
        self._spv, self._cpv = neumaier_add(self._spv, self._cpv, pv)
        self._sv, self._cv = neumaier_add(self._sv, self._cv, v)
        if v != 0.0:
            self._nonzero += 1
        if self._nonzero == 0:
            self._spv = self._cpv = self._sv = self._cv = 0.0
        if len(self._win) == self.n:
            den = self._sv + self._cv
            self._value = (self._spv + self._cpv) / den if self._nonzero > 0 and den > 0.0 else NAN
        return self._value

    def _state(self) -> dict[str, Any]:
        return {"n": self.n, "win": [list(p) for p in self._win], "spv": self._spv, "cpv": self._cpv,
                "sv": self._sv, "cv": self._cv, "nonzero": self._nonzero, "value": _enc(self._value)}

    @classmethod
    def _restore(cls, st: dict[str, Any]) -> Self:
        obj = cls(st["n"])
        obj._win = deque((float(pv), float(v)) for pv, v in st["win"])
        obj._spv, obj._cpv, obj._sv, obj._cv = float(st["spv"]), float(st["cpv"]), float(st["sv"]), float(st["cv"])
        obj._nonzero, obj._value = int(st["nonzero"]), _dec(st["value"])
        return obj


class _RollingExtreme(Indicator):
    """Max (or min) of the last n values via a monotonic deque of (index, value): amortised O(1)."""

    _is_max: ClassVar[bool] = True

    def __init__(self, n: int) -> None:
        self.n = _check_period(type(self).__name__, n, 1)
        self._q: deque[tuple[int, float]] = deque()
        self._count = 0
        self._value = NAN

    @property
    def value(self) -> float:
        return self._value

    def update(self, x: float) -> float:
        x = float(x)
        i = self._count
        self._count += 1
        q = self._q
        if self._is_max:
            while q and q[-1][1] <= x:
                q.pop()
        else:
            while q and q[-1][1] >= x:
                q.pop()
        q.append((i, x))
        if q[0][0] <= i - self.n:
            q.popleft()
        if i >= self.n - 1:
            self._value = q[0][1]
        return self._value

    def _state(self) -> dict[str, Any]:
        return {"n": self.n, "count": self._count, "q": [[j, v] for j, v in self._q], "value": _enc(self._value)}

    @classmethod
    def _restore(cls, st: dict[str, Any]) -> Self:
        obj = cls(st["n"])
        obj._count = int(st["count"])
        obj._q = deque((int(j), float(v)) for j, v in st["q"])
        obj._value = _dec(st["value"])
        return obj


class RollingMax(_RollingExtreme):
    _is_max = True


class RollingMin(_RollingExtreme):
    _is_max = False


class Donchian(Indicator):
    """(upper, lower) = max high / min low of the last n candles including the current one.

    `previous` is the channel of the n candles before the current one (= `batch.donchian_prev`), which
    is what a breakout test compares the current close with.
    """

    def __init__(self, n: int) -> None:
        self._max = RollingMax(n)
        self._min = RollingMin(n)
        self.n = self._max.n
        self._prev: tuple[float, float] = (NAN, NAN)

    @property
    def value(self) -> tuple[float, float]:
        return self._max.value, self._min.value

    @property
    def previous(self) -> tuple[float, float]:
        return self._prev

    def update(self, high: float, low: float) -> tuple[float, float]:
        self._prev = self.value
        self._max.update(high)
        self._min.update(low)
        return self.value

    def _state(self) -> dict[str, Any]:
        return {"n": self.n, "max": self._max.to_state(), "min": self._min.to_state(),
                "prev": [_enc(v) for v in self._prev]}

    @classmethod
    def _restore(cls, st: dict[str, Any]) -> Self:
        obj = cls(st["n"])
        obj._max = RollingMax.from_state(st["max"])
        obj._min = RollingMin.from_state(st["min"])
        up, lo = (_dec(v) for v in st["prev"])
        obj._prev = (up, lo)
        return obj
