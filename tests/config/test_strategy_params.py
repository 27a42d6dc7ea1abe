"""Strategy parameter models: SPEC §6 defaults, bounds and the user-facing error messages."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from radar.errors import StrategyError
from radar.strategies.params import (
    PARAM_MODELS,
    EnvelopeDcaParams,
    GridAtrParams,
    GridMultiTfParams,
    coerce_param_value,
    parse_params,
)

SPEC_STRATEGIES = [
    "grid_atr", "grid_multi_tf", "grid_boltrend", "grid_trend", "grid_range_atr", "envelope_dca",
    "envelope_dca_short", "grid_funding", "grid_momentum", "bollinger_mr", "donchian_breakout", "supertrend",
    "boltrend", "vwap_rsi", "momentum", "trend_follow_daily", "funding", "liquidation",
]


def test_there_is_one_model_per_spec_strategy() -> None:
    assert sorted(PARAM_MODELS) == sorted(SPEC_STRATEGIES)


def test_grid_atr_defaults_follow_spec() -> None:
    p = GridAtrParams()

    assert (p.ma_period, p.atr_period, p.atr_multiplier_start, p.atr_multiplier_step) == (14, 14, 2.0, 1.0)
    assert (p.num_levels, p.sl_percent, p.leverage, p.cooldown_candles) == (3, 20, 6, 3)
    assert (p.min_grid_spacing_pct, p.min_profit_pct, p.min_atr_pct) == (0, 0, 0)
    assert p.sides == ("long",)
    assert p.timeframe == "1h"


def test_grid_multi_tf_adds_supertrend_parameters_and_uses_leverage_5() -> None:
    p = GridMultiTfParams()

    assert (p.st_atr_period, p.st_atr_multiplier, p.leverage) == (10, 3.0, 5)
    assert p.ma_period == 14


def test_envelope_dca_defaults_follow_spec() -> None:
    p = EnvelopeDcaParams()

    assert (p.ma_period, p.num_levels, p.envelope_start, p.envelope_step, p.sl_percent, p.leverage) == (
        5, 4, 0.05, 0.05, 25, 6,
    )


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("grid_boltrend", {"bol_period": 100, "bol_std": 2.0, "long_ma_period": 200, "atr_period": 14,
                           "num_levels": 3, "sl_percent": 15}),
        ("grid_trend", {"ema_fast": 20, "ema_slow": 50, "adx_period": 14, "adx_threshold": 20, "pull_start": 1.0,
                        "pull_step": 0.5, "num_levels": 3, "trail_atr_mult": 2.0, "sl_percent": 15}),
        ("grid_range_atr", {"ma_period": 20, "atr_period": 14, "atr_spacing": 0.3, "num_levels": 2,
                            "sl_percent": 10, "tp_mode": "dynamic_sma"}),
        ("bollinger_mr", {"bol_period": 20, "bol_std": 2.0, "sl_percent": 5}),
        ("donchian_breakout", {"donchian_period": 20, "tp_atr_mult": 3.0, "sl_atr_mult": 1.5}),
        ("supertrend", {"atr_period": 10, "atr_multiplier": 3.0, "tp_percent": 4, "sl_percent": 2}),
        ("vwap_rsi", {"timeframe": "5m", "rsi_period": 14, "rsi_long": 30, "rsi_short": 70, "adx_15m_max": 25}),
        ("momentum", {"timeframe": "5m", "adx_15m_min": 25}),
        ("trend_follow_daily", {"timeframe": "1d"}),
    ],
)
def test_spec_defaults_of_other_strategies(strategy: str, expected: dict[str, object]) -> None:
    params = PARAM_MODELS[strategy]()

    assert {name: getattr(params, name) for name in expected} == expected


@pytest.mark.parametrize("strategy", SPEC_STRATEGIES)
def test_every_model_is_frozen_and_has_leverage_and_timeframe(strategy: str) -> None:
    params = PARAM_MODELS[strategy]()

    assert 1 <= params.leverage <= 125
    assert params.timeframe in {"5m", "1h", "1d"}
    with pytest.raises(ValidationError):
        params.leverage = 2  # type: ignore[misc]


def test_equal_params_are_equal_and_hashable() -> None:
    a = parse_params("grid_atr", {"ma_period": 10, "sides": ["long", "short"]})
    b = parse_params("grid_atr", {"sides": ("long", "short"), "ma_period": 10})

    assert a == b
    assert len({a, b, GridAtrParams()}) == 2


def test_parse_params_fills_defaults_for_missing_names() -> None:
    params = parse_params("grid_atr", {"num_levels": 5})

    assert (params.num_levels, params.ma_period, params.sl_percent) == (5, 14, 20)


def test_unknown_parameter_message_lists_known_names() -> None:
    with pytest.raises(StrategyError) as info:
        parse_params("grid_atr", {"foo": 1})

    assert str(info.value).startswith("grid_atr: unknown parameter 'foo' (known: timeframe, leverage, ma_period,")


@pytest.mark.parametrize(
    ("strategy", "values", "message"),
    [
        ("grid_atr", {"num_levels": 0}, "grid_atr: num_levels: must be >= 1, got 0"),
        ("grid_atr", {"sl_percent": 100}, "grid_atr: sl_percent: must be < 100, got 100"),
        ("grid_atr", {"sl_percent": 0}, "grid_atr: sl_percent: must be > 0, got 0"),
        ("grid_atr", {"leverage": 126}, "grid_atr: leverage: must be <= 125, got 126"),
        ("grid_atr", {"ma_period": 2.5}, "grid_atr: ma_period: expected an integer, got 2.5"),
        ("grid_atr", {"sides": []}, "grid_atr: sides: must have at least 1 item(s), got a list []"),
        ("grid_atr", {"sides": ["long", "up"]}, "grid_atr: sides[1]: must be one of 'long' or 'short', got 'up'"),
        ("envelope_dca", {"envelope_start": 1.5}, "envelope_dca: envelope_start: must be < 1, got 1.5"),
        ("grid_trend", {"ema_fast": 50}, "grid_trend: ema_fast must be < ema_slow, got ema_fast=50 and ema_slow=50"),
        ("grid_range_atr", {"tp_mode": "center"},
         "grid_range_atr: tp_mode: must be one of 'dynamic_sma' or 'fixed_center', got 'center'"),
        # 0.05 + (11 - 1) * 0.1 = 1.05: the deepest level would be below price 0.
        ("envelope_dca", {"num_levels": 11, "envelope_step": 0.1},
         "envelope_dca: envelope_start + (num_levels-1)*envelope_step must be < 1, got 1.05"),
    ],
)
def test_out_of_range_values_give_one_line_messages(strategy: str, values: dict[str, object], message: str) -> None:
    with pytest.raises(StrategyError) as info:
        parse_params(strategy, values)

    assert str(info.value) == message


def test_deepest_envelope_at_or_beyond_100_percent_is_rejected() -> None:
    # 0.05 + 19 * 0.05 = 1.0: the deepest LONG level would sit at price 0.
    with pytest.raises(StrategyError, match=r"must be < 1, got 1$"):
        parse_params("envelope_dca", {"num_levels": 20})


def test_unknown_strategy_is_a_strategy_error() -> None:
    with pytest.raises(StrategyError, match=r"^unknown strategy 'grid_xyz' \(known: grid_atr, "):
        parse_params("grid_xyz", {})


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("ma_period", "20", 20),
        ("sl_percent", "12.5", 12.5),
        ("atr_multiplier_start", "3", 3.0),
        ("sides", "long,short", ("long", "short")),
        ("sides", "[short]", ("short",)),
        ("timeframe", "4h", "4h"),
    ],
)
def test_coerce_param_value_parses_cli_text(name: str, text: str, expected: object) -> None:
    assert coerce_param_value("grid_atr", name, text) == expected


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("ma_period", "abc", "grid_atr: ma_period: expected an integer, got 'abc'"),
        ("num_levels", "0", "grid_atr: num_levels: must be >= 1, got 0"),
        ("sides", "long,up", "grid_atr: sides[1]: must be one of 'long' or 'short', got 'up'"),
        ("timeframe", "2h", "grid_atr: timeframe: must be one of '1m', '5m', '15m', '1h', '4h' or '1d', got '2h'"),
    ],
)
def test_coerce_param_value_rejects_bad_text(name: str, text: str, message: str) -> None:
    with pytest.raises(StrategyError) as info:
        coerce_param_value("grid_atr", name, text)

    assert str(info.value) == message


def test_coerce_unknown_parameter_names_the_strategy() -> None:
    with pytest.raises(StrategyError, match=r"^grid_atr: unknown parameter 'ma_len' \(known: "):
        coerce_param_value("grid_atr", "ma_len", "10")


def test_yaml_boolean_is_not_read_as_a_number() -> None:
    # YAML reads `num_levels: yes` as True; pydantic alone would accept it as 1.
    with pytest.raises(StrategyError) as info:
        parse_params("grid_atr", {"num_levels": True})

    assert str(info.value) == "grid_atr: num_levels: expected a number, got true"
