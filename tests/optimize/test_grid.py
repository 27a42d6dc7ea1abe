from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from radar.config import load_config
from radar.config.models import StrategyGrid
from radar.errors import StrategyError
from radar.optimize.errors import OptimizeError
from radar.optimize.grid import check_grid, expand_grid, sl_leverage_too_wide
from radar.strategies.params import GridAtrParams, parse_params

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"


def _grid(strategy: str, default: dict, per_symbol: dict | None = None) -> StrategyGrid:
    return StrategyGrid(strategy=strategy, default=default, per_symbol=per_symbol or {})


def test_shipped_grid_atr_grid_expands_to_4608_combos_with_none_filtered() -> None:
    config = load_config(CONFIG_DIR)
    grid = config.param_grid("grid_atr")

    result = expand_grid(grid, "BTC/USDT:USDT", config.strategy_params("grid_atr", "BTC/USDT:USDT"))

    assert len(result) == 4608
    assert (result.n_expanded, result.n_sl_filtered, result.n_invalid, result.n_duplicates) == (4608, 0, 0, 0)
    assert result.names[0] == "ma_period"
    # Last parameter varies fastest: the first two combos differ only in min_atr_pct.
    assert [c["min_atr_pct"] for c in result.combos[:4]] == [0.0, 0.3, 0.5, 0.8]


def test_per_symbol_override_replaces_the_default_list() -> None:
    grid = load_config(CONFIG_DIR).param_grid("grid_atr")

    doge = expand_grid(grid, "DOGE/USDT:USDT")

    assert sorted({c["min_atr_pct"] for c in doge.combos}) == [0.0, 0.5, 0.8, 1.2]
    assert len(doge) == 4608


def test_sl_times_leverage_above_150_percent_is_dropped_and_exactly_150_is_kept() -> None:
    # Arrange: at 6x, SL 20% -> 1.2, 25% -> 1.5 (kept), 30% -> 1.8 (dropped); at 10x 15% is exactly 1.5.
    grid = _grid("grid_atr", {"sl_percent": [20.0, 25.0, 30.0], "leverage": [6, 10]})

    # Act
    result = expand_grid(grid)

    # Assert: 10x drops 20% (2.0), 25% (2.5), 30% (3.0); 6x drops 30%.
    kept = [(c["sl_percent"], c["leverage"]) for c in result.combos]
    assert kept == [(20.0, 6), (25.0, 6)]
    assert result.n_sl_filtered == 4
    assert not sl_leverage_too_wide(parse_params("grid_atr", {"sl_percent": 15, "leverage": 10}))


def test_leverage_missing_from_the_grid_comes_from_the_base_params() -> None:
    grid = _grid("grid_atr", {"sl_percent": [10.0, 20.0]})

    at_10x = expand_grid(grid, base=GridAtrParams(leverage=10))

    assert [c["sl_percent"] for c in at_10x.combos] == [10.0]
    assert at_10x.params[0].leverage == 10
    assert at_10x.n_sl_filtered == 1


def test_unknown_parameter_is_named_before_any_expansion() -> None:
    grid = _grid("grid_atr", {"ma_period": [7, 10], "atr_perod": [14]})

    with pytest.raises(StrategyError, match="grid_atr grid: unknown parameter 'atr_perod'"):
        expand_grid(grid)


def test_out_of_bounds_value_names_the_parameter_and_index() -> None:
    with pytest.raises(StrategyError, match=r"^grid_atr grid: sl_percent\[1\]: must be < 100, got 150\.0$"):
        check_grid("grid_atr", {"sl_percent": [10.0, 150.0]})


def test_combos_rejected_by_a_cross_field_rule_are_counted_not_raised() -> None:
    # envelope_start + (num_levels-1)*envelope_step must be < 1: 0.05 + 3*0.2 = 0.65 ok, 0.05 + 9*0.2 = 1.85 not.
    grid = _grid("envelope_dca", {"num_levels": [4, 10], "envelope_start": [0.05], "envelope_step": [0.2]})

    result = expand_grid(grid)

    assert [c["num_levels"] for c in result.combos] == [4]
    assert result.n_invalid == 1
    assert "envelope_start + (num_levels-1)*envelope_step must be < 1" in result.first_invalid


def test_grid_empty_after_filtering_raises_with_the_counts() -> None:
    grid = _grid("grid_atr", {"sl_percent": [30.0, 40.0], "leverage": [6]})

    with pytest.raises(OptimizeError) as info:
        expand_grid(grid, "BTC/USDT:USDT")

    assert str(info.value) == (
        "grid_atr BTC/USDT:USDT: empty grid after filtering (2 combos: 2 with sl_percent/100 * leverage > 1.5)"
    )


def test_values_equal_after_validation_are_deduplicated() -> None:
    grid = _grid("grid_atr", {"atr_multiplier_start": [1, 1.0, 2.0]})

    result = expand_grid(grid)

    assert [c["atr_multiplier_start"] for c in result.combos] == [1.0, 2.0]
    assert result.n_duplicates == 1


def test_structured_array_has_typed_columns_in_grid_order() -> None:
    grid = _grid("grid_range_atr", {"ma_period": [14, 20], "atr_spacing": [0.2], "tp_mode": ["dynamic_sma", "fixed_center"]})

    arr = expand_grid(grid).to_structured()

    assert arr.dtype.names == ("ma_period", "atr_spacing", "tp_mode")
    assert arr["ma_period"].dtype == np.int64
    assert arr["atr_spacing"].dtype == np.float64
    assert arr["tp_mode"].tolist() == ["dynamic_sma", "fixed_center", "dynamic_sma", "fixed_center"]
    assert arr["ma_period"].tolist() == [14, 14, 20, 20]


def test_full_structured_array_keeps_tuples_as_objects() -> None:
    arr = expand_grid(_grid("grid_atr", {"num_levels": [2, 3]})).to_structured(full=True)

    assert arr["sides"].dtype == object
    assert arr["sides"][0] == ("long",)
    assert arr["leverage"].tolist() == [6, 6]
    assert arr["num_levels"].tolist() == [2, 3]


def test_combos_are_read_only() -> None:
    result = expand_grid(_grid("grid_atr", {"num_levels": [2, 3]}))

    with pytest.raises(TypeError):
        result.combos[0]["num_levels"] = 9  # type: ignore[index]
