"""Strategies registered by name; `create_strategy` validates parameters through their typed model."""
from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from typing import Any, TypeVar

from radar.errors import StrategyError
from radar.strategies.base import Strategy

_REGISTRY: dict[str, type[Strategy]] = {}
_LOADED = False
S = TypeVar("S", bound=type[Strategy])


def register(cls: S) -> S:
    _REGISTRY[cls.name] = cls
    return cls


def _load_all() -> None:
    global _LOADED
    if _LOADED:
        return
    import radar.strategies as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        if mod.name not in ("base", "registry", "params"):
            importlib.import_module(f"radar.strategies.{mod.name}")
    _LOADED = True


def strategy_names() -> list[str]:
    _load_all()
    return sorted(_REGISTRY)


def strategy_class(name: str) -> type[Strategy]:
    _load_all()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise StrategyError(f"unknown strategy {name!r} (known: {', '.join(sorted(_REGISTRY))})") from None


def create_strategy(name: str, params: Mapping[str, Any] | None = None) -> Strategy:
    """Build a strategy from a parameter mapping (missing names take the strategy's defaults)."""
    from radar.strategies.params import parse_params

    cls = strategy_class(name)
    return cls(parse_params(name, dict(params or {})))
