"""Typed, frozen shapes of the five YAML configuration files (see config/*.yaml for the documented defaults).

Defaults equal SPEC §5-§9, so a key left out of a file means the SPEC value. Path-aware validation of
strategy parameters and parameter grids (which depends on the strategy named by the mapping key) lives in
`radar.config.loader`.
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from annotated_types import Ge, Gt, Le, Lt
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, SerializeAsAny, model_validator

from radar.errors import ConfigError
from radar.strategies.params import PARAM_MODELS, NoBool, StrategyParams, Timeframe

_SYMBOL_RE = re.compile(r"^[A-Z0-9]+/[A-Z0-9]+:[A-Z0-9]+$")


def _check_symbol(symbol: str) -> str:
    if not _SYMBOL_RE.match(symbol):
        raise ValueError(f"symbol must be a ccxt unified swap symbol like 'BTC/USDT:USDT', got {symbol!r}")
    return symbol


def _no_repeats(items: tuple[Any, ...]) -> tuple[Any, ...]:
    repeated = sorted({str(x) for x in items if items.count(x) > 1})
    if repeated:
        raise ValueError(f"must not repeat items, got {', '.join(repeated)} more than once")
    return items


Symbol = Annotated[str, AfterValidator(_check_symbol)]
PositiveFloat = Annotated[float, NoBool, Gt(0)]
NonNegFloat = Annotated[float, NoBool, Ge(0)]
PositiveInt = Annotated[int, NoBool, Ge(1)]
NonNegInt = Annotated[int, NoBool, Ge(0)]
Rate = Annotated[float, NoBool, Ge(0), Lt(0.1)]  # fees and slippage as fractions (0.0006 = 0.06%)
Ratio = Annotated[float, NoBool, Gt(0), Le(1)]
Percent = Annotated[float, NoBool, Gt(0), Le(100)]


class FrozenModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


# ------------------------------------------------------------------ strategies.yaml


class StrategyEntry(FrozenModel):
    """One strategy as written in strategies.yaml, before its parameters are validated."""

    enabled: bool = False
    symbols: Annotated[tuple[Symbol, ...], AfterValidator(_no_repeats)] = ()
    params: dict[str, Any] = Field(default_factory=dict)
    per_asset: dict[Symbol, dict[str, Any]] = Field(default_factory=dict)


class StrategyConfig(FrozenModel):
    """A validated strategy: `params` = defaults < params; `per_asset[symbol]` = defaults < params < override."""

    name: str
    enabled: bool = False
    symbols: tuple[str, ...] = ()
    params: SerializeAsAny[StrategyParams]
    per_asset: dict[str, SerializeAsAny[StrategyParams]] = Field(default_factory=dict)

    def params_for(self, symbol: str | None = None) -> StrategyParams:
        if symbol is not None and symbol in self.per_asset:
            return self.per_asset[symbol]
        return self.params


# ------------------------------------------------------------------ assets.yaml


class AssetConfig(FrozenModel):
    """Exchange facts about one perpetual (values as published by Bitget; live code re-reads the markets)."""

    timeframes: Annotated[tuple[Timeframe, ...], Field(min_length=1), AfterValidator(_no_repeats)] = ("1h",)
    correlation_group: Annotated[str, Field(min_length=1)]
    min_order_size: PositiveFloat
    tick_size: PositiveFloat
    max_leverage: Annotated[int, NoBool, Ge(1), Le(125)]


# ------------------------------------------------------------------ risk.yaml


class Fees(FrozenModel):
    taker: Rate = 0.0006
    maker: Rate = 0.0002


class KillSwitch(FrozenModel):
    runner_max_loss_percent: Percent = 25.0  # of the runner's initial capital
    max_session_loss_percent: Percent = 10.0  # live/paper: loss since the session started
    global_drawdown_percent: Percent = 45.0  # portfolio drawdown from the window's peak
    global_window_hours: PositiveFloat = 24.0
    grace_hours: NonNegFloat = 1.0  # after warm-up, before the global switch may fire
    freeze_hours: PositiveFloat = 24.0


class BacktestRisk(FrozenModel):
    hard_drawdown_percent: Percent = 80.0
    default_funding_rate: Annotated[float, NoBool, Gt(-0.1), Lt(0.1)] = 0.0  # per 8h, fraction


class LiquidationRisk(FrozenModel):
    maintenance_margin_rate: Annotated[float, NoBool, Gt(0), Lt(1)] = 0.004


class LiveRisk(FrozenModel):
    max_concurrent_positions: PositiveInt = 10
    min_free_margin_percent: Annotated[float, NoBool, Ge(0), Lt(100)] = 20.0
    max_positions_per_correlation_group: PositiveInt = 3


class AlertCooldowns(FrozenModel):
    """Seconds between two alerts of one type (the log line is always written)."""

    missing_sl: NonNegFloat = 300
    disconnected: NonNegFloat = 1800
    stale_data: NonNegFloat = 1800
    kill_switch: NonNegFloat = 3600
    all_stopped: NonNegFloat = 3600
    default: NonNegFloat = 600  # any other alert type

    def for_type(self, alert_type: str) -> float:
        if alert_type in type(self).model_fields:
            return float(getattr(self, alert_type))
        return float(self.default)


class WatchdogConfig(FrozenModel):
    interval_s: PositiveFloat = 30
    stale_after_s: PositiveFloat = 300
    min_free_disk_mb: NonNegFloat = 500


Grade = Literal["A", "B", "C", "D", "F"]


class SelectorConfig(FrozenModel):
    """Adaptive selector (SPEC §9): which strategy/symbol pairs get live capital, re-evaluated every `interval_s`."""

    grades: Annotated[tuple[Grade, ...], Field(min_length=1), AfterValidator(_no_repeats)] = ("A", "B")
    min_trades: PositiveInt = 20  # closed live/paper trades before a pair's PnL says anything
    min_net_pnl: Annotated[float, NoBool] = 0.0  # USDT; a pair needs net PnL above this
    interval_s: PositiveFloat = 300


class RiskConfig(FrozenModel):
    fees: Fees = Fees()
    slippage: Rate = 0.0005
    initial_capital: PositiveFloat = 10_000.0
    max_margin_ratio: Ratio = 0.70
    max_asset_fraction: Ratio = 0.25
    kill_switch: KillSwitch = KillSwitch()
    backtest: BacktestRisk = BacktestRisk()
    liquidation: LiquidationRisk = LiquidationRisk()
    live: LiveRisk = LiveRisk()
    alert_cooldowns_s: AlertCooldowns = AlertCooldowns()
    watchdog: WatchdogConfig = WatchdogConfig()
    selector: SelectorConfig = SelectorConfig()


# ------------------------------------------------------------------ exchanges.yaml


class ExchangeConfig(FrozenModel):
    ccxt_id: str = "bitget"
    default_type: Literal["swap"] = "swap"
    margin_mode: Literal["cross", "isolated"] = "cross"
    position_mode: Literal["one_way", "hedge"] = "one_way"
    sandbox: bool = False
    rate_limit_ms: NonNegInt = 100  # minimum spacing of REST calls (ccxt `rateLimit`)
    rate_limit_codes: tuple[Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v)], ...] = (
        "30006",
        "429",
    )
    max_retries: NonNegInt = 3
    retry_backoff_s: PositiveFloat = 1.0
    fetch_limit: Annotated[int, NoBool, Ge(1), Le(1000)] = 200  # candles per REST page
    ws_subscribe_batch: PositiveInt = 10
    ws_subscribe_interval_s: NonNegFloat = 0.5
    reconnect_initial_s: PositiveFloat = 1.0
    reconnect_max_s: PositiveFloat = 60.0
    funding_poll_s: PositiveFloat = 300
    oi_poll_s: PositiveFloat = 60
    buffer_candles: PositiveInt = 500
    flush_s: PositiveFloat = 5

    @model_validator(mode="after")
    def _backoff_order(self) -> "ExchangeConfig":
        if self.reconnect_initial_s > self.reconnect_max_s:
            raise ValueError(
                f"reconnect_initial_s must be <= reconnect_max_s, got {self.reconnect_initial_s} > {self.reconnect_max_s}"
            )
        return self


class EmulatorConfig(FrozenModel):
    """A local exchange emulator used by tests and demos (never a remote host)."""

    host: str = "127.0.0.1"
    port: Annotated[int, NoBool, Ge(1), Le(65535)] = 8790
    speed: PositiveFloat = 1.0  # simulated seconds per wall-clock second


class ExchangesConfig(FrozenModel):
    bitget: ExchangeConfig = ExchangeConfig()
    emulator: EmulatorConfig = EmulatorConfig()


# ------------------------------------------------------------------ param_grids.yaml


class WfoWindows(FrozenModel):
    is_days: PositiveInt = 180
    oos_days: PositiveInt = 60
    step_days: PositiveInt = 60
    embargo_days: NonNegInt = 7


class GridEntry(FrozenModel):
    """One strategy's grid as written in param_grids.yaml, before its values are validated."""

    default: dict[str, list[Any]] = Field(default_factory=dict)
    per_symbol: dict[Symbol, dict[str, list[Any]]] = Field(default_factory=dict)
    wfo: WfoWindows = WfoWindows()


class StrategyGrid(FrozenModel):
    """Validated value lists per parameter; `per_symbol` entries replace the listed parameters' lists."""

    strategy: str
    default: dict[str, tuple[Any, ...]] = Field(default_factory=dict)
    per_symbol: dict[str, dict[str, tuple[Any, ...]]] = Field(default_factory=dict)
    wfo: WfoWindows = WfoWindows()

    def grid_for(self, symbol: str | None = None) -> dict[str, tuple[Any, ...]]:
        grid = dict(self.default)
        if symbol is not None:
            grid.update(self.per_symbol.get(symbol, {}))
        return grid

    def n_combos(self, symbol: str | None = None) -> int:
        n = 1
        for values in self.grid_for(symbol).values():
            n *= len(values)
        return n

    def combos(self, symbol: str | None = None) -> Iterator[dict[str, Any]]:
        """Every combination as {param: value}, in a stable order (last parameter varies fastest)."""
        grid = self.grid_for(symbol)
        names = list(grid)
        for values in itertools.product(*(grid[n] for n in names)):
            yield dict(zip(names, values))


# ------------------------------------------------------------------ everything


class RadarConfig(FrozenModel):
    config_dir: Path
    strategies: dict[str, StrategyConfig]
    assets: dict[str, AssetConfig]
    risk: RiskConfig
    exchanges: ExchangesConfig
    param_grids: dict[str, StrategyGrid]

    def strategy_params(self, name: str, symbol: str | None = None) -> StrategyParams:
        """Parameters of `name` for `symbol`: defaults < strategies.yaml params < per_asset[symbol]."""
        from radar.strategies.params import param_model

        model = param_model(name)
        entry = self.strategies.get(name)
        return entry.params_for(symbol) if entry is not None else model()

    def enabled_strategies(self) -> list[StrategyConfig]:
        return [s for s in self.strategies.values() if s.enabled]

    def param_grid(self, name: str) -> StrategyGrid:
        if name not in self.param_grids:
            known = ", ".join(self.param_grids) or "none"
            raise ConfigError(
                f"{self.config_dir / 'param_grids.yaml'}: no grid for strategy {name!r} (grids: {known})"
            )
        return self.param_grids[name]


CONFIG_KINDS: dict[str, str] = {
    "strategies": "strategies.yaml",
    "assets": "assets.yaml",
    "risk": "risk.yaml",
    "exchanges": "exchanges.yaml",
    "param_grids": "param_grids.yaml",
}

__all__ = [
    "AssetConfig", "AlertCooldowns", "BacktestRisk", "CONFIG_KINDS", "EmulatorConfig", "ExchangeConfig",
    "ExchangesConfig", "Fees", "GridEntry", "KillSwitch", "LiquidationRisk", "LiveRisk", "PARAM_MODELS",
    "RadarConfig", "RiskConfig", "SelectorConfig", "StrategyConfig", "StrategyEntry", "StrategyGrid", "WatchdogConfig",
    "WfoWindows",
]
