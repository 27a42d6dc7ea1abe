"""Read and validate config/*.yaml into typed objects.

Every failure is a `ConfigError` of the form `config/risk.yaml: kill_switch.max_session_loss_percent: must
be > 0, got -5` (file, dotted key path with list indices, reason).
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from radar.config.models import (
    CONFIG_KINDS,
    AssetConfig,
    ExchangesConfig,
    GridEntry,
    RadarConfig,
    RiskConfig,
    StrategyConfig,
    StrategyEntry,
    StrategyGrid,
    Symbol,
)
from radar.config.validation import describe_validation_error, format_location, show_value
from radar.errors import ConfigError
from radar.strategies.params import PARAM_MODELS, StrategyParams, field_adapter

CONFIG_DIR_ENV = "RADAR_CONFIG_DIR"
_SYMBOL_ADAPTER: TypeAdapter[str] = TypeAdapter(Symbol)


class _Invalid(Exception):
    """A problem inside one file; the loader adds the file name. `args[0]` is `path: reason`."""


def _invalid(loc: Sequence[str | int], reason: str) -> _Invalid:
    path = format_location(loc)
    return _Invalid(f"{path}: {reason}" if path else reason)


# ------------------------------------------------------------------ YAML reading


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys (PyYAML silently keeps the last one)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    first_line: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            seen = key in first_line
        except TypeError:  # unhashable key: let SafeLoader report it
            continue
        if seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {first_line[key] + 1})", key_node.start_mark
            )
        first_line[key] = key_node.start_mark.line
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def display_path(path: Path) -> str:
    """The path as the user would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _read_yaml(path: Path) -> Any:
    shown = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{shown}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{shown}: cannot read file: {exc}") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        reason = exc.problem or exc.context or "unparseable"
        raise ConfigError(f"{shown}: invalid YAML{where}: {reason}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{shown}: invalid YAML: {exc}") from None


def _top_mapping(data: Any) -> dict[Any, Any]:
    if data is None:  # an empty file: every default applies
        return {}
    if not isinstance(data, dict):
        raise _invalid((), f"expected a mapping at the top level, got {show_value(data)}")
    return data


def _validate(model: type[BaseModel], data: Any, prefix: Sequence[str | int] = ()) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _Invalid(describe_validation_error(exc, prefix, model)) from None


def _key(name: Any, loc: Sequence[str | int]) -> str:
    if not isinstance(name, str):
        raise _invalid(loc, f"keys must be strings, got {show_value(name)}")
    return name


def _known_strategy(name: Any) -> str:
    key = _key(name, ())
    if key not in PARAM_MODELS:
        raise _invalid((key,), f"unknown strategy (known: {', '.join(PARAM_MODELS)})")
    return key


# ------------------------------------------------------------------ per-file parsers


def _check_param_names(strategy: str, names: Any, prefix: Sequence[str | int]) -> None:
    fields = PARAM_MODELS[strategy].model_fields
    for name in names:
        if name not in fields:
            raise _invalid((*prefix, str(name)), f"unknown parameter (known: {', '.join(fields)})")


def parse_strategies(data: Any) -> dict[str, StrategyConfig]:
    out: dict[str, StrategyConfig] = {}
    for raw_name, raw_entry in _top_mapping(data).items():
        name = _known_strategy(raw_name)
        model = PARAM_MODELS[name]
        entry: StrategyEntry = _validate(StrategyEntry, {} if raw_entry is None else raw_entry, (name,))
        _check_param_names(name, entry.params, (name, "params"))
        params: StrategyParams = _validate(model, entry.params, (name, "params"))
        per_asset: dict[str, StrategyParams] = {}
        for symbol, override in entry.per_asset.items():
            prefix = (name, "per_asset", symbol)
            _check_param_names(name, override, prefix)
            # Validated merged, so cross-field rules (fast < slow) see the values that will really be used.
            per_asset[symbol] = _validate(model, {**entry.params, **override}, prefix)
        out[name] = StrategyConfig(
            name=name, enabled=entry.enabled, symbols=entry.symbols, params=params, per_asset=per_asset
        )
    return out


def parse_assets(data: Any) -> dict[str, AssetConfig]:
    out: dict[str, AssetConfig] = {}
    for raw_symbol, raw_asset in _top_mapping(data).items():
        symbol = _key(raw_symbol, ())
        try:
            _SYMBOL_ADAPTER.validate_python(symbol)
        except ValidationError as exc:
            raise _invalid((symbol,), describe_validation_error(exc)) from None
        out[symbol] = _validate(AssetConfig, raw_asset, (symbol,))
    return out


def parse_risk(data: Any) -> RiskConfig:
    return _validate(RiskConfig, _top_mapping(data))


def parse_exchanges(data: Any) -> ExchangesConfig:
    return _validate(ExchangesConfig, _top_mapping(data))


def _grid_values(strategy: str, grid: Mapping[str, list[Any]], prefix: Sequence[str | int]) -> dict[str, tuple[Any, ...]]:
    _check_param_names(strategy, grid, prefix)
    out: dict[str, tuple[Any, ...]] = {}
    for name, values in grid.items():
        if not values:
            raise _invalid((*prefix, name), "must list at least one value, got []")
        adapter = field_adapter(strategy, name)
        checked: list[Any] = []
        for i, value in enumerate(values):
            try:
                checked.append(adapter.validate_python(value))
            except ValidationError as exc:
                raise _Invalid(describe_validation_error(exc, (*prefix, name, i))) from None
            if checked[-1] in checked[:-1]:
                raise _invalid((*prefix, name, i), f"repeats the value {show_value(value)}")
        out[name] = tuple(checked)
    return out


def parse_param_grids(data: Any) -> dict[str, StrategyGrid]:
    out: dict[str, StrategyGrid] = {}
    for raw_name, raw_entry in _top_mapping(data).items():
        name = _known_strategy(raw_name)
        entry: GridEntry = _validate(GridEntry, {} if raw_entry is None else raw_entry, (name,))
        out[name] = StrategyGrid(
            strategy=name,
            default=_grid_values(name, entry.default, (name, "default")),
            per_symbol={
                symbol: _grid_values(name, grid, (name, "per_symbol", symbol))
                for symbol, grid in entry.per_symbol.items()
            },
            wfo=entry.wfo,
        )
    return out


_PARSERS = {
    "strategies": parse_strategies,
    "assets": parse_assets,
    "risk": parse_risk,
    "exchanges": parse_exchanges,
    "param_grids": parse_param_grids,
}


def load_one(kind: str, path: str | Path) -> Any:
    """Load one file of `kind` (strategies, assets, risk, exchanges, param_grids) without cross-file checks."""
    if kind not in _PARSERS:
        raise ConfigError(f"unknown config kind {kind!r} (known: {', '.join(_PARSERS)})")
    path = Path(path)
    data = _read_yaml(path)
    try:
        return _PARSERS[kind](data)
    except _Invalid as exc:
        raise ConfigError(f"{display_path(path)}: {exc.args[0]}") from None


# ------------------------------------------------------------------ the whole directory


def resolve_config_dir(config_dir: str | Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The argument, else $RADAR_CONFIG_DIR, else ./config, else the defaults shipped with the project
    (so `radar` works from any directory, as `ray job submit` workers and cron jobs run it)."""
    if config_dir is not None and str(config_dir) != "":
        return Path(config_dir)
    from_env = (os.environ if env is None else env).get(CONFIG_DIR_ENV, "")
    if from_env:
        return Path(from_env)
    local = Path("config")
    if local.is_dir():
        return local
    shipped = Path(__file__).resolve().parents[2] / "config"
    return shipped if shipped.is_dir() else local


def _check_cross_file(config_dir: Path, strategies: dict[str, StrategyConfig], assets: dict[str, AssetConfig],
                      grids: dict[str, StrategyGrid]) -> None:
    where = display_path(config_dir / CONFIG_KINDS["strategies"])
    for name, strategy in strategies.items():
        for i, symbol in enumerate(strategy.symbols):
            loc = (name, "symbols", i)
            if symbol not in assets:
                raise ConfigError(f"{where}: {format_location(loc)}: symbol {symbol!r} is not listed in assets.yaml")
            if not strategy.enabled:
                continue
            params = strategy.params_for(symbol)
            asset = assets[symbol]
            if params.timeframe not in asset.timeframes:
                raise ConfigError(
                    f"{where}: {format_location(loc)}: timeframe {params.timeframe!r} of {name} is not among "
                    f"the timeframes of {symbol} in assets.yaml ({', '.join(asset.timeframes)})"
                )
            if params.leverage > asset.max_leverage:
                raise ConfigError(
                    f"{where}: {format_location(loc)}: leverage {params.leverage} of {name} exceeds the "
                    f"max_leverage {asset.max_leverage} of {symbol} in assets.yaml"
                )
        for symbol in strategy.per_asset:
            if symbol not in assets:
                raise ConfigError(
                    f"{where}: {format_location((name, 'per_asset', symbol))}: symbol is not listed in assets.yaml"
                )
    grids_where = display_path(config_dir / CONFIG_KINDS["param_grids"])
    for name, grid in grids.items():
        for symbol in grid.per_symbol:
            if symbol not in assets:
                raise ConfigError(
                    f"{grids_where}: {format_location((name, 'per_symbol', symbol))}: symbol is not listed in assets.yaml"
                )


def load_config(config_dir: str | Path | None = None) -> RadarConfig:
    """Load and cross-check the five files of the configuration directory."""
    directory = resolve_config_dir(config_dir)
    if not directory.is_dir():
        raise ConfigError(f"{display_path(directory)}: configuration directory not found (set --config or ${CONFIG_DIR_ENV})")
    loaded = {kind: load_one(kind, directory / filename) for kind, filename in CONFIG_KINDS.items()}
    _check_cross_file(directory, loaded["strategies"], loaded["assets"], loaded["param_grids"])
    return RadarConfig(config_dir=directory, **loaded)
