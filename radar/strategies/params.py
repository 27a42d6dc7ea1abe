"""Typed, validated parameters of every strategy (SPEC §6).

One frozen pydantic model per strategy. The same names are used in strategies.yaml, param_grids.yaml and
`--param name=value`; a parameter not given takes the default below. `*_percent` / `*_pct` values are in
percent (20 = 20%); envelopes and funding thresholds are fractions (0.05 = 5%, 0.0005 = 0.05% per 8h).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

import yaml
from annotated_types import Ge, Gt, Le, Lt
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from radar.errors import StrategyError

Side = Literal["long", "short"]
Timeframe = Literal["1m", "5m", "15m", "1h", "4h", "1d"]
TIMEFRAME_ORDER: tuple[str, ...] = ("1m", "5m", "15m", "1h", "4h", "1d")


def _unique_sides(sides: tuple[str, ...]) -> tuple[str, ...]:
    if len(set(sides)) != len(sides):
        raise ValueError(f"must not repeat a side, got {list(sides)}")
    return sides


def reject_bool(value: Any) -> Any:
    """Numbers only: YAML turns `yes`/`on` into True, which pydantic would quietly read as 1."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {'true' if value else 'false'}")
    return value


NoBool = BeforeValidator(reject_bool)

# Tuples rather than lists so the models stay hashable (WFO de-duplicates combos by value).
Sides = Annotated[tuple[Side, ...], Field(min_length=1), AfterValidator(_unique_sides)]
Period = Annotated[int, NoBool, Ge(1)]
Levels = Annotated[int, NoBool, Ge(1), Le(100)]
Candles = Annotated[int, NoBool, Ge(0)]
Percent = Annotated[float, NoBool, Gt(0), Lt(100)]  # stop-loss / take-profit distances
NonNegPct = Annotated[float, NoBool, Ge(0)]
PositiveMult = Annotated[float, NoBool, Gt(0)]
NonNegMult = Annotated[float, NoBool, Ge(0)]
Fraction = Annotated[float, NoBool, Gt(0), Lt(1)]
NonNegFraction = Annotated[float, NoBool, Ge(0), Lt(1)]
Oscillator = Annotated[float, NoBool, Ge(0), Le(100)]  # RSI / ADX thresholds
Leverage = Annotated[int, NoBool, Ge(1), Le(125)]

BOTH: tuple[Side, ...] = ("long", "short")
LONG: tuple[Side, ...] = ("long",)


class StrategyParams(BaseModel):
    """Base of every strategy's parameters: candle timeframe and leverage."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    timeframe: Timeframe = "1h"
    leverage: Leverage = 5


def _require_fast_below_slow(model: BaseModel, fast: str, slow: str) -> None:
    f, s = getattr(model, fast), getattr(model, slow)
    if f >= s:
        raise ValueError(f"{fast} must be < {slow}, got {fast}={f} and {slow}={s}")


# ---------------------------------------------------------------- grid (multi-position) strategies


class GridAtrParams(StrategyParams):
    """grid_atr — SPEC §5: levels SMA ∓ eff_ATR*(start + k*step), TP at SMA, SL on average entry."""

    ma_period: Period = 14
    atr_period: Period = 14
    atr_multiplier_start: PositiveMult = 2.0
    atr_multiplier_step: NonNegMult = 1.0
    num_levels: Levels = 3
    sl_percent: Percent = 20.0
    min_grid_spacing_pct: NonNegPct = 0.0
    min_profit_pct: NonNegPct = 0.0
    min_atr_pct: NonNegPct = 0.0
    cooldown_candles: Candles = 3
    sides: Sides = LONG
    leverage: Leverage = 6


class GridMultiTfParams(GridAtrParams):
    """grid_multi_tf — grid_atr levels; direction from Supertrend on the last closed `st_timeframe` bucket."""

    st_atr_period: Period = 10
    st_atr_multiplier: PositiveMult = 3.0
    st_timeframe: Timeframe = "4h"
    sides: Sides = BOTH
    leverage: Leverage = 5

    @model_validator(mode="after")
    def _higher_timeframe(self) -> "GridMultiTfParams":
        if TIMEFRAME_ORDER.index(self.st_timeframe) <= TIMEFRAME_ORDER.index(self.timeframe):
            raise ValueError(
                f"st_timeframe must be higher than timeframe, got st_timeframe={self.st_timeframe} "
                f"and timeframe={self.timeframe}"
            )
        return self


class GridBoltrendParams(StrategyParams):
    """grid_boltrend — Bollinger breakout opens level 0; level k = close ∓ k*ATR*atr_multiplier."""

    bol_period: Period = 100
    bol_std: PositiveMult = 2.0
    long_ma_period: Period = 200
    atr_period: Period = 14
    atr_multiplier: PositiveMult = 1.0
    min_bol_spread_pct: NonNegPct = 0.0
    num_levels: Levels = 3
    sl_percent: Percent = 15.0
    sides: Sides = BOTH
    leverage: Leverage = 6


class GridTrendParams(StrategyParams):
    """grid_trend — EMA fast/slow direction when ADX > threshold; pull-back levels; ATR trailing stop."""

    ema_fast: Period = 20
    ema_slow: Period = 50
    adx_period: Period = 14
    adx_threshold: Oscillator = 20.0
    atr_period: Period = 14
    pull_start: PositiveMult = 1.0
    pull_step: NonNegMult = 0.5
    num_levels: Levels = 3
    trail_atr_mult: PositiveMult = 2.0
    sl_percent: Percent = 15.0
    sides: Sides = BOTH
    leverage: Leverage = 6

    @model_validator(mode="after")
    def _fast_below_slow(self) -> "GridTrendParams":
        _require_fast_below_slow(self, "ema_fast", "ema_slow")
        return self


class GridRangeAtrParams(StrategyParams):
    """grid_range_atr — LONG and SHORT levels at once at SMA ± (k+1)*ATR*atr_spacing; TP/SL per position."""

    ma_period: Period = 20
    atr_period: Period = 14
    atr_spacing: PositiveMult = 0.3
    num_levels: Levels = 2
    sl_percent: Percent = 10.0
    tp_mode: Literal["dynamic_sma", "fixed_center"] = "dynamic_sma"
    sides: Sides = BOTH
    leverage: Leverage = 6


class EnvelopeDcaParams(StrategyParams):
    """envelope_dca — LONG level k = SMA*(1 - (envelope_start + k*envelope_step))."""

    ma_period: Period = 5
    num_levels: Levels = 4
    envelope_start: Fraction = 0.05
    envelope_step: NonNegFraction = 0.05
    sl_percent: Percent = 25.0
    leverage: Leverage = 6

    @model_validator(mode="after")
    def _deepest_envelope_below_one(self) -> "EnvelopeDcaParams":
        # The deepest LONG level must stay above zero, so the largest envelope must be < 1.
        deepest = self.envelope_start + (self.num_levels - 1) * self.envelope_step
        if deepest >= 1:
            raise ValueError(
                f"envelope_start + (num_levels-1)*envelope_step must be < 1, got {deepest:g}"
            )
        return self


class EnvelopeDcaShortParams(EnvelopeDcaParams):
    """envelope_dca_short — SHORT mirror of envelope_dca (offset round(1/(1-e) - 1, 3))."""


class GridFundingParams(StrategyParams):
    """grid_funding — LONG level k when funding <= -(funding_start + k*funding_step); TP per tp_mode."""

    funding_start: Fraction = 0.0005
    funding_step: NonNegFraction = 0.0005
    num_levels: Levels = 3
    ma_period: Period = 14
    tp_mode: Literal["funding_positive", "sma_cross", "both"] = "both"
    min_hold_candles: Candles = 8
    sl_percent: Percent = 15.0
    leverage: Leverage = 6


class GridMomentumParams(StrategyParams):
    """grid_momentum — Donchian breakout confirmed by volume, DCA on ATR pull-backs, ATR trailing stop."""

    donchian_period: Period = 30
    vol_sma_period: Period = 20
    vol_mult: PositiveMult = 1.5
    atr_period: Period = 14
    pullback_atr_start: PositiveMult = 1.0
    pullback_atr_step: NonNegMult = 1.0
    num_levels: Levels = 3
    trail_atr_mult: PositiveMult = 3.0
    sl_percent: Percent = 15.0
    cooldown_candles: Candles = 3
    sides: Sides = BOTH
    leverage: Leverage = 6


# ---------------------------------------------------------------- single-position strategies


class BollingerMrParams(StrategyParams):
    """bollinger_mr — enter outside the band, exit on the SMA cross."""

    bol_period: Period = 20
    bol_std: PositiveMult = 2.0
    sl_percent: Percent = 5.0
    sides: Sides = BOTH


class DonchianBreakoutParams(StrategyParams):
    """donchian_breakout — channel breakout, TP/SL in ATR multiples."""

    donchian_period: Period = 20
    atr_period: Period = 14
    tp_atr_mult: PositiveMult = 3.0
    sl_atr_mult: PositiveMult = 1.5
    sides: Sides = BOTH


class SupertrendParams(StrategyParams):
    """supertrend — enter on a direction flip, fixed TP/SL."""

    atr_period: Period = 10
    atr_multiplier: PositiveMult = 3.0
    tp_percent: Percent = 4.0
    sl_percent: Percent = 2.0
    sides: Sides = BOTH


class BoltrendParams(StrategyParams):
    """boltrend — single-position grid_boltrend."""

    bol_period: Period = 100
    bol_std: PositiveMult = 2.0
    long_ma_period: Period = 200
    min_bol_spread_pct: NonNegPct = 0.0
    sl_percent: Percent = 15.0
    sides: Sides = BOTH


class VwapRsiParams(StrategyParams):
    """vwap_rsi (5m) — RSI extreme + VWAP deviation + volume spike, only while 15m ADX < adx_15m_max."""

    timeframe: Timeframe = "5m"
    rsi_period: Period = 14
    rsi_long: Oscillator = 30.0
    rsi_short: Oscillator = 70.0
    vwap_period: Period = 48
    vwap_dev_pct: NonNegPct = 0.3
    vol_sma_period: Period = 20
    vol_spike_mult: PositiveMult = 1.5
    adx_period: Period = 14
    adx_15m_max: Oscillator = 25.0
    tp_percent: Percent = 0.8
    sl_percent: Percent = 0.5
    sides: Sides = BOTH

    @model_validator(mode="after")
    def _long_below_short(self) -> "VwapRsiParams":
        _require_fast_below_slow(self, "rsi_long", "rsi_short")
        return self


class MomentumParams(StrategyParams):
    """momentum (5m) — breakout with volume, only while 15m ADX >= adx_15m_min."""

    timeframe: Timeframe = "5m"
    breakout_period: Period = 30
    vol_sma_period: Period = 20
    vol_mult: PositiveMult = 2.0
    adx_period: Period = 14
    adx_15m_min: Oscillator = 25.0
    tp_percent: Percent = 1.0
    sl_percent: Percent = 0.5
    sides: Sides = BOTH


class TrendFollowDailyParams(StrategyParams):
    """trend_follow_daily (1d) — EMA cross confirmed by ADX, ATR trailing stop."""

    timeframe: Timeframe = "1d"
    ema_fast: Period = 20
    ema_slow: Period = 50
    adx_period: Period = 14
    adx_threshold: Oscillator = 20.0
    atr_period: Period = 14
    trail_atr_mult: PositiveMult = 3.0
    sl_percent: Percent = 10.0
    sides: Sides = BOTH
    leverage: Leverage = 3

    @model_validator(mode="after")
    def _fast_below_slow(self) -> "TrendFollowDailyParams":
        _require_fast_below_slow(self, "ema_fast", "ema_slow")
        return self


class FundingParams(StrategyParams):
    """funding — contrarian entry on extreme funding (live/paper only)."""

    extreme_funding_pct: Annotated[float, NoBool, Gt(0)] = 0.1
    tp_percent: Percent = 2.0
    sl_percent: Percent = 2.0
    max_hold_candles: Annotated[int, NoBool, Ge(1)] = 24
    sides: Sides = BOTH


class LiquidationParams(StrategyParams):
    """liquidation — trade into liquidation zones after an open-interest jump (live/paper only)."""

    timeframe: Timeframe = "5m"
    oi_jump_pct: Annotated[float, NoBool, Gt(0)] = 5.0
    oi_lookback_candles: Period = 12
    zone_pct: Annotated[float, NoBool, Gt(0)] = 1.0
    tp_percent: Percent = 1.5
    sl_percent: Percent = 1.0
    sides: Sides = BOTH


PARAM_MODELS: dict[str, type[StrategyParams]] = {
    "grid_atr": GridAtrParams,
    "grid_multi_tf": GridMultiTfParams,
    "grid_boltrend": GridBoltrendParams,
    "grid_trend": GridTrendParams,
    "grid_range_atr": GridRangeAtrParams,
    "envelope_dca": EnvelopeDcaParams,
    "envelope_dca_short": EnvelopeDcaShortParams,
    "grid_funding": GridFundingParams,
    "grid_momentum": GridMomentumParams,
    "bollinger_mr": BollingerMrParams,
    "donchian_breakout": DonchianBreakoutParams,
    "supertrend": SupertrendParams,
    "boltrend": BoltrendParams,
    "vwap_rsi": VwapRsiParams,
    "momentum": MomentumParams,
    "trend_follow_daily": TrendFollowDailyParams,
    "funding": FundingParams,
    "liquidation": LiquidationParams,
}


def param_model(strategy: str) -> type[StrategyParams]:
    """The parameter model of `strategy`; StrategyError naming the known strategies if unknown."""
    try:
        return PARAM_MODELS[strategy]
    except KeyError:
        raise StrategyError(f"unknown strategy {strategy!r} (known: {', '.join(PARAM_MODELS)})") from None


def field_adapter(strategy: str, name: str) -> TypeAdapter[Any]:
    """A validator for one parameter alone (its type and bounds, without cross-field rules)."""
    model = param_model(strategy)
    if name not in model.model_fields:
        raise StrategyError(_unknown_param(strategy, name))
    return _adapter(model, name)


_ADAPTERS: dict[tuple[type[StrategyParams], str], TypeAdapter[Any]] = {}


def _adapter(model: type[StrategyParams], name: str) -> TypeAdapter[Any]:
    key = (model, name)
    if key not in _ADAPTERS:
        info = model.model_fields[name]
        tp = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        _ADAPTERS[key] = TypeAdapter(tp, config=ConfigDict(allow_inf_nan=False))
    return _ADAPTERS[key]


def _unknown_param(strategy: str, name: object) -> str:
    known = ", ".join(PARAM_MODELS[strategy].model_fields)
    return f"{strategy}: unknown parameter {name!r} (known: {known})"


def parse_params(strategy: str, values: Mapping[str, Any]) -> StrategyParams:
    """Validate `values` (missing names take the defaults) into the strategy's frozen params model."""
    model = param_model(strategy)
    for name in values:
        if name not in model.model_fields:
            raise StrategyError(_unknown_param(strategy, name))
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        from radar.config.validation import describe_validation_error

        raise StrategyError(f"{strategy}: {describe_validation_error(exc)}") from None


def coerce_param_value(strategy: str, name: str, text: str) -> Any:
    """Turn a CLI `--param name=value` string into a validated value of the parameter's type.

    The text is read as YAML scalars/lists (`14`, `2.5`, `[long, short]`); `sides` also accepts `long,short`.
    """
    adapter = field_adapter(strategy, name)
    try:
        raw: Any = yaml.safe_load(text) if text.strip() else text
    except yaml.YAMLError:
        raw = text
    if name == "sides" and isinstance(raw, str):
        raw = [part.strip() for part in raw.split(",") if part.strip()]
    try:
        return adapter.validate_python(raw)
    except ValidationError as exc:
        from radar.config.validation import describe_validation_error

        raise StrategyError(f"{strategy}: {describe_validation_error(exc, (name,))}") from None
