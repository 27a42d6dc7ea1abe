"""Typed configuration: the five YAML files of config/ (`load_config`) and the environment (`get_settings`).

Names are imported lazily so that `radar.strategies.params` can use `radar.config.validation` without an
import cycle (the config models themselves depend on the strategy parameter models).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from radar.config.loader import load_config, load_one, resolve_config_dir
    from radar.config.models import RadarConfig, StrategyConfig, StrategyGrid
    from radar.config.settings import Settings, get_settings

_EXPORTS = {
    "load_config": "radar.config.loader",
    "load_one": "radar.config.loader",
    "resolve_config_dir": "radar.config.loader",
    "RadarConfig": "radar.config.models",
    "StrategyConfig": "radar.config.models",
    "StrategyGrid": "radar.config.models",
    "Settings": "radar.config.settings",
    "get_settings": "radar.config.settings",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'radar.config' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)
