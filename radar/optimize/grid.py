"""Expansion of a param_grids.yaml grid into the combos a walk-forward run evaluates (SPEC §7).

Everything that can reject a grid is checked here, before any backtest runs: unknown parameter names,
values out of a parameter's bounds, and a grid left empty once the stop-loss/leverage filter and the
strategies' cross-field rules have removed combos.

A combo's full parameters are `base` (strategies.yaml params for the symbol, else the strategy defaults)
overridden by the grid values. The SL filter drops `sl_percent/100 * leverage > 1.5` (a stop beyond 150%
of margin); it is evaluated as `sl_percent * leverage > 150` so that 15% at 10x (exactly 1.5) is not dropped
by a floating-point rounding of 0.15 * 10.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from types import MappingProxyType
from typing import Any

import numpy as np
from pydantic import ValidationError

from radar.config.models import StrategyGrid
from radar.config.validation import describe_validation_error
from radar.errors import StrategyError
from radar.optimize.errors import OptimizeError
from radar.strategies.params import StrategyParams, field_adapter, param_model, parse_params

MAX_SL_LEVERAGE = 1.5


@dataclass(frozen=True, slots=True)
class ComboGrid:
    """The combos kept for one strategy (× symbol), in grid order (last parameter varies fastest).

    `combos[i]` holds only the grid's own parameters (what varies); `params[i]` is the full validated model
    the engine/runner uses. The counters say what was removed and why.
    """

    strategy: str
    symbol: str | None
    names: tuple[str, ...]
    combos: tuple[Mapping[str, Any], ...]
    params: tuple[StrategyParams, ...]
    n_expanded: int
    n_sl_filtered: int
    n_invalid: int
    n_duplicates: int
    first_invalid: str = ""

    def __len__(self) -> int:
        return len(self.combos)

    def to_structured(self, full: bool = False) -> np.ndarray:
        """A numpy structured array, one record per combo: the grid parameters, or every parameter if `full`.

        Integers -> int64, numbers -> float64, strings -> unicode, anything else (e.g. `sides`) -> object.
        """
        if full:
            names = tuple(param_model(self.strategy).model_fields)
            rows = [tuple(getattr(p, n) for n in names) for p in self.params]
        else:
            names = self.names
            rows = [tuple(c[n] for n in names) for c in self.combos]
        columns = list(zip(*rows)) if rows else [() for _ in names]
        dtype = [(name, _column_dtype(col)) for name, col in zip(names, columns)]
        out = np.empty(len(rows), dtype=dtype)
        for name, col in zip(names, columns):
            out[name] = list(col) if out.dtype[name] != object else _object_column(col)
        return out


def _column_dtype(values: Sequence[Any]) -> Any:
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return np.int64
    if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return np.float64
    if values and all(isinstance(v, str) for v in values):
        return f"U{max(len(v) for v in values)}"
    return object


def _object_column(values: Sequence[Any]) -> np.ndarray:
    # np.array on a list of tuples would build a 2-D array; fill element by element instead.
    col = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        col[i] = v
    return col


def check_grid(strategy: str, grid: Mapping[str, Sequence[Any]]) -> dict[str, tuple[Any, ...]]:
    """Each parameter exists and each value passes its own type/bounds; StrategyError naming the param otherwise."""
    model = param_model(strategy)
    checked: dict[str, tuple[Any, ...]] = {}
    for name, values in grid.items():
        if name not in model.model_fields:
            known = ", ".join(model.model_fields)
            raise StrategyError(f"{strategy} grid: unknown parameter {name!r} (known: {known})")
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            raise StrategyError(f"{strategy} grid: {name}: expected a list of values, got {values!r}")
        if len(values) == 0:
            raise StrategyError(f"{strategy} grid: {name}: must list at least one value, got []")
        adapter = field_adapter(strategy, name)
        out = []
        for i, value in enumerate(values):
            try:
                out.append(adapter.validate_python(value))
            except ValidationError as exc:
                raise StrategyError(f"{strategy} grid: {describe_validation_error(exc, (name, i))}") from None
        checked[name] = tuple(out)
    return checked


def sl_leverage_too_wide(params: StrategyParams, limit: float = MAX_SL_LEVERAGE) -> bool:
    """True when the stop sits beyond `limit` × margin; strategies without `sl_percent` never are."""
    sl = getattr(params, "sl_percent", None)
    if sl is None:
        return False
    return float(sl) * float(params.leverage) > limit * 100.0


def expand_grid(grid: StrategyGrid, symbol: str | None = None,
                base: StrategyParams | Mapping[str, Any] | None = None, *,
                max_sl_leverage: float = MAX_SL_LEVERAGE) -> ComboGrid:
    """Every kept combo of `grid` for `symbol` (per-symbol lists replace the default ones).

    Dropped: SL × leverage over the limit (`n_sl_filtered`), combos a cross-field rule of the strategy
    rejects (`n_invalid`, first reason in `first_invalid`), repeats of an identical full parameter set
    (`n_duplicates`). Raises StrategyError for an unknown parameter or a bad value, OptimizeError if nothing
    is left.
    """
    strategy = grid.strategy
    values = check_grid(strategy, grid.grid_for(symbol))
    if isinstance(base, StrategyParams):
        if not isinstance(base, param_model(strategy)):
            raise StrategyError(f"{strategy} grid: base params are {type(base).__name__}, not {strategy}'s")
        base_values: dict[str, Any] = base.model_dump()
    else:
        base_values = dict(parse_params(strategy, base or {}).model_dump())
    names = tuple(values)
    combos: list[Mapping[str, Any]] = []
    params: list[StrategyParams] = []
    seen: set[StrategyParams] = set()
    n_expanded = n_sl = n_invalid = n_dup = 0
    first_invalid = ""
    for combo_values in product(*(values[n] for n in names)):
        n_expanded += 1
        combo = dict(zip(names, combo_values))
        try:
            p = parse_params(strategy, {**base_values, **combo})
        except StrategyError as exc:
            n_invalid += 1
            first_invalid = first_invalid or str(exc)
            continue
        if sl_leverage_too_wide(p, max_sl_leverage):
            n_sl += 1
            continue
        if p in seen:
            n_dup += 1
            continue
        seen.add(p)
        combos.append(MappingProxyType(combo))  # read-only: the grid is a value
        params.append(p)
    where = strategy if symbol is None else f"{strategy} {symbol}"
    if not combos:
        why = [f"{n_sl} with sl_percent/100 * leverage > {max_sl_leverage:g}"]
        if n_invalid:
            why.append(f"{n_invalid} rejected ({first_invalid})")
        raise OptimizeError(f"{where}: empty grid after filtering ({n_expanded} combos: {'; '.join(why)})")
    return ComboGrid(strategy, symbol, names, tuple(combos), tuple(params), n_expanded, n_sl, n_invalid, n_dup,
                     first_invalid)
