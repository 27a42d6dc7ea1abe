"""The five config files: the shipped directory, precedence rules and the exact error messages."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from radar.config import load_config, load_one
from radar.config.models import RiskConfig
from radar.errors import ConfigError
from radar.strategies.params import PARAM_MODELS, GridAtrParams, parse_params

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "config"


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped config as ./config of a temporary working directory."""
    shutil.copytree(SHIPPED, tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    return Path("config")


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"fixture text {old!r} not found in {path}"
    path.write_text(text.replace(old, new, 1))


def _load_error(config_dir: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(config_dir)
    return str(info.value)


# ------------------------------------------------------------------ the shipped configuration


def test_shipped_config_lists_all_18_strategies_with_only_grid_atr_enabled() -> None:
    config = load_config(SHIPPED)

    assert set(config.strategies) == set(PARAM_MODELS)
    assert len(config.strategies) == 18
    assert [s.name for s in config.enabled_strategies()] == ["grid_atr"]
    assert "BTC/USDT:USDT" in config.strategies["grid_atr"].symbols


def test_shipped_config_strategy_params_are_the_model_defaults() -> None:
    config = load_config(SHIPPED)

    for name, strategy in config.strategies.items():
        assert strategy.params == PARAM_MODELS[name](), name


def test_shipped_assets_are_ccxt_swap_symbols_with_groups() -> None:
    config = load_config(SHIPPED)

    assert len(config.assets) >= 10
    assert {"BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT", "DOGE/USDT:USDT"} <= set(config.assets)
    btc = config.assets["BTC/USDT:USDT"]
    assert btc.correlation_group == "majors"
    assert "1h" in btc.timeframes
    assert btc.max_leverage == 125


def test_shipped_risk_matches_spec_defaults() -> None:
    risk = load_config(SHIPPED).risk

    assert (risk.fees.taker, risk.fees.maker, risk.slippage) == (0.0006, 0.0002, 0.0005)
    assert risk.initial_capital == 10_000
    assert (risk.max_margin_ratio, risk.max_asset_fraction) == (0.70, 0.25)
    assert risk.kill_switch.runner_max_loss_percent == 25
    assert risk.kill_switch.global_drawdown_percent == 45
    assert (risk.kill_switch.global_window_hours, risk.kill_switch.grace_hours) == (24, 1)
    assert risk.backtest.hard_drawdown_percent == 80
    assert risk.backtest.default_funding_rate == 0
    assert risk.liquidation.maintenance_margin_rate == 0.004
    assert risk.live.min_free_margin_percent == 20
    assert risk.alert_cooldowns_s.for_type("missing_sl") == 300
    assert risk.alert_cooldowns_s.for_type("stale_data") == 1800
    assert risk.alert_cooldowns_s.for_type("kill_switch") == 3600


def test_shipped_exchanges_match_spec_feed_settings() -> None:
    exchanges = load_config(SHIPPED).exchanges

    bitget = exchanges.bitget
    assert (bitget.default_type, bitget.margin_mode, bitget.position_mode) == ("swap", "cross", "one_way")
    assert (bitget.ws_subscribe_batch, bitget.ws_subscribe_interval_s) == (10, 0.5)
    assert (bitget.funding_poll_s, bitget.oi_poll_s) == (300, 60)
    assert (bitget.buffer_candles, bitget.flush_s, bitget.reconnect_max_s, bitget.max_retries) == (500, 5, 60, 3)
    assert exchanges.emulator.host == "127.0.0.1"


def test_grid_atr_default_grid_has_4608_combos_that_all_survive_the_sl_filter() -> None:
    grid = load_config(SHIPPED).param_grid("grid_atr")

    combos = list(grid.combos())

    assert grid.n_combos() == 4608
    assert len(combos) == 4608
    assert len({tuple(sorted(c.items())) for c in combos}) == 4608
    leverage = GridAtrParams().leverage
    assert all(c["sl_percent"] / 100 * leverage <= 1.5 for c in combos)
    assert grid.wfo.is_days == 180 and grid.wfo.oos_days == 60
    assert grid.wfo.step_days == 60 and grid.wfo.embargo_days == 7


def test_every_grid_atr_combo_is_valid_params() -> None:
    grid = load_config(SHIPPED).param_grid("grid_atr")

    parsed = [parse_params("grid_atr", combo) for combo in grid.combos()]

    assert len(parsed) == 4608


def test_per_symbol_grid_replaces_only_the_listed_parameter() -> None:
    grid = load_config(SHIPPED).param_grid("grid_atr")

    doge = grid.grid_for("DOGE/USDT:USDT")

    assert doge["min_atr_pct"] == (0.0, 0.5, 0.8, 1.2)
    assert doge["ma_period"] == (7, 10, 14, 20)
    assert grid.grid_for("BTC/USDT:USDT")["min_atr_pct"] == (0.0, 0.3, 0.5, 0.8)


def test_load_one_reads_a_single_file() -> None:
    risk = load_one("risk", SHIPPED / "risk.yaml")

    assert isinstance(risk, RiskConfig)
    assert risk.kill_switch.freeze_hours == 24


# ------------------------------------------------------------------ precedence and directory resolution


def test_strategy_params_precedence_is_defaults_then_params_then_per_asset(config_dir: Path) -> None:
    (config_dir / "strategies.yaml").write_text(
        "grid_atr:\n"
        "  enabled: true\n"
        "  symbols: [BTC/USDT:USDT, DOGE/USDT:USDT]\n"
        "  params: {ma_period: 10, atr_multiplier_start: 1.5}\n"
        "  per_asset:\n"
        "    DOGE/USDT:USDT: {atr_multiplier_start: 2.5, num_levels: 2}\n"
    )

    config = load_config(config_dir)
    btc = config.strategy_params("grid_atr", "BTC/USDT:USDT")
    doge = config.strategy_params("grid_atr", "DOGE/USDT:USDT")
    default = config.strategy_params("grid_trend")

    assert (btc.ma_period, btc.atr_multiplier_start, btc.num_levels, btc.atr_multiplier_step) == (10, 1.5, 3, 1.0)
    assert (doge.ma_period, doge.atr_multiplier_start, doge.num_levels, doge.atr_multiplier_step) == (10, 2.5, 2, 1.0)
    assert config.strategy_params("grid_atr") == btc
    assert (default.ema_fast, default.ema_slow) == (20, 50)


def test_config_dir_comes_from_the_environment_when_not_given(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    moved = config_dir.rename("elsewhere")
    monkeypatch.setenv("RADAR_CONFIG_DIR", str(moved))

    config = load_config()

    assert config.config_dir == Path("elsewhere")
    assert config.strategies["grid_atr"].enabled


def test_missing_config_directory_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Without ./config the shipped defaults are used; a directory the user names must exist.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RADAR_CONFIG_DIR", "missing-config")

    with pytest.raises(ConfigError, match=r"^missing-config: configuration directory not found"):
        load_config()


# ------------------------------------------------------------------ error messages


def test_negative_kill_switch_value_names_file_key_and_value(config_dir: Path) -> None:
    _replace(config_dir / "risk.yaml", "max_session_loss_percent: 10", "max_session_loss_percent: -5")

    assert _load_error(config_dir) == "config/risk.yaml: kill_switch.max_session_loss_percent: must be > 0, got -5"


def test_wrongly_typed_value_names_expected_type_and_received_value(config_dir: Path) -> None:
    _replace(config_dir / "risk.yaml", "taker: 0.0006", "taker: cheap")

    assert _load_error(config_dir) == "config/risk.yaml: fees.taker: expected a number, got 'cheap'"


def test_garbled_yaml_reports_line_and_column(config_dir: Path) -> None:
    # Line 3 is indented one column deeper than line 2; its colon sits at column 9.
    (config_dir / "risk.yaml").write_text("fees:\n  taker: 0.0006\n   maker: 0.0002\n")

    assert _load_error(config_dir) == (
        "config/risk.yaml: invalid YAML at line 3, column 9: mapping values are not allowed here"
    )


def test_truncated_yaml_reports_the_end_of_the_file(config_dir: Path) -> None:
    # The file stops inside a quoted string on line 2, after 33 characters.
    (config_dir / "exchanges.yaml").write_text('bitget:\n  rate_limit_codes: ["30006", "42')

    message = _load_error(config_dir)

    assert message.startswith("config/exchanges.yaml: invalid YAML at line 2, column 34: ")
    assert "end of stream" in message


def test_duplicate_key_is_an_error(config_dir: Path) -> None:
    _replace(config_dir / "risk.yaml", "slippage: 0.0005", "slippage: 0.0005\nslippage: 0.001")

    message = _load_error(config_dir)

    assert message.startswith("config/risk.yaml: invalid YAML at line 7, column 1: duplicate key 'slippage'")


def test_unknown_key_is_an_error_listing_the_known_keys(config_dir: Path) -> None:
    _replace(config_dir / "risk.yaml", "grace_hours: 1", "grace_hourz: 1")

    message = _load_error(config_dir)

    assert message.startswith("config/risk.yaml: kill_switch.grace_hourz: unknown key (known: ")
    assert "grace_hours" in message


def test_unknown_strategy_parameter_is_an_error(config_dir: Path) -> None:
    _replace(config_dir / "strategies.yaml", "    ma_period: 14\n", "    ma_periode: 14\n")

    message = _load_error(config_dir)

    assert message.startswith("config/strategies.yaml: grid_atr.params.ma_periode: unknown parameter (known: ")


def test_unknown_strategy_name_is_an_error(config_dir: Path) -> None:
    _replace(config_dir / "strategies.yaml", "grid_atr:\n", "grid_atx:\n")

    assert _load_error(config_dir).startswith("config/strategies.yaml: grid_atx: unknown strategy (known: grid_atr, ")


def test_out_of_range_strategy_parameter_names_its_path(config_dir: Path) -> None:
    _replace(config_dir / "strategies.yaml", "    num_levels: 3\n", "    num_levels: 0\n")

    assert _load_error(config_dir) == "config/strategies.yaml: grid_atr.params.num_levels: must be >= 1, got 0"


def test_bad_per_asset_override_names_the_symbol(config_dir: Path) -> None:
    _replace(config_dir / "strategies.yaml", "  per_asset: {}\n", "  per_asset:\n    DOGE/USDT:USDT: {sl_percent: 150}\n")

    assert _load_error(config_dir) == (
        "config/strategies.yaml: grid_atr.per_asset.DOGE/USDT:USDT.sl_percent: must be < 100, got 150"
    )


def test_per_asset_override_is_checked_together_with_params(config_dir: Path) -> None:
    # ema_slow 40 alone is valid, but not with the strategy-wide ema_fast 45.
    (config_dir / "strategies.yaml").write_text(
        "grid_trend:\n"
        "  params: {ema_fast: 45, ema_slow: 100}\n"
        "  per_asset:\n"
        "    ETH/USDT:USDT: {ema_slow: 40}\n"
    )

    assert _load_error(config_dir) == (
        "config/strategies.yaml: grid_trend.per_asset.ETH/USDT:USDT: ema_fast must be < ema_slow, "
        "got ema_fast=45 and ema_slow=40"
    )


def test_list_index_appears_in_the_key_path(config_dir: Path) -> None:
    _replace(config_dir / "strategies.yaml", "    - ETH/USDT:USDT\n", "    - ETHUSDT\n")

    assert _load_error(config_dir) == (
        "config/strategies.yaml: grid_atr.symbols[1]: symbol must be a ccxt unified swap symbol like "
        "'BTC/USDT:USDT', got 'ETHUSDT'"
    )


def test_symbol_missing_from_assets_is_an_error(config_dir: Path) -> None:
    _replace(config_dir / "strategies.yaml", "    - ETH/USDT:USDT\n", "    - PEPE/USDT:USDT\n")

    assert _load_error(config_dir) == (
        "config/strategies.yaml: grid_atr.symbols[1]: symbol 'PEPE/USDT:USDT' is not listed in assets.yaml"
    )


def test_leverage_above_the_exchange_maximum_is_an_error(config_dir: Path) -> None:
    # BTC allows 125x, DOGE 75x (assets.yaml): 100x passes the first symbol and fails the second.
    (config_dir / "strategies.yaml").write_text(
        "grid_atr:\n  enabled: true\n  symbols: [BTC/USDT:USDT, DOGE/USDT:USDT]\n  params: {leverage: 100}\n"
    )

    assert _load_error(config_dir) == (
        "config/strategies.yaml: grid_atr.symbols[1]: leverage 100 of grid_atr exceeds the max_leverage 75 "
        "of DOGE/USDT:USDT in assets.yaml"
    )


def test_disabled_strategy_is_not_checked_against_asset_limits(config_dir: Path) -> None:
    (config_dir / "strategies.yaml").write_text(
        "grid_atr:\n  enabled: false\n  symbols: [DOGE/USDT:USDT]\n  params: {leverage: 100}\n"
    )

    config = load_config(config_dir)

    assert config.strategy_params("grid_atr", "DOGE/USDT:USDT").leverage == 100


def test_grid_value_outside_the_parameter_bounds_names_its_index(config_dir: Path) -> None:
    _replace(config_dir / "param_grids.yaml", "ma_period: [7, 10, 14, 20]", "ma_period: [7, 10, 0, 20]")

    assert _load_error(config_dir) == "config/param_grids.yaml: grid_atr.default.ma_period[2]: must be >= 1, got 0"


def test_unknown_grid_parameter_is_an_error(config_dir: Path) -> None:
    _replace(config_dir / "param_grids.yaml", "    atr_period: [10, 14]\n", "    atr_len: [10, 14]\n")

    assert _load_error(config_dir).startswith(
        "config/param_grids.yaml: grid_atr.default.atr_len: unknown parameter (known: "
    )


def test_missing_file_is_named(config_dir: Path) -> None:
    (config_dir / "exchanges.yaml").unlink()

    assert _load_error(config_dir) == "config/exchanges.yaml: file not found"


def test_top_level_must_be_a_mapping(config_dir: Path) -> None:
    (config_dir / "assets.yaml").write_text("- BTC/USDT:USDT\n")

    assert _load_error(config_dir) == "config/assets.yaml: expected a mapping at the top level, got a list ['BTC/USDT:USDT']"


def test_several_errors_are_joined(config_dir: Path) -> None:
    (config_dir / "risk.yaml").write_text("slippage: -1\ninitial_capital: 0\n")

    assert _load_error(config_dir) == (
        "config/risk.yaml: slippage: must be >= 0, got -1; initial_capital: must be > 0, got 0"
    )


def test_yaml_boolean_in_a_numeric_risk_field_is_rejected(config_dir: Path) -> None:
    _replace(config_dir / "risk.yaml", "grace_hours: 1 ", "grace_hours: yes ")

    assert _load_error(config_dir) == "config/risk.yaml: kill_switch.grace_hours: expected a number, got true"
